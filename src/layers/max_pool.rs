//! `MaxPool`: the maximum of each `P`×`P` window, stride `P`.

use crate::kernels::{max_pool_backward, max_pool_forward};
use crate::{Activation, Batch, Float, Layer, Linear, Rank3, TrainContext};

/// Max pooling with a `P`×`P` window and stride `P` over channels-first
/// images, giving `H_OUT = H / P` rows and `W_OUT = W / P` columns (rounded
/// down, as Keras' 'valid': 11×11 pools to 5×5). Backward routes each
/// gradient to the input that was the maximum.
///
/// `network!` fills in the output size from `MaxPool<P>`; written by hand,
/// a wrong size is refused when the program is built.
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
        self.backward_through(Linear, y, argmax, dy, dx);
    }
}

impl<const P: usize, const H_OUT: usize, const W_OUT: usize> MaxPool<P, H_OUT, W_OUT> {
    /// [`Layer::backward`] for a pooling of the outputs of an elementwise
    /// `activation` whose derivative the layer before hands over (as
    /// `network!` has `Conv2D<32, 3, ReLU> -> MaxPool<2>` do, the
    /// convolution then running [`Layer::backward_preactivation`]): `dy` is
    /// first multiplied by the activation's derivative at the pooled
    /// outputs `y`. Each pooled output is a copy of one input, so this is
    /// the derivative the layer before would have taken, on a quarter of
    /// the values (2×2 windows).
    ///
    /// ```
    /// use keelnet::{Batch, Layer, MaxPool, Rank3, ReLU, TrainContext};
    /// let pool = MaxPool::<2, 1, 1>;
    /// let x = Batch::<Rank3<2, 2, 2>>::from_vec(vec![1.0, 5.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0])?;
    /// let (mut y, mut argmax) = (Batch::new(), Vec::new());
    /// pool.forward_train(&x, &mut y, &mut argmax, &mut TrainContext::new(0));
    /// let mut dy = Batch::<Rank3<2, 1, 1>>::from_vec(vec![1.0, 1.0])?;
    /// let mut dx = Batch::<Rank3<2, 2, 2>>::new();
    /// pool.backward_through(ReLU, &y, &mut argmax, &mut dy, Some(&mut dx));
    /// // The second channel's maximum is 0: ReLU passes no gradient there.
    /// assert_eq!(dx.as_slice(), &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    /// # Ok::<(), keelnet::Error>(())
    /// ```
    pub fn backward_through<
        A: Activation,
        const C: usize,
        const H: usize,
        const W: usize,
        F: Float,
    >(
        &self,
        _activation: A,
        y: &Batch<Rank3<C, H_OUT, W_OUT>, F>,
        argmax: &mut [u32],
        dy: &mut Batch<Rank3<C, H_OUT, W_OUT>, F>,
        dx: Option<&mut Batch<Rank3<C, H, W>, F>>,
    ) {
        const {
            assert!(
                !A::NEEDS_INPUT,
                "`MaxPool::backward_through` takes the activation's derivative from its outputs; GELU and SiLU need their inputs"
            )
        };
        if let Some(dx) = dx {
            dx.resize(dy.len());
            let lens = (C * H * W, C * H_OUT * W_OUT);
            let dy = (dy.as_mut_slice(), y.as_slice());
            max_pool_backward::<F, A>(lens, argmax, dy, dx.as_mut_slice());
        }
    }
}

/// A [`MaxPool`]'s side of a backward pass that the layer before it runs
/// (as [`Conv2D::backward_through_max_pool`](crate::Conv2D::backward_through_max_pool)):
/// the pooled outputs `y`, where each came from (the pooling's training
/// cache), and the gradient `dy` at them, `[B, C, H_OUT, W_OUT]`.
///
/// ```
/// use keelnet::{Batch, Layer, MaxPool, MaxPoolGrad, Rank3, TrainContext};
/// let x = Batch::<Rank3<1, 2, 2>>::from_vec(vec![1.0, 4.0, 3.0, 2.0])?;
/// let (mut y, mut argmax) = (Batch::new(), Vec::new());
/// MaxPool::<2, 1, 1>.forward_train(&x, &mut y, &mut argmax, &mut TrainContext::new(0));
/// let mut dy = Batch::<Rank3<1, 1, 1>>::from_vec(vec![1.0])?;
/// let pooled = MaxPoolGrad { y: &y, argmax: &argmax, dy: &mut dy };
/// assert_eq!(pooled.argmax, &[1]); // the 4.0
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Debug)]
pub struct MaxPoolGrad<'a, const C: usize, const H_OUT: usize, const W_OUT: usize, F: Float> {
    /// The pooled outputs.
    pub y: &'a Batch<Rank3<C, H_OUT, W_OUT>, F>,
    /// Per pooled output, the index of its maximum in the input sample.
    pub argmax: &'a [u32],
    /// The gradient at the pooled outputs (overwritten).
    pub dy: &'a mut Batch<Rank3<C, H_OUT, W_OUT>, F>,
}
