//! The direct convolution's weight-gradient sums over wide planes:
//! `d_weight[i][t] += Σ_p dz[i][p] · x[p + taps[t]]`, a few output channels
//! at a time, so that each load of the input feeds several products.

/// Output channels summed together by the AVX2 kernel.
const CHANNELS: usize = 4;
/// Taps summed together by the AVX2 kernel (4 × 3 accumulators of 8 lanes).
#[cfg(target_arch = "x86_64")]
const TAPS: usize = 3;

/// `d_weight[i·n + t] += Σ_{p < len} dz[i·len + p] · x[p + taps[t]]` for
/// each of the `dz.len() / len` planes `i` and each of the `n = taps.len()`
/// taps, by plain loops.
///
/// # Panics
///
/// If `x` ends before `len` values from a tap, or `d_weight` holds fewer
/// than `n` sums a plane.
///
/// ```
/// let (dz, x) = ([1.0, 2.0], [1.0, 10.0, 100.0]);
/// let mut d_weight = [0.0; 2];
/// keelnet::kernels::tap_sums(&dz, 2, &x, &[0, 1], &mut d_weight);
/// assert_eq!(d_weight, [21.0, 210.0]);
/// ```
pub fn tap_sums<F: crate::Float>(
    dz: &[F],
    len: usize,
    x: &[F],
    taps: &[usize],
    d_weight: &mut [F],
) {
    check_sizes((dz.len(), len), x.len(), taps, d_weight.len());
    tap_sums_checked(dz, len, x, taps, d_weight);
}

/// [`tap_sums`] past its checks.
fn tap_sums_checked<F: crate::Float>(
    dz: &[F],
    len: usize,
    x: &[F],
    taps: &[usize],
    d_weight: &mut [F],
) {
    let n = taps.len();
    for (i, dz) in dz.chunks_exact(len.max(1)).enumerate() {
        for (t, &tap) in taps.iter().enumerate() {
            let x = &x[tap..][..len];
            d_weight[i * n + t] += dz.iter().zip(x).map(|(&d, &v)| d * v).sum::<F>();
        }
    }
}

/// Panics unless every `x[p + tap]` with `p < len` lies inside `x` and
/// `d_weight` holds a sum per plane of `dz` and tap: what the unchecked
/// loads rely on.
fn check_sizes((dz, len): (usize, usize), x: usize, taps: &[usize], d_weight: usize) {
    if len == 0 || taps.is_empty() {
        return;
    }
    let max_tap = taps.iter().copied().max().unwrap_or(0);
    assert!(
        len.checked_add(max_tap).is_some_and(|end| x >= end),
        "the input ({x} values) ends before the last tap ({max_tap}) plus {len}"
    );
    let (planes, n) = (dz / len, taps.len());
    assert!(
        planes.checked_mul(n).is_some_and(|sums| d_weight >= sums),
        "d_weight holds {d_weight} values, not {planes}×{n} sums"
    );
}

/// [`tap_sums`] of `f32`: four planes at a time in AVX2 registers where the
/// selected instruction set allows it, the rest by plain loops.
pub(crate) fn tap_sums_f32(
    dz: &[f32],
    len: usize,
    x: &[f32],
    taps: &[usize],
    d_weight: &mut [f32],
) {
    let n = taps.len();
    let planes = dz.len() / len.max(1);
    let whole = if cfg!(target_arch = "x86_64") && super::Isa::selected() >= super::Isa::Avx2 {
        planes / CHANNELS * CHANNELS
    } else {
        0
    };
    check_sizes((dz.len(), len), x.len(), taps, d_weight.len());
    #[cfg(target_arch = "x86_64")]
    for block in (0..whole).step_by(CHANNELS) {
        // SAFETY: AVX2 and FMA run here (the selected instruction set);
        // the block's planes and sums lie inside dz and d_weight, and every
        // x[p + tap] with p < len inside x (asserted above).
        unsafe {
            tap_sums_avx2(
                &dz[block * len..][..CHANNELS * len],
                len,
                x,
                taps,
                &mut d_weight[block * n..][..CHANNELS * n],
            )
        };
    }
    tap_sums_checked(&dz[whole * len..], len, x, taps, &mut d_weight[whole * n..]);
}

/// [`tap_sums`] of four planes: eight positions at a time, the sums of
/// four planes and three taps in twelve registers.
///
/// # Safety
/// AVX2 and FMA run here; `dz` holds four planes of `len`, `d_weight`
/// four rows of `taps.len()`, and `x` every `x[p + tap]` with `p < len`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tap_sums_avx2(dz: &[f32], len: usize, x: &[f32], taps: &[usize], d_weight: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = taps.len();
    let full = len / 8 * 8;
    for t0 in (0..n).step_by(TAPS) {
        let group = TAPS.min(n - t0);
        // The group's taps, the last repeated where the group is short (its
        // sums are computed and dropped).
        let tap: [usize; TAPS] = std::array::from_fn(|j| taps[t0 + j.min(group - 1)]);
        let mut acc = [[_mm256_setzero_ps(); TAPS]; CHANNELS];
        for p in (0..full).step_by(8) {
            // SAFETY: p + 8 <= len, so the loads lie inside each plane of
            // dz and, shifted by a tap, inside x (the contract).
            unsafe {
                let xs = tap.map(|tap| _mm256_loadu_ps(x.as_ptr().add(p + tap)));
                for (i, acc) in acc.iter_mut().enumerate() {
                    let d = _mm256_loadu_ps(dz.as_ptr().add(i * len + p));
                    for (acc, &xs) in acc.iter_mut().zip(&xs) {
                        *acc = _mm256_fmadd_ps(d, xs, *acc);
                    }
                }
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            for (j, &acc) in acc.iter().enumerate().take(group) {
                let mut lanes = [0.0f32; 8];
                // SAFETY: `lanes` holds eight values.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
                let dz = &dz[i * len..][full..len];
                let tail: f32 = dz
                    .iter()
                    .zip(&x[tap[j] + full..])
                    .map(|(&d, &v)| d * v)
                    .sum();
                d_weight[i * n + t0 + j] += lanes.iter().sum::<f32>() + tail;
            }
        }
    }
}
