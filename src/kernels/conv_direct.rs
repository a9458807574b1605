//! Direct convolution for layers with few taps (the first layer of an
//! image network: one or three input channels, a small kernel), where
//! im2col's product has too short a shared dimension to pay for its
//! packing.
//!
//! Per sample, an output channel is computed "wide": over positions
//! `p = oh·W' + ow` of the (padded) input's row length `W'`, for which
//! input `x[p + tap]` is one run for every tap `(c, ki, kj)`, so the loop
//! is a one-dimensional stencil over the whole plane. The columns
//! `ow >= W_OUT` of a wide row are computed and dropped. Stride 1 only.

use rayon::prelude::*;

use super::elementwise::vectorized_wide;
use super::pool::Plane;
use super::{ConvGeometry, Pointwise, copy_short, vectorized};
use crate::{Activation, Float};

/// The most taps (`C_IN·K·K`) the direct kernels take.
const MAX_TAPS: usize = 27;

/// Positions of one run of the stencil: two vectors per channel of eight
/// lanes (AVX2, and the baseline), or of sixteen (AVX-512).
const RUN: usize = 2 * 8;
const WIDE_RUN: usize = 2 * 16;

/// Output channels computed together (each input load feeds all of them).
const CHANNELS: usize = 4;

/// Whether the direct kernels compute this convolution.
pub fn takes(g: &ConvGeometry) -> bool {
    g.stride == 1 && g.patch_len() <= MAX_TAPS
}

/// Positions of a wide output plane that are computed: up to the last
/// valid output.
fn wide_len(g: &ConvGeometry, wp: usize) -> usize {
    (g.h_out - 1) * wp + g.w_out
}

/// `y = act(conv(x) + bias)` for a batch; `xs` is the batch with its
/// padding, `[B, C_IN, H', W']`, `taps[t]` the offset of tap `t` in a
/// sample, `wide` scratch of `CHANNELS` wide planes per sample.
#[allow(clippy::too_many_arguments)]
pub fn forward<F: Float, A: Activation>(
    g: &ConvGeometry,
    (hp, wp): (usize, usize),
    xs: &[F],
    taps: &[usize],
    weight: &[F],
    bias: &[F],
    y: &mut [F],
    wide: &mut Vec<F>,
) {
    let (in_len, out_len, len) = (g.c_in * hp * wp, g.c_out * g.positions(), wide_len(g, wp));
    let batch = y.len() / out_len.max(1);
    wide.resize(batch * CHANNELS * len, F::zero());
    let sample = Sample {
        g,
        wp,
        taps,
        weight,
        bias,
    };
    let positions = g.positions();
    let samples = xs
        .par_chunks_exact(in_len)
        .zip(y.par_chunks_exact_mut(out_len));
    samples
        .zip(wide.par_chunks_exact_mut(CHANNELS * len))
        .for_each(|((x, y), wide)| {
            sample.forward(
                x,
                wide,
                // A softmax needs whole samples: applied below.
                #[inline(always)]
                |plane| {
                    if A::ELEMENTWISE {
                        A::forward(plane);
                    }
                },
                #[inline(always)]
                |o, plane| {
                    let channel = &mut y[o * positions..][..positions];
                    for (row, out) in channel.chunks_exact_mut(g.w_out).enumerate() {
                        copy_short(out, &plane[row * wp..][..g.w_out]);
                    }
                },
            );
        });
    if !A::ELEMENTWISE {
        y.chunks_exact_mut(out_len).for_each(A::forward);
    }
}

/// [`forward`] and the max pooling (`P`×`P` windows, stride `P`) of its
/// outputs, for an elementwise activation `act` (over a plane in place),
/// with the padded size `(H', W')`, and `xs` and `taps` as [`forward`]'s:
/// each wide plane is pooled while it is in cache, into `pooled`
/// `[B, C_OUT, H_OUT / P, W_OUT / P]` and the maxima's indices `argmax`
/// (into a sample's `[C_OUT, H_OUT, W_OUT]`, as
/// [`max_pool_forward`](super::max_pool_forward) gives them); the
/// convolution's outputs are never written.
pub fn forward_pooled<F: Float>(
    g: &ConvGeometry,
    ((hp, wp), p): ((usize, usize), usize),
    (xs, taps): (&[F], &[usize]),
    (weight, bias): (&[F], &[F]),
    (pooled, argmax): (&mut [F], &mut [u32]),
    act: Pointwise<'_, F>,
    wide: &mut Vec<F>,
) {
    let (in_len, len) = (g.c_in * hp * wp, wide_len(g, wp));
    let pooled_plane = (g.h_out / p) * (g.w_out / p);
    let out_len = g.c_out * pooled_plane;
    let batch = pooled.len() / out_len.max(1);
    wide.resize(batch * CHANNELS * len, F::zero());
    let samples = xs
        .par_chunks_exact(in_len)
        .zip(pooled.par_chunks_exact_mut(out_len))
        .zip(argmax.par_chunks_exact_mut(out_len));
    let sample = Sample {
        g,
        wp,
        taps,
        weight,
        bias,
    };
    samples
        .zip(wide.par_chunks_exact_mut(CHANNELS * len))
        .for_each(|(((x, pooled), argmax), wide)| {
            sample.forward(
                x,
                wide,
                #[inline(always)]
                |plane| act.apply(plane),
                #[inline(always)]
                |o, plane| {
                    let plane = Plane {
                        x: plane,
                        stride: wp,
                        size: (g.h_out, g.w_out),
                        first: o * g.positions(),
                    };
                    let range = o * pooled_plane..(o + 1) * pooled_plane;
                    plane.max_pool(p, &mut pooled[range.clone()], &mut argmax[range]);
                },
            );
        });
}

/// What every sample's forward pass shares.
struct Sample<'a, F> {
    g: &'a ConvGeometry,
    /// The padded input's row length.
    wp: usize,
    taps: &'a [usize],
    weight: &'a [F],
    bias: &'a [F],
}

impl<F: Float> Sample<'_, F> {
    /// One sample `x`: `CHANNELS` output channels at a time computed wide
    /// into `wide`, `act` applied over each whole plane, each handed to
    /// `emit(channel, plane)` (rows `W'` apart).
    #[inline(always)]
    fn forward(
        &self,
        x: &[F],
        wide: &mut [F],
        act: impl Fn(&mut [F]),
        mut emit: impl FnMut(usize, &[F]),
    ) {
        let (g, taps, weight, bias) = (self.g, self.taps, self.weight, self.bias);
        let len = wide_len(g, self.wp);
        vectorized_wide(
            #[inline(always)]
            |wide_lanes| {
                let mut o = 0;
                while o < g.c_out {
                    let block = if g.c_out - o >= CHANNELS { CHANNELS } else { 1 };
                    let (weight, bias) = (&weight[o * taps.len()..], &bias[o..]);
                    match (block == CHANNELS, wide_lanes) {
                        (true, true) => {
                            stencil::<F, CHANNELS, WIDE_RUN>(x, taps, weight, bias, wide)
                        }
                        (true, false) => stencil::<F, CHANNELS, RUN>(x, taps, weight, bias, wide),
                        (false, _) => stencil::<F, 1, RUN>(x, taps, weight, bias, wide),
                    }
                    for (i, plane) in wide.chunks_exact_mut(len).take(block).enumerate() {
                        // The activation over the whole wide plane, one long run.
                        act(plane);
                        emit(o + i, plane);
                    }
                    o += block;
                }
            },
        )
    }
}

/// `wide[i][p] = bias[i] + Σ_t weight[i][t] · x[p + taps[t]]` for `B`
/// channels, `RUN` positions at a time: two vectors' worth per channel,
/// independent sums that hide the latency of the additions. The last run
/// ends at the plane's end, overlapping the one before it (it writes the
/// same values there).
#[inline(always)]
fn stencil<F: Float, const B: usize, const RUN: usize>(
    x: &[F],
    taps: &[usize],
    weight: &[F],
    bias: &[F],
    wide: &mut [F],
) {
    let n = taps.len();
    let len = wide.len() / CHANNELS;
    // Each channel's weights as a slice of `n`: indexed by tap, unchecked.
    let rows: [&[F]; B] = std::array::from_fn(|i| &weight[i * n..][..n]);
    let (full, last) = (len / RUN * RUN, len.saturating_sub(RUN));
    let overlapping = (full < len && len >= RUN).then_some(last);
    for p in (0..full).step_by(RUN).chain(overlapping) {
        let mut acc = [[F::zero(); RUN]; B];
        for (i, acc) in acc.iter_mut().enumerate() {
            *acc = [bias[i]; RUN];
        }
        for (t, &tap) in taps.iter().enumerate() {
            let xs: &[F; RUN] = x[p + tap..][..RUN].try_into().expect("a run");
            for (acc, row) in acc.iter_mut().zip(rows) {
                let w = row[t];
                for (a, &v) in acc.iter_mut().zip(xs) {
                    *a += w * v;
                }
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            wide[i * len + p..][..RUN].copy_from_slice(acc);
        }
    }
    // A plane shorter than a run, one position at a time.
    let short = if len < RUN { len } else { 0 };
    for p in 0..short {
        for i in 0..B {
            let mut sum = bias[i];
            for (t, &tap) in taps.iter().enumerate() {
                sum += weight[i * n + t] * x[p + tap];
            }
            wide[i * len + p] = sum;
        }
    }
}

/// The weight and bias gradients from `dy` `[B, C_OUT, H_OUT, W_OUT]`,
/// the gradient at the outputs `y` (`None`: before the activation): for
/// each block of `CHANNELS` output channels (on one thread), each sample's
/// channels are laid out wide in `wide` (zero in the dropped columns) and
/// turned into `dz` there by `A`'s derivative at `y`, then
/// `d_weight[o][t] = Σ_b Σ_p dz[b][o][p] · x[b][p + taps[t]]` over wide
/// positions `p` ([`ConvKernels::tap_sums`](super::ConvKernels::tap_sums)), `d_bias[o] = Σ dz[·][o]`, summed
/// in one fixed order.
#[allow(clippy::too_many_arguments)]
pub fn weight_grad<F: Float, A: Activation>(
    g: &ConvGeometry,
    (hp, wp): (usize, usize),
    xs: &[F],
    taps: &[usize],
    (dy, y): (&[F], Option<&[F]>),
    d_weight: &mut [F],
    d_bias: &mut [F],
    wide: &mut Vec<F>,
) {
    let (in_len, positions, len) = (g.c_in * hp * wp, g.positions(), wide_len(g, wp));
    let out_len = g.c_out * positions;
    wide.resize(g.c_out * len, F::zero());
    let blocks = d_weight
        .par_chunks_mut(CHANNELS * taps.len())
        .zip(d_bias.par_chunks_mut(CHANNELS));
    blocks
        .zip(wide.par_chunks_mut(CHANNELS * len))
        .enumerate()
        .for_each(|(block, ((d_weight, d_bias), dz_wide))| {
            let first = block * CHANNELS;
            d_weight.fill(F::zero());
            d_bias.fill(F::zero());
            dz_wide.fill(F::zero());
            for (b, x) in xs.chunks_exact(in_len).enumerate() {
                vectorized(
                    #[inline(always)]
                    || {
                        for (i, dz_plane) in dz_wide.chunks_exact_mut(len).enumerate() {
                            let start = b * out_len + (first + i) * positions;
                            let dy = &dy[start..][..positions];
                            let y = y.map(|y| &y[start..][..positions]);
                            for (row, dy) in dy.chunks_exact(g.w_out).enumerate() {
                                let dz = &mut dz_plane[row * wp..][..g.w_out];
                                copy_short(dz, dy);
                                if let Some(y) = y {
                                    A::backward(&[], &y[row * g.w_out..][..g.w_out], dz);
                                }
                            }
                            d_bias[i] += super::sum_lanes(dz_plane);
                        }
                    },
                );
                F::tap_sums(dz_wide, len, x, taps, d_weight);
            }
        });
}
