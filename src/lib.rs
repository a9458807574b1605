//! # keelnet
//!
//! Deep learning in Rust with the shape of every tensor known to the compiler.
#![warn(missing_docs)]

mod activation;
mod batch;
mod error;
mod float;
pub mod gradcheck;
mod init;
pub mod kernels;
mod layer;
mod layers;
pub mod loss;
pub mod optim;
mod params;
pub mod shape;

pub use activation::{Activation, ActivationKind, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh};
pub use batch::Batch;
pub use error::{Error, Result};
pub use float::Float;
pub use init::Init;
pub use layer::{Layer, TrainContext};
pub use layers::{Chain, ChainCache, Dense, DenseGrads, Dropout, Flatten};
pub use loss::{
    BinaryCrossentropy, CategoricalCrossentropy, GradientOf, Loss, MeanSquaredError,
    SparseCategoricalCrossentropy,
};
pub use optim::{Adam, Optimizer, RmsProp, Sgd};
pub use params::{ParamInfo, ParamKind, Parameters, UpdateParams, VisitParams};
pub use shape::{Rank1, Rank2, Rank3, Rank4, Shape};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
