//! `BatchNormalization`: each channel normalized by the batch's statistics
//! in training and by moving averages of them in inference.

use crate::{
    Batch, Float, Layer, ParamInfo, ParamKind, Parameters, Rank1, Rank3, TrainContext,
    UpdateParams, VisitParams, VisitParamsMut,
};

/// Batch normalization over `C` channels, as Keras' `BatchNormalization`
/// (momentum 0.99, epsilon 1e-3): after `Dense` each of the `C` features is
/// a channel; after `Conv2D` each of the `C` planes is, its statistics taken
/// over the batch and the plane's positions.
///
/// - Training: `y = γ·(x - μ)/√(σ² + ε) + β`, with `μ`, `σ²` the batch's
///   mean and (biased) variance per channel.
/// - Inference: the same with the moving mean and variance.
///
/// γ and β are trainable. The moving mean and variance are state
/// ([`ParamKind::State`]): the parameter walk shows them (to save and load
/// them), optimizers never update them. Each update step
/// ([`Parameters::update_params`]) moves them toward the statistics of the
/// batch of the last backward pass: `moving = 0.99·moving + 0.01·batch`.
///
/// ```
/// use keelnet::{Batch, BatchNormalization, Layer, Rank1, TrainContext};
/// let bn = BatchNormalization::<2>::new();
/// let x = Batch::<Rank1<2>>::from_vec(vec![1.0, 10.0, 3.0, 30.0])?;
/// let (mut y, mut cache) = (Batch::new(), Default::default());
/// bn.forward_train(&x, &mut y, &mut cache, &mut TrainContext::new(0));
/// // Each feature normalized over the batch: -1 and 1 (to epsilon).
/// assert!((y.as_slice()[0] + 1.0).abs() < 1e-3 && (y.as_slice()[1] + 1.0).abs() < 1e-3);
/// // Inference uses the moving statistics: at first mean 0, variance 1.
/// assert!((bn.predict(&x).as_slice()[1] - 10.0).abs() < 1e-2);
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormalization<const C: usize, F: Float = f32> {
    /// γ, `[C]`, one at first.
    pub gamma: Vec<F>,
    /// β, `[C]`, zero at first.
    pub beta: Vec<F>,
    /// The moving mean, `[C]`, zero at first.
    pub moving_mean: Vec<F>,
    /// The moving variance, `[C]`, one at first.
    pub moving_variance: Vec<F>,
}

/// The gradients of a [`BatchNormalization`], and the statistics of the
/// batch that the next update step moves the moving averages toward.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormGrads<const C: usize, F: Float = f32> {
    /// dL/dγ, `[C]`.
    pub gamma: Vec<F>,
    /// dL/dβ, `[C]`.
    pub beta: Vec<F>,
    /// The batch's mean per channel, `[C]`.
    pub batch_mean: Vec<F>,
    /// The batch's variance per channel, `[C]`.
    pub batch_variance: Vec<F>,
}

impl<const C: usize, F: Float> Default for BatchNormGrads<C, F> {
    fn default() -> Self {
        Self {
            gamma: vec![F::zero(); C],
            beta: vec![F::zero(); C],
            batch_mean: vec![F::zero(); C],
            batch_variance: vec![F::one(); C],
        }
    }
}

/// What a training forward pass keeps for backward.
#[derive(Clone, Debug, Default)]
pub struct BatchNormCache<F> {
    /// The normalized inputs `(x - μ)/√(σ² + ε)`, laid out as `x`.
    normalized: Vec<F>,
    /// `1/√(σ² + ε)` per channel.
    inv_std: Vec<F>,
    /// μ per channel.
    mean: Vec<F>,
    /// σ² per channel.
    variance: Vec<F>,
}

/// Keras' default momentum of the moving averages.
const MOMENTUM: f64 = 0.99;
/// Keras' default epsilon.
const EPSILON: f64 = 1e-3;

impl<const C: usize, F: Float> BatchNormalization<C, F> {
    const DIMS: &'static [usize] = &[C];

    /// γ one, β zero, moving mean zero, moving variance one (Keras' defaults).
    pub fn new() -> Self {
        Self {
            gamma: vec![F::one(); C],
            beta: vec![F::zero(); C],
            moving_mean: vec![F::zero(); C],
            moving_variance: vec![F::one(); C],
        }
    }

    fn info<'a>(layer: &'a str, name: &'static str, kind: ParamKind) -> ParamInfo<'a> {
        ParamInfo {
            layer,
            name,
            kind,
            dims: Self::DIMS,
        }
    }

    // x: [B, C, P] -> y = γ·(x - moving mean)/√(moving variance + ε) + β, per channel
    fn normalize_moving(&self, x: &[F], positions: usize, y: &mut [F]) {
        let eps = F::from_f64(EPSILON);
        let (mean, variance) = (&self.moving_mean, &self.moving_variance);
        let xs = x.chunks_exact(positions);
        for (i, (x, y)) in xs.zip(y.chunks_exact_mut(positions)).enumerate() {
            let c = i % C;
            let scale = self.gamma[c] / (variance[c] + eps).sqrt();
            let shift = self.beta[c] - mean[c] * scale;
            for (y, &x) in y.iter_mut().zip(x) {
                *y = x * scale + shift;
            }
        }
    }

    // x: [B, C, P] -> batch mean and variance per channel, x̂, y = γ·x̂ + β
    fn normalize_batch(
        &self,
        x: &[F],
        positions: usize,
        y: &mut [F],
        cache: &mut BatchNormCache<F>,
    ) {
        let count = F::from_usize((x.len() / C).max(1));
        let (mean, variance) = (&mut cache.mean, &mut cache.variance);
        mean.clear();
        mean.resize(C, F::zero());
        variance.clear();
        variance.resize(C, F::zero());
        for (i, x) in x.chunks_exact(positions).enumerate() {
            mean[i % C] += x.iter().copied().sum::<F>();
        }
        mean.iter_mut().for_each(|m| *m /= count);
        for (i, x) in x.chunks_exact(positions).enumerate() {
            let m = mean[i % C];
            variance[i % C] += x.iter().map(|&v| (v - m) * (v - m)).sum::<F>();
        }
        variance.iter_mut().for_each(|v| *v /= count);
        let eps = F::from_f64(EPSILON);
        cache.inv_std.clear();
        cache
            .inv_std
            .extend(variance.iter().map(|&v| F::one() / (v + eps).sqrt()));
        cache.normalized.clear();
        cache.normalized.resize(x.len(), F::zero());
        let planes = cache.normalized.chunks_exact_mut(positions);
        let planes = planes
            .zip(x.chunks_exact(positions))
            .zip(y.chunks_exact_mut(positions));
        for (i, ((n, x), y)) in planes.enumerate() {
            let c = i % C;
            let (m, s) = (mean[c], cache.inv_std[c]);
            let (gamma, beta) = (self.gamma[c], self.beta[c]);
            for ((n, y), &x) in n.iter_mut().zip(y).zip(x) {
                *n = (x - m) * s;
                *y = gamma * *n + beta;
            }
        }
    }

    // dy: [B, C, P] -> dγ = Σ dy·x̂, dβ = Σ dy,
    // dx = γ·inv_std/M · (M·dy - dβ - x̂·dγ), M = B·P values per channel
    fn backward_channels(
        &self,
        positions: usize,
        cache: &BatchNormCache<F>,
        dy: &[F],
        dx: Option<&mut [F]>,
        grads: &mut BatchNormGrads<C, F>,
    ) {
        grads.gamma.iter_mut().for_each(|g| *g = F::zero());
        grads.beta.iter_mut().for_each(|g| *g = F::zero());
        let planes = dy
            .chunks_exact(positions)
            .zip(cache.normalized.chunks_exact(positions));
        for (i, (dy, n)) in planes.enumerate() {
            grads.gamma[i % C] += dy.iter().zip(n).map(|(&d, &n)| d * n).sum::<F>();
            grads.beta[i % C] += dy.iter().copied().sum::<F>();
        }
        grads.batch_mean.copy_from_slice(&cache.mean);
        grads.batch_variance.copy_from_slice(&cache.variance);
        let Some(dx) = dx else { return };
        let count = F::from_usize((dy.len() / C).max(1));
        let planes = dy
            .chunks_exact(positions)
            .zip(cache.normalized.chunks_exact(positions));
        for (i, ((dy, n), dx)) in planes.zip(dx.chunks_exact_mut(positions)).enumerate() {
            let c = i % C;
            let scale = self.gamma[c] * cache.inv_std[c] / count;
            let (dbeta, dgamma) = (grads.beta[c], grads.gamma[c]);
            for ((dx, &dy), &n) in dx.iter_mut().zip(dy).zip(n) {
                *dx = scale * (count * dy - dbeta - n * dgamma);
            }
        }
    }
}

impl<const C: usize, F: Float> Default for BatchNormalization<C, F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const C: usize, F: Float> Parameters<F> for BatchNormalization<C, F> {
    type Grads = BatchNormGrads<C, F>;

    fn visit_params(&self, layer: &str, f: &mut VisitParams<'_, F>) {
        f(Self::info(layer, "gamma", ParamKind::Scale), &self.gamma);
        f(Self::info(layer, "beta", ParamKind::Bias), &self.beta);
        let moving_mean = Self::info(layer, "moving_mean", ParamKind::State);
        f(moving_mean, &self.moving_mean);
        let moving_variance = Self::info(layer, "moving_variance", ParamKind::State);
        f(moving_variance, &self.moving_variance);
    }

    fn visit_params_mut(&mut self, layer: &str, f: &mut VisitParamsMut<'_, F>) {
        f(
            Self::info(layer, "gamma", ParamKind::Scale),
            &mut self.gamma,
        );
        f(Self::info(layer, "beta", ParamKind::Bias), &mut self.beta);
        let moving_mean = Self::info(layer, "moving_mean", ParamKind::State);
        f(moving_mean, &mut self.moving_mean);
        let moving_variance = Self::info(layer, "moving_variance", ParamKind::State);
        f(moving_variance, &mut self.moving_variance);
    }

    /// γ and β through `f`; the moving statistics toward the batch's, not
    /// through `f` (no optimizer touches them).
    fn update_params(&mut self, layer: &str, grads: &Self::Grads, f: &mut UpdateParams<'_, F>) {
        let gamma = Self::info(layer, "gamma", ParamKind::Scale);
        f(gamma, &mut self.gamma, &grads.gamma);
        f(
            Self::info(layer, "beta", ParamKind::Bias),
            &mut self.beta,
            &grads.beta,
        );
        let (keep, take) = (F::from_f64(MOMENTUM), F::from_f64(1.0 - MOMENTUM));
        let moving = self.moving_mean.iter_mut().zip(&grads.batch_mean);
        moving.for_each(|(m, &b)| *m = keep * *m + take * b);
        let moving = self.moving_variance.iter_mut().zip(&grads.batch_variance);
        moving.for_each(|(v, &b)| *v = keep * *v + take * b);
    }
}

/// The `Layer` impl over one sample shape whose channels are its first
/// axis, `$positions` values each.
macro_rules! batch_norm_layer {
    ({$($generics:tt)*} $shape:ty, $positions:expr) => {
        impl<const C: usize, $($generics)* F: Float> Layer<$shape, F> for BatchNormalization<C, F> {
            type Output = $shape;
            type Cache = BatchNormCache<F>;

            fn forward(&self, x: &Batch<$shape, F>, y: &mut Batch<$shape, F>) {
                y.resize(x.len());
                self.normalize_moving(x.as_slice(), $positions, y.as_mut_slice());
            }

            fn forward_train(
                &self,
                x: &Batch<$shape, F>,
                y: &mut Batch<$shape, F>,
                cache: &mut BatchNormCache<F>,
                _ctx: &mut TrainContext,
            ) {
                y.resize(x.len());
                self.normalize_batch(x.as_slice(), $positions, y.as_mut_slice(), cache);
            }

            fn backward(
                &self,
                _x: &Batch<$shape, F>,
                _y: &Batch<$shape, F>,
                cache: &mut BatchNormCache<F>,
                dy: &mut Batch<$shape, F>,
                dx: Option<&mut Batch<$shape, F>>,
                grads: &mut Self::Grads,
            ) {
                let dx = dx.map(|dx| {
                    dx.resize(dy.len());
                    dx.as_mut_slice()
                });
                self.backward_channels($positions, cache, dy.as_slice(), dx, grads);
            }
        }
    };
}

// After Dense: [C], each feature a channel.
batch_norm_layer!({} Rank1<C>, 1);
// After Conv2D: [C, H, W], each plane a channel.
batch_norm_layer!({const H: usize, const W: usize,} Rank3<C, H, W>, H * W);
