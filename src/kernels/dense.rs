//! The fully connected layer's kernels: bias and activation fused into the
//! matrix product's epilogue.

use crate::kernels::GemmShape;
use crate::{Activation, Float};

use super::sum_rows;

/// `y[b×out] = act(x[b×in] · w[in×out] + bias[out])`; the bias and an
/// elementwise activation are applied to each tile of the product as it is
/// finished, a softmax to whole rows after.
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
    let elementwise = A::ELEMENTWISE;
    let shape = GemmShape {
        m: rows,
        n: n_out,
        k: n_in,
        a_transposed: false,
        b_transposed: false,
        accumulate: false,
    };
    F::gemm(shape, x, w, y, &|_row, col, values: &mut [F]| {
        for (v, &b) in values.iter_mut().zip(&bias[col..]) {
            *v += b;
        }
        if elementwise {
            A::forward(values);
        }
    });
    if !elementwise {
        for row in y.chunks_exact_mut(n_out.max(1)) {
            A::forward(row);
        }
    }
}

/// Backward of [`dense_forward`] from `dz` = dL/d(pre-activation):
/// `dw = xᵀ·dz`, `dbias = Σ_rows dz`, and `dx = dz·wᵀ` when asked, the
/// transposes read in place.
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
    let nothing = |_: usize, _: usize, _: &mut [F]| {};
    // dw[in×out] = x[rows×in]ᵀ · dz[rows×out]
    let weight_grad = GemmShape {
        m: n_in,
        n: n_out,
        k: rows,
        a_transposed: true,
        b_transposed: false,
        accumulate: false,
    };
    F::gemm(weight_grad, x, dz, dw, &nothing);
    sum_rows(dz, dbias);
    if let Some(dx) = dx {
        // dx[rows×in] = dz[rows×out] · w[in×out]ᵀ
        let input_grad = GemmShape {
            m: rows,
            n: n_in,
            k: n_out,
            a_transposed: false,
            b_transposed: true,
            accumulate: false,
        };
        F::gemm(input_grad, dz, w, dx, &nothing);
    }
}
