//! Binary cross-entropy, fused with a sigmoid output.

use super::{GradientOf, Loss, clip, first_bad_row, same_len};
use crate::{ActivationKind, Batch, Float, Result, Shape};

/// `-mean(t ln p + (1 - t) ln(1 - p))` over each sample's values, then over
/// the batch; `p` are probabilities (a `Sigmoid` output), clipped as in Keras.
///
/// After a `Sigmoid` the gradient is taken before it: `(p - t) / (B * N)`.
///
/// ```
/// use keelnet::{BinaryCrossentropy, Batch, Loss, Rank1};
/// let pred = Batch::<Rank1<1>, f64>::from_vec(vec![0.5])?;
/// let target = Batch::from_vec(vec![1.0])?;
/// assert_eq!(BinaryCrossentropy.loss(&pred, &target)?, 2f64.ln());
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossentropy;

impl<S: Shape, F: Float> Loss<S, F> for BinaryCrossentropy {
    type Target = Batch<S, F>;
    const NAME: &'static str = "binary_crossentropy";

    /// Each value in `[0, 1]`.
    fn check_targets(&self, target: &Batch<S, F>) -> Result<()> {
        first_bad_row(target.as_slice(), S::NUMEL, |row| {
            let outside = row.iter().find(|v| !(F::zero()..=F::one()).contains(*v));
            outside.map(|v| format!("holds {v}, not a probability in [0, 1]"))
        })
    }

    fn loss(&self, pred: &Batch<S, F>, target: &Batch<S, F>) -> Result<F> {
        same_len(pred.len(), target.len())?;
        let sum: F = (pred.as_slice().iter().zip(target.as_slice()))
            .map(|(&p, &t)| {
                let p = clip(p).0;
                -(t * p.ln() + (F::one() - t) * (F::one() - p).ln())
            })
            .sum();
        Ok(sum / F::from_usize(pred.as_slice().len().max(1)))
    }

    fn gradient(
        &self,
        pred: &Batch<S, F>,
        target: &Batch<S, F>,
        output: ActivationKind,
        grad: &mut Batch<S, F>,
    ) -> Result<GradientOf> {
        same_len(pred.len(), target.len())?;
        grad.resize(pred.len());
        let scale = F::one() / F::from_usize(pred.as_slice().len().max(1));
        let values = grad
            .as_mut_slice()
            .iter_mut()
            .zip(pred.as_slice())
            .zip(target.as_slice());
        if output == ActivationKind::Sigmoid {
            // dL/dz = (p - t) / (B * N)
            for ((g, &p), &t) in values {
                *g = scale * (p - t);
            }
            return Ok(GradientOf::PreActivation);
        }
        // dL/dp = (p - t) / (p (1 - p)) / (B * N), zero where p is clipped
        for ((g, &p), &t) in values {
            let (p, inside) = clip(p);
            *g = if inside {
                scale * (p - t) / (p * (F::one() - p))
            } else {
                F::zero()
            };
        }
        Ok(GradientOf::Output)
    }
}
