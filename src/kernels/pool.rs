//! Max pooling with window and stride `P`, rows and columns that do not fill
//! a window dropped (Keras' 'valid').

use rayon::prelude::*;

use super::vectorized;
use crate::{Activation, ActivationKind, Float};

/// `y[C, H/P, W/P]` = window maxima of `x[C, H, W]` for each sample; `argmax`
/// receives, per output value, the index of its maximum within the sample.
pub fn max_pool_forward<F: Float>(
    (c, h, w): (usize, usize, usize),
    p: usize,
    x: &[F],
    y: &mut [F],
    argmax: &mut [u32],
) {
    let (h_out, w_out) = (h / p, w / p);
    let out_len = c * h_out * w_out;
    // Samples are independent: spread over threads.
    let samples = x
        .par_chunks_exact(c * h * w)
        .zip(y.par_chunks_exact_mut(out_len));
    samples
        .zip(argmax.par_chunks_exact_mut(out_len))
        .for_each(|((x, y), argmax)| {
            if p == 2 {
                vectorized(
                    #[inline(always)]
                    || max_pool_2_sample((c, h, w), x, y, argmax),
                );
                return;
            }
            for ch in 0..c {
                let channel = &x[ch * h * w..][..h * w];
                let y = &mut y[ch * h_out * w_out..][..h_out * w_out];
                let argmax = &mut argmax[ch * h_out * w_out..][..h_out * w_out];
                for oh in 0..h_out {
                    let y = &mut y[oh * w_out..][..w_out];
                    let argmax = &mut argmax[oh * w_out..][..w_out];
                    let first = oh * p * w;
                    for (ow, (y, at)) in y.iter_mut().zip(argmax.iter_mut()).enumerate() {
                        let corner = first + ow * p;
                        let (mut best, mut index) = (channel[corner], corner);
                        for i in 0..p {
                            let start = corner + i * w;
                            for (j, &v) in channel[start..start + p].iter().enumerate() {
                                (best, index) = keep_larger(best, index, v, start + j);
                            }
                        }
                        (*y, *at) = (best, index as u32);
                    }
                    for at in argmax.iter_mut() {
                        *at += (ch * h * w) as u32;
                    }
                }
            }
        });
}

/// [`max_pool_forward`] of one sample with 2×2 windows, the common case:
/// each window as two pairs, compared without branches, so that a row of
/// windows vectorizes. The same maxima and indices as the general loop
/// (the first of equal values), but where a window holds a NaN.
#[inline(always)]
fn max_pool_2_sample<F: Float>(
    (c, h, w): (usize, usize, usize),
    x: &[F],
    y: &mut [F],
    argmax: &mut [u32],
) {
    let (h_out, w_out) = (h / 2, w / 2);
    let rows = y
        .chunks_exact_mut(w_out)
        .zip(argmax.chunks_exact_mut(w_out));
    for (row, (y, argmax)) in rows.enumerate().take(c * h_out) {
        let (ch, oh) = (row / h_out, row % h_out);
        let start = ch * h * w + 2 * oh * w;
        let top = &x[start..][..2 * w_out];
        let bottom = &x[start + w..][..2 * w_out];
        let pairs = top.chunks_exact(2).zip(bottom.chunks_exact(2));
        let below = w as u32;
        for (ow, ((y, at), (top, bottom))) in y.iter_mut().zip(argmax).zip(pairs).enumerate() {
            let top_right = top[1] > top[0];
            let top_best = if top_right { top[1] } else { top[0] };
            let bottom_right = bottom[1] > bottom[0];
            let bottom_best = if bottom_right { bottom[1] } else { bottom[0] };
            let lower = bottom_best > top_best;
            *y = if lower { bottom_best } else { top_best };
            let offset = if lower {
                below + u32::from(bottom_right)
            } else {
                u32::from(top_right)
            };
            *at = (start + 2 * ow) as u32 + offset;
        }
    }
}

/// The larger of `(best, index)` and `(value, at)`, the first on ties, with
/// no branch: which one wins depends on the data, so a branch would be
/// mispredicted half the time.
#[inline(always)]
fn keep_larger<F: Float>(best: F, index: usize, value: F, at: usize) -> (F, usize) {
    let mask = usize::from(value > best).wrapping_neg();
    (
        if value > best { value } else { best },
        (index & !mask) | (at & mask),
    )
}

/// `dx` = `dy` routed to the maxima recorded by [`max_pool_forward`], zero elsewhere.
/// `in_len` and `out_len` are the element counts of one input and one output sample.
///
/// `dy` is first multiplied, in place, by the derivative of the elementwise
/// activation `A` at the pooled outputs `y`, for a pooling of `A`'s outputs
/// whose derivative is taken here rather than before it (each pooled output
/// is a copy of one input, so this is the same, on fewer values);
/// [`Linear`](crate::Linear) takes none, and `y` is not read.
///
/// ```
/// use keelnet::kernels::{max_pool_backward, max_pool_forward};
/// use keelnet::{Linear, ReLU};
/// let x = [1.0, 5.0, 2.0, 3.0, -1.0, -2.0, -3.0, -4.0]; // 2 channels of 2×2
/// let (mut y, mut argmax, mut dx) = ([0.0; 2], [0; 2], [9.0; 8]);
/// max_pool_forward((2, 2, 2), 2, &x, &mut y, &mut argmax);
/// max_pool_backward::<f64, Linear>((8, 2), &argmax, (&mut [1.0, 1.0], &y), &mut dx);
/// assert_eq!(dx, [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
/// // Through ReLU at the pooled outputs: the second channel's maximum is negative.
/// max_pool_backward::<f64, ReLU>((8, 2), &argmax, (&mut [1.0, 1.0], &y), &mut dx);
/// assert_eq!(dx, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
/// ```
pub fn max_pool_backward<F: Float, A: Activation>(
    (in_len, out_len): (usize, usize),
    argmax: &[u32],
    (dy, y): (&mut [F], &[F]),
    dx: &mut [F],
) {
    let samples = dx
        .par_chunks_exact_mut(in_len)
        .zip(dy.par_chunks_exact_mut(out_len));
    samples
        .zip(argmax.par_chunks_exact(out_len))
        .enumerate()
        .for_each(|(b, ((dx, dy), argmax))| {
            // `y` is not read through `Linear` (and may be empty then).
            if A::KIND != ActivationKind::Linear {
                let y = &y[b * out_len..][..out_len];
                vectorized(
                    #[inline(always)]
                    || A::backward(y, dy),
                );
            }
            dx.fill(F::zero());
            for (&d, &at) in dy.iter().zip(argmax) {
                dx[at as usize] += d;
            }
        });
}
