//! Test helpers shared by the test files that read MNIST.

use std::path::PathBuf;

use keelnet::datasets::mnist::{Mnist, holds_mnist, search_dirs};

/// The directory holding MNIST, found exactly as the examples find it
/// (`$KEELNET_DATA/mnist`, then `data/mnist` under the package, where
/// `cargo run --example mnist_mlp` puts it), downloaded there if it is
/// nowhere, as the examples do.
pub fn mnist_dir() -> PathBuf {
    if let Some(found) = search_dirs(None).into_iter().find(|d| holds_mnist(d)) {
        return found;
    }
    match Mnist::<keelnet::datasets::mnist::Image>::load(None) {
        Ok(_) => search_dirs(None).remove(0),
        Err(e) => panic!("the MNIST tests need the data set: {e}"),
    }
}

/// MNIST, from [`mnist_dir`].
pub fn mnist() -> Mnist {
    Mnist::load_from(&mnist_dir()).expect("MNIST reads")
}
