//! Optimizers: one update rule applied to every parameter tensor of a model
//! through its [`Parameters`] walk.
//!
//! Each follows Keras' published update rule and defaults; each takes an
//! optional L2 weight decay `λ`, which adds `λ·w` to the gradient of every
//! weight (not of biases), the gradient of `λ/2·‖w‖²`.

mod adam;
mod rmsprop;
mod sgd;
mod state;

pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;
pub use state::ParamState;

use crate::{Float, ParamInfo, ParamKind, Parameters};

/// An update rule for parameters given their gradients.
///
/// ```
/// use keelnet::{Dense, DenseGrads, Linear, Optimizer, Sgd};
/// use rand::SeedableRng;
/// let mut layer = Dense::<2, 1, Linear, f64>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let before = layer.bias[0];
/// let mut grads = DenseGrads::default();
/// grads.bias[0] = 1.0;
/// Sgd::new(0.1).step(&mut layer, &grads);
/// assert_eq!(layer.bias[0], before - 0.1);
/// ```
pub trait Optimizer<F: Float> {
    /// Starts a step (advances step counters such as Adam's).
    fn begin_step(&mut self);

    /// Updates one parameter tensor. Per-tensor state is keyed by the
    /// tensor's name (`info`, see [`ParamState`]); `slot` numbers the
    /// tensors in walk order, where that state is looked for first.
    fn update(&mut self, slot: usize, info: ParamInfo<'_>, param: &mut [F], grad: &[F]);

    /// Checks the settings before training starts (`fit` calls it): a
    /// learning rate that is not a positive finite number, a decay or
    /// momentum outside `[0, 1)`, a negative epsilon or weight decay is an
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument).
    ///
    /// ```
    /// use keelnet::{Adam, Optimizer, Sgd};
    /// assert!(<Adam as Optimizer<f32>>::check(&Adam::new(1e-3)).is_ok());
    /// assert!(<Sgd as Optimizer<f32>>::check(&Sgd::new(f64::NAN)).is_err());
    /// assert!(<Sgd as Optimizer<f32>>::check(&Sgd::new(0.1).momentum(1.5)).is_err());
    /// ```
    fn check(&self) -> crate::Result<()>;

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Changes the learning rate (for schedules and callbacks).
    fn set_learning_rate(&mut self, lr: f64);

    /// One optimization step over every parameter of `model`.
    fn step<M: Parameters<F> + ?Sized>(&mut self, model: &mut M, grads: &M::Grads) {
        self.begin_step();
        let mut slot = 0;
        model.update_params("", grads, &mut |info, param, grad| {
            self.update(slot, info, param, grad);
            slot += 1;
        });
    }
}

/// `x`, or zero where it is subnormal (below the smallest normal value).
///
/// A decaying state (Adam's moments, RMSprop's mean square, a momentum)
/// whose gradient stays zero shrinks into the subnormal range and, by
/// rounding, stays there for good (0.9 times the fourth-smallest subnormal
/// rounds back to it); x86 arithmetic on subnormals runs many times slower,
/// and a fifth of the reference MLP's first moments end up there. Such a
/// state moves its weight by less than `10⁻³⁰`, so flushing it changes no
/// training; TensorFlow, under Keras, flushes subnormals for the whole CPU.
///
/// ```
/// # use keelnet::optim::flush_subnormal;
/// assert_eq!(flush_subnormal(1e-40f32), 0.0);
/// assert_eq!(flush_subnormal(-2e-38f32), -2e-38);
/// assert!(flush_subnormal(f32::NAN).is_nan());
/// ```
#[inline(always)]
pub fn flush_subnormal<F: Float>(x: F) -> F {
    if x.abs() < F::min_positive_value() {
        F::zero()
    } else {
        x
    }
}

/// `Ok` unless one of the `(name, value, allowed)` settings is outside its
/// allowed range; the error names it.
pub(crate) fn check_settings(settings: &[(&str, f64, Allowed)]) -> crate::Result<()> {
    for &(name, value, allowed) in settings {
        let fits = match allowed {
            Allowed::Positive => value.is_finite() && value > 0.0,
            Allowed::NonNegative => value.is_finite() && value >= 0.0,
            Allowed::Fraction => (0.0..1.0).contains(&value),
        };
        if !fits {
            let range = match allowed {
                Allowed::Positive => "a positive finite number",
                Allowed::NonNegative => "a finite number, 0 or more",
                Allowed::Fraction => "from 0 up to (not including) 1",
            };
            return Err(crate::Error::InvalidArgument {
                message: format!("{name} must be {range}, not {value}"),
            });
        }
    }
    Ok(())
}

/// The range a setting must be in.
#[derive(Clone, Copy)]
pub(crate) enum Allowed {
    Positive,
    NonNegative,
    Fraction,
}

/// The weight-decay coefficient that applies to `info`'s tensor.
pub(crate) fn decay_for<F: Float>(weight_decay: f64, info: ParamInfo<'_>) -> F {
    match info.kind {
        ParamKind::Weight => F::from_f64(weight_decay),
        ParamKind::Bias | ParamKind::Scale | ParamKind::State => F::zero(),
    }
}
