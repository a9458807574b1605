//! The layers. Each file holds one layer, its forward and backward side by side.

mod activation;
mod chain;
mod dense;
mod dropout;
mod flatten;

pub use chain::{Chain, ChainCache};
pub use dense::{Dense, DenseGrads};
pub use dropout::Dropout;
pub use flatten::Flatten;
