//! The fully connected layer's kernels: bias and activation fused into the
//! matrix product's epilogue.

use crate::kernels::GemmShape;
use crate::{Activation, Float};

use super::conv::{check_len, samples};
use super::sum_rows;

/// `(out, in)` of a weight of `weights` values and a bias of `out`.
///
/// # Panics
///
/// If the bias is empty or the weight is not a whole number of its rows.
fn sizes(weights: usize, out: usize) -> (usize, usize) {
    assert!(out > 0, "a dense layer has at least one output");
    (out, samples("w", weights, out))
}

/// `y[b×out] = act(x[b×in] · w[in×out] + bias[out])`; the bias and an
/// elementwise activation are applied to each tile of the product as it is
/// finished, a softmax to whole rows after.
///
/// # Panics
///
/// If `bias` is empty, `w` is not `[in×out]` for `out = bias.len()`, `x`
/// is not whole rows of `in`, or `y` not `[b×out]`.
///
/// ```
/// use keelnet::ReLU;
/// let mut y = [0.0; 2];
/// keelnet::kernels::dense_forward::<f32, ReLU>(&[1.0, 2.0], &[1.0, -1.0, 1.0, -1.0], &[0.5, 0.5], &mut y);
/// assert_eq!(y, [3.5, 0.0]);
/// ```
pub fn dense_forward<F: Float, A: Activation>(x: &[F], w: &[F], bias: &[F], y: &mut [F]) {
    let (n_out, n_in) = sizes(w.len(), bias.len());
    let rows = samples("x", x.len(), n_in);
    check_len("y", y.len(), rows * n_out);
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
/// # Panics
///
/// If `dbias` is empty, `w` is not `[in×out]` for `out = dbias.len()`,
/// `dz` is not whole rows of `out`, or `x`, `dw` or `dx` does not match.
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
    let (n_out, n_in) = sizes(w.len(), dbias.len());
    let rows = samples("dz", dz.len(), n_out);
    check_len("x", x.len(), rows * n_in);
    check_len("dw", dw.len(), w.len());
    if let Some(dx) = dx.as_deref() {
        check_len("dx", dx.len(), x.len());
    }
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
