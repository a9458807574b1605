//! The options of `fit`, built like Keras' keyword arguments.

use super::Verbosity;
use crate::{Batch, Float, Shape};

/// Where `fit` measures validation loss and accuracy after each epoch.
#[derive(Debug)]
pub enum Validation<'v, I: Shape, F: Float, Y: ?Sized> {
    /// No validation.
    None,
    /// Hold out this fraction at the end of the training data, before any
    /// shuffling (Keras' `validation_split`).
    Split(f64),
    /// Validate on these samples and targets (Keras' `validation_data`).
    Data(&'v Batch<I, F>, &'v Y),
}

/// The options of [`Model::fit`](super::Model::fit).
///
/// ```
/// use keelnet::train::{Fit, Verbosity};
/// use keelnet::{Batch, Rank1};
/// let options: Fit<'_, Rank1<784>, f32, [usize]> =
///     Fit::epochs(10).batch_size(32).validation_split(0.2).seed(7).verbosity(Verbosity::Silent);
/// assert_eq!((options.epochs, options.batch_size), (10, 32));
/// ```
#[derive(Debug)]
pub struct Fit<'v, I: Shape, F: Float, Y: ?Sized> {
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per step (Keras' default 32).
    pub batch_size: usize,
    /// Validation after each epoch.
    pub validation: Validation<'v, I, F, Y>,
    /// Reshuffle the training samples before each epoch (default on).
    pub shuffle: bool,
    /// Seed of the shuffling and of Dropout: the same seed gives the same
    /// training, bit for bit.
    pub seed: u64,
    /// What to print.
    pub verbosity: Verbosity,
}

impl<'v, I: Shape, F: Float, Y: ?Sized> Fit<'v, I, F, Y> {
    /// Train for `epochs` epochs, batch size 32, shuffled, seed 0, no validation.
    pub fn epochs(epochs: usize) -> Self {
        Self {
            epochs,
            batch_size: 32,
            validation: Validation::None,
            shuffle: true,
            seed: 0,
            verbosity: Verbosity::Auto,
        }
    }

    /// Samples per step.
    pub fn batch_size(self, batch_size: usize) -> Self {
        Self { batch_size, ..self }
    }

    /// Hold out the last `fraction` of the training data for validation.
    pub fn validation_split(self, fraction: f64) -> Self {
        Self {
            validation: Validation::Split(fraction),
            ..self
        }
    }

    /// Validate on `x` and `y` after each epoch.
    pub fn validation_data(self, x: &'v Batch<I, F>, y: &'v Y) -> Self {
        Self {
            validation: Validation::Data(x, y),
            ..self
        }
    }

    /// Shuffle before each epoch, or not.
    pub fn shuffle(self, shuffle: bool) -> Self {
        Self { shuffle, ..self }
    }

    /// The seed of shuffling and Dropout.
    pub fn seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    /// What to print.
    pub fn verbosity(self, verbosity: Verbosity) -> Self {
        Self { verbosity, ..self }
    }
}
