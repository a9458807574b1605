//! The backward pass: the output gradient transformed, the weight and
//! input gradients' products per point, and the input gradient
//! transformed back onto the (padded) input.

use rayon::prelude::*;

use super::layout::{to_channels_first, to_channels_last, zero_border};
use super::transforms::{InputGrads, OutputGradPoints, Strided, TileRows, transform_tile};
use super::weights::weight_grads_out;
use super::{ActivationDerivative, LANES, OUT, POINTS, SIDE, Tiling, WinogradScratch, per_point};
use crate::Float;
use crate::kernels::GemmShape;
use crate::kernels::{ConvGeometry, sum_lanes, vectorized};

/// The gradient at a Winograd forward pass's outputs, as backward
/// ([`WinogradKernels::winograd_backward`](crate::kernels::WinogradKernels::winograd_backward)) reads it.
///
/// ```
/// use keelnet::kernels::OutputGrad;
/// // The gradient 1.0 at the maximum of the pooling of a 2×2 plane, at index 3.
/// let grad = OutputGrad::AtMaxima { dz: &[1.0f32], argmax: &[3], pooled_size: (1, 1) };
/// assert!(matches!(grad, OutputGrad::AtMaxima { pooled_size: (1, 1), .. }));
/// ```
#[derive(Clone, Copy)]
pub enum OutputGrad<'a, F> {
    /// At every output.
    Dense {
        /// The gradient at the outputs `y`, `[B, C_OUT, H_OUT, W_OUT]`.
        dy: &'a [F],
        /// The outputs (not read without a derivative).
        y: &'a [F],
        /// `derivative(y, d)` multiplies one sample's gradient `d` by the
        /// activation's derivative at its outputs `y` (`None`: the identity).
        derivative: Option<ActivationDerivative<'a, F>>,
    },
    /// Zero but at the maxima of a max pooling ([`Outputs::Pooled`](super::Outputs::Pooled)).
    AtMaxima {
        /// The gradient before the activation at the maxima, `[B, C_OUT,
        /// PH, PW]`.
        dz: &'a [F],
        /// The maxima's indices, as the pooled forward pass gave them.
        argmax: &'a [u32],
        /// `(PH, PW)`: the pooled rows and columns.
        pooled_size: (usize, usize),
    },
}

/// Backward from `grad`, with the scratch of the forward pass on the same
/// `x` and `weight`: writes `d_weight`, `d_bias`, and `dx` when asked.
pub fn backward<F: Float>(
    g: &ConvGeometry,
    grad: OutputGrad<'_, F>,
    (d_weight, d_bias): (&mut [F], &mut [F]),
    dx: Option<&mut [F]>,
    s: &mut WinogradScratch<F>,
) {
    let t = Tiling::of(g);
    let (in_len, out_len, count) = (g.c_in * g.h * g.w, g.c_out * g.positions(), t.count());
    // One sample's gradient values, all of them, and the derivative.
    let (grad_len, given, derivative) = match grad {
        OutputGrad::Dense { dy, derivative, .. } => (out_len, dy.len(), derivative),
        OutputGrad::AtMaxima {
            dz,
            pooled_size: (h, w),
            ..
        } => (g.c_out * h * w, dz.len(), None),
    };
    let batch = given / grad_len.max(1);
    let part_grads = POINTS * t.c_out * t.c_in + t.c_out;
    s.weight_grads
        .resize(batch.div_ceil(t.samples) * part_grads, F::zero());
    let with_dx = dx.is_some();
    if with_dx {
        s.input_grads
            .resize(POINTS * batch * count * t.c_in, F::zero());
    }
    let mut no_dx = Vec::new();
    let dx = dx.unwrap_or(&mut no_dx);
    let dz_width = OUT * t.cols;
    s.grad_offsets.clear();
    s.grad_offsets
        .extend((0..g.h_out).flat_map(|i| (0..g.w_out).map(move |j| (i * dz_width + j) * t.c_out)));
    let (u, grad_offsets) = (&s.weights, &s.grad_offsets);
    let (top, left) = g.pad();
    let samples = t.samples;
    let parts = s
        .inputs
        .par_chunks(t.part_len(t.c_in))
        .zip(s.products.par_chunks_mut(t.part_len(t.c_out)))
        .zip(s.weight_grads.par_chunks_mut(part_grads))
        .zip(s.planes.par_chunks_mut(t.plane_len()))
        .take(batch.div_ceil(samples))
        .enumerate();
    type Part<'a, F> = (usize, (((&'a [F], &'a mut [F]), &'a mut [F]), &'a mut [F]));
    let each = |(part, (((v, z), grads), plane)): Part<'_, F>,
                input_grads: Option<(&mut [F], &mut [F])>| {
        let n = v.len() / (POINTS * t.c_in);
        let samples_here = samples.min(batch - part * samples);
        let (w_hat, d_bias) = grads.split_at_mut(POINTS * t.c_out * t.c_in);
        d_bias.fill(F::zero());
        let (plane, dz_first) = plane.split_at_mut(plane.len() - OUT * OUT * count * t.c_out);
        let dz_first = &mut dz_first[..out_len];
        // Z[p][tile][o] = (A dz Aᵀ)[p], dz = dy · act'(y)
        vectorized(
            #[inline(always)]
            || {
                for b in 0..samples_here {
                    let dz = &mut plane[..OUT * t.rows * dz_width * t.c_out];
                    let sample = (part * samples + b) * grad_len..;
                    match grad {
                        OutputGrad::Dense { dy, y, .. } => {
                            zero_border(dz, (0, 0, dz_width), (g.h_out, g.w_out), t.c_out);
                            dz_first.copy_from_slice(&dy[sample.clone()][..out_len]);
                            if let Some(derivative) = derivative {
                                derivative(&y[sample][..out_len], dz_first);
                            }
                            for (o, channel) in dz_first.chunks_exact(g.positions()).enumerate() {
                                d_bias[o] += sum_lanes(channel);
                            }
                            let size = (g.h_out, g.w_out);
                            to_channels_last(dz_first, size, (0, 0, dz_width), dz, t.c_out);
                        }
                        OutputGrad::AtMaxima {
                            dz: at_maxima,
                            argmax,
                            ..
                        } => {
                            dz.fill(F::zero());
                            let values = &at_maxima[sample.clone()][..grad_len];
                            let argmax = &argmax[sample][..grad_len];
                            let per_channel = (grad_len / g.c_out.max(1)).max(1);
                            let channels = values
                                .chunks_exact(per_channel)
                                .zip(argmax.chunks_exact(per_channel));
                            for (o, (values, argmax)) in channels.enumerate() {
                                let (plane, mut sum) = (o * g.positions(), F::zero());
                                for (&d, &at) in values.iter().zip(argmax) {
                                    dz[grad_offsets[at as usize - plane] + o] += d;
                                    sum += d;
                                }
                                d_bias[o] += sum;
                            }
                        }
                    }
                    for (index, (r, c)) in t.tiles() {
                        let tile = b * count + index;
                        for first in (0..t.c_out).step_by(LANES) {
                            let at = Strided::in_plane((r, c), first, dz_width, t.c_out);
                            let to = Strided::points(tile, first, n, t.c_out);
                            let mut points = TileRows::<F, SIDE>::new(z, to, false);
                            transform_tile(dz, at, OutputGradPoints, |i, row| points.write(i, row));
                        }
                    }
                }
            },
        );
        // Ŵ[p][C_OUT, C_IN] = Z[p][N, C_OUT]ᵀ · V[p][N, C_IN]
        let weight_grad = GemmShape {
            m: t.c_out,
            n: t.c_in,
            k: n,
            a_transposed: true,
            b_transposed: false,
            accumulate: false,
        };
        per_point(weight_grad, z, v, w_hat);
        let Some((d, dx)) = input_grads else {
            return;
        };
        // D[p][N, C_IN] = Z[p][N, C_OUT] · U[p][C_IN, C_OUT]ᵀ
        let input_grad = GemmShape {
            m: n,
            n: t.c_in,
            k: t.c_out,
            a_transposed: false,
            b_transposed: true,
            accumulate: false,
        };
        per_point(input_grad, z, u, d);
        // dx = Σ over tiles of B D Bᵀ, cropped
        vectorized(
            #[inline(always)]
            || {
                for (b, dx) in dx.chunks_exact_mut(in_len).enumerate() {
                    let padded = &mut plane[..(OUT * t.rows + 2) * t.width * t.c_in];
                    padded.fill(F::zero());
                    for (index, (r, c)) in t.tiles() {
                        let tile = b * count + index;
                        for first in (0..t.c_in).step_by(LANES) {
                            let at = Strided::points(tile, first, n, t.c_in);
                            let to = Strided::in_plane((r, c), first, t.width, t.c_in);
                            let mut grads = TileRows::<F, SIDE>::new(padded, to, true);
                            transform_tile(d, at, InputGrads, |i, row| grads.write(i, row));
                        }
                    }
                    let layout = (top, left, t.width);
                    to_channels_first(padded, layout, t.c_in, dx, (g.h, g.w));
                }
            },
        );
    };
    if with_dx {
        let input_grads = s.input_grads.par_chunks_mut(t.part_len(t.c_in));
        let dx_parts = dx[..batch * in_len].par_chunks_mut(samples * in_len);
        parts
            .zip(input_grads.zip(dx_parts))
            .for_each(|(part, (d, dx))| each(part, Some((d, dx))));
    } else {
        parts.for_each(|part| each(part, None));
    }
    weight_grads_out(g, &t, &mut s.weight_grads, d_weight, d_bias);
}
