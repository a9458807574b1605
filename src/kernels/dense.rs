//! The fully connected layer's kernels, activation fused.

use crate::{Activation, Float};

use super::{add_bias_rows, matmul, matmul_a_bt, matmul_at_b, sum_rows};

/// `y[b×out] = act(x[b×in] · w[in×out] + bias[out])`.
///
/// ```
/// use keelnet::ReLU;
/// let mut y = [0.0; 2];
/// keelnet::kernels::dense_forward::<f32, ReLU>(&[1.0, 2.0], &[1.0, -1.0, 1.0, -1.0], &[0.5, 0.5], &mut y);
/// assert_eq!(y, [3.5, 0.0]);
/// ```
pub fn dense_forward<F: Float, A: Activation>(x: &[F], w: &[F], bias: &[F], y: &mut [F]) {
    let (n_out, n_in) = (bias.len(), w.len() / bias.len().max(1));
    let rows = y.len() / n_out.max(1);
    matmul(x, w, y, rows, n_in, n_out);
    add_bias_rows(y, bias);
    for row in y.chunks_exact_mut(n_out.max(1)) {
        A::forward(row);
    }
}

/// Backward of [`dense_forward`] from `dz` = dL/d(pre-activation):
/// `dw = xᵀ·dz`, `dbias = Σ_rows dz`, and `dx = dz·wᵀ` when asked.
///
/// ```
/// let (mut dw, mut db, mut dx) = ([0.0; 2], [0.0; 1], [0.0; 2]);
/// keelnet::kernels::dense_backward(&[1.0, 2.0], &[3.0, 4.0], &[0.5], &mut dw, &mut db, Some(&mut dx));
/// assert_eq!((dw, db, dx), ([0.5, 1.0], [0.5], [1.5, 2.0]));
/// ```
pub fn dense_backward<F: Float>(
    x: &[F],
    w: &[F],
    dz: &[F],
    dw: &mut [F],
    dbias: &mut [F],
    dx: Option<&mut [F]>,
) {
    let (n_out, n_in) = (dbias.len(), w.len() / dbias.len().max(1));
    let rows = dz.len() / n_out.max(1);
    matmul_at_b(x, dz, dw, rows, n_in, n_out);
    sum_rows(dz, dbias);
    if let Some(dx) = dx {
        matmul_a_bt(dz, w, dx, rows, n_in, n_out);
    }
}
