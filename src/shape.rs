//! The shape of one sample, carried in the type.
//!
//! A shape is a zero-sized marker type whose dimensions are const generics:
//! `Rank1<784>` is a vector of 784 features, `Rank3<1, 28, 28>` an image of
//! one channel, 28 rows and 28 columns. The batch dimension is not part of
//! the shape: it is a run-time `usize` of [`Batch`](crate::Batch), since data
//! sets end in partial batches and inference runs on any batch size.
//!
//! # Memory layout
//!
//! Samples are stored row-major, last dimension fastest. Images are
//! **channels first**: a `Rank3<C, H, W>` sample holds channel 0's `H` rows of
//! `W` pixels, then channel 1's, and so on (PyTorch's NCHW; Keras'
//! `channels_first`). A `network!` declaration's `Input<C, H, W>` follows this
//! layout.

use std::fmt::Debug;

/// The shape of one sample: its dimensions and element count, known at compile time.
///
/// ```
/// use keelnet::{Rank3, Shape};
/// assert_eq!(Rank3::<1, 28, 28>::NUMEL, 784);
/// assert_eq!(Rank3::<1, 28, 28>::DIMS, &[1, 28, 28]);
/// ```
pub trait Shape: Copy + Default + Debug + Send + Sync + 'static {
    /// The number of elements of one sample.
    const NUMEL: usize;
    /// The dimensions, outermost first.
    const DIMS: &'static [usize];
    /// The number of dimensions.
    const RANK: usize = Self::DIMS.len();
}

/// A vector of `N` elements.
///
/// ```
/// use keelnet::{Rank1, Shape};
/// assert_eq!(Rank1::<10>::NUMEL, 10);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rank1<const N: usize>;

/// A matrix of `R` rows and `C` columns (e.g. a sequence of `R` steps of `C` features).
///
/// ```
/// use keelnet::{Rank2, Shape};
/// assert_eq!(Rank2::<28, 28>::NUMEL, 784);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rank2<const R: usize, const C: usize>;

/// An image of `C` channels, `H` rows and `W` columns, channels first.
///
/// ```
/// use keelnet::{Rank3, Shape};
/// assert_eq!(Rank3::<3, 32, 32>::NUMEL, 3072);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rank3<const C: usize, const H: usize, const W: usize>;

/// A rank-4 sample, outermost dimension first (e.g. a volume of channels).
///
/// ```
/// use keelnet::{Rank4, Shape};
/// assert_eq!(Rank4::<2, 3, 4, 5>::NUMEL, 120);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rank4<const A: usize, const B: usize, const C: usize, const D: usize>;

impl<const N: usize> Shape for Rank1<N> {
    const NUMEL: usize = N;
    const DIMS: &'static [usize] = &[N];
}

impl<const R: usize, const C: usize> Shape for Rank2<R, C> {
    const NUMEL: usize = R * C;
    const DIMS: &'static [usize] = &[R, C];
}

impl<const C: usize, const H: usize, const W: usize> Shape for Rank3<C, H, W> {
    const NUMEL: usize = C * H * W;
    const DIMS: &'static [usize] = &[C, H, W];
}

impl<const A: usize, const B: usize, const C: usize, const D: usize> Shape for Rank4<A, B, C, D> {
    const NUMEL: usize = A * B * C * D;
    const DIMS: &'static [usize] = &[A, B, C, D];
}

/// A shape whose last axis holds `N` features, each row of `N` values
/// a sample (`Rank1<N>`) or a step of a sequence (`Rank2<T, N>`): what a
/// [`Dense`](crate::Dense) takes, acting on every row with the same
/// weights. [`Rows::With`] is the same shape with `M` features instead.
///
/// ```
/// use keelnet::{Rank1, Rank2, shape::Rows};
/// let _: <Rank2<7, 5> as Rows<5>>::With<3> = Rank2::<7, 3>;
/// let _: <Rank1<5> as Rows<5>>::With<3> = Rank1::<3>;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not end in {N} features",
    label = "expects another input shape",
    note = "a `Dense<IN, OUT>` takes flat samples `Rank1<IN>` or sequences `Rank2<T, IN>`: compare `{Self}` with its `IN` ({N}); images need a `Flatten` first"
)]
pub trait Rows<const N: usize>: Shape {
    /// This shape with `M` features on its last axis.
    type With<const M: usize>: Shape;
}

impl<const N: usize> Rows<N> for Rank1<N> {
    type With<const M: usize> = Rank1<M>;
}

impl<const T: usize, const N: usize> Rows<N> for Rank2<T, N> {
    type With<const M: usize> = Rank2<T, M>;
}
