//! Stochastic gradient descent with momentum and Nesterov momentum.

use super::{Allowed, Optimizer, ParamState, check_settings, decay_for, flush_subnormal};
use crate::kernels::for_each_part;
use crate::{Float, ParamInfo};

/// SGD as in Keras: with momentum `μ`, `v = μ·v - lr·g` and `w += v`; with
/// Nesterov, `w += μ·v - lr·g`; without momentum, `w -= lr·g`.
///
/// ```
/// use keelnet::Sgd;
/// let sgd: Sgd = Sgd::new(0.01).momentum(0.9).nesterov(true).weight_decay(1e-4);
/// assert_eq!(sgd, Sgd { learning_rate: 0.01, momentum: 0.9, nesterov: true, weight_decay: 1e-4, ..Sgd::default() });
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd<F: Float = f32> {
    /// Step size (Keras default 0.01).
    pub learning_rate: f64,
    /// Momentum `μ` (default 0).
    pub momentum: f64,
    /// Nesterov momentum (default off).
    pub nesterov: bool,
    /// L2 weight decay `λ` (default 0).
    pub weight_decay: f64,
    /// The velocity of each tensor, by tensor name.
    pub velocity: ParamState<F>,
}

impl<F: Float> Default for Sgd<F> {
    fn default() -> Self {
        Self::new(0.01)
    }
}

impl<F: Float> Sgd<F> {
    /// Plain SGD with the given learning rate.
    pub fn new(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            velocity: ParamState::default(),
        }
    }

    /// With momentum `μ`.
    pub fn momentum(self, momentum: f64) -> Self {
        Self { momentum, ..self }
    }

    /// With Nesterov momentum, or not.
    pub fn nesterov(self, nesterov: bool) -> Self {
        Self { nesterov, ..self }
    }

    /// With L2 weight decay `λ`.
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        Self {
            weight_decay,
            ..self
        }
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    fn begin_step(&mut self) {}

    fn update(&mut self, slot: usize, info: ParamInfo<'_>, param: &mut [F], grad: &[F]) {
        let lr = F::from_f64(self.learning_rate);
        let decay = decay_for::<F>(self.weight_decay, info);
        if self.momentum == 0.0 {
            for_each_part(
                (param, grad),
                #[inline(always)]
                |(param, grad): (&mut [F], &[F])| {
                    for (w, &g) in param.iter_mut().zip(grad) {
                        *w -= lr * (g + decay * *w);
                    }
                },
            );
            return;
        }
        let (mu, nesterov) = (F::from_f64(self.momentum), self.nesterov);
        let velocity = self.velocity.get_mut(slot, info, param.len());
        for_each_part(
            (param, grad, velocity),
            #[inline(always)]
            |(param, grad, velocity): (&mut [F], &[F], &mut [F])| {
                for ((w, &g), v) in param.iter_mut().zip(grad).zip(velocity) {
                    let g = g + decay * *w;
                    *v = flush_subnormal(mu * *v - lr * g);
                    *w += if nesterov { mu * *v - lr * g } else { *v };
                }
            },
        );
    }

    fn check(&self) -> crate::Result<()> {
        check_settings(&[
            ("learning_rate", self.learning_rate, Allowed::Positive),
            ("momentum", self.momentum, Allowed::Fraction),
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
