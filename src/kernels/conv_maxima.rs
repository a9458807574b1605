//! A convolution feeding max pooling, both passes fused for the direct
//! kernels (a first layer); Winograd's tiles pool in their own pass
//! ([`winograd`](super::winograd)), and are dispatched from here.
//!
//! Forward, each output plane is pooled while it is in cache, and the
//! convolution's full-size outputs are never written (5.5 MB at batch 64
//! for the reference CNN's first layer) nor read back.
//!
//! Backward, a first layer needs no input gradient, so its backward is the
//! weight gradient alone, `d_weight[o][t] = Σ_b Σ_p dz[b][o][p] · x[b][p +
//! tap_t]`. Behind a 2×2 max pooling three quarters of `dz` are zero:
//! summing over the pooled maxima only reads a quarter of the products, and
//! nobody writes out (or reads back) the full-size gradient, zeros and all.
//!
//! Shapes, channels first: input `[B, C_IN, H, W]` (padded as the forward
//! pass padded it), per sample `N = C_OUT·M` pooled values and gradients
//! `dz` at outputs `at` (indices into the sample's `[C_OUT, H_OUT,
//! W_OUT]`), run `o` of `M` of them in channel `o`, as max pooling's
//! `[C_OUT, H', W']` maxima are.

use rayon::prelude::*;

use super::conv::{check_len, samples};
use super::winograd::{self, OutputGrad, Outputs};
use super::{
    ConvGeometry, ConvScratch, Pointwise, conv_direct, for_each_part, sum_lanes, vectorized,
};
use crate::{Activation, ActivationKind, Float};

/// Whether the direct kernels take this convolution (few taps, stride 1):
/// then [`conv2d_forward_pooled`] computes it and the max pooling after it
/// in one pass, and [`conv2d_weight_grad_at`] its weight gradient from the
/// maxima.
///
/// ```
/// use keelnet::kernels::{ConvGeometry, conv2d_pools_directly};
/// let first = ConvGeometry { c_in: 1, h: 28, w: 28, c_out: 32, k: 3, stride: 1, h_out: 26, w_out: 26 };
/// assert!(conv2d_pools_directly(&first));
/// assert!(!conv2d_pools_directly(&ConvGeometry { c_in: 32, ..first }));
/// ```
pub fn conv2d_pools_directly(g: &ConvGeometry) -> bool {
    conv_direct::takes(g)
}

/// Whether [`conv2d_forward_pooled`] computes this convolution of a batch
/// of `batch` samples and the max pooling after it in one pass: by the
/// direct kernels ([`conv2d_pools_directly`]), or by Winograd's tiles, which
/// pool the outputs while they are laid out channels-last (then
/// [`conv2d_backward_at_maxima`] is its backward).
///
/// ```
/// use keelnet::kernels::{ConvGeometry, conv2d_pools_in_one_pass};
/// let second = ConvGeometry { c_in: 32, h: 13, w: 13, c_out: 64, k: 3, stride: 1, h_out: 11, w_out: 11 };
/// assert!(conv2d_pools_in_one_pass(&second, 64));
/// // One image is too few tiles for Winograd's products.
/// assert!(!conv2d_pools_in_one_pass(&second, 1));
/// ```
pub fn conv2d_pools_in_one_pass(g: &ConvGeometry, batch: usize) -> bool {
    conv_direct::takes(g) || winograd::takes(g, batch)
}

/// The `p`×`p` max pooling (stride `p`) of `act(conv(x, weight) + bias)`
/// for a batch, in one pass: the pooled outputs `pooled`
/// `[B, C_OUT, H_OUT / p, W_OUT / p]` and their maxima's indices `argmax`
/// (into a sample's `[C_OUT, H_OUT, W_OUT]`), the same numbers as
/// [`conv2d_forward`](super::conv2d_forward) then
/// [`max_pool_forward`](super::max_pool_forward). `scratch` keeps what
/// backward needs: [`conv2d_weight_grad_at`] after the direct kernels,
/// [`conv2d_backward_at_maxima`] after Winograd's.
///
/// # Panics
/// If neither takes the convolution ([`conv2d_pools_in_one_pass`]), `A`
/// is a softmax, the geometry is not a convolution's
/// ([`ConvGeometry::sample_sizes`]), or a buffer does not fit it.
///
/// ```
/// use keelnet::kernels::{ConvGeometry, ConvScratch, conv2d_forward_pooled};
/// use keelnet::ReLU;
/// // One 3×3 image, one 2×2 filter summing its window: a 2×2 output,
/// // pooled to its maximum, the bottom right (index 3).
/// let g = ConvGeometry { c_in: 1, h: 3, w: 3, c_out: 1, k: 2, stride: 1, h_out: 2, w_out: 2 };
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let (mut pooled, mut argmax) = ([0.0], [0]);
/// let mut scratch = ConvScratch::default();
/// let outputs = (&mut pooled[..], &mut argmax[..]);
/// conv2d_forward_pooled::<f64, ReLU>(&g, &x, (&[1.0; 4], &[0.5]), 2, outputs, &mut scratch);
/// assert_eq!((pooled, argmax), ([5.0 + 6.0 + 8.0 + 9.0 + 0.5], [3]));
/// ```
pub fn conv2d_forward_pooled<F: Float, A: Activation>(
    g: &ConvGeometry,
    x: &[F],
    (weight, bias): (&[F], &[F]),
    p: usize,
    (pooled, argmax): (&mut [F], &mut [u32]),
    scratch: &mut ConvScratch<F>,
) {
    let (in_len, _, weights) = g.sample_sizes();
    let batch = samples("x", x.len(), in_len);
    check_len("weight", weight.len(), weights);
    check_len("bias", bias.len(), g.c_out);
    assert!(p >= 1, "a pooling window of at least 1");
    check_len(
        "pooled",
        pooled.len(),
        batch * g.c_out * (g.h_out / p) * (g.w_out / p),
    );
    check_len("argmax", argmax.len(), pooled.len());
    assert!(
        A::ELEMENTWISE && conv2d_pools_in_one_pass(g, batch),
        "direct or Winograd kernels and an elementwise activation only"
    );
    let other = |plane: &mut [F]| A::forward(plane);
    let activation = Pointwise::of::<A>(&other);
    if winograd::takes(g, batch) {
        let outputs = Outputs::Pooled { p, pooled, argmax };
        let inputs = (x, weight, bias);
        return F::winograd_forward(g, inputs, outputs, activation, &mut scratch.winograd);
    }
    F::conv_forward_pooled(
        g,
        x,
        (weight, bias),
        p,
        (pooled, argmax),
        activation,
        scratch,
    );
}

/// [`conv2d_forward_pooled`] with the activation `act` applied over a
/// plane in place: what [`ConvKernels::conv_forward_pooled`](super::ConvKernels::conv_forward_pooled) runs.
pub(crate) fn forward_pooled<F: Float>(
    g: &ConvGeometry,
    x: &[F],
    params: (&[F], &[F]),
    p: usize,
    outputs: (&mut [F], &mut [u32]),
    act: Pointwise<'_, F>,
    scratch: &mut ConvScratch<F>,
) {
    let ConvScratch {
        unfolding, wide, ..
    } = scratch;
    unfolding.unfold(g, x);
    let (xs, taps) = (unfolding.data(x), &unfolding.kernel_offsets);
    let sizes = (g.padded_size(), p);
    conv_direct::forward_pooled(g, sizes, (xs, taps), params, outputs, act, wide);
}

/// `d_weight` and `d_bias` of a convolution from the gradient at the
/// outputs `y` of its elementwise activation `A`, zero but at the outputs
/// `at` (see the module's shapes), where it is `dy` (`y` the outputs there;
/// [`Linear`](crate::Linear) reads none). `dy` becomes the gradient before
/// the activation on the way. `scratch` is the forward pass's on the same
/// `x`, by the direct kernels ([`conv2d_pools_directly`]).
///
/// Sums run in one fixed order: the same inputs give the same bits.
///
/// # Panics
/// If `A` is a softmax (its derivative needs whole samples), `at` points
/// outside its channel, or `scratch` holds no forward pass of this
/// geometry.
///
/// ```
/// use keelnet::kernels::{ConvGeometry, ConvScratch, conv2d_forward, conv2d_weight_grad_at};
/// use keelnet::Linear;
/// // One 3×3 image, one 2×2 filter: a 2×2 output, of which the gradient
/// // is 1 at output 3 (bottom right) and zero elsewhere.
/// let g = ConvGeometry { c_in: 1, h: 3, w: 3, c_out: 1, k: 2, stride: 1, h_out: 2, w_out: 2 };
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let (mut scratch, mut y) = (ConvScratch::default(), [0.0; 4]);
/// conv2d_forward::<f64, Linear>(&g, &x, &[0.0; 4], &[0.0], &mut y, &mut scratch);
/// let (mut d_weight, mut d_bias) = ([0.0; 4], [0.0]);
/// let grads = (&mut d_weight[..], &mut d_bias[..]);
/// conv2d_weight_grad_at::<f64, Linear>(&g, &x, (&[3], &mut [1.0], &[]), grads, &mut scratch);
/// // The window under output 3.
/// assert_eq!(d_weight, [5.0, 6.0, 8.0, 9.0]);
/// assert_eq!(d_bias, [1.0]);
/// ```
pub fn conv2d_weight_grad_at<F: Float, A: Activation>(
    g: &ConvGeometry,
    x: &[F],
    (at, dy, y): (&[u32], &mut [F], &[F]),
    (d_weight, d_bias): (&mut [F], &mut [F]),
    scratch: &mut ConvScratch<F>,
) {
    assert!(A::ELEMENTWISE, "a softmax's derivative needs whole samples");
    let (_, _, weights) = g.sample_sizes();
    check_len("d_weight", d_weight.len(), weights);
    check_len("d_bias", d_bias.len(), g.c_out);
    check_len("at", at.len(), dy.len());
    through_derivative::<F, A>(dy, y);
    F::conv_weight_grad_at(g, x, (at, dy), (d_weight, d_bias), scratch);
}

/// Backward of [`conv2d_forward_pooled`] when Winograd's tiles ran it,
/// from the gradient `dy` at the pooled outputs `y` of the elementwise
/// activation `A` (`y` not read through [`Linear`](crate::Linear)), `[B,
/// C_OUT, PH, PW]` with `pooled_size = (PH, PW)`, at the maxima `at`: writes
/// `d_weight`, `d_bias`, and `dx` when asked. `dy` becomes the gradient
/// before the activation on the way.
///
/// The output gradient is zero but at the maxima, and it is laid out
/// channels-last for the tiles straight from them: the same numbers as
/// routing it back ([`max_pool_backward`](super::max_pool_backward)) and
/// [`conv2d_backward`](super::conv2d_backward), but for the bias gradient's
/// rounding (summed over the maxima alone).
///
/// # Panics
/// If `A` is a softmax, Winograd's kernels do not take the convolution,
/// `at` points outside its channel, or `scratch` holds no forward pass of
/// this geometry and batch.
///
/// ```
/// use keelnet::kernels::{ConvGeometry, ConvScratch, conv2d_backward_at_maxima, conv2d_forward_pooled};
/// use keelnet::ReLU;
/// // Four 10×10 images of 4 channels, two filters: 8×8 outputs pooled to 4×4.
/// let g = ConvGeometry { c_in: 4, h: 10, w: 10, c_out: 2, k: 3, stride: 1, h_out: 8, w_out: 8 };
/// let x: Vec<f32> = (0..4 * 400).map(|v| (v % 5) as f32).collect();
/// let (weight, bias) = (vec![0.01f32; 2 * 4 * 9], [0.0, -100.0]);
/// let (mut pooled, mut argmax, mut scratch) = ([0.0f32; 128], [0; 128], ConvScratch::default());
/// let outputs = (&mut pooled[..], &mut argmax[..]);
/// conv2d_forward_pooled::<f32, ReLU>(&g, &x, (&weight, &bias), 2, outputs, &mut scratch);
/// let (mut dy, mut d_weight, mut d_bias) = ([1.0f32; 128], vec![0.0f32; 2 * 4 * 9], [0.0f32; 2]);
/// let grads = (&mut d_weight[..], &mut d_bias[..]);
/// let at = (&argmax[..], &mut dy[..], &pooled[..]);
/// conv2d_backward_at_maxima::<f32, ReLU>(&g, (4, 4), at, grads, None, &mut scratch);
/// // The second filter's outputs are all below zero: ReLU passes no gradient.
/// assert_eq!(d_bias, [64.0, 0.0]);
/// ```
pub fn conv2d_backward_at_maxima<F: Float, A: Activation>(
    g: &ConvGeometry,
    pooled_size: (usize, usize),
    (at, dy, y): (&[u32], &mut [F], &[F]),
    grads: (&mut [F], &mut [F]),
    dx: Option<&mut [F]>,
    scratch: &mut ConvScratch<F>,
) {
    g.sample_sizes();
    check_len("argmax", at.len(), dy.len());
    let batch = dy.len() / (g.c_out * pooled_size.0 * pooled_size.1).max(1);
    assert!(
        A::ELEMENTWISE && winograd::takes(g, batch),
        "Winograd kernels and an elementwise activation only"
    );
    through_derivative::<F, A>(dy, y);
    let grad = OutputGrad::AtMaxima {
        dz: dy,
        argmax: at,
        pooled_size,
    };
    F::winograd_backward(g, grad, grads, dx, &mut scratch.winograd);
}

/// `dy` = `dy · act'(y)` in place, value by value: the gradient at the
/// maxima before the activation (`y` not read through `Linear`).
fn through_derivative<F: Float, A: Activation>(dy: &mut [F], y: &[F]) {
    if A::KIND != ActivationKind::Linear {
        check_len("y", y.len(), dy.len());
        for_each_part(
            (dy, y),
            #[inline(always)]
            |(dy, y): (&mut [F], &[F])| A::backward(&[], y, dy),
        );
    }
}

/// [`conv2d_weight_grad_at`] from the gradient `dz` before the activation
/// (what [`ConvKernels::conv_weight_grad_at`](super::ConvKernels::conv_weight_grad_at) runs): a sample per task (its input
/// stays in cache), each row of the kernel (`K` taps side by side) summed
/// in a vector while the maxima go by, into per-sample sums in
/// `scratch.wide`, which are then added in order.
pub(crate) fn weight_grad_at<F: Float>(
    g: &ConvGeometry,
    x: &[F],
    (at, dz): (&[u32], &[F]),
    (d_weight, d_bias): (&mut [F], &mut [F]),
    scratch: &mut ConvScratch<F>,
) {
    let ConvScratch {
        unfolding, wide, ..
    } = scratch;
    let (xs, taps) = (unfolding.data(x), &unfolding.kernel_offsets);
    // Where each output of a sample's channel has its top-left tap.
    let origins = &unfolding.position_offsets[..g.positions()];
    let furthest_origin = origins.iter().max().copied().unwrap_or(0);
    let (hp, wp) = g.padded_size();
    let in_len = g.c_in * hp * wp;
    let batch = xs.len() / in_len.max(1);
    let per_channel = at.len() / (batch * g.c_out).max(1);
    // Rows of the kernel (`width` taps side by side) summed in vectors of
    // `lanes`, or (wider kernels) one tap at a time.
    let (width, lanes) = match g.k {
        2..=4 => (g.k, 4),
        5..=8 => (g.k, 8),
        _ => (1, 1),
    };
    let rows = taps.len() / width;
    // Per sample and channel: each row's sums (`lanes` of them, the first
    // `width` kept), then the bias's.
    let channel_len = rows * lanes + 1;
    let sample_len = g.c_out * channel_len;
    wide.resize(batch * sample_len, F::zero());
    wide.par_chunks_exact_mut(sample_len.max(1))
        .enumerate()
        .for_each(|(b, sums)| {
            vectorized(
                #[inline(always)]
                || {
                    for (o, sums) in sums.chunks_exact_mut(channel_len).enumerate() {
                        let run =
                            (b * g.c_out + o) * per_channel..(b * g.c_out + o + 1) * per_channel;
                        let maxima = Maxima {
                            x: &xs[b * in_len..],
                            origins,
                            furthest_origin,
                            base: o * g.positions(),
                            at: &at[run.clone()],
                            dz: &dz[run],
                        };
                        sums.fill(F::zero());
                        let (sums, bias) = sums.split_at_mut(rows * lanes);
                        bias[0] = sum_lanes(maxima.dz);
                        let starts = taps.iter().step_by(width).copied();
                        match lanes {
                            1 => maxima.row_sums::<1>(starts, width, sums),
                            4 => maxima.row_sums::<4>(starts, width, sums),
                            _ => maxima.row_sums::<8>(starts, width, sums),
                        }
                    }
                },
            )
        });
    d_weight.fill(F::zero());
    d_bias.fill(F::zero());
    for sums in wide.chunks_exact(sample_len.max(1)) {
        let channels = sums
            .chunks_exact(channel_len)
            .zip(d_weight.chunks_exact_mut(taps.len().max(1)));
        for ((sums, d_weight), d_bias) in channels.zip(d_bias.iter_mut()) {
            let rows = sums
                .chunks_exact(lanes)
                .zip(d_weight.chunks_exact_mut(width));
            for (sums, d_weight) in rows {
                d_weight.iter_mut().zip(sums).for_each(|(d, &s)| *d += s);
            }
            *d_bias += sums[channel_len - 1];
        }
    }
}

/// Kernel rows summed in one pass over the maxima.
const ROWS: usize = 3;

/// One sample's gradient at the maxima of one channel.
struct Maxima<'a, F> {
    /// The sample's (padded) input, and the rest of the batch after it.
    x: &'a [F],
    /// Where each output of the channel has its top-left tap in `x`.
    origins: &'a [usize],
    /// The largest of `origins`.
    furthest_origin: usize,
    /// The index of the channel's first output in the sample.
    base: usize,
    /// The outputs, as indices into the sample.
    at: &'a [u32],
    /// The gradients there.
    dz: &'a [F],
}

impl<F: Float> Maxima<'_, F> {
    /// `sums[r·LANES + j] += Σ_i dz[i] · x[origin(at[i]) + rows[r] + j]`
    /// for the kernel rows starting at offsets `rows`, [`ROWS`] at a time:
    /// `LANES` sums a row, of which the first `width` are kept.
    #[inline(always)]
    fn row_sums<const LANES: usize>(
        &self,
        mut rows: impl Iterator<Item = usize>,
        width: usize,
        sums: &mut [F],
    ) {
        let mut groups = sums.chunks_exact_mut(ROWS * LANES);
        for sums in &mut groups {
            let group = std::array::from_fn(|_| rows.next().unwrap_or(0));
            self.row_sums_of::<LANES, ROWS>(group, width, sums);
        }
        let sums = groups.into_remainder();
        let mut next = || rows.next().unwrap_or(0);
        match sums.len() / LANES {
            2 => self.row_sums_of::<LANES, 2>([next(), next()], width, sums),
            1 => self.row_sums_of::<LANES, 1>([next()], width, sums),
            _ => {}
        }
    }

    /// [`Maxima::row_sums`] of `R` rows: `LANES` input values per row and
    /// maximum where the input has them (all samples but the last); else
    /// the `width` kept, one at a time.
    #[inline(always)]
    fn row_sums_of<const LANES: usize, const R: usize>(
        &self,
        rows: [usize; R],
        width: usize,
        sums: &mut [F],
    ) {
        // Saturating: offsets from a scratch filled by hand must not wrap
        // around into a pass that reads unchecked.
        let furthest = (self.furthest_origin)
            .saturating_add(rows.iter().max().copied().unwrap_or(0))
            .saturating_add(LANES);
        if furthest > self.x.len() {
            for (&at, &dz) in self.at.iter().zip(self.dz) {
                let p = self.origins[at as usize - self.base];
                for (&row, sums) in rows.iter().zip(sums.chunks_exact_mut(LANES)) {
                    for (sum, &v) in sums[..width].iter_mut().zip(&self.x[p + row..]) {
                        *sum += dz * v;
                    }
                }
            }
            return;
        }
        // Two running sums per row, in registers: each waits on its own
        // additions only.
        let mut acc = [[[F::zero(); LANES]; R]; 2];
        let (at, dz) = (self.at.chunks_exact(2), self.dz.chunks_exact(2));
        let rest = at.remainder().iter().zip(dz.remainder());
        for (at, dz) in at.zip(dz) {
            self.add(&mut acc[0], &rows, at[0], dz[0]);
            self.add(&mut acc[1], &rows, at[1], dz[1]);
        }
        for (&at, &dz) in rest {
            self.add(&mut acc[0], &rows, at, dz);
        }
        // Every lane stored, kept or not: a lane never stored would be
        // dropped from the vectors, which costs shuffles.
        for (r, sums) in sums.chunks_exact_mut(LANES).enumerate() {
            for (j, sum) in sums.iter_mut().enumerate() {
                *sum += acc[0][r][j] + acc[1][r][j];
            }
        }
    }

    /// `acc[r] += dz · x[origin(at) + rows[r]..][..LANES]`, for rows that
    /// [`Maxima::row_sums_of`] found within `x` from every origin.
    #[inline(always)]
    fn add<const LANES: usize, const R: usize>(
        &self,
        acc: &mut [[F; LANES]; R],
        rows: &[usize; R],
        at: u32,
        dz: F,
    ) {
        let p = self.origins[at as usize - self.base];
        for (acc, row) in acc.iter_mut().zip(rows) {
            // SAFETY: `p` is one of `origins`, at most `furthest_origin`, and
            // `row_sums_of` checked that `LANES` values from that plus the
            // largest row are within `x`. (Checking each read costs more
            // than the multiplications.)
            let xs = unsafe { &*self.x.as_ptr().add(p + row).cast::<[F; LANES]>() };
            for (a, &v) in acc.iter_mut().zip(xs) {
                *a += dz * v;
            }
        }
    }
}
