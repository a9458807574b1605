//! What a model is trained to predict: class labels or target rows.

use crate::{Batch, Float, Rank1, Shape};

/// A set of training targets that can be cut into mini-batches and scored.
///
/// Implemented for class labels (`[usize]`, with sparse categorical
/// cross-entropy) and for target rows (`Batch<Rank1<N>>`: one-hot rows with
/// categorical cross-entropy, 0/1 values with binary cross-entropy, any
/// values with mean squared error).
pub trait Targets<O: Shape, F: Float> {
    /// A mini-batch of targets, reused from step to step.
    type Batch: Default;

    /// The number of targets (one per sample).
    fn count(&self) -> usize;

    /// Fills `out` with the targets at `indices`, in that order.
    fn gather(&self, indices: &[usize], out: &mut Self::Batch);

    /// How many predictions in `pred` are right, as Keras' `accuracy`
    /// judges them: the largest output is the labelled class; for a single
    /// output, it is on the same side of 0.5 as the target.
    fn count_correct(targets: &Self::Batch, pred: &Batch<O, F>) -> usize;
}

/// The index of the largest value (the first on ties).
fn argmax<F: Float>(row: &[F]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

impl<const N: usize, F: Float> Targets<Rank1<N>, F> for [usize] {
    type Batch = Vec<usize>;

    fn count(&self) -> usize {
        self.len()
    }

    fn gather(&self, indices: &[usize], out: &mut Vec<usize>) {
        out.clear();
        out.extend(indices.iter().map(|&i| self[i]));
    }

    fn count_correct(labels: &Vec<usize>, pred: &Batch<Rank1<N>, F>) -> usize {
        (pred.samples().zip(labels))
            .filter(|&(p, &label)| argmax(p) == label)
            .count()
    }
}

impl<const N: usize, F: Float> Targets<Rank1<N>, F> for Batch<Rank1<N>, F> {
    type Batch = Batch<Rank1<N>, F>;

    fn count(&self) -> usize {
        self.len()
    }

    fn gather(&self, indices: &[usize], out: &mut Self::Batch) {
        gather_samples(self, indices, out);
    }

    fn count_correct(targets: &Self::Batch, pred: &Batch<Rank1<N>, F>) -> usize {
        let half = F::from_f64(0.5);
        (pred.samples().zip(targets.samples()))
            .filter(|(p, t)| {
                if N == 1 {
                    (p[0] > half) == (t[0] > half)
                } else {
                    argmax(p) == argmax(t)
                }
            })
            .count()
    }
}

/// Copies the samples at `indices` of `from` into `out`, reusing its allocation.
///
/// ```
/// use keelnet::{Batch, Rank1, train::gather_samples};
/// let x = Batch::<Rank1<2>>::from_vec(vec![0., 1., 10., 11., 20., 21.])?;
/// let mut out = Batch::new();
/// gather_samples(&x, &[2, 0], &mut out);
/// assert_eq!(out.as_slice(), &[20., 21., 0., 1.]);
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn gather_samples<S: Shape, F: Float>(
    from: &Batch<S, F>,
    indices: &[usize],
    out: &mut Batch<S, F>,
) {
    out.resize(indices.len());
    for (dst, &i) in out.as_mut_slice().chunks_exact_mut(S::NUMEL).zip(indices) {
        dst.copy_from_slice(from.sample(i));
    }
}
