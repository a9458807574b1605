//! A sample laid out channels-last for the transforms, and back: groups
//! of [`LANES`] channels, by batches of in-register transposes.

use super::LANES;
use super::transforms::{load, store};
use crate::Float;
use crate::kernels::Transpose;

/// Zeros the border of a `rows`×`width` plane of `channels` (padded)
/// around the `h`×`w` block at `(top, left)`.
#[inline(always)]
pub(super) fn zero_border<F: Float>(
    plane: &mut [F],
    (top, left, width): (usize, usize, usize),
    (h, w): (usize, usize),
    channels: usize,
) {
    let row_len = width * channels;
    for (i, row) in plane.chunks_exact_mut(row_len).enumerate() {
        if i < top || i >= top + h {
            row.fill(F::zero());
        } else {
            row[..left * channels].fill(F::zero());
            row[(left + w) * channels..].fill(F::zero());
        }
    }
}

/// The rows of [`LANES`] planes of `h`×`w` values as groups of lanes in
/// rows of `width` positions of `channels` values: row `i` of the planes
/// is one transpose, into row `i` of the groups.
#[inline(always)]
fn rows_to_channels_last((h, w): (usize, usize), width: usize, channels: usize) -> Transpose {
    Transpose {
        lines: LANES,
        depth: w,
        count: h,
        src_line: h * w,
        src_next: w,
        dst_group: channels,
        dst_next: width * channels,
    }
}

/// One sample `x: [C, H, W]` channels-last into `out: [rows, width, channels]`
/// (channels padded), at `(top, left)`: `out[((top + i)·width + left + j)·channels + c]
/// = x[c][i][j]`. The padded channels are zeros; positions not written keep their value.
#[inline(always)]
pub(super) fn to_channels_last<F: Float>(
    x: &[F],
    (h, w): (usize, usize),
    (top, left, width): (usize, usize, usize),
    out: &mut [F],
    channels: usize,
) {
    let (planes, plane) = (x.len() / (h * w).max(1), h * w);
    for first in (0..planes).step_by(LANES) {
        let lanes = LANES.min(planes - first);
        let at = |i: usize, j: usize| ((top + i) * width + left + j) * channels + first;
        if lanes == LANES {
            let rows = rows_to_channels_last((h, w), width, channels);
            F::transpose(&rows, &x[first * plane..], &mut out[at(0, 0)..]);
            continue;
        }
        for i in 0..h {
            for j in 0..w {
                let mut group = [F::zero(); LANES];
                for (l, value) in group[..lanes].iter_mut().enumerate() {
                    *value = x[(first + l) * plane + i * w + j];
                }
                store(out, at(i, j), group);
            }
        }
    }
}

/// The inverse of [`to_channels_last`]: `x[c][i][j] = from[((top + i)·width
/// + left + j)·channels + c]`.
#[inline(always)]
pub(super) fn to_channels_first<F: Float>(
    from: &[F],
    (top, left, width): (usize, usize, usize),
    channels: usize,
    x: &mut [F],
    (h, w): (usize, usize),
) {
    let (planes, plane) = (x.len() / (h * w).max(1), h * w);
    for first in (0..planes).step_by(LANES) {
        let lanes = LANES.min(planes - first);
        let at = |i: usize, j: usize| ((top + i) * width + left + j) * channels + first;
        if lanes == LANES {
            let rows = rows_to_channels_last((h, w), width, channels).inverse();
            F::transpose(&rows, &from[at(0, 0)..], &mut x[first * plane..]);
            continue;
        }
        for i in 0..h {
            for j in 0..w {
                let group = load(from, at(i, j));
                for (l, &value) in group[..lanes].iter().enumerate() {
                    x[(first + l) * plane + i * w + j] = value;
                }
            }
        }
    }
}
