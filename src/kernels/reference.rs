//! Matrix products as plain loops: the reference the fast kernels are
//! tested against, and the path of `f64`.
//!
//! Each panics if a buffer holds fewer values than its matrix, or if a
//! matrix's size overflows; longer buffers are read from the start.

use crate::Float;
use crate::kernels::Gather;
use crate::kernels::GemmShape;

/// `c[m×n] = a[m×k] · b[k×n]`.
///
/// ```
/// let a = [1.0, 2.0, 3.0, 4.0]; // 2×2
/// let b = [1.0, 0.0, 0.0, 1.0];
/// let mut c = [0.0; 4];
/// keelnet::kernels::reference::matmul(&a, &b, &mut c, 2, 2, 2);
/// assert_eq!(c, a);
/// ```
pub fn matmul<F: Float>(a: &[F], b: &[F], c: &mut [F], m: usize, k: usize, n: usize) {
    super::check_matrices(&[
        ("a", a.len(), m, k),
        ("b", b.len(), k, n),
        ("c", c.len(), m, n),
    ]);
    for (a_row, c_row) in a.chunks_exact(k.max(1)).zip(c.chunks_exact_mut(n.max(1))) {
        c_row.fill(F::zero());
        for (&a_ip, b_row) in a_row.iter().zip(b.chunks_exact(n.max(1))) {
            for (c, &b) in c_row.iter_mut().zip(b_row) {
                *c += a_ip * b;
            }
        }
    }
}

/// `c[k×n] = a[m×k]ᵀ · b[m×n]` (a weight gradient: inputs ᵀ · output gradients).
///
/// ```
/// let a = [1.0, 2.0]; // 1×2
/// let b = [3.0];      // 1×1
/// let mut c = [0.0; 2];
/// keelnet::kernels::reference::matmul_at_b(&a, &b, &mut c, 1, 2, 1);
/// assert_eq!(c, [3.0, 6.0]);
/// ```
pub fn matmul_at_b<F: Float>(a: &[F], b: &[F], c: &mut [F], m: usize, k: usize, n: usize) {
    super::check_matrices(&[
        ("a", a.len(), m, k),
        ("b", b.len(), m, n),
        ("c", c.len(), k, n),
    ]);
    c.fill(F::zero());
    for (a_row, b_row) in a.chunks_exact(k.max(1)).zip(b.chunks_exact(n.max(1))) {
        for (&a_ip, c_row) in a_row.iter().zip(c.chunks_exact_mut(n.max(1))) {
            for (c, &b) in c_row.iter_mut().zip(b_row) {
                *c += a_ip * b;
            }
        }
    }
}

/// `c[m×k] = a[m×n] · b[k×n]ᵀ` (an input gradient: output gradients · weightsᵀ).
///
/// ```
/// let a = [1.0, 1.0]; // 1×2
/// let b = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3×2
/// let mut c = [0.0; 3];
/// keelnet::kernels::reference::matmul_a_bt(&a, &b, &mut c, 1, 3, 2);
/// assert_eq!(c, [3.0, 7.0, 11.0]);
/// ```
pub fn matmul_a_bt<F: Float>(a: &[F], b: &[F], c: &mut [F], m: usize, k: usize, n: usize) {
    super::check_matrices(&[
        ("a", a.len(), m, n),
        ("b", b.len(), k, n),
        ("c", c.len(), m, k),
    ]);
    for (a_row, c_row) in a.chunks_exact(n.max(1)).zip(c.chunks_exact_mut(k.max(1))) {
        for (c, b_row) in c_row.iter_mut().zip(b.chunks_exact(n.max(1))) {
            *c = dot(a_row, b_row);
        }
    }
}

/// `Σ a_i b_i`, in eight independent sums so that the loop vectorizes.
fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    const LANES: usize = 8;
    let mut sums = [F::zero(); LANES];
    let (a_main, a_tail) = a.split_at(a.len() / LANES * LANES);
    let (b_main, b_tail) = b.split_at(a_main.len());
    for (a, b) in a_main.chunks_exact(LANES).zip(b_main.chunks_exact(LANES)) {
        for lane in 0..LANES {
            sums[lane] += a[lane] * b[lane];
        }
    }
    let tail: F = a_tail.iter().zip(b_tail).map(|(&a, &b)| a * b).sum();
    sums.iter().copied().sum::<F>() + tail
}

/// `c (+)= op(a) · op(b)` as described by `shape`, by the loops above.
///
/// ```
/// use keelnet::kernels::GemmShape;
/// let (a, b) = ([1.0, 2.0], [3.0, 4.0]);
/// let mut c = [1.0];
/// let shape = GemmShape { m: 1, n: 1, k: 2, a_transposed: false, b_transposed: true, accumulate: true };
/// keelnet::kernels::reference::gemm(shape, &a, &b, &mut c);
/// assert_eq!(c, [12.0]);
/// ```
pub fn gemm<F: Float>(shape: GemmShape, a: &[F], b: &[F], c: &mut [F]) {
    let GemmShape { m, n, k, .. } = shape;
    super::check_matrices(&[
        ("a", a.len(), m, k),
        ("b", b.len(), k, n),
        ("c", c.len(), m, n),
    ]);
    let c = &mut c[..m * n];
    let mut product = vec![F::zero(); if shape.accumulate { m * n } else { 0 }];
    let out = if shape.accumulate {
        &mut product[..]
    } else {
        &mut *c
    };
    match (shape.a_transposed, shape.b_transposed) {
        (false, false) => matmul(a, b, out, m, k, n),
        (true, false) => matmul_at_b(a, b, out, k, m, n),
        (false, true) => matmul_a_bt(a, b, out, m, n, k),
        (true, true) => {
            for i in 0..m {
                for j in 0..n {
                    out[i * n + j] = (0..k).map(|p| a[p * m + i] * b[j * k + p]).sum();
                }
            }
        }
    }
    if shape.accumulate {
        c.iter_mut().zip(product).for_each(|(c, p)| *c += p);
    }
}

/// `c (+)= op(a) · b` for a gathered `b` (`shape.b_transposed` is ignored:
/// the offsets say where each element is), by unfolding `b` and the loops
/// above.
///
/// ```
/// use keelnet::kernels::GemmShape;
/// use keelnet::kernels::Gather;
/// let b = Gather { data: &[1.0, 2.0, 3.0][..], row_offsets: &[0, 1], col_offsets: &[0, 1] };
/// let mut c = [0.0; 2];
/// let shape = GemmShape { m: 1, n: 2, k: 2, a_transposed: false, b_transposed: false, accumulate: false };
/// keelnet::kernels::reference::gemm_gathered(shape, &[1.0, 1.0], b, &mut c);
/// assert_eq!(c, [3.0, 5.0]); // rows [1, 2] and [2, 3]
/// ```
pub fn gemm_gathered<F: Float>(shape: GemmShape, a: &[F], b: Gather<'_, F>, c: &mut [F]) {
    let (k, n) = (shape.k, shape.n);
    super::check_matrices(&[("b", usize::MAX, k, n)]);
    let unfolded: Vec<F> = (0..k * n).map(|e| b.at(e / n, e % n)).collect();
    let shape = GemmShape {
        b_transposed: false,
        ..shape
    };
    gemm(shape, a, &unfolded, c);
}
