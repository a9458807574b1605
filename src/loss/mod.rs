//! Loss functions: a value to report and a gradient to start backward from.
//!
//! Every loss is the mean over the batch of a per-sample loss (and, where
//! Keras does so, the mean over the sample's values), like Keras' defaults.

mod binary_crossentropy;
mod categorical_crossentropy;
mod mean_squared_error;
mod sparse_categorical_crossentropy;

pub use binary_crossentropy::BinaryCrossentropy;
pub use categorical_crossentropy::CategoricalCrossentropy;
pub use mean_squared_error::MeanSquaredError;
pub use sparse_categorical_crossentropy::SparseCategoricalCrossentropy;

use crate::{ActivationKind, Batch, Error, Float, Result, Shape};

/// Which gradient a loss produced: dL/dy, or dL/dz before the output
/// activation when the loss fuses with it (softmax with cross-entropy,
/// sigmoid with binary cross-entropy). Pass the latter to
/// [`Layer::backward_preactivation`](crate::Layer::backward_preactivation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradientOf {
    /// dL/dy, the gradient at the network's output.
    Output,
    /// dL/dz, the gradient before the output activation.
    PreActivation,
}

/// The probabilities a cross-entropy takes a logarithm of are clipped to
/// `[EPSILON, 1 - EPSILON]`, as in Keras.
pub const EPSILON: f64 = 1e-7;

/// A loss over predictions of shape `S`.
///
/// ```
/// use keelnet::{ActivationKind, Batch, GradientOf, Loss, Rank1, SparseCategoricalCrossentropy};
/// let probs = Batch::<Rank1<2>, f64>::from_vec(vec![0.25, 0.75])?;
/// let loss = SparseCategoricalCrossentropy;
/// assert_eq!(loss.loss(&probs, &[1])?, -(0.75f64).ln());
///
/// let mut grad = Batch::new();
/// let wrt = loss.gradient(&probs, &[1], ActivationKind::Softmax, &mut grad)?;
/// assert_eq!(wrt, GradientOf::PreActivation);
/// assert_eq!(grad.as_slice(), &[0.25, -0.25]); // p - y
/// # Ok::<(), keelnet::Error>(())
/// ```
pub trait Loss<S: Shape, F: Float> {
    /// What the predictions are compared with.
    type Target: ?Sized;

    /// The Keras name (`"categorical_crossentropy"`).
    const NAME: &'static str;

    /// The mean loss over the batch.
    fn loss(&self, pred: &Batch<S, F>, target: &Self::Target) -> Result<F>;

    /// Checks every target before training starts: `Ok` if the loss can
    /// take them all. `fit` calls it on the training and validation
    /// targets, so that a bad one is reported before any weight changes.
    ///
    /// ```
    /// use keelnet::{Batch, CategoricalCrossentropy, Loss, Rank1};
    /// let rows = Batch::<Rank1<2>, f64>::from_vec(vec![0.0, 1.0, -1.0, 2.0])?;
    /// let error = <CategoricalCrossentropy as Loss<Rank1<2>, f64>>::check_targets(&CategoricalCrossentropy, &rows);
    /// assert!(error.unwrap_err().to_string().contains("sample 1"));
    /// # Ok::<(), keelnet::Error>(())
    /// ```
    fn check_targets(&self, target: &Self::Target) -> Result<()> {
        let _ = target;
        Ok(())
    }

    /// Writes into `grad` the gradient of [`loss`](Self::loss), resized to
    /// the batch. When `output` is an activation this loss fuses with, it is
    /// the gradient before that activation, numerically stable, and the
    /// result says so.
    fn gradient(
        &self,
        pred: &Batch<S, F>,
        target: &Self::Target,
        output: ActivationKind,
        grad: &mut Batch<S, F>,
    ) -> Result<GradientOf>;
}

/// The first sample of `targets`, rows of `len` values, for which
/// `reason` says what is wrong, as an [`Error::InvalidTarget`].
pub(crate) fn first_bad_row<F: Float>(
    targets: &[F],
    len: usize,
    reason: impl Fn(&[F]) -> Option<String>,
) -> Result<()> {
    let rows = targets.chunks_exact(len.max(1)).enumerate();
    match rows
        .filter_map(|(sample, row)| Some((sample, reason(row)?)))
        .next()
    {
        Some((sample, reason)) => Err(Error::InvalidTarget { sample, reason }),
        None => Ok(()),
    }
}

/// Why `row` holds a value that is not finite, if it does.
pub(crate) fn not_finite<F: Float>(row: &[F]) -> Option<String> {
    row.iter()
        .find(|v| !v.is_finite())
        .map(|v| format!("holds {v}, not a finite number"))
}

pub(crate) fn same_len(pred: usize, target: usize) -> Result<()> {
    if pred == target {
        Ok(())
    } else {
        Err(Error::BatchMismatch {
            left: pred,
            right: target,
        })
    }
}

/// `p` clipped into `[EPSILON, 1 - EPSILON]`, and whether it was inside
/// (the clipped loss has zero gradient outside).
pub(crate) fn clip<F: Float>(p: F) -> (F, bool) {
    let (lo, hi) = (F::from_f64(EPSILON), F::from_f64(1.0 - EPSILON));
    if p < lo {
        (lo, false)
    } else if p > hi {
        (hi, false)
    } else {
        (p, true)
    }
}
