//! 2-D convolution as im2col onto the matrix product, the whole batch in
//! one product per pass.
//!
//! Shapes, channels first: input `[B, C_IN, H, W]`, weight
//! `[C_OUT, C_IN, K, K]` (as a `[C_OUT, C_IN·K·K]` matrix), output
//! `[B, C_OUT, H_OUT, W_OUT]`. With `P = H_OUT·W_OUT`, the batch unfolds into
//! `cols[C_IN·K·K, B·P]` (sample `b` in columns `b·P..(b + 1)·P`), so that
//! the forward pass is one product `[C_OUT, C_IN·K·K] · [C_IN·K·K, B·P]`
//! with the weights packed once, and backward two more.

use rayon::prelude::*;

use super::{copy_short, sum_lanes};
use crate::{Activation, ActivationKind, Float, GemmShape};

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

    /// Rows of the unfolded input: `C_IN·K·K`.
    pub fn patch_len(&self) -> usize {
        self.c_in * self.k * self.k
    }

    /// Output positions per channel: `H_OUT·W_OUT`.
    pub fn positions(&self) -> usize {
        self.h_out * self.w_out
    }

    /// For kernel offset `kj` along a row of `w` inputs: the outputs
    /// `lo..hi` whose input column `ow·stride + kj - pad` is inside the row.
    fn inside(&self, kj: usize, pad: usize, w: usize, w_out: usize) -> (usize, usize) {
        let s = self.stride;
        // ow·s + kj >= pad  and  ow·s + kj < w + pad
        let lo = pad.saturating_sub(kj).div_ceil(s).min(w_out);
        let hi = (w + pad).saturating_sub(kj).div_ceil(s).min(w_out).max(lo);
        (lo, hi)
    }

    /// The input row of output row `oh` at kernel offset `ki`, if inside.
    fn input_row(&self, oh: usize, ki: usize, pad_top: usize) -> Option<usize> {
        (oh * self.stride + ki)
            .checked_sub(pad_top)
            .filter(|&r| r < self.h)
    }
}

/// Unfolds a batch `x[B, C_IN, H, W]` into `cols[C_IN·K·K, B·P]`, rows
/// spread over threads.
pub fn im2col_batch<F: Float>(g: &ConvGeometry, x: &[F], cols: &mut [F]) {
    let (in_len, positions) = (g.c_in * g.h * g.w, g.positions());
    let ld = x.len() / in_len.max(1) * positions;
    cols.par_chunks_exact_mut(ld.max(1))
        .enumerate()
        .for_each(|(r, row)| {
            for (x, out) in x.chunks_exact(in_len).zip(row.chunks_exact_mut(positions)) {
                unfold_row(g, x, r, out);
            }
        });
}

/// Row `r = (c·K + ki)·K + kj` of one sample's unfolding: for every output
/// position, the input value under kernel offset `(ki, kj)` of channel `c`
/// (zero in the padding).
fn unfold_row<F: Float>(g: &ConvGeometry, x: &[F], r: usize, out: &mut [F]) {
    let (pad_top, pad_left) = g.pad();
    let (c, ki, kj) = (r / (g.k * g.k), r / g.k % g.k, r % g.k);
    let channel = &x[c * g.h * g.w..][..g.h * g.w];
    let (lo, hi) = g.inside(kj, pad_left, g.w, g.w_out);
    for (oh, out) in out.chunks_exact_mut(g.w_out).enumerate() {
        let Some(row) = g.input_row(oh, ki, pad_top) else {
            out.fill(F::zero());
            continue;
        };
        let source = &channel[row * g.w..][..g.w];
        out[..lo].fill(F::zero());
        out[hi..].fill(F::zero());
        let first = lo * g.stride + kj - pad_left;
        if g.stride == 1 {
            copy_short(&mut out[lo..hi], &source[first..first + (hi - lo)]);
        } else {
            for (o, v) in out[lo..hi]
                .iter_mut()
                .zip(source[first..].iter().step_by(g.stride))
            {
                *o = *v;
            }
        }
    }
}

/// Folds columns `offset..offset + H_OUT·W_OUT` of `cols[C_IN·K·K, ld]`
/// back, adding into one sample `dx[C_IN, H, W]`.
pub fn col2im<F: Float>(g: &ConvGeometry, cols: &[F], dx: &mut [F], ld: usize, offset: usize) {
    let (pad_top, pad_left) = g.pad();
    let positions = g.positions();
    for c in 0..g.c_in {
        let channel = &mut dx[c * g.h * g.w..][..g.h * g.w];
        for ki in 0..g.k {
            for kj in 0..g.k {
                let row = &cols[((c * g.k + ki) * g.k + kj) * ld + offset..][..positions];
                let (lo, hi) = g.inside(kj, pad_left, g.w, g.w_out);
                for (oh, grads) in row.chunks_exact(g.w_out).enumerate() {
                    let Some(r) = g.input_row(oh, ki, pad_top) else {
                        continue;
                    };
                    let first = lo * g.stride + kj - pad_left;
                    let target = &mut channel[r * g.w..][..g.w];
                    if g.stride == 1 {
                        let target = &mut target[first..first + (hi - lo)];
                        for (t, &d) in target.iter_mut().zip(&grads[lo..hi]) {
                            *t += d;
                        }
                    } else {
                        let targets = target[first..].iter_mut().step_by(g.stride);
                        for (t, &d) in targets.zip(&grads[lo..hi]) {
                            *t += d;
                        }
                    }
                }
            }
        }
    }
}

/// What a convolution keeps between its forward and backward passes, and
/// its scratch; sized once per batch size and reused.
#[derive(Clone, Debug, Default)]
pub struct ConvScratch<F> {
    /// The unfolded batch, `[C_IN·K·K, B·P]`, from the forward pass.
    pub cols: Vec<F>,
    /// The product before it is laid out per sample, or the output
    /// gradient gathered for the products of backward: `[C_OUT, B·P]`.
    pub wide: Vec<F>,
    /// The gradient of `cols`.
    pub d_cols: Vec<F>,
}

/// `y = act(conv(x, weight) + bias)` for a batch: the batch unfolded into
/// `scratch.cols` (kept for backward), one product, then each sample's
/// channels laid out with the bias and activation applied.
pub fn conv2d_forward<F: Float, A: Activation>(
    g: &ConvGeometry,
    x: &[F],
    weight: &[F],
    bias: &[F],
    y: &mut [F],
    scratch: &mut ConvScratch<F>,
) {
    let (in_len, positions) = (g.c_in * g.h * g.w, g.positions());
    let batch = x.len() / in_len.max(1);
    let ld = batch * positions;
    scratch.cols.resize(g.patch_len() * ld, F::zero());
    scratch.wide.resize(g.c_out * ld, F::zero());
    im2col_batch(g, x, &mut scratch.cols);
    // wide[C_OUT, B·P] = weight[C_OUT, CKK] · cols[CKK, B·P]
    let shape = GemmShape {
        m: g.c_out,
        n: ld,
        k: g.patch_len(),
        a_transposed: false,
        b_transposed: false,
        accumulate: false,
    };
    F::gemm(
        shape,
        weight,
        &scratch.cols,
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
                if A::KIND != ActivationKind::Softmax {
                    A::forward(channel);
                }
            }
            if A::KIND == ActivationKind::Softmax {
                A::forward(y);
            }
        });
}

/// Backward from `dz` = dL/d(pre-activation) `[B, C_OUT, H_OUT, W_OUT]`,
/// with the `scratch` of the forward pass: writes `d_weight`, `d_bias`,
/// and `dx` when asked.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward<F: Float>(
    g: &ConvGeometry,
    weight: &[F],
    dz: &[F],
    d_weight: &mut [F],
    d_bias: &mut [F],
    dx: Option<&mut [F]>,
    scratch: &mut ConvScratch<F>,
) {
    let (in_len, positions) = (g.c_in * g.h * g.w, g.positions());
    let out_len = g.c_out * positions;
    let batch = dz.len() / out_len.max(1);
    let ld = batch * positions;
    // wide[o, b·P + p] = dz[b, o, p]; d_bias[o] = its row sum
    scratch.wide.resize(g.c_out * ld, F::zero());
    scratch
        .wide
        .par_chunks_exact_mut(ld.max(1))
        .zip(d_bias.par_iter_mut())
        .enumerate()
        .for_each(|(o, (row, d_bias))| {
            let mut sum = F::zero();
            for (dz, out) in dz
                .chunks_exact(out_len)
                .zip(row.chunks_exact_mut(positions))
            {
                let channel = &dz[o * positions..][..positions];
                out.copy_from_slice(channel);
                sum += sum_lanes(channel);
            }
            *d_bias = sum;
        });
    let nothing = |_: usize, _: usize, _: &mut [F]| {};
    // d_weight[C_OUT, CKK] = wide[C_OUT, B·P] · cols[CKK, B·P]ᵀ
    let weight_grad = GemmShape {
        m: g.c_out,
        n: g.patch_len(),
        k: ld,
        a_transposed: false,
        b_transposed: true,
        accumulate: false,
    };
    F::gemm(
        weight_grad,
        &scratch.wide,
        &scratch.cols,
        d_weight,
        &nothing,
    );
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
    let d_cols = &scratch.d_cols;
    dx.par_chunks_exact_mut(in_len)
        .enumerate()
        .for_each(|(b, dx)| {
            dx.fill(F::zero());
            col2im(g, d_cols, dx, ld, b * positions);
        });
}
