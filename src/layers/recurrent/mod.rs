//! The recurrent layers: one [`Recurrent`] layer type over a sequence,
//! whose [`Cell`] says what a step computes ([`SimpleRNN`](crate::SimpleRNN),
//! [`LSTM`](crate::LSTM)), and whether it returns its last state or every
//! step's ([`Returns`]).

mod through_time;

use std::fmt::Debug;
use std::marker::PhantomData;

use rand::Rng;

use crate::kernels::{dense_backward, dense_forward};
use crate::{
    Batch, Float, Init, Layer, Linear, ParamInfo, ParamKind, Parameters, Rank1, Rank2, Shape,
    TrainContext, UpdateParams, VisitParams, VisitParamsMut,
};

/// What a recurrent layer returns: its last state ([`LastState`], Keras'
/// default) or the state at every step ([`Sequences`],
/// `return_sequences=True`).
pub trait Returns: Copy + Default + std::fmt::Debug + Send + Sync + 'static {
    /// The output shape of a sequence of `T` steps in `UNITS` units.
    type Output<const T: usize, const UNITS: usize>: Shape;
    /// Whether every step's state is returned.
    const SEQUENCES: bool;

    /// The output from every state, time-major `[T, B, UNITS]`: `y` is
    /// `[B, T, UNITS]`, or the last step's `[B, UNITS]`.
    fn gather<F: Float>(states: &[F], (steps, batch, units): (usize, usize, usize), y: &mut [F]) {
        let step = batch * units;
        if Self::SEQUENCES {
            for (t, states) in states.chunks_exact(step).enumerate() {
                for (b, h) in states.chunks_exact(units).enumerate() {
                    y[(b * steps + t) * units..][..units].copy_from_slice(h);
                }
            }
        } else {
            y.copy_from_slice(&states[(steps - 1) * step..][..step]);
        }
    }

    /// The gradient at sample `b`'s state at step `t`, from the gradient
    /// `dy` at the output, if the output holds that state.
    fn grad_at<F: Float>(
        dy: &[F],
        (steps, units): (usize, usize),
        (b, t): (usize, usize),
    ) -> Option<&[F]> {
        if Self::SEQUENCES {
            Some(&dy[(b * steps + t) * units..][..units])
        } else {
            (t + 1 == steps).then(|| &dy[b * units..][..units])
        }
    }
}

/// The last step's state, `[UNITS]`.
///
/// ```
/// use keelnet::{LastState, Returns};
/// assert!(!LastState::SEQUENCES);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastState;

/// Every step's state, `[T, UNITS]`.
///
/// ```
/// use keelnet::{Returns, Sequences};
/// assert!(Sequences::SEQUENCES);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sequences;

impl Returns for LastState {
    type Output<const T: usize, const UNITS: usize> = Rank1<UNITS>;
    const SEQUENCES: bool = false;
}

impl Returns for Sequences {
    type Output<const T: usize, const UNITS: usize> = Rank2<T, UNITS>;
    const SEQUENCES: bool = true;
}

/// What one step of a recurrent layer computes, for one sample, from the
/// gates' pre-activations `z = x_t · W + h_{t-1} · U + b`
/// (`GATES·UNITS` values, the gates side by side as in Keras' kernels).
///
/// ```
/// use keelnet::{Cell, LstmCell, SimpleCell};
/// assert_eq!((SimpleCell::GATES, LstmCell::GATES), (1, 4));
/// ```
pub trait Cell: Copy + Default + Debug + Send + Sync + 'static {
    /// Gates whose weights sit side by side in the kernels.
    const GATES: usize;

    /// The bias Keras starts from, `[GATES·units]`: zero by default.
    fn initial_bias<F: Float>(units: usize) -> Vec<F> {
        vec![F::zero(); Self::GATES * units]
    }

    /// One step forward: `z` is replaced by what backward reads (the
    /// activated gates); the cell `c` (if the layer has one; `c_previous`
    /// is the step before's, `None` at the first) and the state `h` are
    /// written.
    fn forward<F: Float>(z: &mut [F], c_previous: Option<&[F]>, c: &mut [F], h: &mut [F]);

    /// One step backward: from the activated gates `g`, the cells, and the
    /// gradients `dh` and `dc` at the state and cell, writes dL/dz into
    /// `dz`; clears `dh` (the recurrent product refills it) and leaves in
    /// `dc` the gradient at the cell before.
    fn backward<F: Float>(
        g: &[F],
        cells: (&[F], Option<&[F]>),
        grads: (&mut [F], &mut [F]),
        dz: &mut [F],
    );
}

/// A recurrent layer over sequences `[T, D]` with `UNITS` units, whose
/// steps [`C`](Cell) computes; it returns the last state or, with
/// [`Sequences`], every state. Use it through [`SimpleRNN`](crate::SimpleRNN)
/// and [`LSTM`](crate::LSTM).
///
/// Weights in Keras' layout: `kernel` W `[D, G·UNITS]` Glorot-uniform,
/// `recurrent_kernel` U `[UNITS, G·UNITS]` orthogonal, `bias` `[G·UNITS]`,
/// with `G` the cell's gates.
///
/// ```
/// use keelnet::{Batch, Layer, Rank1, Rank2, Recurrent, SimpleCell};
/// use rand::SeedableRng;
/// let rnn = Recurrent::<3, 4, SimpleCell>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let h: Batch<Rank1<4>> = rnn.predict(&Batch::<Rank2<5, 3>>::zeros(2));
/// assert_eq!(h.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Recurrent<
    const D: usize,
    const UNITS: usize,
    C: Cell,
    R: Returns = LastState,
    F: Float = f32,
> {
    /// W, `[D, G·UNITS]`.
    pub kernel: Vec<F>,
    /// U, `[UNITS, G·UNITS]`.
    pub recurrent_kernel: Vec<F>,
    /// b, `[G·UNITS]`.
    pub bias: Vec<F>,
    cell: PhantomData<(C, R)>,
}

/// The gradients of a [`Recurrent`] layer's parameters, laid out like them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecurrentGrads<F: Float = f32> {
    /// dL/dW.
    pub kernel: Vec<F>,
    /// dL/dU.
    pub recurrent_kernel: Vec<F>,
    /// dL/db.
    pub bias: Vec<F>,
}

/// What a [`Recurrent`] layer keeps between forward and backward, reused
/// from step to step.
#[derive(Clone, Debug, Default)]
pub struct RecurrentCache<F: Float = f32> {
    /// `x · W + b` at every step, `[B, T, G·UNITS]`.
    projected: Vec<F>,
    /// The activated gates, time-major, `[T, B, G·UNITS]`.
    gates: Vec<F>,
    /// The cells (LSTM), time-major, `[T, B, UNITS]`.
    cells: Vec<F>,
    /// The states, time-major, `[T, B, UNITS]`.
    states: Vec<F>,
    /// dL/dz at every step, `[B, T, G·UNITS]`.
    d_gates: Vec<F>,
    /// dL/dz at the step being taken back, `[B, G·UNITS]`.
    dz: Vec<F>,
    /// dL/dh and dL/dc carried to the step before, `[B, UNITS]` each.
    dh: Vec<F>,
    dc: Vec<F>,
}

impl<const D: usize, const UNITS: usize, C: Cell, R: Returns, F: Float>
    Recurrent<D, UNITS, C, R, F>
{
    const WIDE: usize = C::GATES * UNITS;
    const KERNEL_DIMS: &'static [usize] = &[D, Self::WIDE];
    const RECURRENT_DIMS: &'static [usize] = &[UNITS, Self::WIDE];
    const BIAS_DIMS: &'static [usize] = &[Self::WIDE];

    /// Keras' defaults, drawn from `rng`.
    pub fn new<G: Rng + ?Sized>(rng: &mut G) -> Self {
        let wide = Self::WIDE;
        Self {
            kernel: Init::GlorotUniform.sample(rng, D, wide, D * wide),
            recurrent_kernel: Init::Orthogonal.sample(rng, UNITS, wide, UNITS * wide),
            bias: C::initial_bias(UNITS),
            cell: PhantomData,
        }
    }

    fn infos(layer: &str) -> [ParamInfo<'_>; 3] {
        let info = |name, kind, dims| ParamInfo {
            layer,
            name,
            kind,
            dims,
        };
        [
            info("kernel", ParamKind::Weight, Self::KERNEL_DIMS),
            info("recurrent_kernel", ParamKind::Weight, Self::RECURRENT_DIMS),
            info("bias", ParamKind::Bias, Self::BIAS_DIMS),
        ]
    }
}

impl<const D: usize, const UNITS: usize, C: Cell, R: Returns, F: Float> Parameters<F>
    for Recurrent<D, UNITS, C, R, F>
{
    type Grads = RecurrentGrads<F>;

    fn visit_params(&self, layer: &str, f: &mut VisitParams<'_, F>) {
        let [kernel, recurrent, bias] = Self::infos(layer);
        f(kernel, &self.kernel);
        f(recurrent, &self.recurrent_kernel);
        f(bias, &self.bias);
    }

    fn visit_params_mut(&mut self, layer: &str, f: &mut VisitParamsMut<'_, F>) {
        let [kernel, recurrent, bias] = Self::infos(layer);
        f(kernel, &mut self.kernel);
        f(recurrent, &mut self.recurrent_kernel);
        f(bias, &mut self.bias);
    }

    fn update_params(&mut self, layer: &str, grads: &Self::Grads, f: &mut UpdateParams<'_, F>) {
        let [kernel, recurrent, bias] = Self::infos(layer);
        f(kernel, &mut self.kernel, &grads.kernel);
        f(
            recurrent,
            &mut self.recurrent_kernel,
            &grads.recurrent_kernel,
        );
        f(bias, &mut self.bias, &grads.bias);
    }
}

impl<const T: usize, const D: usize, const UNITS: usize, C: Cell, R: Returns, F: Float>
    Layer<Rank2<T, D>, F> for Recurrent<D, UNITS, C, R, F>
{
    type Output = R::Output<T, UNITS>;
    type Cache = RecurrentCache<F>;

    fn forward(&self, x: &Batch<Rank2<T, D>, F>, y: &mut Batch<Self::Output, F>) {
        self.forward_cached(x, y, &mut RecurrentCache::default());
    }

    fn forward_train(
        &self,
        x: &Batch<Rank2<T, D>, F>,
        y: &mut Batch<Self::Output, F>,
        cache: &mut RecurrentCache<F>,
        _ctx: &mut TrainContext,
    ) {
        self.forward_cached(x, y, cache);
    }

    // x: [B, T, D] -> x · W + b, one product -> the steps -> y: [B, T, UNITS] or [B, UNITS]
    fn forward_cached(
        &self,
        x: &Batch<Rank2<T, D>, F>,
        y: &mut Batch<Self::Output, F>,
        cache: &mut RecurrentCache<F>,
    ) {
        const { assert!(T >= 1, "a recurrent layer needs at least one step") };
        let batch = x.len();
        y.resize(batch);
        cache.projected.resize(batch * T * Self::WIDE, F::zero());
        dense_forward::<F, Linear>(x.as_slice(), &self.kernel, &self.bias, &mut cache.projected);
        self.steps_forward((T, batch), cache);
        R::gather(&cache.states, (T, batch, UNITS), y.as_mut_slice());
    }

    // dy -> back through time -> dU; then dW, db, dx as one product
    fn backward(
        &self,
        x: &Batch<Rank2<T, D>, F>,
        _y: &Batch<Self::Output, F>,
        cache: &mut RecurrentCache<F>,
        dy: &mut Batch<Self::Output, F>,
        dx: Option<&mut Batch<Rank2<T, D>, F>>,
        grads: &mut RecurrentGrads<F>,
    ) {
        let batch = x.len();
        let dy = dy.as_slice();
        let dy_at = |b, t| R::grad_at(dy, (T, UNITS), (b, t));
        self.steps_backward((T, batch), dy_at, cache, &mut grads.recurrent_kernel);
        grads.kernel.resize(D * Self::WIDE, F::zero());
        grads.bias.resize(Self::WIDE, F::zero());
        let dx = dx.map(|dx| {
            dx.resize(batch);
            dx.as_mut_slice()
        });
        let (dw, db) = (&mut grads.kernel, &mut grads.bias);
        dense_backward(x.as_slice(), &self.kernel, &cache.d_gates, dw, db, dx);
    }
}
