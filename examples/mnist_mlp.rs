//! The multilayer perceptron of the Keras MNIST tutorial, in keelnet:
//! Flatten -> Dense 128 ReLU -> Dense 10 Softmax, Adam, categorical
//! cross-entropy, batch 32, 10 epochs, 20% of the training data held out
//! for validation, then the test set.
//!
//! `cargo run --release --example mnist_mlp -- --help`

mod common;

use keelnet::prelude::*;

network! {
    /// The reference MLP.
    pub struct MnistMlp: Input<1, 28, 28> -> Flatten -> Dense<128, ReLU> -> Dense<10, Softmax>;
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::Options::parse(10, 32, 0)?;
    let network = MnistMlp::new(options.seed);
    let params = MnistMlp::<f32>::PARAM_COUNT;
    common::fit_and_report("mnist_mlp", network, params, Some(0.2), &options)
}
