//! # keelnet
//!
//! Deep learning in Rust with the shape of every tensor known to the compiler.
//!
//! ## A network is a type
//!
//! Declare a model as a chain of layers after the shape of one input sample.
//! [`network!`] computes every intermediate shape while your crate compiles,
//! rejects a chain whose shapes do not fit with an error at the offending
//! layer, and writes the struct and its forward and backward passes:
//!
//! ```
//! use keelnet::prelude::*;
//!
//! network! {
//!     /// The multilayer perceptron of the Keras MNIST tutorial.
//!     pub struct MnistMlp: Input<1, 28, 28> -> Flatten -> Dense<128, ReLU> -> Dense<10, Softmax>;
//! }
//!
//! let model = MnistMlp::<f32>::new(42); // seeded: the same seed, the same weights
//! println!("{model}");                  // the summary, like Keras' model.summary()
//! assert_eq!(MnistMlp::<f32>::PARAM_COUNT, 101_770);
//!
//! let images = Batch::<Rank3<1, 28, 28>>::zeros(32); // a batch of 32 images
//! let probabilities: Batch<Rank1<10>> = model.predict(&images);
//! assert_eq!(probabilities.len(), 32);
//! ```
//!
//! The layers are public fields with every size filled in (`model.dense_1` is
//! a `Dense<784, 128, ReLU>`), and a batch of any other sample shape does not
//! compile.
//!
//! ## Shapes and batches
//!
//! A sample's shape is a type: [`Rank1<N>`], [`Rank2<R, C>`],
//! [`Rank3<C, H, W>`] (images, channels first: see [`shape`]), [`Rank4`].
//! A [`Batch<S, F>`] holds any number of samples of shape `S` in one
//! contiguous buffer of `f32` (training) or `f64` (gradient checks). Buffers
//! from outside are checked: [`Batch::from_vec`] returns an [`Error`] for a
//! length that is not a whole number of samples.
//!
//! ## Training by hand
//!
//! Every layer and every generated network implements [`Layer`]: a training
//! forward pass that fills a cache, and a backward pass that writes the
//! parameter gradients and, if asked, the input gradient. A [`Loss`] starts
//! backward; an [`Optimizer`] applies the gradients through the
//! [`Parameters`] walk:
//!
//! ```
//! use keelnet::prelude::*;
//! use keelnet::{GradientOf, SparseCategoricalCrossentropy};
//!
//! network! {
//!     struct Xor: Input<2> -> Dense<16, ReLU> -> Dense<2, Softmax>;
//! }
//!
//! let mut model = Xor::<f32>::new(1);
//! let x = Batch::<Rank1<2>>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.])?;
//! let labels = [0, 1, 1, 0];
//! let loss = SparseCategoricalCrossentropy;
//! let mut adam = Adam::new(0.05);
//! // Buffers live across steps: a step reuses them.
//! let (mut y, mut cache, mut dz, mut grads) =
//!     (Batch::new(), Default::default(), Batch::new(), Default::default());
//! let mut ctx = TrainContext::new(0);
//! for _ in 0..300 {
//!     model.forward_train(&x, &mut y, &mut cache, &mut ctx);
//!     // Softmax and cross-entropy fuse: the gradient before the softmax is p - y.
//!     let wrt = loss.gradient(&y, &labels, Xor::<f32>::ACTIVATION, &mut dz)?;
//!     assert_eq!(wrt, GradientOf::PreActivation);
//!     model.backward_preactivation(&x, &y, &mut cache, &mut dz, None, &mut grads);
//!     adam.step(&mut model, &grads);
//! }
//! assert!(loss.loss(&model.predict(&x), &labels)? < 0.05);
//! # Ok::<(), keelnet::Error>(())
//! ```
//!
//! ## Composing by hand
//!
//! The layers are types of their own, with every size in the type
//! (`Dense<784, 128, ReLU>`, `Conv2D<1, 32, 3, 1, 26, 26, ReLU>`).
//! [`Input`] and [`Sequential`] build a model from them layer by layer, and
//! a layer that does not take the shape before it is refused at its
//! `.then(...)`, naming the layer and the shape; [`Chain`] composes two
//! layers, [`Residual`] adds a block's input to its output. The same
//! kernels run fused as in `network!`'s code ([`Layer::fuses_with`]).
//!
//! ```
//! use keelnet::prelude::*;
//! let rng = &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
//! let cnn = Input::<Rank3<1, 28, 28>>::new()
//!     .then(Conv2D::<1, 8, 3, 1, 26, 26, ReLU>::new(rng))
//!     .then(MaxPool::<2, 13, 13>)
//!     .then(Flatten::<1352>)
//!     .then(Residual::new(Dense::<1352, 1352, Tanh>::new(rng)))
//!     .then(Dense::<1352, 10, Softmax>::new(rng));
//! assert_eq!(cnn.predict(&Batch::zeros(1)).len(), 1);
//! ```
//!
//! What a type cannot check is checked when the program is built: on
//! stable Rust a type cannot compute `(H - K) / STRIDE + 1`, so a
//! `Conv2D`'s, `MaxPool`'s or `Flatten`'s hand-written output size is a
//! constant assertion, evaluated when the layer's code is generated
//! (`cargo build`, `cargo test`), not by `cargo check` or an editor.
//! `network!` computes those sizes itself and reports a wrong shape while
//! it expands, which `cargo check` shows.
//!
//! ## Checking gradients
//!
//! [`gradcheck::check_layer`] compares any layer's backward pass with finite
//! differences in `f64`; keelnet's own tests run it on every layer, loss and
//! generated network.
//!
//! ## Layout of the crate
//!
//! - [`Batch`], [`shape`]: data.
//! - [`Dense`], [`Conv2D`], [`MaxPool`], [`BatchNormalization`], [`Flatten`],
//!   [`Dropout`], the [`Activation`]s: layers; [`Input`], [`Sequential`],
//!   [`Chain`], [`Residual`]: composition; [`fusion`]: fused pairs.
//! - [`loss`], [`optim`]: training.
//! - [`kernels`]: the arithmetic under the layers.
#![warn(missing_docs)]

mod activation;
mod batch;
pub mod datasets;
mod error;
mod float;
pub mod fusion;
pub mod gradcheck;
mod init;
pub mod kernels;
mod layer;
mod layers;
pub mod loss;
pub mod optim;
mod params;
pub mod shape;
pub mod train;

pub use activation::{
    Activation, ActivationKind, ELU, GELU, GELUTanh, LeakyReLU, Linear, ReLU, SiLU, Sigmoid,
    Softmax, Softplus, Swish, Tanh,
};
pub use batch::Batch;
pub use error::{Error, Result};
pub use float::Float;
pub use fusion::{OutputGrad, PairCache};
pub use init::Init;
pub use layer::{Layer, TrainContext};
pub use layers::{
    BatchNormCache, BatchNormGrads, BatchNormalization, Cell, Chain, ChainCache, Conv2D,
    Conv2DGrads, Dense, DenseGrads, Dropout, Flatten, GlobalAveragePooling1D, GlobalMaxPooling1D,
    Input, LSTM, LastState, LstmCell, MaxPool, Recurrent, RecurrentCache, RecurrentGrads, Residual,
    ResidualCache, Returns, Sequences, Sequential, SimpleCell, SimpleRNN,
};
pub use loss::{
    BinaryCrossentropy, CategoricalCrossentropy, GradientOf, Loss, MeanSquaredError,
    SparseCategoricalCrossentropy,
};
pub use optim::{Adam, Optimizer, RmsProp, Sgd};
pub use params::{
    ParamInfo, ParamKind, Parameters, UpdateParams, VisitParams, VisitParamsMut, param_path,
};
pub use shape::{Rank1, Rank2, Rank3, Rank4, Shape};

/// Declares networks as chains of layers, with every shape computed and
/// checked at compile time.
///
/// # Grammar
///
/// ```text
/// network! {
///     /// Doc comments and attributes are kept.
///     pub struct Name: Input<D1, ...> -> Layer -> Layer<ARGS> -> ... ;
///     // more declarations, each ending in `;`
/// }
/// ```
///
/// `Input<...>` is the shape of one sample: one to four dimensions, images
/// channels first (`Input<1, 28, 28>`). Each layer names only its own
/// parameters; its input size comes from the layer before:
///
/// | layer | shape | parameters |
/// |---|---|---|
/// | `Dense<UNITS>`, `Dense<UNITS, Activation>` | `[IN]` to `[UNITS]`; a sequence `[T, IN]` to `[T, UNITS]`, every step alike | weight `[IN, UNITS]`, bias `[UNITS]` |
/// | `Conv2D<FILTERS, K>`, `Conv2D<FILTERS, K, Activation, padding = same, stride = S>` | `[C, H, W]` to `[FILTERS, H', W']` | weight `[FILTERS, C, K, K]`, bias `[FILTERS]` |
/// | `MaxPool<P>` | `[C, H, W]` to `[C, H / P, W / P]` | none |
/// | `Flatten` | any to `[product]` | none |
/// | `GlobalAveragePooling1D`, `GlobalMaxPooling1D` | a sequence `[T, D]` to `[D]` | none |
/// | `SimpleRNN<UNITS>`, `SimpleRNN<UNITS, return_sequences = true>` | `[T, D]` to `[UNITS]`, or `[T, UNITS]` | kernel `[D, UNITS]`, recurrent kernel `[UNITS, UNITS]`, bias `[UNITS]` |
/// | `LSTM<UNITS>`, `LSTM<UNITS, return_sequences = true>` | as `SimpleRNN` | kernel `[D, 4·UNITS]`, recurrent kernel `[UNITS, 4·UNITS]`, bias `[4·UNITS]` (gates `i, f, c, o`) |
/// | `Dropout<RATE>` (0 <= RATE < 1) | unchanged | none |
/// | `BatchNormalization` | `[N]` or `[C, H, W]`, unchanged | gamma, beta `[C]`; state: moving mean and variance `[C]` |
/// | `Residual(chain)` | unchanged (the chain must keep the shape) | the chain's |
/// | a network declared above in the same `network!` | its input to its output | its own |
/// | `ReLU`, `LeakyReLU`, `Sigmoid`, `Tanh`, `Softmax`, `Linear`, `GELU`, `GELUTanh`, `SiLU` (`Swish`), `ELU`, `Softplus` | unchanged | none |
///
/// # What it generates
///
/// For `pub struct Name`:
///
/// - `Name<F = f32>`, whose public fields are the layers with concrete types,
///   named by kind and position (`flatten_1`, `dense_1`, `dense_2`);
///   `Name::new(seed)` and `Name::from_rng(rng)` construct it with Keras'
///   initialisation; `Name::SUMMARY`, `Name::PARAM_COUNT` and `Display`
///   give the model summary;
/// - [`Layer<Input, F>`](Layer) for `Name`: forward, training forward and
///   backward, one flat statement per layer. Each pair of adjacent layers
///   whose first layer [fuses with](Layer::fuses_with) the second runs as
///   one call ([`Layer::forward_then`], [`Layer::backward_then`]), as it
///   would in a [`Chain`]. A `Conv2D` with an elementwise activation fuses
///   with the `MaxPool` after it: as a first layer it pools each output
///   plane while it is in cache and, with no input gradient asked, sums
///   its weight gradient over the pooled maxima alone; by Winograd's
///   tiles (3×3 kernels over many channels) it pools its outputs while
///   they are laid out channels-last, and lays out its output gradient
///   straight from the maxima. Either way no full-size output or gradient
///   is written, and the activation's derivative is taken at the pooled
///   outputs;
/// - [`Parameters<F>`](Parameters), naming each tensor `dense_1.weight`,
///   `dense_1.bias`, ...;
/// - `NameGrads<F>`, the gradients, and `NameCache<F>`, the buffers a
///   training step reuses.
///
/// # Errors
///
/// A mistake in a declaration is a compile error at the layer, naming the
/// shapes and the fix; all mistakes of a declaration are reported at once:
///
/// ```compile_fail
/// keelnet::network! {
///     // error: `Dense<64, ReLU>` needs a flat input (or a sequence [T, D]), but receives shape
///     // [1, 28, 28]; add `Flatten` before it
///     struct Broken: Input<1, 28, 28> -> Dense<64, ReLU> -> Dense<10, Softmax>;
/// }
/// # fn main() {}
/// ```
///
/// # Example
///
/// ```
/// use keelnet::prelude::*;
///
/// network! {
///     /// An MLP with dropout.
///     pub struct Regularised: Input<1, 28, 28>
///         -> Flatten -> Dense<128, ReLU> -> Dropout<0.2> -> Dense<10, Softmax>;
/// }
///
/// let model = Regularised::<f32>::new(0);
/// let _: &Dense<784, 128, ReLU> = &model.dense_1;
/// assert!(Regularised::<f32>::SUMMARY.contains("dropout_1 (Dropout)"));
/// ```
pub use keelnet_macros::network;
/// The random-number crate keelnet draws from; generated networks name it
/// through this path, so that your crate need not depend on it.
pub use rand;

/// The traits and types most programs use: `use keelnet::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Activation, Adam, Batch, BatchNormalization, Chain, Conv2D, Dense, Dropout, ELU, Flatten,
        Float, GELU, GELUTanh, GlobalAveragePooling1D, GlobalMaxPooling1D, Input, Layer, LeakyReLU,
        Linear, Loss, MaxPool, Optimizer, Parameters, Rank1, Rank2, Rank3, Rank4, ReLU, Residual,
        RmsProp, Sequential, Sgd, Shape, SiLU, Sigmoid, Softmax, Softplus, Swish, Tanh,
        TrainContext, network,
    };
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
