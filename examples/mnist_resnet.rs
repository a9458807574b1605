//! A small residual CNN on MNIST: a convolution with batch normalization,
//! two residual blocks (two 3×3 convolutions with batch normalization
//! each, the block's input added back), max pooling between them, then
//! Dropout 0.5 and Dense 10 Softmax; Adam, categorical cross-entropy,
//! batch 64, 5 epochs, the last at a tenth of the learning rate, validated
//! on the test set after each epoch.
//!
//! `cargo run --release --example mnist_resnet -- --help`

mod common;

use keelnet::prelude::*;

network! {
    /// A residual CNN: each block computes F(x) and gives x + F(x).
    pub struct MnistResNet: Input<1, 28, 28>
        -> Conv2D<16, 3, padding = same> -> BatchNormalization -> ReLU -> MaxPool<2>
        -> Residual(
            Conv2D<16, 3, padding = same> -> BatchNormalization -> ReLU
            -> Conv2D<16, 3, padding = same> -> BatchNormalization
        ) -> ReLU -> MaxPool<2>
        -> Residual(
            Conv2D<16, 3, padding = same> -> BatchNormalization -> ReLU
            -> Conv2D<16, 3, padding = same> -> BatchNormalization
        ) -> ReLU
        -> Flatten -> Dropout<0.5> -> Dense<10, Softmax>;
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::Options::parse(5, 64, 1)?;
    let network = MnistResNet::new(options.seed);
    let params = MnistResNet::<f32>::PARAM_COUNT;
    common::fit_and_report("mnist_resnet", network, params, None, &options)
}
