//! The element types a network computes in.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use crate::kernels::Kernels;

/// A floating-point element type: `f32` for training, `f64` for gradient checks.
///
/// Everything numeric in keelnet is generic over this trait, which adds to
/// [`num_traits::Float`] the few things the layers need: lossless-enough
/// conversion from `f64` constants, the error function, and the operators
/// on `&mut` places. Which kernels run for the type (`f32`'s SIMD paths,
/// the reference loops for `f64`) is the kernels' business:
/// [`Kernels`](crate::kernels::Kernels), implemented for both.
///
/// ```
/// use keelnet::Float;
/// fn half<F: Float>(x: F) -> F { x * F::from_f64(0.5) }
/// assert_eq!(half(3.0f32), 1.5);
/// assert_eq!(half(3.0f64).to_f64(), 1.5);
/// ```
pub trait Float:
    num_traits::Float
    + Default
    + Debug
    + Display
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Send
    + Sync
    + 'static
    + Kernels
{
    /// The nearest value of this type to `x`.
    fn from_f64(x: f64) -> Self;
    /// This value as an `f64` (exact for `f32` and `f64`).
    fn to_f64(self) -> f64;
    /// The error function, `erf(x) = 2/√π ∫₀ˣ e^(-t²) dt` (exact GELU needs it).
    ///
    /// ```
    /// use keelnet::Float;
    /// assert_eq!(Float::erf(0.0f64), 0.0);
    /// assert!((Float::erf(1.0f64) - 0.842_700_792_949_715).abs() < 1e-15);
    /// ```
    fn erf(self) -> Self;
    /// `n` as this type (rounded when `n` exceeds the mantissa).
    fn from_usize(n: usize) -> Self {
        Self::from_f64(n as f64)
    }
}

impl Float for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn erf(self) -> Self {
        libm::erff(self)
    }
}

impl Float for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn erf(self) -> Self {
        libm::erf(self)
    }
}
