//! `SimpleRNN`: `h_t = tanh(x_t · W + h_{t-1} · U + b)` over a sequence.

use std::marker::PhantomData;

use rand::Rng;

use crate::kernels::{GemmShape, dense_backward, dense_forward};
use crate::{
    Activation, Batch, Float, Init, Layer, Linear, ParamInfo, ParamKind, Parameters, Rank1, Rank2,
    Shape, Tanh, TrainContext, UpdateParams, VisitParams, VisitParamsMut,
};

/// What a recurrent layer returns: its last state ([`LastState`], Keras'
/// default) or the state at every step ([`Sequences`],
/// `return_sequences=True`).
pub trait Returns: Copy + Default + std::fmt::Debug + Send + Sync + 'static {
    /// The output shape of a sequence of `T` steps in `UNITS` units.
    type Output<const T: usize, const UNITS: usize>: Shape;
    /// Whether every step's state is returned.
    const SEQUENCES: bool;
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

/// A fully connected recurrent layer over sequences `[T, D]` (Keras'
/// `SimpleRNN(UNITS)`): `h_t = tanh(x_t · W + h_{t-1} · U + b)` from
/// `h_{-1} = 0`, returning `h_{T-1}` or, with [`Sequences`], every `h_t`.
///
/// Weights in Keras' layout and defaults: `kernel` W `[D, UNITS]`
/// Glorot-uniform, `recurrent_kernel` U `[UNITS, UNITS]` orthogonal, `bias`
/// `[UNITS]` zero.
///
/// ```
/// use keelnet::{Batch, Layer, Rank2, Sequences, SimpleRNN};
/// use rand::SeedableRng;
/// let rnn = SimpleRNN::<3, 4, Sequences>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let y: Batch<Rank2<5, 4>> = rnn.predict(&Batch::<Rank2<5, 3>>::zeros(2));
/// assert!(y.as_slice().iter().all(|&h| h == 0.0)); // zero input, zero bias
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleRNN<const D: usize, const UNITS: usize, R: Returns = LastState, F: Float = f32> {
    /// W, `[D, UNITS]`.
    pub kernel: Vec<F>,
    /// U, `[UNITS, UNITS]`.
    pub recurrent_kernel: Vec<F>,
    /// b, `[UNITS]`.
    pub bias: Vec<F>,
    returns: PhantomData<R>,
}

/// The gradients of a [`SimpleRNN`]'s parameters, laid out like them.
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleRnnGrads<F: Float = f32> {
    /// dL/dW.
    pub kernel: Vec<F>,
    /// dL/dU.
    pub recurrent_kernel: Vec<F>,
    /// dL/db.
    pub bias: Vec<F>,
}

impl<F: Float> Default for SimpleRnnGrads<F> {
    fn default() -> Self {
        Self {
            kernel: Vec::new(),
            recurrent_kernel: Vec::new(),
            bias: Vec::new(),
        }
    }
}

/// What a [`SimpleRNN`] keeps between forward and backward, reused.
#[derive(Clone, Debug, Default)]
pub struct SimpleRnnCache<F: Float = f32> {
    /// `x · W + b` at every step, `[B, T, UNITS]`.
    projected: Vec<F>,
    /// Every state, time-major, `[T, B, UNITS]`.
    states: Vec<F>,
    /// dL/d(pre-activation) at every step, `[B, T, UNITS]`.
    d_preactivations: Vec<F>,
    /// dL/dz at the step being taken back, `[B, UNITS]`.
    dz: Vec<F>,
    /// dL/dh carried to the step before, `[B, UNITS]`.
    dh: Vec<F>,
}

impl<const D: usize, const UNITS: usize, R: Returns, F: Float> SimpleRNN<D, UNITS, R, F> {
    const KERNEL_DIMS: &'static [usize] = &[D, UNITS];
    const RECURRENT_DIMS: &'static [usize] = &[UNITS, UNITS];
    const BIAS_DIMS: &'static [usize] = &[UNITS];

    /// Keras' defaults, drawn from `rng`.
    pub fn new<G: Rng + ?Sized>(rng: &mut G) -> Self {
        Self {
            kernel: Init::GlorotUniform.sample(rng, D, UNITS, D * UNITS),
            recurrent_kernel: Init::Orthogonal.sample(rng, UNITS, UNITS, UNITS * UNITS),
            bias: vec![F::zero(); UNITS],
            returns: PhantomData,
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

    /// `[B, UNITS] · U` (or `· Uᵀ`), added to the output if asked.
    fn by_recurrent(batch: usize, transposed: bool, accumulate: bool) -> GemmShape {
        GemmShape {
            m: batch,
            n: UNITS,
            k: UNITS,
            a_transposed: false,
            b_transposed: transposed,
            accumulate,
        }
    }

    /// `[B, UNITS]ᵀ · [B, UNITS]`, added to dU.
    fn recurrent_grad(batch: usize) -> GemmShape {
        GemmShape {
            m: UNITS,
            n: UNITS,
            k: batch,
            a_transposed: true,
            b_transposed: false,
            accumulate: true,
        }
    }

    // x: [B, T, D] -> states: [T, B, UNITS]; one product for every step's
    // input, then one recurrent product a step
    fn run<const T: usize>(&self, x: &[F], batch: usize, cache: &mut SimpleRnnCache<F>) {
        let step = batch * UNITS;
        cache.projected.resize(batch * T * UNITS, F::zero());
        dense_forward::<F, Linear>(x, &self.kernel, &self.bias, &mut cache.projected);
        cache.states.resize(T * step, F::zero());
        for t in 0..T {
            let (before, from) = cache.states.split_at_mut(t * step);
            let h = &mut from[..step];
            for (b, h) in h.chunks_exact_mut(UNITS).enumerate() {
                h.copy_from_slice(&cache.projected[(b * T + t) * UNITS..][..UNITS]);
            }
            if t > 0 {
                // h += h_{t-1} · U
                let previous = &before[(t - 1) * step..];
                let shape = Self::by_recurrent(batch, false, true);
                F::gemm(
                    shape,
                    previous,
                    &self.recurrent_kernel,
                    h,
                    &|_, _, _: &mut [F]| {},
                );
            }
            <Tanh as Activation>::forward(h);
        }
    }

    // the states -> y: [B, T, UNITS] or the last, [B, UNITS]
    fn outputs<const T: usize>(states: &[F], batch: usize, y: &mut [F]) {
        let step = batch * UNITS;
        if R::SEQUENCES {
            for (t, states) in states.chunks_exact(step).enumerate() {
                for (b, h) in states.chunks_exact(UNITS).enumerate() {
                    y[(b * T + t) * UNITS..][..UNITS].copy_from_slice(h);
                }
            }
        } else {
            y.copy_from_slice(&states[(T - 1) * step..][..step]);
        }
    }

    // dy -> dL/d(pre-activation) at every step, back through time; dU on the way
    fn back_through_time<const T: usize>(
        &self,
        dy: &[F],
        batch: usize,
        cache: &mut SimpleRnnCache<F>,
        d_recurrent: &mut Vec<F>,
    ) {
        let step = batch * UNITS;
        let SimpleRnnCache {
            states,
            d_preactivations,
            dz,
            dh,
            ..
        } = cache;
        d_preactivations.resize(batch * T * UNITS, F::zero());
        dz.resize(step, F::zero());
        dh.clear();
        dh.resize(step, F::zero());
        d_recurrent.clear();
        d_recurrent.resize(UNITS * UNITS, F::zero());
        for t in (0..T).rev() {
            // dz = (dy_t + dh) · (1 - h_t²)
            let h = &states[t * step..][..step];
            for (b, dz) in dz.chunks_exact_mut(UNITS).enumerate() {
                let dy_t = if R::SEQUENCES {
                    Some(&dy[(b * T + t) * UNITS..][..UNITS])
                } else {
                    (t == T - 1).then(|| &dy[b * UNITS..][..UNITS])
                };
                dz.copy_from_slice(&dh[b * UNITS..][..UNITS]);
                if let Some(dy_t) = dy_t {
                    dz.iter_mut().zip(dy_t).for_each(|(dz, &d)| *dz += d);
                }
                let h = &h[b * UNITS..][..UNITS];
                dz.iter_mut()
                    .zip(h)
                    .for_each(|(dz, &h)| *dz *= F::one() - h * h);
                d_preactivations[(b * T + t) * UNITS..][..UNITS].copy_from_slice(dz);
            }
            if t > 0 {
                // dU += h_{t-1}ᵀ · dz, dh = dz · Uᵀ
                let previous = &states[(t - 1) * step..][..step];
                let nothing = |_: usize, _: usize, _: &mut [F]| {};
                F::gemm(
                    Self::recurrent_grad(batch),
                    previous,
                    dz,
                    d_recurrent,
                    &nothing,
                );
                let shape = Self::by_recurrent(batch, true, false);
                F::gemm(shape, dz, &self.recurrent_kernel, dh, &nothing);
            }
        }
    }
}

impl<const D: usize, const UNITS: usize, R: Returns, F: Float> Parameters<F>
    for SimpleRNN<D, UNITS, R, F>
{
    type Grads = SimpleRnnGrads<F>;

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

impl<const T: usize, const D: usize, const UNITS: usize, R: Returns, F: Float> Layer<Rank2<T, D>, F>
    for SimpleRNN<D, UNITS, R, F>
{
    type Output = R::Output<T, UNITS>;
    type Cache = SimpleRnnCache<F>;

    fn forward(&self, x: &Batch<Rank2<T, D>, F>, y: &mut Batch<Self::Output, F>) {
        self.forward_cached(x, y, &mut SimpleRnnCache::default());
    }

    fn forward_train(
        &self,
        x: &Batch<Rank2<T, D>, F>,
        y: &mut Batch<Self::Output, F>,
        cache: &mut SimpleRnnCache<F>,
        _ctx: &mut TrainContext,
    ) {
        self.forward_cached(x, y, cache);
    }

    // x: [B, T, D] -> y: [B, T, UNITS] or [B, UNITS]
    fn forward_cached(
        &self,
        x: &Batch<Rank2<T, D>, F>,
        y: &mut Batch<Self::Output, F>,
        cache: &mut SimpleRnnCache<F>,
    ) {
        const { assert!(T >= 1, "a recurrent layer needs at least one step") };
        y.resize(x.len());
        self.run::<T>(x.as_slice(), x.len(), cache);
        Self::outputs::<T>(&cache.states, x.len(), y.as_mut_slice());
    }

    // dy -> back through time -> dW, dU, db, dx
    fn backward(
        &self,
        x: &Batch<Rank2<T, D>, F>,
        _y: &Batch<Self::Output, F>,
        cache: &mut SimpleRnnCache<F>,
        dy: &mut Batch<Self::Output, F>,
        dx: Option<&mut Batch<Rank2<T, D>, F>>,
        grads: &mut SimpleRnnGrads<F>,
    ) {
        let batch = x.len();
        self.back_through_time::<T>(dy.as_slice(), batch, cache, &mut grads.recurrent_kernel);
        grads.kernel.resize(D * UNITS, F::zero());
        grads.bias.resize(UNITS, F::zero());
        let dx = dx.map(|dx| {
            dx.resize(batch);
            dx.as_mut_slice()
        });
        let (dw, db) = (&mut grads.kernel, &mut grads.bias);
        dense_backward(
            x.as_slice(),
            &self.kernel,
            &cache.d_preactivations,
            dw,
            db,
            dx,
        );
    }
}
