//! Max pooling with window and stride `P`, rows and columns that do not fill
//! a window dropped (Keras' 'valid').

use rayon::prelude::*;

use super::conv::{check_len, samples};
use super::vectorized;
use crate::{Activation, ActivationKind, Float};

/// `y[C, H/P, W/P]` = window maxima of `x[C, H, W]` for each sample; `argmax`
/// receives, per output value, the index of its maximum within the sample.
///
/// # Panics
///
/// If a size is 0, the input is smaller than the window, a sample holds
/// more values than a `u32` indexes, `x` is not whole samples, or `y` and
/// `argmax` are not `[B, C, H/P, W/P]`.
///
/// ```
/// let (mut y, mut argmax) = ([0.0; 1], [0; 1]);
/// keelnet::kernels::max_pool_forward((1, 2, 2), 2, &[1.0, 4.0, 3.0, 2.0], &mut y, &mut argmax);
/// assert_eq!((y, argmax), ([4.0], [1]));
/// ```
pub fn max_pool_forward<F: Float>(
    (c, h, w): (usize, usize, usize),
    p: usize,
    x: &[F],
    y: &mut [F],
    argmax: &mut [u32],
) {
    assert!(
        c >= 1 && p >= 1 && h >= p && w >= p,
        "max pooling of window {p} over {c}×{h}×{w}: sizes must be at least 1, the input at least the window"
    );
    let in_len = [c, h, w].iter().try_fold(1usize, |n, &s| n.checked_mul(s));
    let in_len = in_len
        .filter(|&len| u32::try_from(len).is_ok())
        .unwrap_or_else(|| panic!("a {c}×{h}×{w} sample is larger than a u32 indexes"));
    let out_len = c * (h / p) * (w / p);
    let batch = samples("x", x.len(), in_len);
    check_len("y", y.len(), batch * out_len);
    check_len("argmax", argmax.len(), y.len());
    // Samples are independent: spread over threads.
    let samples = x
        .par_chunks_exact(c * h * w)
        .zip(y.par_chunks_exact_mut(out_len));
    samples
        .zip(argmax.par_chunks_exact_mut(out_len))
        .for_each(|((x, y), argmax)| {
            vectorized(
                #[inline(always)]
                || {
                    let plane_len = (h / p) * (w / p);
                    let outputs = y.chunks_exact_mut(plane_len.max(1));
                    let channels = outputs.zip(argmax.chunks_exact_mut(plane_len.max(1)));
                    for (ch, (y, argmax)) in channels.enumerate() {
                        let plane = Plane {
                            x: &x[ch * h * w..],
                            stride: w,
                            size: (h, w),
                            first: ch * h * w,
                        };
                        plane.max_pool(p, y, argmax);
                    }
                },
            )
        });
}

/// One channel of a sample to pool: `size.0` rows of `size.1` values,
/// `stride` apart in `x`, the channel's first value at index `first` of
/// the channel-first sample (which is what the maxima's indices count).
pub(super) struct Plane<'a, F> {
    /// The channel's values, rows `stride` apart.
    pub x: &'a [F],
    /// The distance between rows in `x`.
    pub stride: usize,
    /// Rows and columns.
    pub size: (usize, usize),
    /// The index of the first value within its sample.
    pub first: usize,
}

impl<F: Float> Plane<'_, F> {
    /// `y[H/P, W/P]` = the window maxima, `argmax` their indices within the
    /// sample (the first of equal values).
    #[inline(always)]
    pub(super) fn max_pool(&self, p: usize, y: &mut [F], argmax: &mut [u32]) {
        if p == 2 {
            return self.max_pool_2(y, argmax);
        }
        let (h, w) = self.size;
        let w_out = w / p;
        let rows = y
            .chunks_exact_mut(w_out)
            .zip(argmax.chunks_exact_mut(w_out));
        for (oh, (y, argmax)) in rows.enumerate().take(h / p) {
            for (ow, (y, at)) in y.iter_mut().zip(argmax.iter_mut()).enumerate() {
                let corner = (oh * p, ow * p);
                let (mut best, mut index) = (
                    self.x[corner.0 * self.stride + corner.1],
                    corner.0 * w + corner.1,
                );
                for i in corner.0..corner.0 + p {
                    for j in corner.1..corner.1 + p {
                        (best, index) =
                            keep_larger(best, index, self.x[i * self.stride + j], i * w + j);
                    }
                }
                (*y, *at) = (best, (self.first + index) as u32);
            }
        }
    }

    /// [`Plane::max_pool`] with 2×2 windows, the common case: each window as
    /// two pairs, compared without branches, so that a row of windows
    /// vectorizes. The same maxima and indices as the general loop (the
    /// first of equal values), but where a window holds a NaN.
    #[inline(always)]
    fn max_pool_2(&self, y: &mut [F], argmax: &mut [u32]) {
        let (h, w) = self.size;
        let w_out = w / 2;
        let rows = y
            .chunks_exact_mut(w_out)
            .zip(argmax.chunks_exact_mut(w_out));
        for (oh, (y, argmax)) in rows.enumerate().take(h / 2) {
            let start = 2 * oh * self.stride;
            let top = &self.x[start..][..2 * w_out];
            let bottom = &self.x[start + self.stride..][..2 * w_out];
            let pairs = top.chunks_exact(2).zip(bottom.chunks_exact(2));
            let (corner, below) = ((self.first + 2 * oh * w) as u32, w as u32);
            for (ow, ((y, at), (top, bottom))) in y.iter_mut().zip(argmax).zip(pairs).enumerate() {
                let (best, offset) = window_max_2([top[0], top[1]], [bottom[0], bottom[1]], below);
                *y = best;
                *at = corner + 2 * ow as u32 + offset;
            }
        }
    }
}

/// The maximum of the 2×2 window `[top, bottom]` and where it is: its
/// offset from the top left, `below` for the lower row. The first of
/// equal values; each row's pair, then the rows, compared without
/// branches (so that windows side by side vectorize).
#[inline(always)]
fn window_max_2<F: Float>(top: [F; 2], bottom: [F; 2], below: u32) -> (F, u32) {
    let top_right = top[1] > top[0];
    let top_best = if top_right { top[1] } else { top[0] };
    let bottom_right = bottom[1] > bottom[0];
    let bottom_best = if bottom_right { bottom[1] } else { bottom[0] };
    let lower = bottom_best > top_best;
    let offset = if lower {
        below + u32::from(bottom_right)
    } else {
        u32::from(top_right)
    };
    (if lower { bottom_best } else { top_best }, offset)
}

/// Channels pooled together from a channels-last plane.
const GROUP: usize = 8;

/// One sample's outputs laid out channels-last, `x: [H, W, channels]` of
/// which the first `c` channels are pooled (`channels` a multiple of 8),
/// into channels-first `y[c, H/P, W/P]` and `argmax` (indices into the
/// sample's `[c, H, W]`): the same numbers as [`Plane::max_pool`] on each
/// channel. Eight channels' windows are compared side by side (inlined,
/// so that a caller compiled for AVX2 compares them in one vector).
#[inline(always)]
pub(super) fn max_pool_channels_last<F: Float>(
    x: &[F],
    (c, h, w): (usize, usize, usize),
    channels: usize,
    p: usize,
    y: &mut [F],
    argmax: &mut [u32],
) {
    assert!(
        channels.is_multiple_of(GROUP) && channels >= c,
        "channels in whole groups"
    );
    let (h_out, w_out) = (h / p, w / p);
    let plane_out = h_out * w_out;
    let group = |i: usize, j: usize, first: usize| -> [F; GROUP] {
        x[(i * w + j) * channels + first..][..GROUP]
            .try_into()
            .expect("a group of channels")
    };
    let (y, argmax) = (&mut y[..c * plane_out], &mut argmax[..c * plane_out]);
    for (oh, ow) in (0..h_out).flat_map(|oh| (0..w_out).map(move |ow| (oh, ow))) {
        let (i, j, out) = (oh * p, ow * p, oh * w_out + ow);
        for first in (0..c).step_by(GROUP) {
            // Indices into the sample's channels, as u32 lanes.
            let firsts: [u32; GROUP] = std::array::from_fn(|l| ((first + l) * h * w) as u32);
            let (mut best, mut best_at) = ([F::zero(); GROUP], [0u32; GROUP]);
            if p == 2 {
                let (a, b) = (group(i, j, first), group(i, j + 1, first));
                let (d, e) = (group(i + 1, j, first), group(i + 1, j + 1, first));
                let corner = (i * w + j) as u32;
                for l in 0..GROUP {
                    let (value, offset) = window_max_2([a[l], b[l]], [d[l], e[l]], w as u32);
                    (best[l], best_at[l]) = (value, firsts[l] + corner + offset);
                }
            } else {
                best = group(i, j, first);
                best_at = firsts.map(|f| f + (i * w + j) as u32);
                for (r, s) in (i..i + p).flat_map(|r| (j..j + p).map(move |s| (r, s))) {
                    let values = group(r, s, first);
                    for l in 0..GROUP {
                        let at = firsts[l] as usize + r * w + s;
                        let (value, index) =
                            keep_larger(best[l], best_at[l] as usize, values[l], at);
                        (best[l], best_at[l]) = (value, index as u32);
                    }
                }
            }
            let lanes = GROUP.min(c - first);
            let outputs = y[first * plane_out + out..].iter_mut().step_by(plane_out);
            let indices = argmax[first * plane_out + out..]
                .iter_mut()
                .step_by(plane_out);
            let stores = outputs
                .zip(indices)
                .zip(best.iter().zip(&best_at))
                .take(lanes);
            for ((y, index), (&value, &at)) in stores {
                (*y, *index) = (value, at);
            }
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
/// # Panics
///
/// If a sample has no output or fewer inputs than outputs, `dy` is not
/// whole samples, `argmax`, `dx` or (unless `A` is `Linear`) `y` does not
/// match it, or an `argmax` points outside its sample.
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
    assert!(
        in_len >= out_len && out_len >= 1,
        "max pooling from {in_len} to {out_len} values a sample"
    );
    let batch = samples("dy", dy.len(), out_len);
    check_len("argmax", argmax.len(), dy.len());
    check_len("dx", dx.len(), batch * in_len);
    if A::KIND != ActivationKind::Linear {
        check_len("y", y.len(), dy.len());
    }
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
                    || A::backward(&[], y, dy),
                );
            }
            dx.fill(F::zero());
            for (&d, &at) in dy.iter().zip(argmax) {
                dx[at as usize] += d;
            }
        });
}
