//! Two layers in a row: the buffers between them, and their passes run in
//! turn, which is what [`Layer::forward_then`] and [`Layer::backward_then`]
//! do unless the first layer has a fused kernel for the second.
//!
//! A layer that fuses with the one after it (a [`Conv2D`](crate::Conv2D)
//! with the [`MaxPool`](crate::MaxPool) after it) says so in
//! [`Layer::fuses_with`] and overrides both methods; every composition,
//! [`Chain`](crate::Chain) and the code `network!` generates, calls them
//! for each pair, so a model built by hand runs the same fused code as a
//! declared one.

use crate::{Batch, Float, Layer, Shape, TrainContext};

/// The buffers of a pair of layers, first then `next`: each one's cache,
/// the first one's output `mid` and the gradient at it, `d_mid`, both
/// `[B, M]`.
///
/// A fused pair need not write `mid` or `d_mid`; a pair run in turn writes
/// both.
///
/// ```
/// use keelnet::{Batch, PairCache, Rank1};
/// let (mut first, mut second) = ((), ());
/// let (mut mid, mut d_mid) = (Batch::<Rank1<3>>::new(), Batch::new());
/// let pair = PairCache { first: &mut first, second: &mut second, mid: &mut mid, d_mid: &mut d_mid };
/// assert!(pair.mid.is_empty());
/// ```
#[derive(Debug)]
pub struct PairCache<'a, M: Shape, F: Float, CA, CB> {
    /// The first layer's cache.
    pub first: &'a mut CA,
    /// The second layer's cache.
    pub second: &'a mut CB,
    /// The first layer's output.
    pub mid: &'a mut Batch<M, F>,
    /// dL/d(mid).
    pub d_mid: &'a mut Batch<M, F>,
}

/// The second layer's side of a pair's backward pass: its output `y` and
/// the gradient `dy` at it, which may be overwritten.
/// `before_activation` says that `dy` is the gradient before the layer's
/// final activation (as [`Layer::backward_preactivation`] takes it).
///
/// ```
/// use keelnet::{Batch, OutputGrad, Rank1};
/// let y = Batch::<Rank1<2>>::from_vec(vec![0.5, 0.5])?;
/// let mut dy = Batch::from_vec(vec![1.0, -1.0])?;
/// let out = OutputGrad { y: &y, dy: &mut dy, before_activation: false };
/// assert_eq!(out.y.len(), 1);
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Debug)]
pub struct OutputGrad<'a, S: Shape, F: Float> {
    /// The second layer's output.
    pub y: &'a Batch<S, F>,
    /// dL/dy, or dL/dz before the final activation if `before_activation`.
    pub dy: &'a mut Batch<S, F>,
    /// Whether `dy` is taken before the final activation.
    pub before_activation: bool,
}

/// `first` then `next`, one after the other: inference if `ctx` is `None`
/// ([`Layer::forward_cached`]), training otherwise
/// ([`Layer::forward_train`]). `y` receives `next`'s output.
///
/// ```
/// use keelnet::{Batch, Layer, PairCache, Rank1, ReLU, Sigmoid, fusion};
/// let x = Batch::<Rank1<2>>::from_vec(vec![-1.0, 2.0])?;
/// let (mut mid, mut d_mid, mut y) = (Batch::new(), Batch::new(), Batch::new());
/// let pair = PairCache { first: &mut (), second: &mut (), mid: &mut mid, d_mid: &mut d_mid };
/// fusion::forward_in_turn(&ReLU, &Sigmoid, &x, &mut y, pair, None);
/// assert_eq!(y.as_slice()[0], 0.5);
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn forward_in_turn<I, F, A, N>(
    first: &A,
    next: &N,
    x: &Batch<I, F>,
    y: &mut Batch<N::Output, F>,
    cache: PairCache<'_, A::Output, F, A::Cache, N::Cache>,
    ctx: Option<&mut TrainContext>,
) where
    I: Shape,
    F: Float,
    A: Layer<I, F> + ?Sized,
    N: Layer<A::Output, F>,
{
    match ctx {
        Some(ctx) => {
            first.forward_train(x, cache.mid, cache.first, ctx);
            next.forward_train(cache.mid, y, cache.second, ctx);
        }
        None => {
            first.forward_cached(x, cache.mid, cache.first);
            next.forward_cached(cache.mid, y, cache.second);
        }
    }
}

/// Backward through `next` into `d_mid`, then through `first`: the
/// backward of [`forward_in_turn`]. `grads` receives both layers'
/// parameter gradients, `dx` (if given) dL/dx.
///
/// ```
/// use keelnet::{Batch, Layer, OutputGrad, PairCache, Rank1, ReLU, Sigmoid, fusion};
/// let x = Batch::<Rank1<2>>::from_vec(vec![-1.0, 2.0])?;
/// let (mut mid, mut d_mid, mut y) = (Batch::new(), Batch::new(), Batch::new());
/// let pair = PairCache { first: &mut (), second: &mut (), mid: &mut mid, d_mid: &mut d_mid };
/// fusion::forward_in_turn(&ReLU, &Sigmoid, &x, &mut y, pair, None);
/// let (mut dy, mut dx) = (Batch::from_vec(vec![1.0, 1.0])?, Batch::new());
/// let pair = PairCache { first: &mut (), second: &mut (), mid: &mut mid, d_mid: &mut d_mid };
/// let out = OutputGrad { y: &y, dy: &mut dy, before_activation: false };
/// fusion::backward_in_turn(&ReLU, &Sigmoid, &x, pair, out, Some(&mut dx), (&mut (), &mut ()));
/// assert_eq!(dx.as_slice()[0], 0.0); // ReLU passes nothing back at -1
/// assert!((dx.as_slice()[1] - 0.105).abs() < 1e-3); // sigmoid'(2)
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn backward_in_turn<I, F, A, N>(
    first: &A,
    next: &N,
    x: &Batch<I, F>,
    cache: PairCache<'_, A::Output, F, A::Cache, N::Cache>,
    out: OutputGrad<'_, N::Output, F>,
    dx: Option<&mut Batch<I, F>>,
    grads: (&mut A::Grads, &mut N::Grads),
) where
    I: Shape,
    F: Float,
    A: Layer<I, F> + ?Sized,
    N: Layer<A::Output, F>,
{
    let PairCache {
        first: first_cache,
        second,
        mid,
        d_mid,
    } = cache;
    let d = Some(&mut *d_mid);
    if out.before_activation {
        next.backward_preactivation(mid, out.y, second, out.dy, d, grads.1);
    } else {
        next.backward(mid, out.y, second, out.dy, d, grads.1);
    }
    first.backward(x, mid, first_cache, d_mid, dx, grads.0);
}
