//! Categorical cross-entropy over one-hot targets, fused with a softmax output.

use super::{GradientOf, Loss, clip, first_bad_row, not_finite, same_len};
use crate::{ActivationKind, Batch, Float, Rank1, Result};

/// `-sum(t ln p)` per sample, mean over the batch; `t` one-hot (or any
/// distribution), `p` probabilities (a `Softmax` output), clipped as in Keras.
///
/// After a `Softmax` the gradient is taken before it, in the stable fused
/// form `(p * sum(t) - t) / B` (`p - t` for one-hot targets); `ln(softmax)`
/// is never differentiated on its own.
///
/// ```
/// use keelnet::{Batch, CategoricalCrossentropy, Loss, Rank1};
/// let pred = Batch::<Rank1<2>, f64>::from_vec(vec![0.5, 0.5])?;
/// let target = Batch::from_vec(vec![0.0, 1.0])?;
/// assert_eq!(CategoricalCrossentropy.loss(&pred, &target)?, 2f64.ln());
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CategoricalCrossentropy;

impl<const N: usize, F: Float> Loss<Rank1<N>, F> for CategoricalCrossentropy {
    type Target = Batch<Rank1<N>, F>;
    const NAME: &'static str = "categorical_crossentropy";

    /// Each row a probability distribution: finite, non-negative, summing
    /// to 1 within 10⁻³ (one-hot rows are).
    fn check_targets(&self, target: &Self::Target) -> Result<()> {
        first_bad_row(target.as_slice(), N, |row| {
            if let Some(reason) = not_finite(row) {
                return Some(reason);
            }
            let sum: F = row.iter().copied().sum();
            if let Some(v) = row.iter().find(|v| **v < F::zero()) {
                Some(format!("holds {v}: a distribution is not negative"))
            } else if (sum.to_f64() - 1.0).abs() > 1e-3 {
                Some(format!("sums to {sum}, not 1: it is not a distribution"))
            } else {
                None
            }
        })
    }

    fn loss(&self, pred: &Batch<Rank1<N>, F>, target: &Self::Target) -> Result<F> {
        same_len(pred.len(), target.len())?;
        let sum: F = (pred.as_slice().iter().zip(target.as_slice()))
            .map(|(&p, &t)| -t * clip(p).0.ln())
            .sum();
        Ok(sum / F::from_usize(pred.len().max(1)))
    }

    fn gradient(
        &self,
        pred: &Batch<Rank1<N>, F>,
        target: &Self::Target,
        output: ActivationKind,
        grad: &mut Batch<Rank1<N>, F>,
    ) -> Result<GradientOf> {
        same_len(pred.len(), target.len())?;
        grad.resize(pred.len());
        let scale = F::one() / F::from_usize(pred.len().max(1));
        let rows = grad
            .as_mut_slice()
            .chunks_exact_mut(N)
            .zip(pred.samples())
            .zip(target.samples());
        if output == ActivationKind::Softmax {
            // dL/dz = (p sum(t) - t) / B
            for ((g, p), t) in rows {
                let mass: F = t.iter().copied().sum();
                for ((g, &p), &t) in g.iter_mut().zip(p).zip(t) {
                    *g = scale * (p * mass - t);
                }
            }
            return Ok(GradientOf::PreActivation);
        }
        // dL/dp = -t / p / B, zero where p is clipped
        for ((g, p), t) in rows {
            for ((g, &p), &t) in g.iter_mut().zip(p).zip(t) {
                let (p, inside) = clip(p);
                *g = if inside { -scale * t / p } else { F::zero() };
            }
        }
        Ok(GradientOf::Output)
    }
}
