//! Folding a convolution's unfolded gradient back onto its input: the
//! transpose of the unfolding (col2im), each value added into the place its
//! forward value came from.

use rayon::prelude::*;

use super::{ConvGeometry, vectorized};
use crate::Float;

/// Folds the gradient of the unfolded batch, `d_cols[C_IN·K·K, B·P]`, back
/// onto the batch: each value adds into the place its forward value came
/// from, `kernel_offsets[r] + position_offsets[j]` of the padded batch
/// `dxs` (zeroed first), samples spread over threads. With stride 1 and
/// output rows of at most 16 values, each row's additions are unrolled for
/// its length (a loop of a run-time length 11 spends more on its own
/// bookkeeping than on the additions).
pub(super) fn fold<F: Float>(
    g: &ConvGeometry,
    d_cols: &[F],
    kernel_offsets: &[usize],
    dxs: &mut [F],
) {
    let (hp, wp) = g.padded_size();
    let (in_len, positions) = (g.c_in * hp * wp, g.positions());
    let ld = dxs.len() / in_len.max(1) * positions;
    dxs.par_chunks_exact_mut(in_len.max(1))
        .enumerate()
        .for_each(|(b, dx)| {
            let rows = FoldRows {
                d_cols,
                ld,
                first: b * positions,
                kernel_offsets,
            };
            macro_rules! by_row_length {
                ($($n:literal)*) => {
                    match (g.stride, g.w_out) {
                        $((1, $n) => rows.fold_unrolled::<$n>(g, dx),)*
                        _ => rows.fold_any(g, dx),
                    }
                };
            }
            by_row_length!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        });
}

/// One sample's columns of an unfolded gradient, and where its rows go.
struct FoldRows<'a, F> {
    /// `[C_IN·K·K, B·P]`.
    d_cols: &'a [F],
    /// Its row length, `B·P`.
    ld: usize,
    /// The sample's first column, `b·P`.
    first: usize,
    /// Where each row's window starts in the padded sample.
    kernel_offsets: &'a [usize],
}

impl<F: Float> FoldRows<'_, F> {
    /// The sample's row `r` of the unfolded gradient, `P` values.
    fn row(&self, r: usize, positions: usize) -> &[F] {
        &self.d_cols[r * self.ld + self.first..][..positions]
    }

    /// Stride 1, output rows of `N` values: each row added as one
    /// fixed-length block.
    fn fold_unrolled<const N: usize>(&self, g: &ConvGeometry, dx: &mut [F]) {
        self.fold_with(
            g,
            dx,
            #[inline(always)]
            |dx, start, grads| {
                let target: &mut [F; N] = (&mut dx[start..start + N]).try_into().expect("a row");
                // Both rows read before the sum is written back: the
                // compiler need not prove that they do not overlap to add
                // them as vectors.
                let mut sum = *target;
                let grads: &[F; N] = grads.try_into().expect("a row");
                for (s, &d) in sum.iter_mut().zip(grads) {
                    *s += d;
                }
                *target = sum;
            },
        )
    }

    /// Any stride and row length.
    fn fold_any(&self, g: &ConvGeometry, dx: &mut [F]) {
        self.fold_with(
            g,
            dx,
            #[inline(always)]
            |dx, start, grads| {
                let target = dx[start..].iter_mut().step_by(g.stride);
                for (t, &d) in target.zip(grads) {
                    *t += d;
                }
            },
        )
    }

    /// Zeroes `dx`, then adds each output row's gradients `grads` into it
    /// with `add_row(dx, start, grads)`, `start` being where the row's
    /// window begins.
    #[inline(always)]
    fn fold_with(&self, g: &ConvGeometry, dx: &mut [F], add_row: impl Fn(&mut [F], usize, &[F])) {
        let (_, wp) = g.padded_size();
        vectorized(
            #[inline(always)]
            || {
                dx.fill(F::zero());
                for (r, &tap) in self.kernel_offsets.iter().enumerate() {
                    let row = self.row(r, g.positions());
                    for (oh, grads) in row.chunks_exact(g.w_out).enumerate() {
                        add_row(dx, tap + oh * g.stride * wp, grads);
                    }
                }
            },
        )
    }
}
