//! The layers. Each file holds one layer, its forward and backward side by side.

mod activation;
mod batch_norm;
mod chain;
mod conv2d;
mod dense;
mod dropout;
mod flatten;
mod global_average_pooling_1d;
mod global_max_pooling_1d;
mod lstm;
mod max_pool;
mod recurrent;
mod residual;
mod sequential;
mod simple_rnn;

pub use batch_norm::{BatchNormCache, BatchNormGrads, BatchNormalization};
pub use chain::{Chain, ChainCache};
pub use conv2d::{Conv2D, Conv2DGrads};
pub use dense::{Dense, DenseGrads};
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use global_average_pooling_1d::GlobalAveragePooling1D;
pub use global_max_pooling_1d::GlobalMaxPooling1D;
pub use lstm::{LSTM, LstmCell};
pub use max_pool::MaxPool;
pub use recurrent::{
    Cell, LastState, Recurrent, RecurrentCache, RecurrentGrads, Returns, Sequences,
};
pub use residual::{Residual, ResidualCache};
pub use sequential::{Input, Sequential};
pub use simple_rnn::{SimpleCell, SimpleRNN};
