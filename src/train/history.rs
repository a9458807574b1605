//! What `fit` returns: the figures of every epoch.

use serde::Serialize;

/// The figures of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochLog {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size).
    pub loss: f64,
    /// Training accuracy over the epoch.
    pub accuracy: f64,
    /// Loss on the validation data, if any.
    pub val_loss: Option<f64>,
    /// Accuracy on the validation data, if any.
    pub val_accuracy: Option<f64>,
    /// Wall-clock time of the epoch, validation included.
    pub seconds: f64,
}

/// The per-epoch figures of a `fit` (Keras' `History`).
///
/// ```
/// use keelnet::train::{EpochLog, History};
/// let history = History { epochs: vec![EpochLog {
///     epoch: 1, loss: 0.3, accuracy: 0.9, val_loss: Some(0.2), val_accuracy: Some(0.95), seconds: 1.5,
/// }] };
/// assert_eq!(history.val_accuracy(), [0.95]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct History {
    /// One entry per epoch, in order.
    pub epochs: Vec<EpochLog>,
}

impl History {
    /// Training loss per epoch.
    pub fn loss(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.loss).collect()
    }

    /// Training accuracy per epoch.
    pub fn accuracy(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.accuracy).collect()
    }

    /// Validation loss per epoch (epochs without validation are left out).
    pub fn val_loss(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.val_loss).collect()
    }

    /// Validation accuracy per epoch (epochs without validation are left out).
    pub fn val_accuracy(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.val_accuracy).collect()
    }

    /// Seconds per epoch.
    pub fn epoch_seconds(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.seconds).collect()
    }
}
