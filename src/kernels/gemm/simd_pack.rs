//! AVX2 packs for the operands whose packed order runs across their stored
//! order: blocks of 8×8 values transposed in registers (A stored by rows,
//! B stored by columns), and gathered operands eight values per gather
//! instruction. A scalar copy of such a block writes each value to a
//! different cache line; eight loads, 24 shuffles and eight stores do the
//! same.

#[cfg(target_arch = "x86_64")]
use crate::kernels::transpose::transpose_8x8;

/// Copies `depth` values from each of `width` source lines (line `r` at
/// `src[r·ld_src..]`, its values consecutive) into `depth` packed groups
/// of `width` values (group `p` at `dst[p·ld_dst..]`): `dst[p·ld_dst + r]
/// = src[r·ld_src + p]`. Done for slivers of 6 or 8 lines where AVX2 runs;
/// `false`, and nothing done, otherwise.
pub fn lines_to_groups(
    width: usize,
    (src, ld_src): (&[f32], usize),
    (dst, ld_dst): (&mut [f32], usize),
    depth: usize,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 runs here.
        match width {
            6 => unsafe { lines_to_groups_avx2::<6>((src, ld_src), (dst, ld_dst), depth) },
            8 => unsafe { lines_to_groups_avx2::<8>((src, ld_src), (dst, ld_dst), depth) },
            _ => return false,
        }
        return true;
    }
    let _ = (width, src, ld_src, dst, ld_dst, depth);
    false
}

/// [`lines_to_groups`] of `R` lines: whole blocks of eight values of each
/// line transposed in registers, the rest one value at a time.
///
/// # Safety
/// AVX2 runs here.
#[cfg(target_arch = "x86_64")]
unsafe fn lines_to_groups_avx2<const R: usize>(
    (src, ld_src): (&[f32], usize),
    (dst, ld_dst): (&mut [f32], usize),
    depth: usize,
) {
    const { assert!(R == 6 || R == 8, "a sliver of 6 or 8 lines") };
    if depth == 0 {
        return;
    }
    assert!(
        (R - 1)
            .checked_mul(ld_src)
            .and_then(|start| start.checked_add(depth))
            .is_some_and(|end| src.len() >= end),
        "source lines too short"
    );
    assert!(
        (depth - 1)
            .checked_mul(ld_dst)
            .and_then(|start| start.checked_add(R))
            .is_some_and(|end| dst.len() >= end),
        "destination too short"
    );
    let whole = depth / 8 * 8;
    for p in (0..whole).step_by(8) {
        // SAFETY: AVX2 runs here (the caller's contract); lines r < R hold
        // p + 8 <= depth values, and groups p..p + 8 lie inside dst (both
        // asserted above).
        unsafe {
            transpose_8x8::<R>(
                src.as_ptr().add(p),
                ld_src,
                dst.as_mut_ptr().add(p * ld_dst),
                ld_dst,
            )
        };
    }
    for p in whole..depth {
        for r in 0..R {
            dst[p * ld_dst + r] = src[r * ld_src + p];
        }
    }
}

/// Gathers a whole sliver from a gathered operand: `dst[p·width + i] =
/// data[along[p] + across[i]]` for every depth `p`, where `across` fills
/// the `width` (a multiple of eight), eight values per AVX2 gather. `false`,
/// and nothing done, where AVX2 does not run or the sliver is not whole.
pub fn gather_groups(
    data: &[f32],
    (along, across): (&[usize], &[usize]),
    width: usize,
    dst: &mut [f32],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2")
        && across.len() == width
        && width.is_multiple_of(8)
        && width <= 32
        && along
            .len()
            .checked_mul(width)
            .is_some_and(|values| dst.len() >= values)
    {
        let (Some(&last_along), Some(&last_across)) = (along.iter().max(), across.iter().max())
        else {
            return true;
        };
        let inside = last_along
            .checked_add(last_across)
            .is_some_and(|last| last < data.len());
        if !inside || last_across > i32::MAX as usize {
            return false;
        }
        let mut offsets = [0i32; 32];
        for (o, &a) in offsets.iter_mut().zip(across) {
            *o = a as i32;
        }
        // SAFETY: AVX2 runs here; every index along[p] + across[i] is below
        // data.len() (checked above), and dst holds along.len()·width values.
        unsafe { gather_groups_avx2(data, along, (&offsets, width), dst) };
        return true;
    }
    let _ = (data, along, across, width, dst);
    false
}

/// [`gather_groups`] past its checks: `offsets[..width]` are the offsets
/// across, the rest zeros.
///
/// # Safety
/// AVX2 runs here; `along[p] + offsets[i] < data.len()` for all `p`, `i`;
/// `width` is a multiple of 8 up to 32; `dst` holds `along.len()·width`
/// values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gather_groups_avx2(
    data: &[f32],
    along: &[usize],
    (offsets, width): (&[i32; 32], usize),
    dst: &mut [f32],
) {
    use std::arch::x86_64::*;
    // SAFETY: offsets holds 32 values, four groups of eight.
    let indices: [__m256i; 4] =
        std::array::from_fn(|g| unsafe { _mm256_loadu_si256(offsets.as_ptr().add(8 * g).cast()) });
    // A group whose eight offsets are consecutive is one plain load.
    let consecutive: [bool; 4] = std::array::from_fn(|g| {
        let group = &offsets[8 * g..8 * g + 8];
        group.windows(2).all(|w| w[1] == w[0] + 1)
    });
    for (p, &depth) in along.iter().enumerate() {
        for g in 0..width / 8 {
            // SAFETY: depth + offsets[i] < data.len() (the contract), so a
            // consecutive group's eight values lie inside data; group g of
            // depth p lies inside dst.
            unsafe {
                let base = data.as_ptr().add(depth);
                let values = if consecutive[g] {
                    _mm256_loadu_ps(base.add(offsets[8 * g] as usize))
                } else {
                    _mm256_i32gather_ps::<4>(base, indices[g])
                };
                _mm256_storeu_ps(dst.as_mut_ptr().add(p * width + 8 * g), values);
            }
        }
    }
}
