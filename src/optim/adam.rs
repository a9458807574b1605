//! Adam, bias-corrected, with Keras' defaults.

use super::{Allowed, Optimizer, ParamState, check_settings, decay_for, flush_subnormal};
use crate::kernels::for_each_part;
use crate::{Float, ParamInfo};

/// Adam (Kingma & Ba) as Keras computes it: at step `t`,
/// `m = β1·m + (1-β1)·g`, `v = β2·v + (1-β2)·g²`,
/// `w -= α_t · m / (sqrt(v) + ε)` with `α_t = lr · sqrt(1-β2^t) / (1-β1^t)`.
///
/// Defaults are Keras': lr 1e-3, β1 0.9, β2 0.999, ε 1e-7.
///
/// ```
/// use keelnet::Adam;
/// let adam: Adam = Adam::default();
/// assert_eq!((adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon), (1e-3, 0.9, 0.999, 1e-7));
/// let fast: Adam = Adam::new(3e-3).weight_decay(1e-4);
/// assert_eq!(fast.learning_rate, 3e-3);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<F: Float = f32> {
    /// Step size.
    pub learning_rate: f64,
    /// Decay of the first moment.
    pub beta_1: f64,
    /// Decay of the second moment.
    pub beta_2: f64,
    /// Added to the root of the second moment.
    pub epsilon: f64,
    /// L2 weight decay `λ` (default 0).
    pub weight_decay: f64,
    /// Steps taken.
    pub iterations: u64,
    /// First moments, by tensor name.
    pub m: ParamState<F>,
    /// Second moments, by tensor name.
    pub v: ParamState<F>,
}

impl<F: Float> Default for Adam<F> {
    fn default() -> Self {
        Self::new(1e-3)
    }
}

impl<F: Float> Adam<F> {
    /// Adam with the given learning rate and Keras' other defaults.
    pub fn new(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            weight_decay: 0.0,
            iterations: 0,
            m: ParamState::default(),
            v: ParamState::default(),
        }
    }

    /// With L2 weight decay `λ`.
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        Self {
            weight_decay,
            ..self
        }
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn begin_step(&mut self) {
        self.iterations += 1;
    }

    fn update(&mut self, slot: usize, info: ParamInfo<'_>, param: &mut [F], grad: &[F]) {
        let t = self.iterations.max(1) as f64;
        let alpha =
            self.learning_rate * (1.0 - self.beta_2.powf(t)).sqrt() / (1.0 - self.beta_1.powf(t));
        let (alpha, eps) = (F::from_f64(alpha), F::from_f64(self.epsilon));
        let (b1, b2) = (F::from_f64(self.beta_1), F::from_f64(self.beta_2));
        let decay = decay_for::<F>(self.weight_decay, info);
        let len = param.len().min(grad.len());
        let m = self.m.get_mut(slot, info, len);
        let v = self.v.get_mut(slot, info, len);
        let (one, b1, b2) = (F::one(), b1, b2);
        // One pass over each tensor, in parts on threads when long.
        let parts = (&mut param[..len], &grad[..len], m, v);
        for_each_part(
            parts,
            #[inline(always)]
            |(param, grad, m, v): (&mut [F], &[F], &mut [F], &mut [F])| {
                let len = param.len();
                let (grad, m, v) = (&grad[..len], &mut m[..len], &mut v[..len]);
                // Indexed over slices of one length: the compiler vectorizes it.
                for i in 0..len {
                    let g = grad[i] + decay * param[i];
                    m[i] = flush_subnormal(b1 * m[i] + (one - b1) * g);
                    v[i] = flush_subnormal(b2 * v[i] + (one - b2) * g * g);
                    param[i] -= alpha * m[i] / (v[i].sqrt() + eps);
                }
            },
        );
    }

    fn check(&self) -> crate::Result<()> {
        check_settings(&[
            ("learning_rate", self.learning_rate, Allowed::Positive),
            ("beta_1", self.beta_1, Allowed::Fraction),
            ("beta_2", self.beta_2, Allowed::Fraction),
            ("epsilon", self.epsilon, Allowed::NonNegative),
            ("weight_decay", self.weight_decay, Allowed::NonNegative),
        ])
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.learning_rate = lr;
    }
}
