//! Row-wise helpers: broadcasting a bias over rows and reducing rows.

use crate::Float;

/// Adds `bias[n]` to every row of `c[rows×n]`.
///
/// ```
/// let mut c = [1.0, 2.0, 3.0, 4.0];
/// keelnet::kernels::add_bias_rows(&mut c, &[10.0, 20.0]);
/// assert_eq!(c, [11.0, 22.0, 13.0, 24.0]);
/// ```
pub fn add_bias_rows<F: Float>(c: &mut [F], bias: &[F]) {
    for row in c.chunks_exact_mut(bias.len().max(1)) {
        for (c, &b) in row.iter_mut().zip(bias) {
            *c += b;
        }
    }
}

/// `out[n] = sum over rows of a[rows×n]` (a bias gradient).
///
/// ```
/// let mut out = [0.0; 2];
/// keelnet::kernels::sum_rows(&[1.0, 2.0, 3.0, 4.0], &mut out);
/// assert_eq!(out, [4.0, 6.0]);
/// ```
pub fn sum_rows<F: Float>(a: &[F], out: &mut [F]) {
    out.fill(F::zero());
    for row in a.chunks_exact(out.len().max(1)) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}
