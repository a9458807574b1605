//! Folding a convolution's unfolded gradient back onto its input: the
//! transpose of the unfolding (col2im), each value added into the place its
//! forward value came from.

use rayon::prelude::*;

use super::conv::{check_len, samples};
use super::{ConvGeometry, vectorized};
use crate::Float;

/// Folds the gradient of the unfolded batch, `d_cols[C_IN·K·K, B·P]`, back
/// onto the batch: each value adds into the place its forward value came
/// from, `kernel_offsets[r] + position_offsets[j]` of the padded batch
/// `dxs` (zeroed first), samples spread over threads. With stride 1 and
/// output rows of at most 16 values, each row's additions are unrolled for
/// its length (a loop of a run-time length 11 spends more on its own
/// bookkeeping than on the additions).
///
/// # Panics
///
/// If the geometry is not a convolution's ([`ConvGeometry::sample_sizes`]),
/// `kernel_offsets` does not hold `C_IN·K·K` offsets, `dxs` is not whole
/// padded samples, or `d_cols` holds fewer rows; an offset that leads
/// outside a sample panics too.
///
/// ```
/// use keelnet::kernels::{ConvGeometry, fold};
/// // One 3×3 image, a 2×2 kernel, a 2×2 output: each of the four rows of
/// // the unfolded gradient (one per tap) adds into the window it read.
/// let g = ConvGeometry { c_in: 1, h: 3, w: 3, c_out: 1, k: 2, stride: 1, h_out: 2, w_out: 2 };
/// let d_cols = [1.0; 16];
/// let mut dx = [0.0; 9];
/// fold(&g, &d_cols, &[0, 1, 3, 4], &mut dx);
/// assert_eq!(dx, [1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
/// ```
pub fn fold<F: Float>(g: &ConvGeometry, d_cols: &[F], kernel_offsets: &[usize], dxs: &mut [F]) {
    let sizes = check_fold(g, d_cols.len(), kernel_offsets, dxs.len());
    fold_checked(g, d_cols, kernel_offsets, dxs, sizes);
}

/// [`fold`] past its checks, with the sizes [`check_fold`] gave.
fn fold_checked<F: Float>(
    g: &ConvGeometry,
    d_cols: &[F],
    kernel_offsets: &[usize],
    dxs: &mut [F],
    (in_len, positions, ld): (usize, usize, usize),
) {
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

/// `(C_IN·H'·W', P, B·P)` for a fold into `dxs` values, after checking
/// that the geometry is a convolution's, that there is an offset per tap
/// and a row of the unfolded gradient per offset, and that `dxs` is whole
/// padded samples.
fn check_fold(
    g: &ConvGeometry,
    d_cols: usize,
    kernel_offsets: &[usize],
    dxs: usize,
) -> (usize, usize, usize) {
    g.sample_sizes();
    let (hp, wp) = g.padded_size();
    let (in_len, positions) = (g.c_in * hp * wp, g.positions());
    check_len("kernel_offsets", kernel_offsets.len(), g.patch_len());
    let ld = samples("dx", dxs, in_len) * positions;
    super::check_matrices(&[("d_cols", d_cols, kernel_offsets.len(), ld)]);
    (in_len, positions, ld)
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

/// [`fold`] of `f32`: where AVX-512 is selected, the stride is 1, a padded
/// input plane has at most 32 values and an output plane at most 16 (the
/// reference CNN's last convolution: 5×5 and 3×3), each input channel's
/// plane is summed in two vectors and stored once. Each tap's row of the
/// unfolded gradient is one load, its values permuted to their places in
/// the window the tap read. (Adding into the planes in memory instead
/// waits on every store: each tap's window overlaps the last one's.)
pub(crate) fn fold_f32(
    g: &ConvGeometry,
    d_cols: &[f32],
    kernel_offsets: &[usize],
    dxs: &mut [f32],
) {
    let sizes = check_fold(g, d_cols.len(), kernel_offsets, dxs.len());
    #[cfg(target_arch = "x86_64")]
    {
        let (hp, wp) = g.padded_size();
        let (plane, taps, positions) = (hp * wp, g.k * g.k, g.positions());
        if super::Isa::selected() == super::Isa::Avx512
            && g.stride == 1
            && plane <= 2 * LANES
            && positions <= LANES
            && taps <= 2 * LANES
            && g.c_in > 0
            && kernel_offsets.len() == g.c_in * taps
        {
            let batch = dxs.len() / (g.c_in * plane).max(1);
            let ld = batch * positions;
            // The lanes of a window that hold outputs: row oh, column ow at oh·W' + ow.
            let window = (0..g.h_out)
                .flat_map(|oh| (0..g.w_out).map(move |ow| oh * wp + ow))
                .fold(0u32, |mask, lane| mask | 1 << lane);
            let span = 32 - window.leading_zeros() as usize;
            // Every channel's taps at the same places in its plane, inside it.
            let (first_taps, _) = kernel_offsets.split_at(taps);
            let same = kernel_offsets.iter().enumerate().all(|(r, &tap)| {
                let c = r / taps.max(1);
                tap.checked_sub(c * plane) == Some(first_taps[r % taps.max(1)])
            });
            let inside = first_taps
                .iter()
                .all(|&tap| tap.checked_add(span).is_some_and(|end| end <= plane));
            assert!(same && inside, "a tap outside its channel's plane");
            assert!(
                kernel_offsets
                    .len()
                    .checked_mul(ld)
                    .is_some_and(|values| d_cols.len() >= values),
                "the unfolded gradient holds a row per tap"
            );
            let mut spreads = [Spread::default(); 2 * LANES];
            for (spread, &tap) in spreads.iter_mut().zip(first_taps) {
                *spread = Spread::of(window.checked_shl(tap as u32).unwrap_or(0));
            }
            let spreads = &spreads[..taps];
            dxs.par_chunks_exact_mut((g.c_in * plane).max(1))
                .enumerate()
                .for_each(|(b, dx)| {
                    let rows = (b * positions, ld, positions);
                    // SAFETY: AVX-512F runs here (`Isa::selected`). Row r of
                    // the sample, `positions` values from `r·ld + b·positions`,
                    // lies inside `d_cols` by the assertion above; `dx` is
                    // `C_IN` planes of `plane` values.
                    unsafe { fold_sample(d_cols, rows, spreads, plane, dx) };
                });
            return;
        }
    }
    fold_checked(g, d_cols, kernel_offsets, dxs, sizes);
}

/// Lanes of an AVX-512 vector of `f32`.
#[cfg(target_arch = "x86_64")]
const LANES: usize = 16;

/// Where one tap's values go in a plane of up to 32 values, as two
/// vectors: lane `L` (of `low`, or of `high` for `L >= 16`) takes value
/// `index[L]` of the tap's row where its mask bit is set, else zero.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Default)]
struct Spread {
    low: (u16, [i32; LANES]),
    high: (u16, [i32; LANES]),
}

#[cfg(target_arch = "x86_64")]
impl Spread {
    /// The `i`-th value of a row to the `i`-th set bit of `window`.
    fn of(window: u32) -> Self {
        let mut index = [0i32; 2 * LANES];
        let mut next = 0;
        for (lane, index) in index.iter_mut().enumerate() {
            if window >> lane & 1 == 1 {
                *index = next;
                next += 1;
            }
        }
        let (low, high) = index.split_at(LANES);
        Self {
            low: (window as u16, low.try_into().expect("16 lanes")),
            high: ((window >> LANES) as u16, high.try_into().expect("16 lanes")),
        }
    }
}

/// One sample's planes `dx` (`C_IN` of `plane` values) from its rows of
/// the unfolded gradient, `rows = (first, ld, positions)`: row `r` is
/// `d_cols[r·ld + first..][..positions]`, channel `c`'s taps are rows
/// `c·taps..(c + 1)·taps` with `taps = spreads.len()`.
///
/// # Safety
/// AVX-512F runs here; every such row lies inside `d_cols`; `positions <=
/// 16` and `plane <= 32`; each spread's set lanes are below `plane` and
/// index values below `positions`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fold_sample(
    d_cols: &[f32],
    (first, ld, positions): (usize, usize, usize),
    spreads: &[Spread],
    plane: usize,
    dx: &mut [f32],
) {
    use std::arch::x86_64::{
        __m512i, _mm512_add_ps, _mm512_loadu_si512, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps,
        _mm512_maskz_permutexvar_ps, _mm512_setzero_ps,
    };
    let row_lanes = lanes(positions);
    let (low_len, high_len) = (plane.min(LANES), plane.saturating_sub(LANES));
    let taps = spreads.len();
    for (c, dx) in dx.chunks_exact_mut(plane.max(1)).enumerate() {
        let (mut low, mut high) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        for (t, spread) in spreads.iter().enumerate() {
            // SAFETY: the row lies inside `d_cols` (the contract); the
            // index vectors are 16 `i32` each.
            unsafe {
                let row = d_cols.as_ptr().add((c * taps + t) * ld + first);
                let values = _mm512_maskz_loadu_ps(row_lanes, row);
                let index =
                    |lanes: &[i32; LANES]| _mm512_loadu_si512(lanes.as_ptr().cast::<__m512i>());
                let (low_mask, low_index) = &spread.low;
                let (high_mask, high_index) = &spread.high;
                let spread_low = _mm512_maskz_permutexvar_ps(*low_mask, index(low_index), values);
                let spread_high =
                    _mm512_maskz_permutexvar_ps(*high_mask, index(high_index), values);
                low = _mm512_add_ps(low, spread_low);
                high = _mm512_add_ps(high, spread_high);
            }
        }
        // SAFETY: the stores write the plane's `plane` values alone.
        unsafe {
            _mm512_mask_storeu_ps(dx.as_mut_ptr(), lanes(low_len), low);
            _mm512_mask_storeu_ps(dx.as_mut_ptr().add(low_len), lanes(high_len), high);
        }
    }
}

/// A mask of the first `n` (at most 16) lanes.
#[cfg(target_arch = "x86_64")]
fn lanes(n: usize) -> u16 {
    ((1u32 << n.min(LANES)) - 1) as u16
}
