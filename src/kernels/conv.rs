//! 2-D convolution as im2col onto the matrix product, one sample at a time.
//!
//! Shapes, channels first: input `[C_IN, H, W]`, weight `[C_OUT, C_IN, K, K]`
//! (as a `[C_OUT, C_IN·K·K]` matrix), output `[C_OUT, H_OUT, W_OUT]`.

use crate::{Activation, Float};

use super::{matmul, matmul_a_bt, matmul_at_b};

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

    /// The input row and column read by output `(oh, ow)` at kernel offset `(ki, kj)`, if inside.
    fn source(&self, oh: usize, ow: usize, ki: usize, kj: usize) -> Option<(usize, usize)> {
        let (pad_top, pad_left) = self.pad();
        let row = (oh * self.stride + ki).checked_sub(pad_top)?;
        let col = (ow * self.stride + kj).checked_sub(pad_left)?;
        (row < self.h && col < self.w).then_some((row, col))
    }
}

/// Unfolds one input sample `x[C_IN, H, W]` into `cols[C_IN·K·K, H_OUT·W_OUT]`.
pub fn im2col<F: Float>(g: &ConvGeometry, x: &[F], cols: &mut [F]) {
    let positions = g.positions();
    for c in 0..g.c_in {
        for ki in 0..g.k {
            for kj in 0..g.k {
                let row = ((c * g.k + ki) * g.k + kj) * positions;
                for oh in 0..g.h_out {
                    for ow in 0..g.w_out {
                        cols[row + oh * g.w_out + ow] = match g.source(oh, ow, ki, kj) {
                            Some((r, s)) => x[(c * g.h + r) * g.w + s],
                            None => F::zero(),
                        };
                    }
                }
            }
        }
    }
}

/// Folds `cols[C_IN·K·K, H_OUT·W_OUT]` back, adding into `dx[C_IN, H, W]`.
pub fn col2im<F: Float>(g: &ConvGeometry, cols: &[F], dx: &mut [F]) {
    let positions = g.positions();
    for c in 0..g.c_in {
        for ki in 0..g.k {
            for kj in 0..g.k {
                let row = ((c * g.k + ki) * g.k + kj) * positions;
                for oh in 0..g.h_out {
                    for ow in 0..g.w_out {
                        if let Some((r, s)) = g.source(oh, ow, ki, kj) {
                            dx[(c * g.h + r) * g.w + s] += cols[row + oh * g.w_out + ow];
                        }
                    }
                }
            }
        }
    }
}

/// `y = act(conv(x, weight) + bias)` for a batch; `cols` is scratch of
/// `C_IN·K·K·H_OUT·W_OUT` elements.
pub fn conv2d_forward<F: Float, A: Activation>(
    g: &ConvGeometry,
    x: &[F],
    weight: &[F],
    bias: &[F],
    y: &mut [F],
    cols: &mut [F],
) {
    let (in_len, out_len) = (g.c_in * g.h * g.w, g.c_out * g.positions());
    for (x, y) in x.chunks_exact(in_len).zip(y.chunks_exact_mut(out_len)) {
        im2col(g, x, cols);
        // y[C_OUT, P] = weight[C_OUT, CKK] · cols[CKK, P]
        matmul(weight, cols, y, g.c_out, g.patch_len(), g.positions());
        for (channel, &b) in y.chunks_exact_mut(g.positions()).zip(bias) {
            channel.iter_mut().for_each(|v| *v += b);
        }
        A::forward(y);
    }
}

/// Scratch buffers of [`conv2d_backward`].
#[derive(Clone, Debug, Default)]
pub struct ConvScratch<F> {
    /// The unfolded input of one sample, `[C_IN·K·K, H_OUT·W_OUT]`.
    pub cols: Vec<F>,
    /// Its gradient.
    pub d_cols: Vec<F>,
    /// One sample's weight gradient, `[C_OUT, C_IN·K·K]`.
    pub d_weight: Vec<F>,
}

impl<F: Float> ConvScratch<F> {
    /// Sizes the buffers for `g` (no allocation once sized).
    pub fn fit(&mut self, g: &ConvGeometry) {
        self.cols.resize(g.patch_len() * g.positions(), F::zero());
        self.d_cols.resize(g.patch_len() * g.positions(), F::zero());
        self.d_weight.resize(g.c_out * g.patch_len(), F::zero());
    }
}

/// Backward from `dz` = dL/d(pre-activation) `[B, C_OUT, H_OUT, W_OUT]`:
/// writes `d_weight`, `d_bias`, and `dx` when asked.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward<F: Float>(
    g: &ConvGeometry,
    x: &[F],
    weight: &[F],
    dz: &[F],
    d_weight: &mut [F],
    d_bias: &mut [F],
    mut dx: Option<&mut [F]>,
    scratch: &mut ConvScratch<F>,
) {
    scratch.fit(g);
    let (in_len, out_len) = (g.c_in * g.h * g.w, g.c_out * g.positions());
    d_weight.fill(F::zero());
    d_bias.fill(F::zero());
    if let Some(dx) = dx.as_deref_mut() {
        dx.fill(F::zero());
    }
    for (i, (x, dz)) in x
        .chunks_exact(in_len)
        .zip(dz.chunks_exact(out_len))
        .enumerate()
    {
        for (db, channel) in d_bias.iter_mut().zip(dz.chunks_exact(g.positions())) {
            *db += channel.iter().copied().sum();
        }
        im2col(g, x, &mut scratch.cols);
        // d_weight[C_OUT, CKK] += dz[C_OUT, P] · cols[CKK, P]ᵀ
        matmul_a_bt(
            dz,
            &scratch.cols,
            &mut scratch.d_weight,
            g.c_out,
            g.patch_len(),
            g.positions(),
        );
        d_weight
            .iter_mut()
            .zip(&scratch.d_weight)
            .for_each(|(a, &b)| *a += b);
        if let Some(dx) = dx.as_deref_mut() {
            // d_cols[CKK, P] = weight[C_OUT, CKK]ᵀ · dz[C_OUT, P]
            matmul_at_b(
                weight,
                dz,
                &mut scratch.d_cols,
                g.c_out,
                g.patch_len(),
                g.positions(),
            );
            col2im(g, &scratch.d_cols, &mut dx[i * in_len..(i + 1) * in_len]);
        }
    }
}
