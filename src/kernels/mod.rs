//! The numerical kernels under the layers.
//!
//! Layers do no arithmetic of their own: they call these functions, which
//! take plain slices and run-time sizes, so that faster kernels can replace
//! these loops without touching a layer. All matrices are row-major.

mod conv;
mod conv_direct;
mod conv_fold;
mod conv_maxima;
mod dense;
mod dispatch;
mod elementwise;
mod gemm;
mod pointwise;
mod pool;
pub mod reference;
mod rows;
mod tap_sums;
mod transpose;
mod winograd;

pub use conv::{ConvGeometry, ConvScratch, Unfolding, conv2d_backward, conv2d_forward};
pub use conv_fold::fold;
pub(crate) use conv_fold::fold_f32;
pub use conv_maxima::{
    conv2d_backward_at_maxima, conv2d_forward_pooled, conv2d_pools_directly,
    conv2d_pools_in_one_pass, conv2d_weight_grad_at,
};
pub(crate) use conv_maxima::{
    forward_pooled as conv_forward_pooled, weight_grad_at as conv_weight_grad_at,
};
pub use dense::{dense_backward, dense_forward};
pub use dispatch::{ConvKernels, Gemm, GemmShape, Kernels, WinogradKernels};
pub use elementwise::{Parts, for_each_part, vectorized};
pub use gemm::{Epilogue, Gather, Isa, MatRef, NoEpilogue, Operand, sgemm, sgemm_on};
pub use pointwise::Pointwise;
pub use pool::{max_pool_backward, max_pool_forward};
pub use reference::{matmul, matmul_a_bt, matmul_at_b};
pub use rows::{copy_short, sum_lanes, sum_rows};
pub use tap_sums::tap_sums;
pub(crate) use tap_sums::tap_sums_f32;
pub(crate) use transpose::transpose_f32;
pub use transpose::{Transpose, transpose};
pub use winograd::{ActivationDerivative, OutputGrad, Outputs, WinogradScratch};

/// Panics unless each buffer holds at least its matrix: `(name, len,
/// rows, cols)`, the size computed without overflow.
pub(crate) fn check_matrices(matrices: &[(&str, usize, usize, usize)]) {
    for &(name, len, rows, cols) in matrices {
        assert!(
            rows.checked_mul(cols).is_some_and(|values| len >= values),
            "{name} holds {len} values, not {rows}×{cols}"
        );
    }
}
pub(crate) use winograd::{backward as winograd_backward, forward as winograd_forward};
