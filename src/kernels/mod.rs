//! The numerical kernels under the layers.
//!
//! Layers do no arithmetic of their own: they call these functions, which
//! take plain slices and run-time sizes, so that faster kernels can replace
//! these loops without touching a layer. All matrices are row-major.

mod dense;
mod gemm;
mod rows;

pub use dense::{dense_backward, dense_forward};
pub use gemm::{matmul, matmul_a_bt, matmul_at_b};
pub use rows::{add_bias_rows, sum_rows};
