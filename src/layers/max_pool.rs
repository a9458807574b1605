//! `MaxPool`: the maximum of each `P`×`P` window, stride `P`.

use crate::kernels::{max_pool_backward, max_pool_forward};
use crate::{Batch, Float, Layer, Linear, Rank3, TrainContext};

/// Max pooling with a `P`×`P` window and stride `P` over channels-first
/// images, giving `H_OUT = H / P` rows and `W_OUT = W / P` columns (rounded
/// down, as Keras' 'valid': 11×11 pools to 5×5). Backward routes each
/// gradient to the input that was the maximum.
///
/// `network!` fills in the output size from `MaxPool<P>`; written by hand,
/// a wrong size is refused when the program is built. A
/// [`Conv2D`](crate::Conv2D) before it runs both layers' passes in one
/// ([`Layer::fuses_with`]).
///
/// ```
/// use keelnet::{Batch, Layer, MaxPool, Rank3};
/// let x = Batch::<Rank3<1, 2, 2>>::from_vec(vec![1.0, 4.0, 3.0, 2.0])?;
/// let y: Batch<Rank3<1, 1, 1>> = MaxPool::<2, 1, 1>.predict(&x);
/// assert_eq!(y.as_slice(), &[4.0]);
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool<const P: usize, const H_OUT: usize, const W_OUT: usize>;

crate::params::no_parameters!({const P: usize, const H_OUT: usize, const W_OUT: usize} MaxPool<P, H_OUT, W_OUT>);

impl<const P: usize, const H_OUT: usize, const W_OUT: usize> MaxPool<P, H_OUT, W_OUT> {
    /// Refuses, when the program is built, an output size that is not `H / P` by `W / P`.
    pub(crate) fn check<const H: usize, const W: usize>() {
        const {
            assert!(
                P >= 1 && H_OUT == H / P && W_OUT == W / P && H_OUT >= 1 && W_OUT >= 1,
                "`MaxPool<P, H_OUT, W_OUT>`: the output size must be H / P by W / P, at least 1; `network!` computes it"
            )
        };
    }
}

impl<
    const C: usize,
    const H: usize,
    const W: usize,
    const P: usize,
    const H_OUT: usize,
    const W_OUT: usize,
    F: Float,
> Layer<Rank3<C, H, W>, F> for MaxPool<P, H_OUT, W_OUT>
{
    type Output = Rank3<C, H_OUT, W_OUT>;
    /// Where each output's maximum came from, per sample.
    type Cache = Vec<u32>;
    const MAX_POOL_WINDOW: Option<usize> = Some(P);

    fn max_pool_argmax(argmax: &mut Vec<u32>) -> Option<&mut Vec<u32>> {
        Some(argmax)
    }

    fn forward(&self, x: &Batch<Rank3<C, H, W>, F>, y: &mut Batch<Self::Output, F>) {
        self.forward_cached(x, y, &mut Vec::new());
    }

    fn forward_train(
        &self,
        x: &Batch<Rank3<C, H, W>, F>,
        y: &mut Batch<Self::Output, F>,
        argmax: &mut Vec<u32>,
        _ctx: &mut TrainContext,
    ) {
        self.forward_cached(x, y, argmax);
    }

    // x: [B, C, H, W] -> y: [B, C, H / P, W / P]
    fn forward_cached(
        &self,
        x: &Batch<Rank3<C, H, W>, F>,
        y: &mut Batch<Self::Output, F>,
        argmax: &mut Vec<u32>,
    ) {
        Self::check::<H, W>();
        y.resize(x.len());
        argmax.resize(y.as_slice().len(), 0);
        max_pool_forward((C, H, W), P, x.as_slice(), y.as_mut_slice(), argmax);
    }

    // dy: [B, C, H / P, W / P] -> dx: [B, C, H, W], nonzero only at the maxima
    fn backward(
        &self,
        _x: &Batch<Rank3<C, H, W>, F>,
        y: &Batch<Self::Output, F>,
        argmax: &mut Vec<u32>,
        dy: &mut Batch<Self::Output, F>,
        dx: Option<&mut Batch<Rank3<C, H, W>, F>>,
        _grads: &mut (),
    ) {
        if let Some(dx) = dx {
            dx.resize(dy.len());
            let lens = (C * H * W, C * H_OUT * W_OUT);
            let dy = (dy.as_mut_slice(), y.as_slice());
            max_pool_backward::<F, Linear>(lens, argmax, dy, dx.as_mut_slice());
        }
    }
}
