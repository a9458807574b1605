//! Mean squared error.

use super::{GradientOf, Loss, first_bad_row, not_finite, same_len};
use crate::{ActivationKind, Batch, Float, Result, Shape};

/// `mean((pred - target)^2)` over each sample's values, then over the batch.
///
/// ```
/// use keelnet::{Batch, Loss, MeanSquaredError, Rank1};
/// let pred = Batch::<Rank1<2>>::from_vec(vec![1.0, 3.0])?;
/// let target = Batch::from_vec(vec![0.0, 1.0])?;
/// assert_eq!(MeanSquaredError.loss(&pred, &target)?, 2.5);
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanSquaredError;

impl<S: Shape, F: Float> Loss<S, F> for MeanSquaredError {
    type Target = Batch<S, F>;
    const NAME: &'static str = "mean_squared_error";

    /// Each value finite.
    fn check_targets(&self, target: &Batch<S, F>) -> Result<()> {
        first_bad_row(target.as_slice(), S::NUMEL, not_finite)
    }

    fn loss(&self, pred: &Batch<S, F>, target: &Batch<S, F>) -> Result<F> {
        same_len(pred.len(), target.len())?;
        let sum: F = (pred.as_slice().iter().zip(target.as_slice()))
            .map(|(&p, &t)| (p - t) * (p - t))
            .sum();
        Ok(sum / F::from_usize(pred.as_slice().len().max(1)))
    }

    // dL/dp = 2 (p - t) / (B * N)
    fn gradient(
        &self,
        pred: &Batch<S, F>,
        target: &Batch<S, F>,
        _output: ActivationKind,
        grad: &mut Batch<S, F>,
    ) -> Result<GradientOf> {
        same_len(pred.len(), target.len())?;
        grad.resize(pred.len());
        let scale = F::from_f64(2.0) / F::from_usize(pred.as_slice().len().max(1));
        for ((g, &p), &t) in grad
            .as_mut_slice()
            .iter_mut()
            .zip(pred.as_slice())
            .zip(target.as_slice())
        {
            *g = scale * (p - t);
        }
        Ok(GradientOf::Output)
    }
}
