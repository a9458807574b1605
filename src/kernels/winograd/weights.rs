//! The weights' transform `U = G g Gᵀ` before the products, and the
//! weight gradient's `dW = Gᵀ Ŵ G` after them.

use rayon::prelude::*;

use super::transforms::{Axis, Strided, WeightGrads, WeightPoints, load, store, transform_tile};
use super::{LANES, Lanes, POINTS, SIDE, Tiling};
use crate::Float;
use crate::kernels::{ConvGeometry, Transpose, vectorized};

/// `U[p][c][o] = (G g Gᵀ)[p]` for every kernel `g = weight[o][c]`,
/// [`LANES`] output channels at a time, from the weights laid out by tap
/// with the output channels last (`by_tap: [C_IN, 9, C_OUT]`, channels
/// padded with zeros), where each tap's lanes are one load. The points
/// `p = 6a + b` of one row `a` of the transform are one task: row `a` of
/// `G g`, then `G` along it.
pub(super) fn transform_weights<F: Float>(
    g: &ConvGeometry,
    t: &Tiling,
    weight: &[F],
    by_tap: &mut Vec<F>,
    u: &mut [F],
) {
    by_tap.clear();
    by_tap.resize(g.c_in * 9 * t.c_out, F::zero());
    let layout = Transpose {
        lines: g.c_out,
        depth: g.c_in * 9,
        count: 1,
        src_line: g.c_in * 9,
        src_next: 0,
        dst_group: t.c_out,
        dst_next: 0,
    };
    F::transpose(&layout, &weight[..g.c_out * g.c_in * 9], by_tap);
    let by_tap = &*by_tap;
    u.par_chunks_mut(SIDE * t.c_in * t.c_out)
        .enumerate()
        .for_each(|(a, points)| {
            vectorized(
                #[inline(always)]
                || {
                    for c in 0..g.c_in {
                        for first in (0..t.c_out).step_by(LANES) {
                            let tap = |i: usize, j: usize| {
                                load(by_tap, ((c * 3 + i) * 3 + j) * t.c_out + first)
                            };
                            let row: [Lanes<F>; 3] = std::array::from_fn(|j| {
                                WeightPoints::apply([tap(0, j), tap(1, j), tap(2, j)])[a]
                            });
                            for (b, &point) in WeightPoints::apply(row).iter().enumerate() {
                                store(points, (b * t.c_in + c) * t.c_out + first, point);
                            }
                        }
                    }
                    // The padded input channels.
                    for point in points.chunks_exact_mut(t.c_in * t.c_out) {
                        point[g.c_in * t.c_out..].fill(F::zero());
                    }
                },
            )
        });
}

/// Values of `Ŵ` summed in one task: the parts are added in order, a block
/// at a time, so that any number of threads gives the same bits.
const SUM_BLOCK: usize = 4096;

/// `dW[o][c] = Gᵀ Ŵ G`, with `Ŵ` summed over the parts (into the first),
/// and the bias gradient summed over the parts.
pub(super) fn weight_grads_out<F: Float>(
    g: &ConvGeometry,
    t: &Tiling,
    parts: &mut [F],
    d_weight: &mut [F],
    d_bias: &mut [F],
) {
    let part_len = POINTS * t.c_out * t.c_in + t.c_out;
    let (sum, rest) = parts.split_at_mut(part_len);
    sum.par_chunks_mut(SUM_BLOCK)
        .enumerate()
        .for_each(|(block, sum)| {
            vectorized(
                #[inline(always)]
                || {
                    for part in rest.chunks_exact(part_len) {
                        let part = &part[block * SUM_BLOCK..][..sum.len()];
                        sum.iter_mut().zip(part).for_each(|(s, &v)| *s += v);
                    }
                },
            )
        });
    let sum = &*sum;
    let kernels = g.c_in * 9;
    d_weight[..g.c_out * kernels]
        .par_chunks_mut(kernels.max(1))
        .enumerate()
        .for_each(|(o, d_weight)| {
            vectorized(
                #[inline(always)]
                || {
                    for first in (0..g.c_in).step_by(LANES) {
                        // `Ŵ`: `[36, C_OUT, C_IN]`, output channels as tiles.
                        let at = Strided::points(o, first, t.c_out, t.c_in);
                        transform_tile(sum, at, WeightGrads, |i, row| {
                            for l in 0..LANES.min(g.c_in - first) {
                                for (j, value) in row.iter().enumerate() {
                                    d_weight[(first + l) * 9 + i * 3 + j] = value[l];
                                }
                            }
                        });
                    }
                },
            )
        });
    d_bias.copy_from_slice(&sum[POINTS * t.c_out * t.c_in..][..g.c_out]);
}
