//! Cross-entropy over class indices, fused with a softmax output.

use super::{GradientOf, Loss, clip, same_len};
use crate::{ActivationKind, Batch, Error, Float, Rank1, Result};

/// `-ln p[label]` per sample, mean over the batch: categorical
/// cross-entropy with the targets given as class indices (`0..N`) instead of
/// one-hot rows. A label out of range is an [`Error::LabelOutOfRange`].
///
/// After a `Softmax` the gradient is taken before it: `(p - onehot) / B`.
///
/// ```
/// use keelnet::{Batch, Error, Loss, Rank1, SparseCategoricalCrossentropy};
/// let pred = Batch::<Rank1<2>, f64>::from_vec(vec![0.5, 0.5])?;
/// assert_eq!(SparseCategoricalCrossentropy.loss(&pred, &[0])?, 2f64.ln());
/// assert_eq!(
///     SparseCategoricalCrossentropy.loss(&pred, &[2]),
///     Err(Error::LabelOutOfRange { label: 2, classes: 2 })
/// );
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SparseCategoricalCrossentropy;

fn check_labels(labels: &[usize], classes: usize) -> Result<()> {
    match labels.iter().find(|&&l| l >= classes) {
        Some(&label) => Err(Error::LabelOutOfRange { label, classes }),
        None => Ok(()),
    }
}

impl<const N: usize, F: Float> Loss<Rank1<N>, F> for SparseCategoricalCrossentropy {
    type Target = [usize];
    const NAME: &'static str = "sparse_categorical_crossentropy";

    /// Each label below `N`.
    fn check_targets(&self, labels: &[usize]) -> Result<()> {
        check_labels(labels, N)
    }

    fn loss(&self, pred: &Batch<Rank1<N>, F>, labels: &[usize]) -> Result<F> {
        same_len(pred.len(), labels.len())?;
        check_labels(labels, N)?;
        let sum: F = (pred.samples().zip(labels))
            .map(|(p, &label)| -clip(p[label]).0.ln())
            .sum();
        Ok(sum / F::from_usize(pred.len().max(1)))
    }

    fn gradient(
        &self,
        pred: &Batch<Rank1<N>, F>,
        labels: &[usize],
        output: ActivationKind,
        grad: &mut Batch<Rank1<N>, F>,
    ) -> Result<GradientOf> {
        same_len(pred.len(), labels.len())?;
        check_labels(labels, N)?;
        grad.resize(pred.len());
        let scale = F::one() / F::from_usize(pred.len().max(1));
        let rows = grad
            .as_mut_slice()
            .chunks_exact_mut(N)
            .zip(pred.samples())
            .zip(labels);
        if output == ActivationKind::Softmax {
            // dL/dz = (p - onehot(label)) / B
            for ((g, p), &label) in rows {
                for (g, &p) in g.iter_mut().zip(p) {
                    *g = scale * p;
                }
                g[label] -= scale;
            }
            return Ok(GradientOf::PreActivation);
        }
        // dL/dp = -1 / p[label] / B at the label, zero elsewhere and where clipped
        for ((g, p), &label) in rows {
            g.fill(F::zero());
            let (p, inside) = clip(p[label]);
            if inside {
                g[label] = -scale / p;
            }
        }
        Ok(GradientOf::Output)
    }
}
