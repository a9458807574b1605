//! Strided transposes: lines of values into groups, many at once. They
//! change a sample's layout between channel by channel and channels-last
//! for Winograd's transforms, and the GEMM packs use their 8×8 block.
//!
//! `f32` transposes 8×8 blocks in AVX2 registers (eight loads, 24
//! shuffles, eight stores, where a scalar copy writes each value to a
//! different cache line), the whole batch in one call.

#[cfg(target_arch = "x86_64")]
use super::Isa;

/// A batch of `count` transposes of `lines` lines of `depth` values into
/// `depth` groups of `lines` values:
///
/// ```text
/// dst[b·dst_next + p·dst_group + r] = src[b·src_next + r·src_line + p]
///     for b < count, r < lines, p < depth
/// ```
///
/// A line's values are consecutive in the source, a group's in the
/// destination.
///
/// ```
/// use keelnet::kernels::{Transpose, WinogradKernels};
/// // Two 2×3 matrices side by side in rows of 6, each into a 3×2 matrix.
/// let src = [1.0f32, 2.0, 3.0, 10.0, 20.0, 30.0, 4.0, 5.0, 6.0, 40.0, 50.0, 60.0];
/// let mut dst = [0.0f32; 12];
/// let t = Transpose { lines: 2, depth: 3, count: 2, src_line: 6, src_next: 3, dst_group: 2, dst_next: 6 };
/// f32::transpose(&t, &src, &mut dst);
/// assert_eq!(dst, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0, 10.0, 40.0, 20.0, 50.0, 30.0, 60.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transpose {
    /// Lines of the source (values in a group of the destination).
    pub lines: usize,
    /// Values in a line (groups of the destination).
    pub depth: usize,
    /// Transposes in the batch.
    pub count: usize,
    /// Distance between lines in the source.
    pub src_line: usize,
    /// Distance between one transpose's source and the next's.
    pub src_next: usize,
    /// Distance between groups in the destination.
    pub dst_group: usize,
    /// Distance between one transpose's destination and the next's.
    pub dst_next: usize,
}

impl Transpose {
    /// The batch that undoes this one: groups back into lines.
    ///
    /// ```
    /// use keelnet::kernels::{Transpose, transpose};
    /// let t = Transpose { lines: 2, depth: 3, count: 1, src_line: 3, src_next: 0, dst_group: 2, dst_next: 0 };
    /// let (src, mut mid, mut back) = ([1, 2, 3, 4, 5, 6], [0; 6], [0; 6]);
    /// transpose(&t, &src, &mut mid);
    /// transpose(&t.inverse(), &mid, &mut back);
    /// assert_eq!(back, src);
    /// ```
    pub fn inverse(&self) -> Transpose {
        Transpose {
            lines: self.depth,
            depth: self.lines,
            count: self.count,
            src_line: self.dst_group,
            src_next: self.dst_next,
            dst_group: self.src_line,
            dst_next: self.src_next,
        }
    }

    /// Values the source and the destination must hold at least; `None`
    /// when that overflows.
    fn extents(&self) -> Option<(usize, usize)> {
        if self.lines == 0 || self.depth == 0 || self.count == 0 {
            return Some((0, 0));
        }
        let last = |next: usize, (outer, outer_stride): (usize, usize), inner: usize| {
            (self.count - 1)
                .checked_mul(next)?
                .checked_add((outer - 1).checked_mul(outer_stride)?)?
                .checked_add(inner)
        };
        let src = last(self.src_next, (self.lines, self.src_line), self.depth)?;
        let dst = last(self.dst_next, (self.depth, self.dst_group), self.lines)?;
        Some((src, dst))
    }

    /// Panics unless `src` and `dst` hold every value the batch touches.
    fn check(&self, src: usize, dst: usize) {
        let (src_len, dst_len) = self.extents().expect("a transpose's extent overflows");
        assert!(src >= src_len, "source of {src} values, not {src_len}");
        assert!(dst >= dst_len, "destination of {dst} values, not {dst_len}");
    }
}

/// The batch of transposes `t` by plain loops (the reference, and the
/// kernel of other types than `f32`).
///
/// ```
/// use keelnet::kernels::{Transpose, transpose};
/// let t = Transpose { lines: 2, depth: 2, count: 1, src_line: 2, src_next: 0, dst_group: 2, dst_next: 0 };
/// let mut dst = [0u8; 4];
/// transpose(&t, &[1, 2, 3, 4], &mut dst);
/// assert_eq!(dst, [1, 3, 2, 4]);
/// ```
pub fn transpose<T: Copy>(t: &Transpose, src: &[T], dst: &mut [T]) {
    t.check(src.len(), dst.len());
    for b in 0..t.count {
        let (src, dst) = (&src[b * t.src_next..], &mut dst[b * t.dst_next..]);
        for r in 0..t.lines {
            for p in 0..t.depth {
                dst[p * t.dst_group + r] = src[r * t.src_line + p];
            }
        }
    }
}

/// [`WinogradKernels::transpose`](super::WinogradKernels::transpose) of `f32`: 8×8 blocks in
/// AVX2 registers where the selected instruction set allows it and both
/// sides are at least 8 long, plain loops otherwise.
pub(crate) fn transpose_f32(t: &Transpose, src: &[f32], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if Isa::selected() >= Isa::Avx2 && t.lines >= 8 && t.depth >= 8 {
        t.check(src.len(), dst.len());
        // SAFETY: AVX2 runs here (selected); both slices hold the batch's extent.
        unsafe { transpose_avx2(t, src.as_ptr(), dst.as_mut_ptr()) };
        return;
    }
    transpose(t, src, dst);
}

/// Where the 8-long blocks of a side of `n >= 8` start: every eighth
/// value, and a last block ending at the side's end that overlaps the one
/// before it (writing some values twice, the same each time).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn blocks(n: usize) -> impl Iterator<Item = usize> {
    let tail = (!n.is_multiple_of(8)).then(|| n - 8);
    (0..n / 8).map(|block| block * 8).chain(tail)
}

/// # Safety
/// AVX2 runs here; `t.lines` and `t.depth` are at least 8; the source and
/// destination hold `t`'s extents and do not overlap.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_avx2(t: &Transpose, src: *const f32, dst: *mut f32) {
    for b in 0..t.count {
        for r in blocks(t.lines) {
            for p in blocks(t.depth) {
                // SAFETY: r + 8 <= lines and p + 8 <= depth, so the block's
                // lines and groups lie inside the extents (the contract).
                unsafe {
                    let from = src.add(b * t.src_next + r * t.src_line + p);
                    let to = dst.add(b * t.dst_next + p * t.dst_group + r);
                    transpose_8x8::<8>(from, t.src_line, to, t.dst_group);
                }
            }
        }
    }
}

/// One 8×8 block: the first `R` lines of 8 values at `src` (`ld_src`
/// apart) become 8 groups of `R` values at `dst` (`ld_dst` apart).
///
/// # Safety
/// AVX2 runs here; `R` lines of 8 values are readable at `src`, and 8
/// groups of `R` values writable at `dst`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn transpose_8x8<const R: usize>(
    src: *const f32,
    ld_src: usize,
    dst: *mut f32,
    ld_dst: usize,
) {
    use std::arch::x86_64::*;
    // SAFETY: line r < R holds 8 values at src + r·ld_src (the contract);
    // the lines past R are zeros, never read from memory.
    let line = |r: usize| unsafe {
        if r < R {
            _mm256_loadu_ps(src.add(r * ld_src))
        } else {
            _mm256_setzero_ps()
        }
    };
    // Lines a..h; after each step, the comments show the first half (the
    // second holds the same for values 4..8).
    let (a, b, c, d) = (line(0), line(1), line(2), line(3));
    let (e, f, g, h) = (line(4), line(5), line(6), line(7));
    let ab_lo = _mm256_unpacklo_ps(a, b); // a0 b0 a1 b1
    let ab_hi = _mm256_unpackhi_ps(a, b); // a2 b2 a3 b3
    let cd_lo = _mm256_unpacklo_ps(c, d);
    let cd_hi = _mm256_unpackhi_ps(c, d);
    let ef_lo = _mm256_unpacklo_ps(e, f);
    let ef_hi = _mm256_unpackhi_ps(e, f);
    let gh_lo = _mm256_unpacklo_ps(g, h);
    let gh_hi = _mm256_unpackhi_ps(g, h);
    let abcd0 = _mm256_shuffle_ps::<0x44>(ab_lo, cd_lo); // a0 b0 c0 d0
    let abcd1 = _mm256_shuffle_ps::<0xEE>(ab_lo, cd_lo); // a1 b1 c1 d1
    let abcd2 = _mm256_shuffle_ps::<0x44>(ab_hi, cd_hi);
    let abcd3 = _mm256_shuffle_ps::<0xEE>(ab_hi, cd_hi);
    let efgh0 = _mm256_shuffle_ps::<0x44>(ef_lo, gh_lo); // e0 f0 g0 h0
    let efgh1 = _mm256_shuffle_ps::<0xEE>(ef_lo, gh_lo);
    let efgh2 = _mm256_shuffle_ps::<0x44>(ef_hi, gh_hi);
    let efgh3 = _mm256_shuffle_ps::<0xEE>(ef_hi, gh_hi);
    let groups = [
        _mm256_permute2f128_ps::<0x20>(abcd0, efgh0), // a0 .. h0
        _mm256_permute2f128_ps::<0x20>(abcd1, efgh1),
        _mm256_permute2f128_ps::<0x20>(abcd2, efgh2),
        _mm256_permute2f128_ps::<0x20>(abcd3, efgh3),
        _mm256_permute2f128_ps::<0x31>(abcd0, efgh0), // a4 .. h4
        _mm256_permute2f128_ps::<0x31>(abcd1, efgh1),
        _mm256_permute2f128_ps::<0x31>(abcd2, efgh2),
        _mm256_permute2f128_ps::<0x31>(abcd3, efgh3),
    ];
    for (p, &group) in groups.iter().enumerate() {
        // SAFETY: group p has R writable values at dst + p·ld_dst.
        unsafe {
            let at = dst.add(p * ld_dst);
            if R == 8 {
                _mm256_storeu_ps(at, group);
            } else {
                // R == 6: four values, then two.
                _mm_storeu_ps(at, _mm256_castps256_ps128(group));
                let high = _mm_castps_pd(_mm256_extractf128_ps::<1>(group));
                _mm_storel_pd(at.add(4).cast(), high);
            }
        }
    }
}
