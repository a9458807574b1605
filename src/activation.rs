//! Activation functions, usable fused into a layer (`Dense<IN, OUT, ReLU>`)
//! or as layers of their own.
//!
//! Most activations compute their derivative from their *output* `y`
//! (ReLU, Sigmoid, Tanh, ELU, Softplus, Softmax), so a layer that fuses one
//! keeps only its output for backward. GELU and SiLU need their *input*:
//! they say so with [`Activation::NEEDS_INPUT`], and a layer that fuses
//! one keeps its pre-activations too.

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
    /// `x·Φ(x)`, Φ the standard normal distribution function.
    Gelu,
    /// GELU's tanh approximation.
    GeluTanh,
    /// `x·σ(x)` (Swish).
    Silu,
    /// `x` for positive `x`, `α(e^x - 1)` otherwise.
    Elu,
    /// `ln(1 + e^x)`.
    Softplus,
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
/// Sigmoid::backward(&[], &z, &mut dy); // from the output alone
/// assert_eq!(dy[0], 0.25);
/// ```
pub trait Activation: Copy + Default + Debug + Send + Sync + 'static {
    /// The Keras name (`"relu"`, `"softmax"`, ...).
    const NAME: &'static str;
    /// Which function this is.
    const KIND: ActivationKind;
    /// Whether [`backward`](Self::backward) needs the pre-activations `z`
    /// (GELU, SiLU); if not, it needs the output `y` alone.
    const NEEDS_INPUT: bool = false;
    /// Whether each output depends on its own input alone, so that the
    /// activation can be applied to any run of values. Softmax, which
    /// normalizes over a whole sample, is the one that does not: kernels
    /// apply it, and its derivative, to whole samples.
    ///
    /// ```
    /// use keelnet::{Activation, ReLU, Softmax};
    /// assert!(ReLU::ELEMENTWISE && !Softmax::ELEMENTWISE);
    /// ```
    const ELEMENTWISE: bool = true;
    /// Replaces the pre-activations `z` of one sample by `y = f(z)`.
    fn forward<F: Float>(z: &mut [F]);
    /// Replaces `dy` (dL/dy of one sample) by dL/dz, given the output `y`
    /// and, for an activation that [needs its input](Self::NEEDS_INPUT),
    /// the pre-activations `z`. Otherwise `z` is not read: callers that
    /// hold only the output pass `&[]`.
    ///
    /// # Panics
    ///
    /// If the activation needs its input and `z` is not as long as `dy`.
    fn backward<F: Float>(z: &[F], y: &[F], dy: &mut [F]);
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
    fn backward<F: Float>(_z: &[F], _y: &[F], _dy: &mut [F]) {}
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
    fn backward<F: Float>(_z: &[F], y: &[F], dy: &mut [F]) {
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
    fn backward<F: Float>(_z: &[F], y: &[F], dy: &mut [F]) {
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
    fn backward<F: Float>(_z: &[F], y: &[F], dy: &mut [F]) {
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
    fn backward<F: Float>(_z: &[F], y: &[F], dy: &mut [F]) {
        for (d, &y) in dy.iter_mut().zip(y) {
            *d *= F::one() - y * y;
        }
    }
}

impl Activation for Softmax {
    const NAME: &'static str = "softmax";
    const KIND: ActivationKind = ActivationKind::Softmax;
    const ELEMENTWISE: bool = false;
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
    fn backward<F: Float>(_z: &[F], y: &[F], dy: &mut [F]) {
        // dz_i = y_i * (dy_i - sum_j y_j dy_j)
        let dot: F = y.iter().zip(dy.iter()).map(|(&y, &d)| y * d).sum();
        for (d, &y) in dy.iter_mut().zip(y) {
            *d = y * (*d - dot);
        }
    }
}

/// Gaussian error linear unit, `x·Φ(x)` with Φ the standard normal
/// distribution function, exact (Keras' `gelu`, `approximate=False`).
///
/// ```
/// use keelnet::{Activation, GELU};
/// let mut y = [0.0f64, 1.0];
/// GELU::forward(&mut y);
/// assert!((y[1] - 0.841_344_746).abs() < 1e-9);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GELU;

/// GELU's tanh approximation, `x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`
/// (Keras' `gelu` with `approximate=True`, GPT-2's).
///
/// ```
/// use keelnet::{Activation, GELUTanh};
/// let mut y = [1.0f64];
/// GELUTanh::forward(&mut y);
/// assert!((y[0] - 0.841_192).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GELUTanh;

/// Sigmoid linear unit, `x·σ(x)` (Keras' `silu`, also called Swish).
///
/// ```
/// use keelnet::{Activation, SiLU};
/// let mut y = [0.0f64, 2.0];
/// SiLU::forward(&mut y);
/// assert_eq!(y[0], 0.0);
/// assert!((y[1] - 2.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SiLU;

/// Swish: another name for [`SiLU`].
pub type Swish = SiLU;

/// Exponential linear unit: `x` for positive `x`, `α·(e^x - 1)` otherwise,
/// with `α = ALPHA_PERMILLE / 1000` (default 1.0, as Keras' `elu`).
///
/// ```
/// use keelnet::{Activation, ELU};
/// let mut y = [2.0f64, -1.0];
/// ELU::<1000>::forward(&mut y);
/// assert_eq!(y[0], 2.0);
/// assert!((y[1] - ((-1.0f64).exp() - 1.0)).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ELU<const ALPHA_PERMILLE: u32 = 1000>;

/// `ln(1 + e^x)`, computed without overflow (Keras' `softplus`).
///
/// ```
/// use keelnet::{Activation, Softplus};
/// let mut y = [0.0f64, 1000.0];
/// Softplus::forward(&mut y);
/// assert_eq!(y, [2.0f64.ln(), 1000.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Softplus;

/// Panics unless an activation that needs its input was given it.
fn check_input<F>(name: &str, z: &[F], dy: &[F]) {
    assert_eq!(
        z.len(),
        dy.len(),
        "{name}'s derivative needs the pre-activations of every value"
    );
}

/// The standard normal distribution function Φ(x).
fn normal_cdf<F: Float>(x: F) -> F {
    F::from_f64(0.5) * (F::one() + (x * F::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erf())
}

/// √(2/π), the scale inside GELU's tanh approximation.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of GELU's tanh approximation.
const GELU_CUBIC: f64 = 0.044_715;

impl Activation for GELU {
    const NAME: &'static str = "gelu";
    const KIND: ActivationKind = ActivationKind::Gelu;
    const NEEDS_INPUT: bool = true;
    fn forward<F: Float>(z: &mut [F]) {
        for v in z {
            *v = *v * normal_cdf(*v);
        }
    }
    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    fn backward<F: Float>(z: &[F], _y: &[F], dy: &mut [F]) {
        check_input(Self::NAME, z, dy);
        let inv_sqrt_2pi = F::from_f64(0.398_942_280_401_432_7);
        for (d, &x) in dy.iter_mut().zip(z) {
            let density = inv_sqrt_2pi * (-x * x * F::from_f64(0.5)).exp();
            *d *= normal_cdf(x) + x * density;
        }
    }
}

impl Activation for GELUTanh {
    const NAME: &'static str = "gelu_tanh";
    const KIND: ActivationKind = ActivationKind::GeluTanh;
    const NEEDS_INPUT: bool = true;
    fn forward<F: Float>(z: &mut [F]) {
        let (scale, cubic, half) = (
            F::from_f64(SQRT_2_OVER_PI),
            F::from_f64(GELU_CUBIC),
            F::from_f64(0.5),
        );
        for v in z {
            let x = *v;
            *v = half * x * (F::one() + (scale * (x + cubic * x * x * x)).tanh());
        }
    }
    // with u = √(2/π)(x + c·x³), t = tanh(u):
    // d/dx = (1 + t)/2 + x/2·(1 - t²)·√(2/π)(1 + 3c·x²)
    fn backward<F: Float>(z: &[F], _y: &[F], dy: &mut [F]) {
        check_input(Self::NAME, z, dy);
        let (scale, cubic, half) = (
            F::from_f64(SQRT_2_OVER_PI),
            F::from_f64(GELU_CUBIC),
            F::from_f64(0.5),
        );
        let three = F::from_f64(3.0);
        for (d, &x) in dy.iter_mut().zip(z) {
            let t = (scale * (x + cubic * x * x * x)).tanh();
            let du = scale * (F::one() + three * cubic * x * x);
            *d *= half * (F::one() + t) + half * x * (F::one() - t * t) * du;
        }
    }
}

impl Activation for SiLU {
    const NAME: &'static str = "silu";
    const KIND: ActivationKind = ActivationKind::Silu;
    const NEEDS_INPUT: bool = true;
    fn forward<F: Float>(z: &mut [F]) {
        for v in z {
            *v = *v / (F::one() + (-*v).exp());
        }
    }
    // d/dx x·σ(x) = σ(x)·(1 + x·(1 - σ(x)))
    fn backward<F: Float>(z: &[F], _y: &[F], dy: &mut [F]) {
        check_input(Self::NAME, z, dy);
        for (d, &x) in dy.iter_mut().zip(z) {
            let sigma = F::one() / (F::one() + (-x).exp());
            *d *= sigma * (F::one() + x * (F::one() - sigma));
        }
    }
}

impl<const ALPHA_PERMILLE: u32> Activation for ELU<ALPHA_PERMILLE> {
    const NAME: &'static str = "elu";
    const KIND: ActivationKind = ActivationKind::Elu;
    fn forward<F: Float>(z: &mut [F]) {
        let alpha = F::from_f64(f64::from(ALPHA_PERMILLE) / 1000.0);
        for v in z {
            if *v <= F::zero() {
                *v = alpha * v.exp_m1();
            }
        }
    }
    // y > 0 exactly where x > 0 (for α > 0); below, dy/dx = α·e^x = y + α
    fn backward<F: Float>(_z: &[F], y: &[F], dy: &mut [F]) {
        let alpha = F::from_f64(f64::from(ALPHA_PERMILLE) / 1000.0);
        for (d, &y) in dy.iter_mut().zip(y) {
            if y <= F::zero() {
                *d *= y + alpha;
            }
        }
    }
}

impl Activation for Softplus {
    const NAME: &'static str = "softplus";
    const KIND: ActivationKind = ActivationKind::Softplus;
    // max(x, 0) + ln(1 + e^-|x|): no overflow for large x
    fn forward<F: Float>(z: &mut [F]) {
        for v in z {
            *v = v.max(F::zero()) + (-v.abs()).exp().ln_1p();
        }
    }
    // dy/dx = σ(x) = 1 - e^-y
    fn backward<F: Float>(_z: &[F], y: &[F], dy: &mut [F]) {
        for (d, &y) in dy.iter_mut().zip(y) {
            *d *= -(-y).exp_m1();
        }
    }
}
