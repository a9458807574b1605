//! The convolutional network of the Keras MNIST tutorial, in keelnet:
//! three 3×3 convolutions with max pooling, then Dense 64 ReLU and
//! Dense 10 Softmax; Adam, categorical cross-entropy, batch 64, 5 epochs,
//! validated on the test set after each epoch.
//!
//! `cargo run --release --example mnist_cnn -- --help`

mod common;

use keelnet::CategoricalCrossentropy;
use keelnet::prelude::*;
use keelnet::train::{Fit, Model};

network! {
    /// The reference CNN.
    pub struct MnistCnn: Input<1, 28, 28>
        -> Conv2D<32, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU>
        -> Flatten -> Dense<64, ReLU> -> Dense<10, Softmax>;
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::Options::parse(5, 64)?;
    let (mnist, y_train) = options.load_mnist()?;
    let network = MnistCnn::new(options.seed);
    println!("{network}");

    let y_test = keelnet::datasets::to_categorical(&mnist.test_labels)?;
    let mut model = Model::compile(network, Adam::default(), CategoricalCrossentropy);
    let fit = Fit::epochs(options.epochs)
        .batch_size(options.batch_size)
        .validation_data(&mnist.test_images, &y_test)
        .seed(options.seed);
    let history = model.fit(&mnist.train_images, &y_train, fit)?;

    let test = model.evaluate(&mnist.test_images, &y_test, options.batch_size)?;
    let params = MnistCnn::<f32>::PARAM_COUNT;
    options.report("mnist_cnn", params, &history, test.loss, test.accuracy);
    Ok(())
}
