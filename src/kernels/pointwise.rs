//! An activation as a kernel applies it over its own outputs: ReLU inlined
//! into the kernel's vectorized loops, any other through a function. The
//! kernels that take one are compiled once, not once per activation, and
//! still run the common case at the kernel's vector width.

use crate::{Activation, ActivationKind, Float, ReLU};

/// An activation applied in place over a run of a kernel's outputs.
///
/// ```
/// use keelnet::kernels::Pointwise;
/// let mut y = [-1.0f32, 2.0];
/// Pointwise::ReLU.apply(&mut y);
/// assert_eq!(y, [0.0, 2.0]);
/// let double = |y: &mut [f32]| y.iter_mut().for_each(|v| *v *= 2.0);
/// Pointwise::Other(&double).apply(&mut y);
/// assert_eq!(y, [0.0, 4.0]);
/// ```
#[derive(Clone, Copy)]
pub enum Pointwise<'a, F> {
    /// [`ReLU`], inlined into the kernel.
    ReLU,
    /// Any other, as a function over the run in place.
    Other(&'a (dyn Fn(&mut [F]) + Sync)),
}

impl<'a, F: Float> Pointwise<'a, F> {
    /// `A`, as [`Pointwise::ReLU`] if it is ReLU, else as `other`.
    ///
    /// ```
    /// use keelnet::kernels::Pointwise;
    /// use keelnet::{ReLU, Sigmoid};
    /// let other = |_: &mut [f32]| {};
    /// assert!(matches!(Pointwise::of::<ReLU>(&other), Pointwise::ReLU));
    /// assert!(matches!(Pointwise::of::<Sigmoid>(&other), Pointwise::Other(_)));
    /// ```
    pub fn of<A: Activation>(other: &'a (dyn Fn(&mut [F]) + Sync)) -> Self {
        if A::KIND == ActivationKind::ReLU {
            Pointwise::ReLU
        } else {
            Pointwise::Other(other)
        }
    }

    /// Applies it over `y` in place.
    #[inline(always)]
    pub fn apply(self, y: &mut [F]) {
        match self {
            Pointwise::ReLU => ReLU::forward(y),
            Pointwise::Other(f) => f(y),
        }
    }
}
