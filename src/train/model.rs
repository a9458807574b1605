//! `Model`: a network compiled with an optimizer and a loss.

use std::borrow::Borrow;
use std::marker::PhantomData;
use std::time::Instant;

use super::checks::{PARAMETER_CHECK_STEPS, check_parameters, check_targets};
use super::progress::Progress;
use super::threads::{CHUNK, Threads};
use super::{Batches, EpochLog, Fit, History, Targets, Validation, gather_samples};
use crate::{Batch, Error, Float, GradientOf, Layer, Loss, Optimizer, Result, Shape, TrainContext};

/// Loss and accuracy on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss per sample.
    pub loss: f64,
    /// Fraction of samples predicted right.
    pub accuracy: f64,
}

/// A network compiled with an optimizer and a loss (Keras'
/// `model.compile(optimizer, loss, metrics=["accuracy"])`), with the buffers
/// a training step reuses.
///
/// ```
/// use keelnet::prelude::*;
/// use keelnet::SparseCategoricalCrossentropy;
/// use keelnet::train::{Fit, Model, Verbosity};
///
/// network! {
///     struct Xor: Input<2> -> Dense<16, ReLU> -> Dense<2, Softmax>;
/// }
///
/// let x = Batch::<Rank1<2>>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.])?;
/// let y = vec![0, 1, 1, 0];
/// let mut model = Model::compile(Xor::new(1), Adam::new(0.05), SparseCategoricalCrossentropy);
/// let history = model.fit(&x, &y[..], Fit::epochs(300).batch_size(4).verbosity(Verbosity::Silent))?;
/// assert_eq!(history.epochs.len(), 300);
/// assert_eq!(model.evaluate(&x, &y[..], 4)?.accuracy, 1.0);
/// let probabilities = model.predict(&x, 32)?;
/// assert!(probabilities.sample(1)[1] > 0.9);
/// # Ok::<(), keelnet::Error>(())
/// ```
pub struct Model<N, O, L, I, F = f32>
where
    I: Shape,
    F: Float,
    N: Layer<I, F>,
{
    /// The network, trained in place.
    pub network: N,
    /// The optimizer and its state.
    pub optimizer: O,
    /// The loss.
    pub loss: L,
    cache: N::Cache,
    grads: N::Grads,
    output: Batch<N::Output, F>,
    gradient: Batch<N::Output, F>,
    input: PhantomData<I>,
}

impl<N, O, L, I, F> Model<N, O, L, I, F>
where
    I: Shape,
    F: Float,
    N: Layer<I, F>,
    O: Optimizer<F>,
    L: Loss<N::Output, F>,
{
    /// Compiles `network` with `optimizer` and `loss`; accuracy is always measured.
    pub fn compile(network: N, optimizer: O, loss: L) -> Self {
        Self {
            network,
            optimizer,
            loss,
            cache: Default::default(),
            grads: Default::default(),
            output: Batch::new(),
            gradient: Batch::new(),
            input: PhantomData,
        }
    }

    /// One optimization step on a batch; returns its mean loss and the
    /// number of right predictions. A loss that is not finite is an error,
    /// and the weights are left as they were; so are optimizer settings out
    /// of range ([`Optimizer::check`]).
    pub fn train_on_batch<Y>(
        &mut self,
        x: &Batch<I, F>,
        y: &Y::Batch,
        ctx: &mut TrainContext,
    ) -> Result<(f64, usize)>
    where
        Y: Targets<N::Output, F> + ?Sized,
        Y::Batch: Borrow<L::Target>,
    {
        self.optimizer.check()?;
        let network = &self.network;
        network.forward_train(x, &mut self.output, &mut self.cache, ctx);
        let loss = self.loss.loss(&self.output, y.borrow())?.to_f64();
        if !loss.is_finite() {
            return Err(Error::NonFiniteLoss { at: None, loss });
        }
        let correct = Y::count_correct(y, &self.output);
        let wrt =
            self.loss
                .gradient(&self.output, y.borrow(), N::ACTIVATION, &mut self.gradient)?;
        let (out, cache, gradient, grads) = (
            &self.output,
            &mut self.cache,
            &mut self.gradient,
            &mut self.grads,
        );
        match wrt {
            GradientOf::Output => network.backward(x, out, cache, gradient, None, grads),
            GradientOf::PreActivation => {
                network.backward_preactivation(x, out, cache, gradient, None, grads)
            }
        }
        self.optimizer.step(&mut self.network, &self.grads);
        Ok((loss, correct))
    }

    /// Trains on `x` and `y` as Keras' `fit` does, and returns the figures
    /// of every epoch.
    ///
    /// The loop runs on a thread of rayon's pool, so that the kernels' work
    /// splits are scheduled from inside it: a training step then allocates
    /// nothing once its buffers are sized.
    pub fn fit<Y>(&mut self, x: &Batch<I, F>, y: &Y, options: Fit<'_, I, F, Y>) -> Result<History>
    where
        Y: Targets<N::Output, F> + Sync + ?Sized,
        Y::Batch: Borrow<L::Target> + Send,
        N: Send,
        O: Send,
        L: Send,
    {
        rayon::scope(|_| self.fit_here(x, y, options))
    }

    /// [`fit`](Self::fit) on the calling thread.
    fn fit_here<Y>(&mut self, x: &Batch<I, F>, y: &Y, options: Fit<'_, I, F, Y>) -> Result<History>
    where
        Y: Targets<N::Output, F> + Sync + ?Sized,
        Y::Batch: Borrow<L::Target> + Send,
        N: Send,
        O: Send,
        L: Send,
    {
        let train_len = self.check_fit(x, y, &options)?;
        let held_out: Vec<usize> = (train_len..x.len()).collect();

        let seed = options.shuffle.then_some(options.seed);
        let mut batches =
            Batches::<I, N::Output, F, Y>::new(x, y, train_len, options.batch_size, seed);
        let mut ctx = TrainContext::new(options.seed.wrapping_add(1));
        let steps = batches.len();
        let mut progress = Progress::new(options.verbosity);
        let mut history = History::default();
        let mut threads = Threads::new();
        for epoch in 1..=options.epochs {
            let start = Instant::now();
            progress.start_epoch(epoch, options.epochs, steps);
            batches.start_epoch();
            let mut totals = Totals::default();
            loop {
                let (model, batches, ctx, progress, totals) = (
                    &mut *self,
                    &mut batches,
                    &mut ctx,
                    &mut progress,
                    &mut totals,
                );
                let more = threads.run_chunk(|| {
                    let chunk_start = Instant::now();
                    let mut steps = 0;
                    while chunk_start.elapsed() < CHUNK {
                        let Some((x_batch, y_batch)) = batches.next_batch() else {
                            return (steps, Ok(false));
                        };
                        steps += 1;
                        totals.step += 1;
                        let step = totals.step;
                        let (loss, right) = match model.train_on_batch::<Y>(x_batch, y_batch, ctx) {
                            Ok(figures) => figures,
                            Err(Error::NonFiniteLoss { loss, .. }) => {
                                let at = Some((epoch, step));
                                return (steps, Err(Error::NonFiniteLoss { at, loss }));
                            }
                            Err(other) => return (steps, Err(other)),
                        };
                        if step % PARAMETER_CHECK_STEPS == 0
                            && let Err(e) = check_parameters(&model.network, (epoch, step))
                        {
                            return (steps, Err(e));
                        }
                        totals.add(loss, right, x_batch.len());
                        progress.step(step, start.elapsed(), totals.loss(), totals.accuracy());
                    }
                    (steps, Ok(true))
                })?;
                if !more {
                    break;
                }
            }
            check_parameters(&self.network, (epoch, totals.step))?;
            let validation = threads.run(|| match options.validation {
                Validation::Data(xv, yv) => self.evaluate(xv, yv, options.batch_size).map(Some),
                Validation::Split(_) if !held_out.is_empty() => self
                    .evaluate_samples(x, y, &held_out, options.batch_size)
                    .map(Some),
                _ => Ok(None),
            })?;
            let log = EpochLog {
                epoch,
                loss: totals.loss(),
                accuracy: totals.accuracy(),
                val_loss: validation.map(|v| v.loss),
                val_accuracy: validation.map(|v| v.accuracy),
                seconds: start.elapsed().as_secs_f64(),
            };
            progress.end_epoch(&log, steps);
            history.epochs.push(log);
        }
        Ok(history)
    }

    /// Everything `fit` can check before its first step, so that bad input
    /// is an error before any weight changes: the batch size, the lengths,
    /// the validation split, the optimizer's settings, and every training
    /// and validation target against the loss. Returns the number of
    /// samples trained on.
    fn check_fit<Y>(&self, x: &Batch<I, F>, y: &Y, options: &Fit<'_, I, F, Y>) -> Result<usize>
    where
        Y: Targets<N::Output, F> + ?Sized,
        Y::Batch: Borrow<L::Target>,
    {
        if options.batch_size == 0 {
            return Err(invalid("the batch size must be at least 1"));
        }
        same_count(x, y)?;
        self.optimizer.check()?;
        let train_len = match options.validation {
            Validation::Split(fraction) if !(0.0..1.0).contains(&fraction) => {
                return Err(invalid(&format!(
                    "validation_split is a fraction from 0 up to (not including) 1, not {fraction}"
                )));
            }
            Validation::Split(fraction) => {
                let held_out = (x.len() as f64 * fraction) as usize;
                if fraction > 0.0 && held_out == 0 {
                    return Err(invalid(&format!(
                        "validation_split {fraction} of {} samples holds out none: validate on more samples or set no split",
                        x.len()
                    )));
                }
                x.len() - held_out
            }
            Validation::Data(xv, yv) => {
                same_count(xv, yv)?;
                if xv.is_empty() {
                    return Err(invalid("the validation data holds no samples"));
                }
                check_targets(&self.loss, yv)?;
                x.len()
            }
            Validation::None => x.len(),
        };
        if train_len == 0 {
            return Err(invalid("no samples left to train on"));
        }
        check_targets(&self.loss, y)?;
        Ok(train_len)
    }

    /// Loss and accuracy on `x` and `y`, in batches of `batch_size`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for no samples or a batch size of 0,
    /// [`Error::BatchMismatch`] when `x` and `y` differ in length, and the
    /// loss's errors for a target it cannot take.
    pub fn evaluate<Y>(&mut self, x: &Batch<I, F>, y: &Y, batch_size: usize) -> Result<Evaluation>
    where
        Y: Targets<N::Output, F> + ?Sized,
        Y::Batch: Borrow<L::Target>,
    {
        same_count(x, y)?;
        if x.is_empty() {
            return Err(invalid("evaluate needs at least one sample"));
        }
        let all: Vec<usize> = (0..x.len()).collect();
        self.evaluate_samples(x, y, &all, batch_size)
    }

    /// [`evaluate`](Self::evaluate) on the samples at `indices`.
    fn evaluate_samples<Y>(
        &mut self,
        x: &Batch<I, F>,
        y: &Y,
        indices: &[usize],
        batch_size: usize,
    ) -> Result<Evaluation>
    where
        Y: Targets<N::Output, F> + ?Sized,
        Y::Batch: Borrow<L::Target>,
    {
        if batch_size == 0 {
            return Err(invalid("the batch size must be at least 1"));
        }
        let (mut loss_sum, mut correct) = (0.0, 0);
        let (mut x_batch, mut y_batch) = (Batch::new(), Y::Batch::default());
        for chunk in indices.chunks(batch_size) {
            gather_samples(x, chunk, &mut x_batch);
            y.gather(chunk, &mut y_batch);
            self.network
                .forward_cached(&x_batch, &mut self.output, &mut self.cache);
            let loss = self.loss.loss(&self.output, y_batch.borrow())?.to_f64();
            loss_sum += loss * chunk.len() as f64;
            correct += Y::count_correct(&y_batch, &self.output);
        }
        let n = indices.len().max(1) as f64;
        Ok(Evaluation {
            loss: loss_sum / n,
            accuracy: correct as f64 / n,
        })
    }

    /// The network's outputs for `x`, computed in batches of `batch_size`.
    ///
    /// The batch size can change the last bits: a convolution may compute
    /// by Winograd's tiles for a larger batch and by im2col for a smaller
    /// one (the reference CNN's outputs at batch 1 and 8 differ by about
    /// 2e-8; `tests/fit.rs` bounds them by 1e-6).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a batch size of 0.
    pub fn predict(&self, x: &Batch<I, F>, batch_size: usize) -> Result<Batch<N::Output, F>> {
        if batch_size == 0 {
            return Err(invalid("the batch size must be at least 1"));
        }
        let mut out = Vec::with_capacity(x.len() * <N::Output as Shape>::NUMEL);
        let (mut x_batch, mut y_batch) = (Batch::new(), Batch::new());
        let mut cache = N::Cache::default();
        let all: Vec<usize> = (0..x.len()).collect();
        for indices in all.chunks(batch_size) {
            gather_samples(x, indices, &mut x_batch);
            self.network
                .forward_cached(&x_batch, &mut y_batch, &mut cache);
            out.extend_from_slice(y_batch.as_slice());
        }
        Batch::from_vec_with_len(out, x.len())
    }
}

/// The running figures of an epoch.
#[derive(Default)]
struct Totals {
    step: usize,
    loss_sum: f64,
    correct: usize,
    seen: usize,
}

impl Totals {
    fn add(&mut self, loss: f64, correct: usize, samples: usize) {
        self.loss_sum += loss * samples as f64;
        self.correct += correct;
        self.seen += samples;
    }

    fn loss(&self) -> f64 {
        self.loss_sum / self.seen.max(1) as f64
    }

    fn accuracy(&self) -> f64 {
        self.correct as f64 / self.seen.max(1) as f64
    }
}

/// `Ok` if `x` holds a sample per target of `y`.
fn same_count<S: Shape, O: Shape, F: Float, Y: Targets<O, F> + ?Sized>(
    x: &Batch<S, F>,
    y: &Y,
) -> Result<()> {
    if x.len() == y.count() {
        Ok(())
    } else {
        Err(Error::BatchMismatch {
            left: x.len(),
            right: y.count(),
        })
    }
}

fn invalid(message: &str) -> Error {
    Error::InvalidArgument {
        message: message.into(),
    }
}
