//! `Conv2D`: a 2-D convolution over channels-first images, activation fused.

use std::marker::PhantomData;

use rand::Rng;

use crate::fusion::{self, OutputGrad, PairCache};
use crate::kernels::{
    ConvGeometry, ConvScratch, conv2d_backward, conv2d_backward_at_maxima, conv2d_forward,
    conv2d_forward_pooled, conv2d_pools_directly, conv2d_pools_in_one_pass, conv2d_weight_grad_at,
    max_pool_backward,
};
use crate::{
    Activation, ActivationKind, Batch, Float, Init, Layer, Linear, ParamInfo, Parameters, Rank3,
    Shape, TrainContext, UpdateParams, VisitParams, VisitParamsMut,
};

/// A 2-D convolution from `C_IN` to `C_OUT` channels with `K`×`K` kernels
/// and stride `STRIDE`, giving `H_OUT`×`W_OUT` outputs, activation `A`
/// folded in (Keras' `Conv2D(C_OUT, K, strides=STRIDE, activation=...)`).
///
/// The output size fixes the padding: `H_OUT = (H - K) / STRIDE + 1` is
/// Keras' 'valid' (no padding), `H_OUT = ceil(H / STRIDE)` is 'same' (zero
/// padding, the extra row and column at the bottom and right). Any other
/// output size is refused when the program is built (by `cargo build`, not
/// `cargo check`: see the crate docs, "Composing by hand"). `network!` computes
/// all of this from `Conv2D<FILTERS, KERNEL, Activation, padding = same, stride = S>`.
///
/// The weight is `[C_OUT, C_IN, K, K]` row-major, the bias `[C_OUT]`;
/// Glorot-uniform weights (fans `C_IN·K·K` and `C_OUT·K·K`) and zero biases
/// by default, as Keras.
///
/// ```
/// use keelnet::{Batch, Conv2D, Layer, Rank3, ReLU};
/// use rand::SeedableRng;
/// // 1×28×28 images, 32 filters of 3×3, 'valid': 32×26×26 outputs.
/// let conv = Conv2D::<1, 32, 3, 1, 26, 26, ReLU>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let y: Batch<Rank3<32, 26, 26>> = conv.predict(&Batch::<Rank3<1, 28, 28>>::zeros(2));
/// assert_eq!(y.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2D<
    const C_IN: usize,
    const C_OUT: usize,
    const K: usize,
    const STRIDE: usize,
    const H_OUT: usize,
    const W_OUT: usize,
    A: Activation = Linear,
    F: Float = f32,
> {
    /// `[C_OUT, C_IN, K, K]`, row-major.
    pub weight: Vec<F>,
    /// `[C_OUT]`.
    pub bias: Vec<F>,
    activation: PhantomData<A>,
}

/// The gradients of a [`Conv2D`]'s parameters, laid out like them.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2DGrads<const C_IN: usize, const C_OUT: usize, const K: usize, F: Float = f32> {
    /// dL/dweight, `[C_OUT, C_IN, K, K]`.
    pub weight: Vec<F>,
    /// dL/dbias, `[C_OUT]`.
    pub bias: Vec<F>,
}

impl<const C_IN: usize, const C_OUT: usize, const K: usize, F: Float> Default
    for Conv2DGrads<C_IN, C_OUT, K, F>
{
    fn default() -> Self {
        Self {
            weight: vec![F::zero(); C_OUT * C_IN * K * K],
            bias: vec![F::zero(); C_OUT],
        }
    }
}

impl<
    const C_IN: usize,
    const C_OUT: usize,
    const K: usize,
    const STRIDE: usize,
    const H_OUT: usize,
    const W_OUT: usize,
    A: Activation,
    F: Float,
> Conv2D<C_IN, C_OUT, K, STRIDE, H_OUT, W_OUT, A, F>
{
    const WEIGHT_DIMS: &'static [usize] = &[C_OUT, C_IN, K, K];
    const BIAS_DIMS: &'static [usize] = &[C_OUT];

    /// Glorot-uniform weights and zero biases (Keras' defaults).
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_init(Init::GlorotUniform, rng)
    }

    /// Weights from `init`, zero biases.
    pub fn with_init<R: Rng + ?Sized>(init: Init, rng: &mut R) -> Self {
        Self {
            weight: init.sample(rng, C_IN * K * K, C_OUT * K * K, C_OUT * C_IN * K * K),
            bias: vec![F::zero(); C_OUT],
            activation: PhantomData,
        }
    }

    /// The sizes for an `H`×`W` input, refusing (at build time) an output
    /// size that is neither 'valid' nor 'same'.
    fn geometry<const H: usize, const W: usize>() -> ConvGeometry {
        const {
            assert!(
                K >= 1 && STRIDE >= 1,
                "`Conv2D`: kernel and stride must be at least 1"
            );
            let valid =
                H >= K && W >= K && H_OUT == (H - K) / STRIDE + 1 && W_OUT == (W - K) / STRIDE + 1;
            let same = H_OUT == H.div_ceil(STRIDE) && W_OUT == W.div_ceil(STRIDE);
            assert!(
                valid || same,
                "`Conv2D`: the output size must be (H - K) / STRIDE + 1 ('valid') or ceil(H / STRIDE) ('same'); `network!` computes it"
            );
        };
        ConvGeometry {
            c_in: C_IN,
            h: H,
            w: W,
            c_out: C_OUT,
            k: K,
            stride: STRIDE,
            h_out: H_OUT,
            w_out: W_OUT,
        }
    }

    /// Backward from the gradient at the outputs `y` of the activation, or
    /// (`y` `None`) before it: the same code either way, so that a network
    /// that calls both compiles it once.
    fn backward_through<const H: usize, const W: usize>(
        &self,
        x: &Batch<Rank3<C_IN, H, W>, F>,
        y: Option<&Batch<Rank3<C_OUT, H_OUT, W_OUT>, F>>,
        scratch: &mut ConvScratch<F>,
        dy: &Batch<Rank3<C_OUT, H_OUT, W_OUT>, F>,
        dx: Option<&mut Batch<Rank3<C_IN, H, W>, F>>,
        grads: &mut Conv2DGrads<C_IN, C_OUT, K, F>,
    ) {
        let dx = dx.map(|dx| {
            dx.resize(x.len());
            dx.as_mut_slice()
        });
        conv2d_backward::<F, A>(
            &Self::geometry::<H, W>(),
            x.as_slice(),
            &self.weight,
            (dy.as_slice(), y.map(Batch::as_slice)),
            &mut grads.weight,
            &mut grads.bias,
            dx,
            scratch,
        );
    }

    /// Refuses a max pooling after this layer whose outputs are not
    /// `[C_OUT, H_OUT / p, W_OUT / p]` (a layer that misreports
    /// [`Layer::MAX_POOL_WINDOW`]).
    fn check_pooled<N: Shape>(p: usize) {
        assert!(
            p >= 1 && N::NUMEL == C_OUT * (H_OUT / p) * (W_OUT / p),
            "a max pooling of window {p} after `Conv2D` must give [C_OUT, H_OUT / {p}, W_OUT / {p}]"
        );
    }

    /// The pooled forward pass of [`Layer::forward_then`] for a max pooling
    /// of window `p` after this layer: `pooled` `[B, C_OUT, H_OUT / p,
    /// W_OUT / p]` and `argmax` as the pooling's own forward gives them.
    /// Where the direct kernels compute the convolution (a first layer),
    /// each output plane is pooled while it is in cache; where Winograd's
    /// tiles do (3×3 kernels over many channels), each sample's outputs are
    /// pooled while they are laid out channels-last. The same numbers as
    /// the two layers in turn, to the bit, and the convolution's own
    /// outputs are never written.
    fn forward_pooled<const H: usize, const W: usize>(
        &self,
        x: &Batch<Rank3<C_IN, H, W>, F>,
        p: usize,
        (pooled, argmax): (&mut [F], &mut Vec<u32>),
        scratch: &mut ConvScratch<F>,
    ) {
        argmax.resize(pooled.len(), 0);
        let params = (&self.weight[..], &self.bias[..]);
        let g = Self::geometry::<H, W>();
        conv2d_forward_pooled::<F, A>(&g, x.as_slice(), params, p, (pooled, argmax), scratch);
    }

    /// The backward pass of [`Layer::backward_then`] for a max pooling of
    /// window `p` after this layer, from the gradient `dy` at the pooled
    /// outputs `y`. Every output gradient but the maxima's is zero, and
    /// the activation's derivative is taken at the maxima, a quarter of
    /// the outputs for 2×2 windows.
    ///
    /// When no input gradient is asked (a first layer) and the direct
    /// kernels ran the convolution, the weight gradient sums over the
    /// maxima alone ([`kernels::conv2d_weight_grad_at`](crate::kernels::conv2d_weight_grad_at)).
    /// When Winograd's tiles ran it, their output gradient is laid out
    /// straight from the maxima ([`kernels::conv2d_backward_at_maxima`](crate::kernels::conv2d_backward_at_maxima)).
    /// Either way `dz` is not touched, and the gradients equal the two
    /// layers' own backward to rounding (Winograd's weight and input
    /// gradients to the bit). Otherwise the gradient is routed back into
    /// `dz`, zeros and all, and backward goes on from there: the same
    /// numbers as the two layers' own backward, to the bit.
    fn backward_from_maxima<const H: usize, const W: usize>(
        &self,
        x: &Batch<Rank3<C_IN, H, W>, F>,
        (p, argmax, y, dy): (usize, &[u32], &[F], &mut [F]),
        (scratch, dz): (
            &mut ConvScratch<F>,
            &mut Batch<Rank3<C_OUT, H_OUT, W_OUT>, F>,
        ),
        dx: Option<&mut Batch<Rank3<C_IN, H, W>, F>>,
        grads: &mut Conv2DGrads<C_IN, C_OUT, K, F>,
    ) {
        let g = Self::geometry::<H, W>();
        let (ph, pw) = (H_OUT / p, W_OUT / p);
        let fused = conv2d_pools_in_one_pass(&g, x.len());
        if fused && !conv2d_pools_directly(&g) {
            let at = (argmax, dy, y);
            let grads = (&mut grads.weight[..], &mut grads.bias[..]);
            let dx = dx.map(|dx| {
                dx.resize(x.len());
                dx.as_mut_slice()
            });
            conv2d_backward_at_maxima::<F, A>(&g, (ph, pw), at, grads, dx, scratch);
            return;
        }
        if fused && dx.is_none() {
            let at = (argmax, dy, y);
            let grads = (&mut grads.weight[..], &mut grads.bias[..]);
            conv2d_weight_grad_at::<F, A>(&g, x.as_slice(), at, grads, scratch);
            return;
        }
        dz.resize(x.len());
        let lens = (C_OUT * H_OUT * W_OUT, C_OUT * ph * pw);
        max_pool_backward::<F, A>(lens, argmax, (dy, y), dz.as_mut_slice());
        self.backward_through::<H, W>(x, None, scratch, dz, dx, grads);
    }
}

impl<
    const C_IN: usize,
    const C_OUT: usize,
    const K: usize,
    const STRIDE: usize,
    const H_OUT: usize,
    const W_OUT: usize,
    A: Activation,
    F: Float,
> Parameters<F> for Conv2D<C_IN, C_OUT, K, STRIDE, H_OUT, W_OUT, A, F>
{
    type Grads = Conv2DGrads<C_IN, C_OUT, K, F>;

    fn visit_params(&self, layer: &str, f: &mut VisitParams<'_, F>) {
        f(ParamInfo::weight(layer, Self::WEIGHT_DIMS), &self.weight);
        f(ParamInfo::bias(layer, Self::BIAS_DIMS), &self.bias);
    }

    fn visit_params_mut(&mut self, layer: &str, f: &mut VisitParamsMut<'_, F>) {
        f(
            ParamInfo::weight(layer, Self::WEIGHT_DIMS),
            &mut self.weight,
        );
        f(ParamInfo::bias(layer, Self::BIAS_DIMS), &mut self.bias);
    }

    fn update_params(&mut self, layer: &str, grads: &Self::Grads, f: &mut UpdateParams<'_, F>) {
        f(
            ParamInfo::weight(layer, Self::WEIGHT_DIMS),
            &mut self.weight,
            &grads.weight,
        );
        f(
            ParamInfo::bias(layer, Self::BIAS_DIMS),
            &mut self.bias,
            &grads.bias,
        );
    }
}

impl<
    const C_IN: usize,
    const H: usize,
    const W: usize,
    const C_OUT: usize,
    const K: usize,
    const STRIDE: usize,
    const H_OUT: usize,
    const W_OUT: usize,
    A: Activation,
    F: Float,
> Layer<Rank3<C_IN, H, W>, F> for Conv2D<C_IN, C_OUT, K, STRIDE, H_OUT, W_OUT, A, F>
{
    type Output = Rank3<C_OUT, H_OUT, W_OUT>;
    /// The offsets of the unfolded input, its padded copy, and scratch for the products.
    type Cache = ConvScratch<F>;
    const ACTIVATION: ActivationKind = A::KIND;

    // x: [B, C_IN, H, W] -> y: [B, C_OUT, H_OUT, W_OUT]
    fn forward(&self, x: &Batch<Rank3<C_IN, H, W>, F>, y: &mut Batch<Self::Output, F>) {
        self.forward_cached(x, y, &mut ConvScratch::default());
    }

    // x -> z (kept in the scratch if the activation needs it) -> y = act(z)
    fn forward_train(
        &self,
        x: &Batch<Rank3<C_IN, H, W>, F>,
        y: &mut Batch<Self::Output, F>,
        scratch: &mut ConvScratch<F>,
        _ctx: &mut TrainContext,
    ) {
        if !A::NEEDS_INPUT {
            return self.forward_cached(x, y, scratch);
        }
        y.resize(x.len());
        let g = Self::geometry::<H, W>();
        let ys = y.as_mut_slice();
        conv2d_forward::<F, Linear>(&g, x.as_slice(), &self.weight, &self.bias, ys, scratch);
        scratch.preactivations.clear();
        scratch.preactivations.extend_from_slice(ys);
        ys.chunks_exact_mut(C_OUT * H_OUT * W_OUT)
            .for_each(A::forward);
    }

    fn forward_cached(
        &self,
        x: &Batch<Rank3<C_IN, H, W>, F>,
        y: &mut Batch<Self::Output, F>,
        scratch: &mut ConvScratch<F>,
    ) {
        y.resize(x.len());
        conv2d_forward::<F, A>(
            &Self::geometry::<H, W>(),
            x.as_slice(),
            &self.weight,
            &self.bias,
            y.as_mut_slice(),
            scratch,
        );
    }

    // dy -> dz = dy * act'(y), applied inside the kernel's own passes over
    // dy (a softmax, which needs whole samples, first)
    fn backward(
        &self,
        x: &Batch<Rank3<C_IN, H, W>, F>,
        y: &Batch<Self::Output, F>,
        scratch: &mut ConvScratch<F>,
        dy: &mut Batch<Self::Output, F>,
        dx: Option<&mut Batch<Rank3<C_IN, H, W>, F>>,
        grads: &mut Self::Grads,
    ) {
        let len = C_OUT * H_OUT * W_OUT;
        if A::NEEDS_INPUT {
            let z = scratch.preactivations.chunks_exact(len);
            for ((z, y), dy) in z
                .zip(y.samples())
                .zip(dy.as_mut_slice().chunks_exact_mut(len))
            {
                A::backward(z, y, dy);
            }
            return self.backward_preactivation(x, y, scratch, dy, dx, grads);
        }
        if !A::ELEMENTWISE {
            for (y, dy) in y.samples().zip(dy.as_mut_slice().chunks_exact_mut(len)) {
                A::backward(&[], y, dy);
            }
            return self.backward_preactivation(x, y, scratch, dy, dx, grads);
        }
        self.backward_through::<H, W>(x, Some(y), scratch, dy, dx, grads);
    }

    // dz: [B, C_OUT, H_OUT, W_OUT] -> dW: [C_OUT, C_IN, K, K], db: [C_OUT], dx: [B, C_IN, H, W]
    fn backward_preactivation(
        &self,
        x: &Batch<Rank3<C_IN, H, W>, F>,
        _y: &Batch<Self::Output, F>,
        scratch: &mut ConvScratch<F>,
        dz: &mut Batch<Self::Output, F>,
        dx: Option<&mut Batch<Rank3<C_IN, H, W>, F>>,
        grads: &mut Self::Grads,
    ) {
        self.backward_through::<H, W>(x, None, scratch, dz, dx, grads);
    }

    // A max pooling after an elementwise activation that reads only its
    // outputs: the pooled outputs are each a copy of one output, so the
    // activation's derivative can be taken after the pooling.
    fn fuses_with<N: Layer<Self::Output, F>>() -> bool {
        N::MAX_POOL_WINDOW.is_some()
            && N::ACTIVATION == ActivationKind::Linear
            && A::ELEMENTWISE
            && !A::NEEDS_INPUT
    }

    // x: [B, C_IN, H, W] -> pooled: [B, C_OUT, H_OUT / P, W_OUT / P], in one
    // pass where the kernels allow it (then `mid` is not written)
    fn forward_then<N: Layer<Self::Output, F>>(
        &self,
        next: &N,
        x: &Batch<Rank3<C_IN, H, W>, F>,
        y: &mut Batch<N::Output, F>,
        cache: PairCache<'_, Self::Output, F, ConvScratch<F>, N::Cache>,
        ctx: Option<&mut TrainContext>,
    ) {
        let window =
            N::MAX_POOL_WINDOW.filter(|_| <Self as Layer<Rank3<C_IN, H, W>, F>>::fuses_with::<N>());
        let in_one_pass = conv2d_pools_in_one_pass(&Self::geometry::<H, W>(), x.len());
        match window {
            Some(p) if in_one_pass && N::max_pool_argmax(&mut *cache.second).is_some() => {
                Self::check_pooled::<N::Output>(p);
                y.resize(x.len());
                let argmax = N::max_pool_argmax(cache.second).unwrap_or_else(|| unreachable!());
                self.forward_pooled::<H, W>(x, p, (y.as_mut_slice(), argmax), cache.first);
            }
            _ => fusion::forward_in_turn(self, next, x, y, cache, ctx),
        }
    }

    // dy at the pooled outputs -> dW, db, dx, through the maxima only
    fn backward_then<N: Layer<Self::Output, F>>(
        &self,
        next: &N,
        x: &Batch<Rank3<C_IN, H, W>, F>,
        cache: PairCache<'_, Self::Output, F, ConvScratch<F>, N::Cache>,
        out: OutputGrad<'_, N::Output, F>,
        dx: Option<&mut Batch<Rank3<C_IN, H, W>, F>>,
        grads: (&mut Self::Grads, &mut N::Grads),
    ) {
        let window =
            N::MAX_POOL_WINDOW.filter(|_| <Self as Layer<Rank3<C_IN, H, W>, F>>::fuses_with::<N>());
        match window {
            Some(p) if N::max_pool_argmax(&mut *cache.second).is_some() => {
                Self::check_pooled::<N::Output>(p);
                let argmax = N::max_pool_argmax(cache.second).unwrap_or_else(|| unreachable!());
                let at = (p, &argmax[..], out.y.as_slice(), out.dy.as_mut_slice());
                self.backward_from_maxima::<H, W>(x, at, (cache.first, cache.d_mid), dx, grads.0);
            }
            _ => fusion::backward_in_turn(self, next, x, cache, out, dx, grads),
        }
    }
}
