//! Micro-kernels: `C[MR×NR] (+)= Ã · B̃` for packed slivers of depth `kc`,
//! the accumulators held in registers for the whole depth.

/// A register-blocked kernel of one instruction set.
pub trait MicroKernel {
    /// Rows of a tile.
    const MR: usize;
    /// Columns of a tile.
    const NR: usize;
    /// Whether its operands may be packed with AVX2 transposes and gathers
    /// (where the CPU runs them): the kernels of x86-64's vector
    /// instruction sets, not the portable one.
    const SIMD_PACKS: bool = false;

    /// `C (+)= A·B` for one `MR×NR` tile; row `p` of B's sliver is the
    /// `NR` values at `b[p·ldb..]` (`ldb = NR` when packed, B's own row
    /// stride when read in place).
    ///
    /// # Safety
    /// `a` holds at least `MR·kc` values, `b` at least `(kc - 1)·ldb + NR`;
    /// `c` points at `MR` rows of `NR` writable values, `ldc` apart; the CPU
    /// runs the kernel's instruction set.
    unsafe fn run(
        kc: usize,
        a: &[f32],
        b_sliver: (&[f32], usize),
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    );

    /// [`run`](Self::run) for the first `rows` (< `MR`) rows of the tile
    /// only, when the kernel has a shorter variant (the edge of C); `false`
    /// if it has none, and nothing was done.
    ///
    /// # Safety
    /// As [`run`](Self::run), with `rows` rows at `c`.
    unsafe fn run_rows(
        _rows: usize,
        _kc: usize,
        _a: &[f32],
        _b: (&[f32], usize),
        _c: *mut f32,
        _ldc: usize,
        _accumulate: bool,
    ) -> bool {
        false
    }
}

/// Plain Rust, 4×16: the compiler vectorizes the 16 columns for the baseline target.
pub struct Portable;

impl MicroKernel for Portable {
    const MR: usize = 4;
    const NR: usize = 16;

    unsafe fn run(
        kc: usize,
        a: &[f32],
        (b, ldb): (&[f32], usize),
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) {
        let mut acc = [[0.0f32; 16]; 4];
        let rows = (0..kc).map(|p| &b[p * ldb..][..16]);
        for (a, b) in a.chunks_exact(4).zip(rows) {
            for i in 0..4 {
                for j in 0..16 {
                    acc[i][j] += a[i] * b[j];
                }
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            // SAFETY: row i of the tile has 16 writable values (the caller's contract).
            let row = unsafe { std::slice::from_raw_parts_mut(c.add(i * ldc), 16) };
            for (c, &v) in row.iter_mut().zip(acc) {
                *c = if accumulate { *c + v } else { v };
            }
        }
    }
}

/// AVX2 with FMA, 6×16: twelve 8-wide accumulators.
pub struct Avx2;

impl MicroKernel for Avx2 {
    const MR: usize = 6;
    const NR: usize = 16;
    const SIMD_PACKS: bool = true;

    unsafe fn run(
        kc: usize,
        a: &[f32],
        (b, ldb): (&[f32], usize),
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees AVX2 and FMA, and the buffer sizes.
        unsafe {
            avx2_rows::<6>(kc, a.as_ptr(), (b.as_ptr(), ldb), c, ldc, accumulate)
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: forwarded contract; never selected off x86-64.
        unsafe {
            Portable::run(kc, a, (b, ldb), c, ldc, accumulate)
        }
    }

    unsafe fn run_rows(
        rows: usize,
        kc: usize,
        a: &[f32],
        (b, ldb): (&[f32], usize),
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees AVX2 and FMA, the buffer sizes, and
        // `rows` rows at `c`.
        unsafe {
            let (a, b) = (a.as_ptr(), (b.as_ptr(), ldb));
            match rows {
                1 => avx2_rows::<1>(kc, a, b, c, ldc, accumulate),
                2 => avx2_rows::<2>(kc, a, b, c, ldc, accumulate),
                3 => avx2_rows::<3>(kc, a, b, c, ldc, accumulate),
                4 => avx2_rows::<4>(kc, a, b, c, ldc, accumulate),
                5 => avx2_rows::<5>(kc, a, b, c, ldc, accumulate),
                _ => return false,
            }
            true
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    }
}

/// The first `ROWS` rows of a 6×16 tile: `ROWS` × two 8-wide accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_rows<const ROWS: usize>(
    kc: usize,
    a: *const f32,
    (b, ldb): (*const f32, usize),
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    for p in 0..kc {
        // SAFETY: p < kc, so the NR = 16 values at b + p·ldb and the MR = 6
        // values at a + 6p (of which ROWS are read) are inside the slivers.
        unsafe {
            let b0 = _mm256_loadu_ps(b.add(p * ldb));
            let b1 = _mm256_loadu_ps(b.add(p * ldb + 8));
            for (i, acc) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*a.add(p * 6 + i));
                acc[0] = _mm256_fmadd_ps(ai, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(ai, b1, acc[1]);
            }
        }
    }
    for (i, acc) in acc.iter().enumerate() {
        // SAFETY: row i of the tile has 16 writable values at c + i·ldc.
        unsafe {
            let row = c.add(i * ldc);
            for (h, &v) in acc.iter().enumerate() {
                let v = if accumulate {
                    _mm256_add_ps(_mm256_loadu_ps(row.add(8 * h)), v)
                } else {
                    v
                };
                _mm256_storeu_ps(row.add(8 * h), v);
            }
        }
    }
}

/// AVX-512F, 8×32: sixteen 16-wide accumulators.
pub struct Avx512;

impl MicroKernel for Avx512 {
    const MR: usize = 8;
    const NR: usize = 32;
    const SIMD_PACKS: bool = true;

    unsafe fn run(
        kc: usize,
        a: &[f32],
        (b, ldb): (&[f32], usize),
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
    ) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller guarantees AVX-512F, and the buffer sizes.
        unsafe {
            avx512_8x32(kc, a.as_ptr(), (b.as_ptr(), ldb), c, ldc, accumulate)
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: forwarded contract; never selected off x86-64.
        unsafe {
            Portable::run(kc, a, (b, ldb), c, ldc, accumulate)
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512_8x32(
    kc: usize,
    a: *const f32,
    (b, ldb): (*const f32, usize),
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); 2]; 8];
    for p in 0..kc {
        // SAFETY: p < kc, so the NR = 32 values at b + p·ldb and the MR = 8
        // values at a + 8p are inside the slivers.
        unsafe {
            let b0 = _mm512_loadu_ps(b.add(p * ldb));
            let b1 = _mm512_loadu_ps(b.add(p * ldb + 16));
            for (i, acc) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*a.add(p * 8 + i));
                acc[0] = _mm512_fmadd_ps(ai, b0, acc[0]);
                acc[1] = _mm512_fmadd_ps(ai, b1, acc[1]);
            }
        }
    }
    for (i, acc) in acc.iter().enumerate() {
        // SAFETY: row i of the tile has 32 writable values at c + i·ldc.
        unsafe {
            let row = c.add(i * ldc);
            for (h, &v) in acc.iter().enumerate() {
                let v = if accumulate {
                    _mm512_add_ps(_mm512_loadu_ps(row.add(16 * h)), v)
                } else {
                    v
                };
                _mm512_storeu_ps(row.add(16 * h), v);
            }
        }
    }
}
