//! 2-D convolution as im2col onto the matrix product, one sample at a time.
//!
//! Shapes, channels first: input `[C_IN, H, W]`, weight `[C_OUT, C_IN, K, K]`
//! (as a `[C_OUT, C_IN·K·K]` matrix), output `[C_OUT, H_OUT, W_OUT]`.

use rayon::prelude::*;

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

/// Unfolds one input sample `x[C_IN, H, W]` into `cols[C_IN·K·K, H_OUT·W_OUT]`.
pub fn im2col<F: Float>(g: &ConvGeometry, x: &[F], cols: &mut [F]) {
    let (pad_top, pad_left) = g.pad();
    let positions = g.positions();
    for c in 0..g.c_in {
        let channel = &x[c * g.h * g.w..][..g.h * g.w];
        for ki in 0..g.k {
            for kj in 0..g.k {
                let row = &mut cols[((c * g.k + ki) * g.k + kj) * positions..][..positions];
                let (lo, hi) = g.inside(kj, pad_left, g.w, g.w_out);
                for (oh, out) in row.chunks_exact_mut(g.w_out).enumerate() {
                    let Some(r) = g.input_row(oh, ki, pad_top) else {
                        out.fill(F::zero());
                        continue;
                    };
                    let source = &channel[r * g.w..][..g.w];
                    out[..lo].fill(F::zero());
                    out[hi..].fill(F::zero());
                    let first = lo * g.stride + kj - pad_left;
                    if g.stride == 1 {
                        out[lo..hi].copy_from_slice(&source[first..first + (hi - lo)]);
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
        }
    }
}

/// Folds `cols[C_IN·K·K, H_OUT·W_OUT]` back, adding into `dx[C_IN, H, W]`.
pub fn col2im<F: Float>(g: &ConvGeometry, cols: &[F], dx: &mut [F]) {
    let (pad_top, pad_left) = g.pad();
    let positions = g.positions();
    for c in 0..g.c_in {
        let channel = &mut dx[c * g.h * g.w..][..g.h * g.w];
        for ki in 0..g.k {
            for kj in 0..g.k {
                let row = &cols[((c * g.k + ki) * g.k + kj) * positions..][..positions];
                let (lo, hi) = g.inside(kj, pad_left, g.w, g.w_out);
                for (oh, grads) in row.chunks_exact(g.w_out).enumerate() {
                    let Some(r) = g.input_row(oh, ki, pad_top) else {
                        continue;
                    };
                    let first = lo * g.stride + kj - pad_left;
                    let target = &mut channel[r * g.w..][..g.w];
                    for (t, &d) in target[first..]
                        .iter_mut()
                        .step_by(g.stride)
                        .zip(&grads[lo..hi])
                    {
                        *t += d;
                    }
                }
            }
        }
    }
}

/// Below this many multiply-adds a batch stays on one thread.
const PARALLEL_WORK: usize = 1 << 20;

/// Whether a batch of `samples` samples, `work` multiply-adds each, is worth
/// spreading over threads.
fn parallel(samples: usize, work: usize) -> bool {
    samples > 1 && samples * work >= PARALLEL_WORK && rayon::current_num_threads() > 1
}

/// `y = act(conv(x, weight) + bias)` for a batch, samples spread over
/// threads when the work is large; `cols` is the scratch of the
/// single-threaded path, `C_IN·K·K·H_OUT·W_OUT` elements.
pub fn conv2d_forward<F: Float, A: Activation>(
    g: &ConvGeometry,
    x: &[F],
    weight: &[F],
    bias: &[F],
    y: &mut [F],
    cols: &mut [F],
) {
    let (in_len, out_len) = (g.c_in * g.h * g.w, g.c_out * g.positions());
    let elementwise = A::KIND != ActivationKind::Softmax;
    let shape = GemmShape {
        m: g.c_out,
        n: g.positions(),
        k: g.patch_len(),
        a_transposed: false,
        b_transposed: false,
        accumulate: false,
    };
    let one = |x: &[F], y: &mut [F], cols: &mut [F]| {
        im2col(g, x, cols);
        // y[C_OUT, P] = act(weight[C_OUT, CKK] · cols[CKK, P] + bias), fused per tile
        F::gemm(
            shape,
            weight,
            cols,
            y,
            &|channel, _col, values: &mut [F]| {
                let b = bias[channel];
                values.iter_mut().for_each(|v| *v += b);
                if elementwise {
                    A::forward(values);
                }
            },
        );
        if !elementwise {
            A::forward(y);
        }
    };
    if parallel(x.len() / in_len.max(1), out_len * g.patch_len()) {
        x.par_chunks_exact(in_len)
            .zip(y.par_chunks_exact_mut(out_len))
            .for_each_init(
                || vec![F::zero(); cols.len()],
                |cols, (x, y)| one(x, y, cols),
            );
    } else {
        for (x, y) in x.chunks_exact(in_len).zip(y.chunks_exact_mut(out_len)) {
            one(x, y, cols);
        }
    }
}

/// Scratch buffers of [`conv2d_backward`], and the gradient sums of one thread.
#[derive(Clone, Debug, Default)]
pub struct ConvScratch<F> {
    /// The unfolded input of one sample, `[C_IN·K·K, H_OUT·W_OUT]`.
    pub cols: Vec<F>,
    /// Its gradient.
    pub d_cols: Vec<F>,
    /// The weight gradient summed over samples.
    pub d_weight_sum: Vec<F>,
    /// The bias gradient summed over samples, `[C_OUT]`.
    pub d_bias_sum: Vec<F>,
}

impl<F: Float> ConvScratch<F> {
    /// Sizes the buffers for `g` (no allocation once sized) and zeroes the sums.
    pub fn fit(&mut self, g: &ConvGeometry) {
        self.cols.resize(g.patch_len() * g.positions(), F::zero());
        self.d_cols.resize(g.patch_len() * g.positions(), F::zero());
        self.d_weight_sum.clear();
        self.d_weight_sum.resize(g.c_out * g.patch_len(), F::zero());
        self.d_bias_sum.clear();
        self.d_bias_sum.resize(g.c_out, F::zero());
    }

    fn sized(g: &ConvGeometry) -> Self {
        let mut scratch = Self::default();
        scratch.fit(g);
        scratch
    }

    /// Adds one sample's gradients; writes its input gradient into `dx` if given.
    fn add_sample(
        &mut self,
        g: &ConvGeometry,
        x: &[F],
        weight: &[F],
        dz: &[F],
        dx: Option<&mut [F]>,
    ) {
        for (db, channel) in self
            .d_bias_sum
            .iter_mut()
            .zip(dz.chunks_exact(g.positions()))
        {
            *db += channel.iter().copied().sum();
        }
        im2col(g, x, &mut self.cols);
        let nothing = |_: usize, _: usize, _: &mut [F]| {};
        // d_weight_sum[C_OUT, CKK] += dz[C_OUT, P] · cols[CKK, P]ᵀ
        let weight_grad = GemmShape {
            m: g.c_out,
            n: g.patch_len(),
            k: g.positions(),
            a_transposed: false,
            b_transposed: true,
            accumulate: true,
        };
        F::gemm(
            weight_grad,
            dz,
            &self.cols,
            &mut self.d_weight_sum,
            &nothing,
        );
        if let Some(dx) = dx {
            // d_cols[CKK, P] = weight[C_OUT, CKK]ᵀ · dz[C_OUT, P]
            let input_grad = GemmShape {
                m: g.patch_len(),
                n: g.positions(),
                k: g.c_out,
                a_transposed: true,
                b_transposed: false,
                accumulate: false,
            };
            F::gemm(input_grad, weight, dz, &mut self.d_cols, &nothing);
            dx.fill(F::zero());
            col2im(g, &self.d_cols, dx);
        }
    }

    fn merge(mut self, other: Self) -> Self {
        for (a, b) in self.d_weight_sum.iter_mut().zip(other.d_weight_sum) {
            *a += b;
        }
        for (a, b) in self.d_bias_sum.iter_mut().zip(other.d_bias_sum) {
            *a += b;
        }
        self
    }
}

/// Backward from `dz` = dL/d(pre-activation) `[B, C_OUT, H_OUT, W_OUT]`:
/// writes `d_weight`, `d_bias`, and `dx` when asked; samples spread over
/// threads when the work is large.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward<F: Float>(
    g: &ConvGeometry,
    x: &[F],
    weight: &[F],
    dz: &[F],
    d_weight: &mut [F],
    d_bias: &mut [F],
    dx: Option<&mut [F]>,
    scratch: &mut ConvScratch<F>,
) {
    let (in_len, out_len) = (g.c_in * g.h * g.w, g.c_out * g.positions());
    let samples = x.len() / in_len.max(1);
    scratch.fit(g);
    let sums = if parallel(samples, 3 * out_len * g.patch_len()) {
        let xs = x.par_chunks_exact(in_len).zip(dz.par_chunks_exact(out_len));
        let sums = match dx {
            Some(dx) => xs
                .zip(dx.par_chunks_exact_mut(in_len))
                .fold(
                    || ConvScratch::sized(g),
                    |mut s, ((x, dz), dx)| {
                        s.add_sample(g, x, weight, dz, Some(dx));
                        s
                    },
                )
                .reduce_with(ConvScratch::merge),
            None => xs
                .fold(
                    || ConvScratch::sized(g),
                    |mut s, (x, dz)| {
                        s.add_sample(g, x, weight, dz, None);
                        s
                    },
                )
                .reduce_with(ConvScratch::merge),
        };
        sums.unwrap_or_else(|| ConvScratch::sized(g))
    } else {
        let mut dx = dx;
        for (i, (x, dz)) in x
            .chunks_exact(in_len)
            .zip(dz.chunks_exact(out_len))
            .enumerate()
        {
            let dx = dx
                .as_deref_mut()
                .map(|dx| &mut dx[i * in_len..(i + 1) * in_len]);
            scratch.add_sample(g, x, weight, dz, dx);
        }
        std::mem::take(scratch)
    };
    d_weight.copy_from_slice(&sums.d_weight_sum);
    d_bias.copy_from_slice(&sums.d_bias_sum);
}
