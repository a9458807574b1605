//! Which kernels run for an element type, chosen by type on the kernels'
//! side: `f32` runs the packed SIMD kernels, compiled once in keelnet;
//! `f64` the plain reference loops. Each family of kernels is a trait
//! ([`Gemm`], [`ConvKernels`], [`WinogradKernels`]) with the reference
//! loops as its defaults, and [`Kernels`] gathers them; [`Float`] requires
//! it and stays a scalar trait, so a new fast kernel widens a kernel trait,
//! not the element type.

use crate::Float;
use crate::kernels::{
    ConvGeometry, ConvScratch, Gather, MatRef, OutputGrad, Outputs, Pointwise, Transpose,
    WinogradScratch,
};

/// Every kernel family, for an element type: what [`Float`] requires.
///
/// ```
/// fn runs_on<F: keelnet::kernels::Kernels>() {}
/// runs_on::<f32>();
/// runs_on::<f64>();
/// ```
pub trait Kernels: Gemm + ConvKernels + WinogradKernels {}

impl<T: Gemm + ConvKernels + WinogradKernels> Kernels for T {}

/// The shape of a matrix product `c[m×n] (+)= op(a)[m×k] · op(b)[k×n]`,
/// all matrices row-major; `op` transposes when asked (a transposed `a` is
/// stored `[k×m]`, a transposed `b` `[n×k]`).
///
/// ```
/// use keelnet::kernels::{Gemm, GemmShape};
/// let a = [1.0f32, 2.0, 3.0, 4.0];
/// let mut c = [0.0f32; 4];
/// let shape = GemmShape { m: 2, n: 2, k: 2, a_transposed: true, b_transposed: false, accumulate: false };
/// f32::gemm(shape, &a, &a, &mut c, &|_, _, _: &mut [f32]| {});
/// assert_eq!(c, [10.0, 14.0, 14.0, 20.0]); // aᵀ·a
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmShape {
    /// Rows of `c`.
    pub m: usize,
    /// Columns of `c`.
    pub n: usize,
    /// The shared dimension.
    pub k: usize,
    /// `a` is stored transposed, `[k×m]`.
    pub a_transposed: bool,
    /// `b` is stored transposed, `[n×k]`.
    pub b_transposed: bool,
    /// Add to `c` instead of overwriting it.
    pub accumulate: bool,
}

/// Matrix products, for an element type.
///
/// ```
/// use keelnet::kernels::{Gemm, GemmShape};
/// let shape = GemmShape { m: 1, n: 1, k: 2, a_transposed: false, b_transposed: false, accumulate: false };
/// let mut c = [0.0f64];
/// f64::gemm(shape, &[1.0, 2.0], &[3.0, 4.0], &mut c, &|_, _, c: &mut [f64]| c[0] += 1.0);
/// assert_eq!(c, [12.0]); // 1·3 + 2·4, then the epilogue
/// ```
pub trait Gemm: Sized {
    /// The matrix product `c (+)= op(a) · op(b)` described by `shape`, then
    /// `epilogue(row, first column, values)` over each finished part of `c`.
    ///
    /// `f32` runs the packed SIMD kernels ([`sgemm`](crate::kernels::sgemm));
    /// other types the reference loops ([`reference::gemm`](crate::kernels::reference::gemm)).
    fn gemm<E: Fn(usize, usize, &mut [Self]) + Sync>(
        shape: GemmShape,
        a: &[Self],
        b: &[Self],
        c: &mut [Self],
        epilogue: &E,
    ) where
        Self: Float,
    {
        crate::kernels::reference::gemm(shape, a, b, c);
        epilogue_by_rows(shape, c, epilogue);
    }

    /// [`gemm`](Gemm::gemm) with a gathered `b` (an unfolded convolution
    /// input read from the images): `c (+)= op(a) · b`, then `epilogue`.
    ///
    /// `f32` packs `b` straight from the images; other types unfold it and
    /// run the reference loops ([`reference::gemm_gathered`](crate::kernels::reference::gemm_gathered)).
    fn gemm_gathered<E: Fn(usize, usize, &mut [Self]) + Sync>(
        shape: GemmShape,
        a: &[Self],
        b: Gather<'_, Self>,
        c: &mut [Self],
        epilogue: &E,
    ) where
        Self: Float,
    {
        crate::kernels::reference::gemm_gathered(shape, a, b, c);
        epilogue_by_rows(shape, c, epilogue);
    }
}

/// The convolutions' own kernels beside the matrix product: the direct
/// stencils and their weight gradients, and col2im's fold.
///
/// ```
/// use keelnet::kernels::ConvKernels;
/// let (mut f32_sums, mut f64_sums) = ([0.0f32; 1], [0.0f64; 1]);
/// f32::tap_sums(&[1.0, 2.0], 2, &[3.0, 4.0], &[0], &mut f32_sums);
/// f64::tap_sums(&[1.0, 2.0], 2, &[3.0, 4.0], &[0], &mut f64_sums);
/// assert_eq!((f32_sums, f64_sums), ([11.0], [11.0]));
/// ```
pub trait ConvKernels: Sized {
    /// The direct convolution's weight-gradient sums,
    /// `d_weight[i·n + t] += Σ_{p < len} dz[i·len + p] · x[p + taps[t]]`
    /// ([`kernels::tap_sums`](crate::kernels::tap_sums)); `f32` runs them in
    /// AVX2 registers where it can.
    ///
    /// ```
    /// use keelnet::kernels::ConvKernels;
    /// let mut d_weight = [0.0f32; 2];
    /// f32::tap_sums(&[1.0, 2.0], 2, &[1.0, 10.0, 100.0], &[0, 1], &mut d_weight);
    /// assert_eq!(d_weight, [21.0, 210.0]);
    /// ```
    fn tap_sums(dz: &[Self], len: usize, x: &[Self], taps: &[usize], d_weight: &mut [Self])
    where
        Self: Float,
    {
        crate::kernels::tap_sums(dz, len, x, taps, d_weight);
    }

    /// Folds a convolution's unfolded gradient `d_cols[C_IN·K·K, B·P]` back
    /// onto its (padded) batch `dxs`, zeroed first
    /// ([`kernels::fold`](crate::kernels::fold)); `f32` adds a small output
    /// plane's rows with AVX-512 expanding loads where it can.
    ///
    /// ```
    /// use keelnet::kernels::ConvKernels;
    /// use keelnet::kernels::ConvGeometry;
    /// let g = ConvGeometry { c_in: 1, h: 3, w: 3, c_out: 1, k: 2, stride: 1, h_out: 2, w_out: 2 };
    /// let mut dx = [0.0f32; 9];
    /// f32::fold(&g, &[1.0; 16], &[0, 1, 3, 4], &mut dx);
    /// assert_eq!(dx, [1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
    /// ```
    fn fold(g: &ConvGeometry, d_cols: &[Self], kernel_offsets: &[usize], dxs: &mut [Self])
    where
        Self: Float,
    {
        crate::kernels::fold(g, d_cols, kernel_offsets, dxs);
    }

    /// A convolution of few taps and its max pooling in one pass (what
    /// [`kernels::conv2d_forward_pooled`](crate::kernels::conv2d_forward_pooled)
    /// runs), with `act` applying the elementwise activation over a plane
    /// in place. `f32`'s is compiled once in keelnet rather than in every
    /// crate that declares a network.
    ///
    /// ```
    /// use keelnet::kernels::ConvKernels;
    /// use keelnet::kernels::{ConvGeometry, ConvScratch, Pointwise};
    /// let g = ConvGeometry { c_in: 1, h: 3, w: 3, c_out: 1, k: 2, stride: 1, h_out: 2, w_out: 2 };
    /// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    /// let (mut pooled, mut argmax, mut scratch) = ([0.0f32], [0], ConvScratch::default());
    /// let outputs = (&mut pooled[..], &mut argmax[..]);
    /// f32::conv_forward_pooled(&g, &x, (&[1.0; 4], &[0.0]), 2, outputs, Pointwise::ReLU, &mut scratch);
    /// assert_eq!((pooled, argmax), ([28.0], [3]));
    /// ```
    fn conv_forward_pooled(
        g: &ConvGeometry,
        x: &[Self],
        params: (&[Self], &[Self]),
        p: usize,
        outputs: (&mut [Self], &mut [u32]),
        act: Pointwise<'_, Self>,
        scratch: &mut ConvScratch<Self>,
    ) where
        Self: Float,
    {
        crate::kernels::conv_forward_pooled(g, x, params, p, outputs, act, scratch);
    }

    /// The weight and bias gradients of a convolution of few taps from the
    /// gradient `dz` before its activation, zero but at the outputs `at`
    /// (what [`kernels::conv2d_weight_grad_at`](crate::kernels::conv2d_weight_grad_at)
    /// runs, after the derivative), with the scratch of
    /// [`conv_forward_pooled`](ConvKernels::conv_forward_pooled) or of the
    /// convolution's forward pass. `f32`'s is compiled once in keelnet.
    ///
    /// ```
    /// use keelnet::kernels::ConvKernels;
    /// use keelnet::kernels::{ConvGeometry, ConvScratch, Pointwise};
    /// let g = ConvGeometry { c_in: 1, h: 3, w: 3, c_out: 1, k: 2, stride: 1, h_out: 2, w_out: 2 };
    /// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    /// let (mut pooled, mut argmax, mut scratch) = ([0.0f32], [0], ConvScratch::default());
    /// let outputs = (&mut pooled[..], &mut argmax[..]);
    /// f32::conv_forward_pooled(&g, &x, (&[1.0; 4], &[0.0]), 2, outputs, Pointwise::ReLU, &mut scratch);
    /// let (mut d_weight, mut d_bias) = ([0.0f32; 4], [0.0f32]);
    /// let grads = (&mut d_weight[..], &mut d_bias[..]);
    /// f32::conv_weight_grad_at(&g, &x, (&argmax, &[2.0]), grads, &mut scratch);
    /// assert_eq!((d_weight, d_bias), ([10.0, 12.0, 16.0, 18.0], [2.0]));
    /// ```
    fn conv_weight_grad_at(
        g: &ConvGeometry,
        x: &[Self],
        grad: (&[u32], &[Self]),
        grads: (&mut [Self], &mut [Self]),
        scratch: &mut ConvScratch<Self>,
    ) where
        Self: Float,
    {
        crate::kernels::conv_weight_grad_at(g, x, grad, grads, scratch);
    }
}

/// Winograd's F(4×4, 3×3) convolution and the transposes its layouts use.
///
/// ```
/// use keelnet::kernels::{Transpose, WinogradKernels};
/// let t = Transpose { lines: 2, depth: 2, count: 1, src_line: 2, src_next: 0, dst_group: 2, dst_next: 0 };
/// let mut dst = [0.0f64; 4];
/// f64::transpose(&t, &[1.0, 2.0, 3.0, 4.0], &mut dst);
/// assert_eq!(dst, [1.0, 3.0, 2.0, 4.0]);
/// ```
pub trait WinogradKernels: Sized {
    /// A 3×3 convolution of stride 1 by Winograd's F(4×4, 3×3), forward:
    /// `y = act(conv(x, weight) + bias)` over a batch `x: [B, C_IN, H, W]`
    /// with `inputs = (x, weight, bias)` (padding as [`ConvGeometry`]
    /// implies), into `outputs`: all of `y`, or only its max pooling.
    /// `activation` applies `act` in place over each sample's outputs
    /// `[C_OUT, H_OUT, W_OUT]` (laid out channels-last when pooled). The
    /// scratch keeps what backward reuses. `f32`'s is compiled once in
    /// keelnet rather than in every crate that declares a network.
    ///
    /// ```
    /// use keelnet::kernels::WinogradKernels;
    /// use keelnet::kernels::{ConvGeometry, Outputs, Pointwise, WinogradScratch};
    /// // One 4×4 channel of ones through one 3×3 filter of ones.
    /// let g = ConvGeometry { c_in: 1, h: 4, w: 4, c_out: 1, k: 3, stride: 1, h_out: 2, w_out: 2 };
    /// let (x, params) = ([1.0; 16], (&[1.0; 9][..], &[0.5][..]));
    /// let (mut y, mut scratch) = ([0.0f32; 4], WinogradScratch::default());
    /// f32::winograd_forward(&g, (&x, params.0, params.1), Outputs::Full(&mut y), Pointwise::ReLU, &mut scratch);
    /// assert_eq!(y, [9.5; 4]);
    /// // Pooled 2×2: the maximum, the first of the equal values.
    /// let (mut pooled, mut argmax) = ([0.0f32], [9]);
    /// let outputs = Outputs::Pooled { p: 2, pooled: &mut pooled, argmax: &mut argmax };
    /// f32::winograd_forward(&g, (&x, params.0, params.1), outputs, Pointwise::ReLU, &mut scratch);
    /// assert_eq!((pooled, argmax), ([9.5], [0]));
    /// ```
    fn winograd_forward(
        g: &ConvGeometry,
        inputs: (&[Self], &[Self], &[Self]),
        outputs: Outputs<'_, Self>,
        activation: Pointwise<'_, Self>,
        scratch: &mut WinogradScratch<Self>,
    ) where
        Self: Float,
    {
        crate::kernels::winograd_forward(g, inputs, outputs, activation, scratch);
    }

    /// Backward of [`winograd_forward`](WinogradKernels::winograd_forward) from the
    /// gradient at its outputs (at all of them, through the activation's
    /// derivative, or at the pooled maxima alone), with its scratch:
    /// writes `d_weight`, `d_bias`, and `dx` when asked.
    ///
    /// ```
    /// use keelnet::kernels::WinogradKernels;
    /// use keelnet::kernels::{ConvGeometry, OutputGrad, Outputs, Pointwise, WinogradScratch};
    /// let g = ConvGeometry { c_in: 1, h: 4, w: 4, c_out: 1, k: 3, stride: 1, h_out: 2, w_out: 2 };
    /// let (mut y, mut scratch) = ([0.0f32; 4], WinogradScratch::default());
    /// let inputs = (&[1.0; 16][..], &[1.0; 9][..], &[0.5][..]);
    /// f32::winograd_forward(&g, inputs, Outputs::Full(&mut y), Pointwise::ReLU, &mut scratch);
    /// let (mut d_weight, mut d_bias, mut dx) = ([0.0f32; 9], [0.0f32; 1], [0.0f32; 16]);
    /// let grads = (&mut d_weight[..], &mut d_bias[..]);
    /// let grad = OutputGrad::Dense { dy: &[1.0; 4], y: &y, derivative: None };
    /// f32::winograd_backward(&g, grad, grads, Some(&mut dx), &mut scratch);
    /// // Within rounding: the transforms' 1/6 and 1/24 are not exact in binary.
    /// assert!(d_weight.iter().all(|w| (w - 4.0).abs() < 1e-5) && d_bias == [4.0]);
    /// assert_eq!((dx[0], dx[1], dx[5]), (1.0, 2.0, 4.0)); // windows covering each pixel
    /// ```
    fn winograd_backward(
        g: &ConvGeometry,
        grad: OutputGrad<'_, Self>,
        grads: (&mut [Self], &mut [Self]),
        dx: Option<&mut [Self]>,
        scratch: &mut WinogradScratch<Self>,
    ) where
        Self: Float,
    {
        crate::kernels::winograd_backward(g, grad, grads, dx, scratch);
    }

    /// A batch of transposes of lines into groups ([`Transpose`]):
    /// `dst[b·dst_next + p·dst_group + r] = src[b·src_next + r·src_line + p]`.
    /// `f32` transposes 8×8 blocks in AVX2 registers where the selected
    /// instruction set allows it; other types run plain loops
    /// ([`kernels::transpose`](crate::kernels::transpose)).
    ///
    /// ```
    /// use keelnet::kernels::WinogradKernels;
    /// use keelnet::kernels::Transpose;
    /// let src: Vec<f32> = (0..16).map(|v| v as f32).collect(); // 8 lines of 2
    /// let mut dst = [0.0f32; 16];
    /// let t = Transpose { lines: 8, depth: 2, count: 1, src_line: 2, src_next: 0, dst_group: 8, dst_next: 0 };
    /// f32::transpose(&t, &src, &mut dst);
    /// assert_eq!(dst[..8], [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]);
    /// ```
    fn transpose(t: &Transpose, src: &[Self], dst: &mut [Self])
    where
        Self: Float,
    {
        crate::kernels::transpose(t, src, dst);
    }
}

impl Gemm for f32 {
    fn gemm<E: Fn(usize, usize, &mut [Self]) + Sync>(
        shape: GemmShape,
        a: &[Self],
        b: &[Self],
        c: &mut [Self],
        epilogue: &E,
    ) {
        let b = if shape.b_transposed {
            MatRef::transposed(b, shape.k)
        } else {
            MatRef::row_major(b, shape.n)
        };
        sgemm_shaped(shape, a, b, c, epilogue);
    }
    fn gemm_gathered<E: Fn(usize, usize, &mut [Self]) + Sync>(
        shape: GemmShape,
        a: &[Self],
        b: Gather<'_, Self>,
        c: &mut [Self],
        epilogue: &E,
    ) {
        sgemm_shaped(shape, a, b, c, epilogue);
    }
}

impl ConvKernels for f32 {
    fn tap_sums(dz: &[Self], len: usize, x: &[Self], taps: &[usize], d_weight: &mut [Self]) {
        crate::kernels::tap_sums_f32(dz, len, x, taps, d_weight);
    }
    fn fold(g: &ConvGeometry, d_cols: &[Self], kernel_offsets: &[usize], dxs: &mut [Self]) {
        crate::kernels::fold_f32(g, d_cols, kernel_offsets, dxs);
    }
    #[inline(never)]
    fn conv_forward_pooled(
        g: &ConvGeometry,
        x: &[Self],
        params: (&[Self], &[Self]),
        p: usize,
        outputs: (&mut [Self], &mut [u32]),
        act: Pointwise<'_, Self>,
        scratch: &mut ConvScratch<Self>,
    ) {
        crate::kernels::conv_forward_pooled(g, x, params, p, outputs, act, scratch);
    }
    #[inline(never)]
    fn conv_weight_grad_at(
        g: &ConvGeometry,
        x: &[Self],
        grad: (&[u32], &[Self]),
        grads: (&mut [Self], &mut [Self]),
        scratch: &mut ConvScratch<Self>,
    ) {
        crate::kernels::conv_weight_grad_at(g, x, grad, grads, scratch);
    }
}

// The kernels marked `#[inline(never)]` are not inlined, so that a crate
// declaring a network calls the copy compiled here instead of compiling
// its own.
impl WinogradKernels for f32 {
    #[inline(never)]
    fn winograd_forward(
        g: &ConvGeometry,
        inputs: (&[Self], &[Self], &[Self]),
        outputs: Outputs<'_, Self>,
        activation: Pointwise<'_, Self>,
        scratch: &mut WinogradScratch<Self>,
    ) {
        crate::kernels::winograd_forward(g, inputs, outputs, activation, scratch);
    }
    #[inline(never)]
    fn winograd_backward(
        g: &ConvGeometry,
        grad: OutputGrad<'_, Self>,
        grads: (&mut [Self], &mut [Self]),
        dx: Option<&mut [Self]>,
        scratch: &mut WinogradScratch<Self>,
    ) {
        crate::kernels::winograd_backward(g, grad, grads, dx, scratch);
    }
    fn transpose(t: &Transpose, src: &[Self], dst: &mut [Self]) {
        crate::kernels::transpose_f32(t, src, dst);
    }
}

impl Gemm for f64 {}
impl ConvKernels for f64 {}
impl WinogradKernels for f64 {}

/// `epilogue` over each whole row of a finished `c`.
fn epilogue_by_rows<F, E: Fn(usize, usize, &mut [F])>(shape: GemmShape, c: &mut [F], epilogue: &E) {
    let n = shape.n.max(1);
    for (row, values) in c.chunks_exact_mut(n).take(shape.m).enumerate() {
        epilogue(row, 0, values);
    }
}

/// The packed product of `shape` with the operand `b` as given.
fn sgemm_shaped<'a, E: Fn(usize, usize, &mut [f32]) + Sync>(
    shape: GemmShape,
    a: &'a [f32],
    b: impl Into<crate::kernels::Operand<'a>>,
    c: &mut [f32],
    epilogue: &E,
) {
    let GemmShape { m, n, k, .. } = shape;
    let a = a_operand(shape, a);
    crate::kernels::sgemm(m, n, k, a, b, c, shape.accumulate, epilogue);
}

/// The `a` of a product described by `shape`, as the packed kernels read it.
fn a_operand(shape: GemmShape, a: &[f32]) -> MatRef<'_> {
    if shape.a_transposed {
        MatRef::transposed(a, shape.m)
    } else {
        MatRef::row_major(a, shape.k)
    }
}
