//! The multilayer perceptron of the Keras MNIST tutorial, in keelnet:
//! Flatten -> Dense 128 ReLU -> Dense 10 Softmax, Adam, categorical
//! cross-entropy, batch 32, 10 epochs, 20% of the training data held out
//! for validation, then the test set.
//!
//! `cargo run --release --example mnist_mlp -- --help`

mod common;

use keelnet::CategoricalCrossentropy;
use keelnet::prelude::*;
use keelnet::train::{Fit, Model};

network! {
    /// The reference MLP.
    pub struct MnistMlp: Input<1, 28, 28> -> Flatten -> Dense<128, ReLU> -> Dense<10, Softmax>;
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = common::Options::parse(10, 32)?;
    let (mnist, y_train) = options.load_mnist()?;
    let network = MnistMlp::new(options.seed);
    println!("{network}");

    let mut model = Model::compile(network, Adam::default(), CategoricalCrossentropy);
    let fit = Fit::epochs(options.epochs)
        .batch_size(options.batch_size)
        .validation_split(0.2)
        .seed(options.seed);
    let history = model.fit(&mnist.train_images, &y_train, fit)?;

    let y_test = keelnet::datasets::to_categorical(&mnist.test_labels)?;
    let test = model.evaluate(&mnist.test_images, &y_test, options.batch_size)?;
    let params = MnistMlp::<f32>::PARAM_COUNT;
    options.report("mnist_mlp", params, &history, test.loss, test.accuracy);
    Ok(())
}
