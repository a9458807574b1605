//! Activation functions, usable fused into a layer (`Dense<IN, OUT, ReLU>`)
//! or as layers of their own.
//!
//! Every activation computes its derivative from its *output* `y`, so a layer
//! keeps only its output for the backward pass.

use std::fmt::Debug;

use crate::Float;

/// Which activation a layer ends in; a loss uses it to pick a fused gradient.
///
/// ```
/// use keelnet::{Activation, ActivationKind, Softmax};
/// assert_eq!(Softmax::KIND, ActivationKind::Softmax);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActivationKind {
    /// The identity.
    Linear,
    /// `max(0, x)`.
    ReLU,
    /// `max(slope * x, x)`.
    LeakyReLU,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `e^x_i / sum_j e^x_j` over one sample.
    Softmax,
}

/// An activation function applied to one sample at a time.
///
/// Implementors are zero-sized marker types; `Dense<784, 128, ReLU>` folds
/// the activation into the layer so the kernel can fuse it.
///
/// ```
/// use keelnet::{Activation, Sigmoid};
/// let mut z = [0.0f64, 100.0];
/// Sigmoid::forward(&mut z);
/// assert_eq!(z[0], 0.5);
/// let mut dy = [1.0, 1.0];
/// Sigmoid::backward(&z, &mut dy);
/// assert_eq!(dy[0], 0.25);
/// ```
pub trait Activation: Copy + Default + Debug + Send + Sync + 'static {
    /// The Keras name (`"relu"`, `"softmax"`, ...).
    const NAME: &'static str;
    /// Which function this is.
    const KIND: ActivationKind;
    /// Replaces the pre-activations `z` of one sample by `y = f(z)`.
    fn forward<F: Float>(z: &mut [F]);
    /// Replaces `dy` (dL/dy of one sample) by dL/dz, given the output `y`.
    fn backward<F: Float>(y: &[F], dy: &mut [F]);
}

/// The identity: a layer without activation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Linear;

/// Rectified linear unit, `max(0, x)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReLU;

/// Leaky ReLU, `x` for positive `x` and `SLOPE_PERMILLE / 1000 * x` otherwise
/// (default 0.3, as Keras' `LeakyReLU`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeakyReLU<const SLOPE_PERMILLE: u32 = 300>;

/// The logistic function `1 / (1 + e^-x)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sigmoid;

/// Hyperbolic tangent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tanh;

/// Softmax over all values of one sample, computed stably (max subtracted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Softmax;

impl Activation for Linear {
    const NAME: &'static str = "linear";
    const KIND: ActivationKind = ActivationKind::Linear;
    fn forward<F: Float>(_z: &mut [F]) {}
    fn backward<F: Float>(_y: &[F], _dy: &mut [F]) {}
}

impl Activation for ReLU {
    const NAME: &'static str = "relu";
    const KIND: ActivationKind = ActivationKind::ReLU;
    fn forward<F: Float>(z: &mut [F]) {
        // A select, not a branch (the sign is random), and not `max`, which
        // would turn NaN into 0 and hide a diverged value. Both sides are
        // computed values (`v + 0` is `v`, but for the sign of a zero): a
        // side that leaves `v` as it is lets the compiler store only the
        // zeros, with masked stores that are slow on AMD processors.
        for v in z {
            *v = if *v < F::zero() {
                F::zero()
            } else {
                *v + F::zero()
            };
        }
    }
    fn backward<F: Float>(y: &[F], dy: &mut [F]) {
        // As in `forward`: a select between computed values.
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = if y > F::zero() {
                *d + F::zero()
            } else {
                F::zero()
            };
        }
    }
}

impl<const SLOPE_PERMILLE: u32> Activation for LeakyReLU<SLOPE_PERMILLE> {
    const NAME: &'static str = "leaky_relu";
    const KIND: ActivationKind = ActivationKind::LeakyReLU;
    fn forward<F: Float>(z: &mut [F]) {
        let slope = F::from_f64(f64::from(SLOPE_PERMILLE) / 1000.0);
        for v in z {
            if *v < F::zero() {
                *v *= slope;
            }
        }
    }
    fn backward<F: Float>(y: &[F], dy: &mut [F]) {
        let slope = F::from_f64(f64::from(SLOPE_PERMILLE) / 1000.0);
        for (d, &y) in dy.iter_mut().zip(y) {
            if y < F::zero() {
                *d *= slope;
            }
        }
    }
}

impl Activation for Sigmoid {
    const NAME: &'static str = "sigmoid";
    const KIND: ActivationKind = ActivationKind::Sigmoid;
    fn forward<F: Float>(z: &mut [F]) {
        for v in z {
            *v = F::one() / (F::one() + (-*v).exp());
        }
    }
    fn backward<F: Float>(y: &[F], dy: &mut [F]) {
        for (d, &y) in dy.iter_mut().zip(y) {
            *d *= y * (F::one() - y);
        }
    }
}

impl Activation for Tanh {
    const NAME: &'static str = "tanh";
    const KIND: ActivationKind = ActivationKind::Tanh;
    fn forward<F: Float>(z: &mut [F]) {
        for v in z {
            *v = v.tanh();
        }
    }
    fn backward<F: Float>(y: &[F], dy: &mut [F]) {
        for (d, &y) in dy.iter_mut().zip(y) {
            *d *= F::one() - y * y;
        }
    }
}

impl Activation for Softmax {
    const NAME: &'static str = "softmax";
    const KIND: ActivationKind = ActivationKind::Softmax;
    fn forward<F: Float>(z: &mut [F]) {
        let max = z.iter().fold(F::neg_infinity(), |m, &v| m.max(v));
        let mut sum = F::zero();
        for v in z.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        for v in z {
            *v /= sum;
        }
    }
    fn backward<F: Float>(y: &[F], dy: &mut [F]) {
        // dz_i = y_i * (dy_i - sum_j y_j dy_j)
        let dot: F = y.iter().zip(dy.iter()).map(|(&y, &d)| y * d).sum();
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = y * (*d - dot);
        }
    }
}
