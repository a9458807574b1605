//! The forward pass: input tiles transformed, one product per point, the
//! outputs transformed back with the bias and activation, and laid out or
//! max pooled.

use rayon::iter::Either;
use rayon::prelude::*;

use super::layout::{to_channels_first, to_channels_last, zero_border};
use super::transforms::{
    InputPoints, OutputValues, Strided, TileRows, add, load, store, transform_tile,
};
use super::weights::transform_weights;
use super::{LANES, Lanes, OUT, POINTS, SIDE, Tiling, WinogradScratch, per_point};
use crate::Float;
use crate::kernels::GemmShape;
use crate::kernels::pool::max_pool_channels_last;
use crate::kernels::{ConvGeometry, Pointwise, vectorized};

/// Where a Winograd forward pass ([`WinogradKernels::winograd_forward`](crate::kernels::WinogradKernels::winograd_forward)) puts its
/// outputs: all of them, or only their max pooling.
///
/// ```
/// use keelnet::kernels::Outputs;
/// let (mut pooled, mut argmax) = ([0.0f32; 4], [0u32; 4]);
/// let outputs = Outputs::Pooled { p: 2, pooled: &mut pooled, argmax: &mut argmax };
/// assert!(matches!(outputs, Outputs::Pooled { p: 2, .. }));
/// ```
pub enum Outputs<'a, F> {
    /// All of them, `y: [B, C_OUT, H_OUT, W_OUT]`.
    Full(&'a mut [F]),
    /// Only their max pooling, as
    /// [`max_pool_forward`](crate::kernels::max_pool_forward) gives it.
    Pooled {
        /// The pooling's window and stride.
        p: usize,
        /// The window maxima, `[B, C_OUT, H_OUT / p, W_OUT / p]`.
        pooled: &'a mut [F],
        /// Each maximum's index into its sample's `[C_OUT, H_OUT, W_OUT]`.
        argmax: &'a mut [u32],
    },
}

/// One part's share of [`Outputs`].
enum PartOutputs<'a, F> {
    Full(&'a mut [F]),
    Pooled(&'a mut [F], &'a mut [u32]),
}

/// `y = act(conv(x, weight) + bias)` for a batch `x: [B, C_IN, H, W]`, into
/// `outputs`, `activation` applying `act` in place over one sample's
/// outputs (`[C_OUT, H_OUT, W_OUT]`, or channels-last when pooled: it must
/// be elementwise then). The activation comes as a value, not a type, so
/// that this code is compiled once, not once per activation.
pub fn forward<F: Float>(
    g: &ConvGeometry,
    (x, weight, bias): (&[F], &[F], &[F]),
    outputs: Outputs<'_, F>,
    activation: Pointwise<'_, F>,
    s: &mut WinogradScratch<F>,
) {
    let t = Tiling::of(g);
    let (in_len, out_len, count) = (g.c_in * g.h * g.w, g.c_out * g.positions(), t.count());
    let batch = x.len() / in_len.max(1);
    let parts = batch.div_ceil(t.samples);
    s.weights.resize(POINTS * t.c_in * t.c_out, F::zero());
    s.inputs.resize(POINTS * batch * count * t.c_in, F::zero());
    s.products
        .resize(POINTS * batch * count * t.c_out, F::zero());
    s.planes.resize(parts * t.plane_len(), F::zero());
    transform_weights(g, &t, weight, &mut s.weights_by_tap, &mut s.weights);
    s.bias.clear();
    s.bias.extend_from_slice(bias);
    s.bias.resize(t.c_out, F::zero());
    let (u, bias, (top, left)) = (&s.weights, &s.bias, g.pad());
    // One sample's share of the outputs: all of them, or their pooling.
    let (pool, sample_len) = match &outputs {
        Outputs::Full(_) => (1, out_len),
        Outputs::Pooled { p, .. } => (*p, g.c_out * (g.h_out / p) * (g.w_out / p)),
    };
    let part_outputs = match outputs {
        Outputs::Full(y) => Either::Left(
            y[..batch * out_len]
                .par_chunks_mut(t.samples * out_len)
                .map(PartOutputs::Full),
        ),
        Outputs::Pooled { pooled, argmax, .. } => {
            let len = batch * sample_len;
            let chunk = (t.samples * sample_len).max(1);
            Either::Right(
                pooled[..len]
                    .par_chunks_mut(chunk)
                    .zip(argmax[..len].par_chunks_mut(chunk))
                    .map(|(pooled, argmax)| PartOutputs::Pooled(pooled, argmax)),
            )
        }
    };
    let parts = x
        .par_chunks(t.samples * in_len)
        .zip(part_outputs)
        .zip(s.inputs.par_chunks_mut(t.part_len(t.c_in)))
        .zip(s.products.par_chunks_mut(t.part_len(t.c_out)))
        .zip(s.planes.par_chunks_mut(t.plane_len()));
    parts.for_each(|((((x, mut outputs), v), m), plane)| {
        let n = v.len() / (POINTS * t.c_in);
        // V[p][tile][c] = (Bᵀ d B)[p]
        vectorized(
            #[inline(always)]
            || {
                for (b, x) in x.chunks_exact(in_len).enumerate() {
                    let padded = &mut plane[..(OUT * t.rows + 2) * t.width * t.c_in];
                    let layout = (top, left, t.width);
                    zero_border(padded, layout, (g.h, g.w), t.c_in);
                    to_channels_last(x, (g.h, g.w), layout, padded, t.c_in);
                    for (index, (r, c)) in t.tiles() {
                        let tile = b * count + index;
                        for first in (0..t.c_in).step_by(LANES) {
                            let at = Strided::in_plane((r, c), first, t.width, t.c_in);
                            let to = Strided::points(tile, first, n, t.c_in);
                            let mut points = TileRows::<F, SIDE>::new(v, to, false);
                            transform_tile(padded, at, InputPoints, |i, row| points.write(i, row));
                        }
                    }
                }
            },
        );
        // M[p][N, C_OUT] = V[p][N, C_IN] · U[p][C_IN, C_OUT]
        let shape = GemmShape {
            m: n,
            n: t.c_out,
            k: t.c_in,
            a_transposed: false,
            b_transposed: false,
            accumulate: false,
        };
        per_point(shape, v, u, m);
        // y = act(Aᵀ M A + bias), channels-last, then laid out or pooled
        vectorized(
            #[inline(always)]
            || {
                for b in 0..x.len() / in_len {
                    let outputs_last = &mut plane[..g.positions() * t.c_out];
                    for (index, (r, c)) in t.tiles() {
                        let tile = b * count + index;
                        for first in (0..t.c_out).step_by(LANES) {
                            let at = Strided::points(tile, first, n, t.c_out);
                            let bias = load(bias, first);
                            let with_bias = |mut row: [Lanes<F>; OUT]| {
                                for value in &mut row {
                                    *value = add(*value, bias);
                                }
                                row
                            };
                            let to = Strided::in_plane((r, c), first, g.w_out, t.c_out);
                            if OUT * (r + 1) <= g.h_out && OUT * (c + 1) <= g.w_out {
                                let mut values = TileRows::<F, OUT>::new(outputs_last, to, false);
                                transform_tile(m, at, OutputValues, |i, row| {
                                    values.write(i, with_bias(row));
                                });
                                continue;
                            }
                            // A tile past the edge: the outputs inside.
                            transform_tile(m, at, OutputValues, |i, row| {
                                for (j, value) in with_bias(row).into_iter().enumerate() {
                                    if OUT * r + i < g.h_out && OUT * c + j < g.w_out {
                                        store(outputs_last, to.at(i, j), value);
                                    }
                                }
                            });
                        }
                    }
                    let sample = b * sample_len..(b + 1) * sample_len;
                    match &mut outputs {
                        PartOutputs::Full(y) => {
                            let y = &mut y[sample];
                            let layout = (0, 0, g.w_out);
                            let size = (g.h_out, g.w_out);
                            to_channels_first(outputs_last, layout, t.c_out, y, size);
                            activation.apply(y);
                        }
                        PartOutputs::Pooled(pooled, argmax) => {
                            activation.apply(outputs_last);
                            let sizes = (g.c_out, g.h_out, g.w_out);
                            let (pooled, argmax) =
                                (&mut pooled[sample.clone()], &mut argmax[sample]);
                            max_pool_channels_last(
                                outputs_last,
                                sizes,
                                t.c_out,
                                pool,
                                pooled,
                                argmax,
                            );
                        }
                    }
                }
            },
        );
    });
}
