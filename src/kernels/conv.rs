//! 2-D convolution as im2col onto the matrix product, the whole batch in
//! one product per pass.
//!
//! Shapes, channels first: input `[B, C_IN, H, W]`, weight
//! `[C_OUT, C_IN, K, K]` (as a `[C_OUT, C_IN·K·K]` matrix), output
//! `[B, C_OUT, H_OUT, W_OUT]`. With `P = H_OUT·W_OUT`, the batch unfolds into
//! `cols[C_IN·K·K, B·P]` (sample `b` in columns `b·P..(b + 1)·P`), so that
//! the forward pass is one product `[C_OUT, C_IN·K·K] · [C_IN·K·K, B·P]`
//! and backward two more. `cols` is never written out: its element
//! `(r, j)` sits in the (zero-padded) batch at `kernel_offsets[r] +
//! position_offsets[j]`, and the products pack their tiles of it straight
//! from the images ([`Gather`]) while they are in cache.
//!
//! Two other kernels take the convolutions they compute faster: the
//! direct kernels (`conv_direct`) those with few taps (a first layer), and
//! Winograd's F(4×4, 3×3) (`winograd`) 3×3 kernels of stride 1 with many
//! input channels, at about a third of im2col's multiplications.

use rayon::prelude::*;

use super::winograd::{self, ActivationDerivative, OutputGrad, Outputs, WinogradScratch};
use super::{Gather, Pointwise, conv_direct, copy_short, sum_lanes};
use crate::kernels::GemmShape;
use crate::{Activation, ActivationKind, Float};

/// The sizes of one convolution. Padding is implied by the output size:
/// `pad = ((h_out - 1)·stride + k - h) / 2` when positive (Keras' 'same',
/// extra padding at the bottom and right), else 0 ('valid').
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input channels.
    pub c_in: usize,
    /// Input rows.
    pub h: usize,
    /// Input columns.
    pub w: usize,
    /// Output channels (filters).
    pub c_out: usize,
    /// Kernel side.
    pub k: usize,
    /// Stride in both directions.
    pub stride: usize,
    /// Output rows.
    pub h_out: usize,
    /// Output columns.
    pub w_out: usize,
}

impl ConvGeometry {
    /// Padding above and to the left.
    pub fn pad(&self) -> (usize, usize) {
        let pad = |out: usize, input: usize| {
            ((out.saturating_sub(1) * self.stride + self.k).saturating_sub(input)) / 2
        };
        (pad(self.h_out, self.h), pad(self.w_out, self.w))
    }

    /// Rows and columns of an input channel with its zero padding
    /// (below and to the right as well).
    pub fn padded_size(&self) -> (usize, usize) {
        let span = |out: usize| out.saturating_sub(1) * self.stride + self.k;
        (self.h.max(span(self.h_out)), self.w.max(span(self.w_out)))
    }

    /// Rows of the unfolded input: `C_IN·K·K`.
    pub fn patch_len(&self) -> usize {
        self.c_in * self.k * self.k
    }

    /// Output positions per channel: `H_OUT·W_OUT`.
    pub fn positions(&self) -> usize {
        self.h_out * self.w_out
    }

    /// The values of one input sample, one output sample and the weights,
    /// `(C_IN·H·W, C_OUT·H_OUT·W_OUT, C_OUT·C_IN·K·K)`, after checking the
    /// geometry: what every convolution kernel asks first.
    ///
    /// # Panics
    ///
    /// If a size is 0, if the output size is neither 'valid'
    /// (`(H - K) / STRIDE + 1`) nor 'same' (`ceil(H / STRIDE)`), or if a
    /// sample's or the weights' size (padding included) overflows.
    ///
    /// ```
    /// use keelnet::kernels::ConvGeometry;
    /// let g = ConvGeometry { c_in: 1, h: 28, w: 28, c_out: 32, k: 3, stride: 1, h_out: 26, w_out: 26 };
    /// assert_eq!(g.sample_sizes(), (784, 32 * 26 * 26, 288));
    /// let strideless = ConvGeometry { stride: 0, ..g };
    /// assert!(std::panic::catch_unwind(|| strideless.sample_sizes()).is_err());
    /// ```
    pub fn sample_sizes(&self) -> (usize, usize, usize) {
        let sizes = [
            self.c_in,
            self.h,
            self.w,
            self.c_out,
            self.k,
            self.stride,
            self.h_out,
            self.w_out,
        ];
        assert!(
            sizes.iter().all(|&size| size >= 1),
            "a convolution's sizes and stride must be at least 1: {self:?}"
        );
        let fits = |input: usize, out: usize| {
            let valid = input >= self.k && out == (input - self.k) / self.stride + 1;
            valid || out == input.div_ceil(self.stride)
        };
        assert!(
            fits(self.h, self.h_out) && fits(self.w, self.w_out),
            "a convolution's output must be (H - K) / STRIDE + 1 ('valid') or ceil(H / STRIDE) ('same'): {self:?}"
        );
        let product = |sizes: &[usize]| sizes.iter().try_fold(1usize, |p, &s| p.checked_mul(s));
        let span = |out: usize| (out - 1).checked_mul(self.stride)?.checked_add(self.k);
        let padded = (span(self.h_out), span(self.w_out));
        let sizes = (
            product(&[self.c_in, self.h, self.w]),
            product(&[self.c_out, self.h_out, self.w_out]),
            product(&[self.c_out, self.c_in, self.k, self.k]),
        );
        match (padded, sizes) {
            ((Some(hp), Some(wp)), (Some(input), Some(output), Some(weights)))
                if product(&[self.c_in, hp.max(self.h), wp.max(self.w)]).is_some() =>
            {
                (input, output, weights)
            }
            _ => panic!("a convolution's sizes overflow: {self:?}"),
        }
    }
}

/// The samples of a batch of `len` values of `sample` values each.
///
/// # Panics
///
/// If `len` is not a whole number of samples.
pub(crate) fn samples(what: &str, len: usize, sample: usize) -> usize {
    assert!(
        len.is_multiple_of(sample),
        "{what} holds {len} values, not a whole number of samples of {sample}"
    );
    len / sample
}

/// Panics unless `len` is `expected`.
pub(crate) fn check_len(what: &str, len: usize, expected: usize) {
    assert_eq!(len, expected, "{what} holds {len} values, not {expected}");
}

/// A convolution's scratch, sized once per batch size and reused.
#[derive(Clone, Debug, Default)]
pub struct ConvScratch<F> {
    /// The forward pass's batch, unfolded (kept for backward).
    pub unfolding: Unfolding<F>,
    /// The product before it is laid out per sample, or the output
    /// gradient gathered for the products of backward: `[C_OUT, B·P]`.
    pub wide: Vec<F>,
    /// The gradient of the unfolded batch, `[C_IN·K·K, B·P]`.
    pub d_cols: Vec<F>,
    /// The gradient of the padded batch, when the convolution pads.
    pub padded_grad: Vec<F>,
    /// The transformed weights, tiles and products of a Winograd convolution.
    pub winograd: WinogradScratch<F>,
    /// The outputs before an activation whose derivative needs them (GELU,
    /// SiLU), kept by a training forward pass; empty otherwise.
    pub preactivations: Vec<F>,
}

/// A batch unfolded in place: the offsets of the unfolded matrix's rows and
/// columns in the batch, or in its zero-padded copy.
#[derive(Clone, Debug, Default)]
pub struct Unfolding<F> {
    /// The batch with its zero padding, `[B, C_IN, H', W']`, when the
    /// convolution pads ('same'); empty otherwise.
    pub padded: Vec<F>,
    /// Where row `r = (c·K + ki)·K + kj` of the unfolded batch starts in
    /// the (padded) batch: `(c·H' + ki)·W' + kj`.
    pub kernel_offsets: Vec<usize>,
    /// Where column `j = b·P + oh·W_OUT + ow` of the unfolded batch starts
    /// in the (padded) batch: `b·C_IN·H'·W' + oh·stride·W' + ow·stride`;
    /// where the direct kernels compute the convolution, the first
    /// sample's only (`P` of them: the others add `b·C_IN·H'·W'`).
    pub position_offsets: Vec<usize>,
}

impl<F: Float> Unfolding<F> {
    /// Pads the batch `x` if the convolution pads, and writes the offsets
    /// of its unfolding.
    pub(super) fn unfold(&mut self, g: &ConvGeometry, x: &[F]) {
        let (in_len, (hp, wp)) = (g.c_in * g.h * g.w, g.padded_size());
        let batch = x.len() / in_len.max(1);
        self.kernel_offsets.clear();
        for c in 0..g.c_in {
            for ki in 0..g.k {
                self.kernel_offsets
                    .extend((0..g.k).map(|kj| (c * hp + ki) * wp + kj));
            }
        }
        self.position_offsets.clear();
        // The direct kernels walk the positions themselves; the weight
        // gradient at pooled maxima looks them up for one sample.
        let samples = if conv_direct::takes(g) { 1 } else { batch };
        for b in 0..samples {
            for oh in 0..g.h_out {
                let row = b * g.c_in * hp * wp + oh * g.stride * wp;
                self.position_offsets
                    .extend((0..g.w_out).map(|ow| row + ow * g.stride));
            }
        }
        if (hp, wp) == (g.h, g.w) {
            self.padded.clear();
            return;
        }
        let (pad_top, pad_left) = g.pad();
        let plane = hp * wp;
        self.padded.clear();
        self.padded.resize(batch * g.c_in * plane, F::zero());
        // Channel after channel, sample after sample, in both layouts.
        let channels = x
            .chunks_exact(g.h * g.w)
            .zip(self.padded.chunks_exact_mut(plane));
        for (channel, target) in channels {
            for (i, source) in channel.chunks_exact(g.w).enumerate() {
                let start = (pad_top + i) * wp + pad_left;
                copy_short(&mut target[start..start + g.w], source);
            }
        }
    }

    /// What the offsets point into: the batch `x`, or its padded copy.
    pub(super) fn data<'a>(&'a self, x: &'a [F]) -> &'a [F] {
        if self.padded.is_empty() {
            x
        } else {
            &self.padded
        }
    }

    /// The unfolded batch `cols[C_IN·K·K, B·P]` (or its transpose).
    fn cols<'a>(&'a self, x: &'a [F], transposed: bool) -> Gather<'a, F> {
        let data = self.data(x);
        let (rows, cols) = (&self.kernel_offsets, &self.position_offsets);
        let (row_offsets, col_offsets) = if transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        Gather {
            data,
            row_offsets,
            col_offsets,
        }
    }
}

/// `y = act(conv(x, weight) + bias)` for a batch: one product of the
/// weights and the unfolded batch, then each sample's channels laid out
/// with the bias and activation applied; or, for few taps, the direct
/// kernel.
///
/// # Panics
///
/// If the geometry is not a convolution's ([`ConvGeometry::sample_sizes`]),
/// `x` is not whole samples `[B, C_IN, H, W]`, `weight` is not
/// `[C_OUT, C_IN, K, K]`, `bias` not `[C_OUT]` or `y` not `[B, C_OUT,
/// H_OUT, W_OUT]`.
pub fn conv2d_forward<F: Float, A: Activation>(
    g: &ConvGeometry,
    x: &[F],
    weight: &[F],
    bias: &[F],
    y: &mut [F],
    scratch: &mut ConvScratch<F>,
) {
    let (in_len, out_len, weights) = g.sample_sizes();
    let batch = samples("x", x.len(), in_len);
    check_len("weight", weight.len(), weights);
    check_len("bias", bias.len(), g.c_out);
    check_len("y", y.len(), batch * out_len);
    let positions = g.positions();
    if winograd::takes(g, batch) {
        let activation = |y: &mut [F]| {
            if !A::ELEMENTWISE {
                A::forward(y);
            } else {
                y.chunks_exact_mut(positions).for_each(A::forward);
            }
        };
        let outputs = Outputs::Full(y);
        F::winograd_forward(
            g,
            (x, weight, bias),
            outputs,
            Pointwise::of::<A>(&activation),
            &mut scratch.winograd,
        );
        return;
    }
    let ld = batch * positions;
    let unfolding = &mut scratch.unfolding;
    unfolding.unfold(g, x);
    if conv_direct::takes(g) {
        let (xs, taps) = (unfolding.data(x), &unfolding.kernel_offsets);
        let wide = &mut scratch.wide;
        conv_direct::forward::<F, A>(g, g.padded_size(), xs, taps, weight, bias, y, wide);
        return;
    }
    scratch.wide.resize(g.c_out * ld, F::zero());
    // wide[C_OUT, B·P] = weight[C_OUT, CKK] · cols[CKK, B·P]
    let shape = GemmShape {
        m: g.c_out,
        n: ld,
        k: g.patch_len(),
        a_transposed: false,
        b_transposed: false,
        accumulate: false,
    };
    let cols = scratch.unfolding.cols(x, false);
    F::gemm_gathered(
        shape,
        weight,
        cols,
        &mut scratch.wide,
        &|_, _, _: &mut [F]| {},
    );
    // y[b, o, ·] = act(wide[o, b·P..(b + 1)·P] + bias[o])
    let wide = &scratch.wide;
    let out_len = g.c_out * positions;
    y.par_chunks_exact_mut(out_len)
        .enumerate()
        .for_each(|(b, y)| {
            for (o, channel) in y.chunks_exact_mut(positions).enumerate() {
                let source = &wide[o * ld + b * positions..][..positions];
                for (y, &v) in channel.iter_mut().zip(source) {
                    *y = v + bias[o];
                }
                if A::ELEMENTWISE {
                    A::forward(channel);
                }
            }
            if !A::ELEMENTWISE {
                A::forward(y);
            }
        });
}

/// `wide[o, b·P + p] = dz[b, o, p]`, `dz` being `dy` through `A`'s
/// derivative at the outputs `y` when given (one pass, a channel at a time
/// while it is in cache), and `d_bias[o]` = its row sum if asked.
fn gather_output_grad<F: Float, A: Activation>(
    g: &ConvGeometry,
    (dy, y): (&[F], Option<&[F]>),
    wide: &mut Vec<F>,
    d_bias: Option<&mut [F]>,
) {
    let positions = g.positions();
    let out_len = g.c_out * positions;
    let ld = dy.len() / out_len.max(1) * positions;
    wide.resize(g.c_out * ld, F::zero());
    let rows = wide.par_chunks_exact_mut(ld.max(1)).enumerate();
    let gather = |o: usize, row: &mut [F]| {
        let mut sum = F::zero();
        for (b, out) in row.chunks_exact_mut(positions).enumerate() {
            let channel = b * out_len + o * positions..b * out_len + (o + 1) * positions;
            out.copy_from_slice(&dy[channel.clone()]);
            if let Some(y) = y {
                A::backward(&[], &y[channel], out);
            }
            sum += sum_lanes(out);
        }
        sum
    };
    match d_bias {
        Some(d_bias) => rows
            .zip(d_bias.par_iter_mut())
            .for_each(|((o, row), d_bias)| *d_bias = gather(o, row)),
        None => rows.for_each(|(o, row)| {
            gather(o, row);
        }),
    }
}

/// Backward from `dy` = dL/dy `[B, C_OUT, H_OUT, W_OUT]` at the outputs
/// `y` of an elementwise activation `A` (whose derivative is applied on the
/// way, in the passes below), with the `scratch` of the forward pass on the
/// same `x` (its unfolding is reused): writes `d_weight`, `d_bias`, and
/// `dx` when asked. With `y` `None`, or with `Linear`, `dy` is already
/// dL/d(pre-activation) and no derivative is taken: a layer's
/// `backward_preactivation` passes `None` and runs the same code as its
/// `backward`, compiled once.
///
/// # Panics
///
/// If the geometry is not a convolution's ([`ConvGeometry::sample_sizes`])
/// or a buffer's length does not fit it and the batch of `dy`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward<F: Float, A: Activation>(
    g: &ConvGeometry,
    x: &[F],
    weight: &[F],
    (dy, y): (&[F], Option<&[F]>),
    d_weight: &mut [F],
    d_bias: &mut [F],
    dx: Option<&mut [F]>,
    scratch: &mut ConvScratch<F>,
) {
    let (in_len, out_len, weights) = g.sample_sizes();
    let batch = samples("dy", dy.len(), out_len);
    check_len("x", x.len(), batch * in_len);
    check_len("weight", weight.len(), weights);
    check_len("d_weight", d_weight.len(), weights);
    check_len("d_bias", d_bias.len(), g.c_out);
    if let Some(y) = y {
        check_len("y", y.len(), dy.len());
    }
    if let Some(dx) = dx.as_deref() {
        check_len("dx", dx.len(), x.len());
    }
    let y = y.filter(|_| A::KIND != ActivationKind::Linear);
    let positions = g.positions();
    if winograd::takes(g, batch) {
        let derivative = y
            .is_some()
            .then_some(&output_derivative::<F, A> as ActivationDerivative<'_, F>);
        let y = y.unwrap_or_default();
        let grad = OutputGrad::Dense { dy, y, derivative };
        let grads = (d_weight, d_bias);
        F::winograd_backward(g, grad, grads, dx, &mut scratch.winograd);
        return;
    }
    let ld = batch * positions;
    let nothing = |_: usize, _: usize, _: &mut [F]| {};
    let unfolding = &scratch.unfolding;
    if conv_direct::takes(g) {
        let (xs, taps) = (unfolding.data(x), &unfolding.kernel_offsets);
        let wide = &mut scratch.wide;
        let grad = (dy, y);
        conv_direct::weight_grad::<F, A>(
            g,
            g.padded_size(),
            xs,
            taps,
            grad,
            d_weight,
            d_bias,
            wide,
        );
        if dx.is_some() {
            gather_output_grad::<F, A>(g, (dy, y), &mut scratch.wide, None);
        }
    } else {
        gather_output_grad::<F, A>(g, (dy, y), &mut scratch.wide, Some(d_bias));
        // d_weight[C_OUT, CKK] = wide[C_OUT, B·P] · cols[CKK, B·P]ᵀ
        let weight_grad = GemmShape {
            m: g.c_out,
            n: g.patch_len(),
            k: ld,
            a_transposed: false,
            b_transposed: false,
            accumulate: false,
        };
        let cols_transposed = unfolding.cols(x, true);
        F::gemm_gathered(
            weight_grad,
            &scratch.wide,
            cols_transposed,
            d_weight,
            &nothing,
        );
    }
    let Some(dx) = dx else {
        return;
    };
    // d_cols[CKK, B·P] = weight[C_OUT, CKK]ᵀ · wide[C_OUT, B·P]
    scratch.d_cols.resize(g.patch_len() * ld, F::zero());
    let input_grad = GemmShape {
        m: g.patch_len(),
        n: ld,
        k: g.c_out,
        a_transposed: true,
        b_transposed: false,
        accumulate: false,
    };
    F::gemm(
        input_grad,
        weight,
        &scratch.wide,
        &mut scratch.d_cols,
        &nothing,
    );
    let (hp, wp) = g.padded_size();
    if (hp, wp) == (g.h, g.w) {
        F::fold(g, &scratch.d_cols, &unfolding.kernel_offsets, dx);
        return;
    }
    // Fold onto the padded batch, then keep its inside.
    let (pad_top, pad_left) = g.pad();
    scratch
        .padded_grad
        .resize(batch * g.c_in * hp * wp, F::zero());
    F::fold(
        g,
        &scratch.d_cols,
        &unfolding.kernel_offsets,
        &mut scratch.padded_grad,
    );
    let planes = scratch.padded_grad.chunks_exact(hp * wp);
    for (plane, channel) in planes.zip(dx.chunks_exact_mut(g.h * g.w)) {
        for (i, row) in channel.chunks_exact_mut(g.w).enumerate() {
            copy_short(row, &plane[(pad_top + i) * wp + pad_left..][..g.w]);
        }
    }
}

/// `A`'s derivative from its outputs alone, as the kernels apply it (they
/// are never handed an activation that [needs its input](Activation::NEEDS_INPUT)).
fn output_derivative<F: Float, A: Activation>(y: &[F], dy: &mut [F]) {
    A::backward(&[], y, dy);
}
