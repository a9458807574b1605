//! RMSprop with Keras' defaults.

use super::{Allowed, Optimizer, ParamState, check_settings, decay_for, flush_subnormal};
use crate::kernels::for_each_part;
use crate::{Float, ParamInfo};

/// RMSprop as Keras and TensorFlow compute it:
/// `s = ρ·s + (1-ρ)·g²`, `w -= lr · g / sqrt(s + ε)`.
///
/// Defaults are Keras': lr 1e-3, ρ 0.9, ε 1e-7.
///
/// ```
/// use keelnet::RmsProp;
/// let rms: RmsProp = RmsProp::default();
/// assert_eq!((rms.learning_rate, rms.rho, rms.epsilon), (1e-3, 0.9, 1e-7));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RmsProp<F: Float = f32> {
    /// Step size.
    pub learning_rate: f64,
    /// Decay of the mean square.
    pub rho: f64,
    /// Added to the mean square under the root.
    pub epsilon: f64,
    /// L2 weight decay `λ` (default 0).
    pub weight_decay: f64,
    /// Mean squares, by tensor name.
    pub mean_square: ParamState<F>,
}

impl<F: Float> Default for RmsProp<F> {
    fn default() -> Self {
        Self::new(1e-3)
    }
}

impl<F: Float> RmsProp<F> {
    /// RMSprop with the given learning rate and Keras' other defaults.
    pub fn new(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            rho: 0.9,
            epsilon: 1e-7,
            weight_decay: 0.0,
            mean_square: ParamState::default(),
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

impl<F: Float> Optimizer<F> for RmsProp<F> {
    fn begin_step(&mut self) {}

    fn update(&mut self, slot: usize, info: ParamInfo<'_>, param: &mut [F], grad: &[F]) {
        let (lr, rho, eps) = (
            F::from_f64(self.learning_rate),
            F::from_f64(self.rho),
            F::from_f64(self.epsilon),
        );
        let decay = decay_for::<F>(self.weight_decay, info);
        let mean_square = self.mean_square.get_mut(slot, info, param.len());
        let one = F::one();
        for_each_part(
            (param, grad, mean_square),
            #[inline(always)]
            |(param, grad, mean_square): (&mut [F], &[F], &mut [F])| {
                for ((w, &g), s) in param.iter_mut().zip(grad).zip(mean_square) {
                    let g = g + decay * *w;
                    *s = flush_subnormal(rho * *s + (one - rho) * g * g);
                    *w -= lr * g / (*s + eps).sqrt();
                }
            },
        );
    }

    fn check(&self) -> crate::Result<()> {
        check_settings(&[
            ("learning_rate", self.learning_rate, Allowed::Positive),
            ("rho", self.rho, Allowed::Fraction),
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
