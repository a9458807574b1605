//! The convolutional network of the Keras MNIST tutorial, in keelnet:
//! three 3×3 convolutions with max pooling, then Dense 64 ReLU and
//! Dense 10 Softmax; Adam, categorical cross-entropy, batch 64, 5 epochs,
//! validated on the test set after each epoch.
//!
//! `cargo run --release --example mnist_cnn -- --help`

mod common;

use keelnet::prelude::*;

network! {
    /// The reference CNN.
    pub struct MnistCnn: Input<1, 28, 28>
        -> Conv2D<32, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU>
        -> Flatten -> Dense<64, ReLU> -> Dense<10, Softmax>;
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::Options::parse(5, 64, 0)?;
    let network = MnistCnn::new(options.seed);
    let params = MnistCnn::<f32>::PARAM_COUNT;
    common::fit_and_report("mnist_cnn", network, params, None, &options)
}
