//! Single-precision matrix products: packed, cache-blocked, with
//! register-blocked micro-kernels for AVX-512 and AVX2+FMA and a portable
//! one, chosen once at run time.
//!
//! The driver follows BLIS: `C[m×n] (+)= A[m×k] · B[k×n]`, with A and B
//! read through row and column strides (so transposed operands cost no
//! copy), packed block by block into the order the micro-kernel streams,
//! and an epilogue applied to each finished block while it is in cache
//! (a bias and an activation, for a fused layer).

mod driver;
mod isa;
mod microkernel;
mod operand;
mod pack;
mod simd_pack;

pub use isa::Isa;
pub use operand::{Gather, MatRef, Operand};

/// Called on each finished block of C, row by row: `(row, first column,
/// values)` where `values` are that row's columns of the block, still in cache.
pub trait Epilogue: Sync {
    /// Finishes one row segment of a tile.
    fn apply(&self, row: usize, col: usize, values: &mut [f32]);
}

/// No epilogue.
pub struct NoEpilogue;

impl Epilogue for NoEpilogue {
    fn apply(&self, _row: usize, _col: usize, _values: &mut [f32]) {}
}

impl<E: Fn(usize, usize, &mut [f32]) + Sync> Epilogue for E {
    fn apply(&self, row: usize, col: usize, values: &mut [f32]) {
        self(row, col, values)
    }
}

/// `c[m×n] = a[m×k] · b[k×n]` (or `+=` when `accumulate`), `c` row-major,
/// then `epilogue` on each finished block; on the selected instruction set,
/// split over threads when large.
///
/// # Panics
///
/// If `m·n` overflows or `c` holds fewer than `m·n` values, or if `a` or
/// `b` does not hold every value of its `m×k` or `k×n` (a strided operand
/// reads `data[i·row_stride + j·col_stride]`, a gathered one
/// `data[row_offsets[i] + col_offsets[j]]`).
///
/// ```
/// use keelnet::kernels::{MatRef, NoEpilogue, sgemm};
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let mut c = [0.0; 4];
/// // c = a · aᵀ
/// sgemm(2, 2, 2, MatRef::row_major(&a, 2), MatRef::transposed(&a, 2), &mut c, false, &NoEpilogue);
/// assert_eq!(c, [5.0, 11.0, 11.0, 25.0]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sgemm<'a>(
    m: usize,
    n: usize,
    k: usize,
    a: impl Into<Operand<'a>>,
    b: impl Into<Operand<'a>>,
    c: &mut [f32],
    accumulate: bool,
    epilogue: &dyn Epilogue,
) {
    sgemm_on(Isa::selected(), m, n, k, a, b, c, accumulate, epilogue);
}

/// [`sgemm`] on a given instruction set (which this CPU must run; the
/// portable one otherwise). Tests use it to check every path.
///
/// # Panics
///
/// As [`sgemm`].
///
/// ```
/// use keelnet::kernels::{Isa, MatRef, NoEpilogue, sgemm_on};
/// let mut c = [0.0];
/// sgemm_on(Isa::Portable, 1, 1, 2, MatRef::row_major(&[1.0, 2.0], 2), MatRef::row_major(&[3.0, 4.0], 1), &mut c, false, &NoEpilogue);
/// assert_eq!(c, [11.0]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sgemm_on<'a>(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: impl Into<Operand<'a>>,
    b: impl Into<Operand<'a>>,
    c: &mut [f32],
    accumulate: bool,
    epilogue: &dyn Epilogue,
) {
    let (a, b) = (a.into(), b.into());
    driver::product(isa, (m, n, k), (a, b), c, accumulate, epilogue);
}
