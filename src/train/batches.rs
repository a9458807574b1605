//! Mini-batches for an epoch: shuffled from a seed, gathered into buffers
//! reused from batch to batch.

use std::marker::PhantomData;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::{Targets, gather_samples};
use crate::{Batch, Float, Shape};

/// The mini-batches of samples `x` and targets `y`, epoch after epoch: the
/// order is reshuffled at the start of each epoch from a seeded random
/// source (or kept, unseeded), and each batch is gathered into buffers that
/// are reused, so that iterating allocates nothing after the first batch.
/// The last batch of an epoch holds the remainder.
///
/// `fit` uses it; so can a training loop of your own (a GAN's, say):
///
/// ```
/// use keelnet::train::Batches;
/// use keelnet::{Batch, Rank1};
/// let x = Batch::<Rank1<1>>::from_vec((0..10).map(|v| v as f32).collect())?;
/// let labels: Vec<usize> = (0..10).collect();
/// let mut batches = Batches::<_, Rank1<10>, _, [usize]>::new(&x, &labels[..], 10, 4, Some(7));
/// assert_eq!(batches.len(), 3);
/// batches.start_epoch();
/// let mut seen = Vec::new();
/// while let Some((xb, yb)) = batches.next_batch() {
///     assert_eq!(xb.len(), yb.len());
///     seen.extend(yb.iter().copied());
/// }
/// seen.sort();
/// assert_eq!(seen, labels);
/// # Ok::<(), keelnet::Error>(())
/// ```
pub struct Batches<'d, S, O, F, Y>
where
    S: Shape,
    O: Shape,
    F: Float,
    Y: Targets<O, F> + ?Sized,
{
    x: &'d Batch<S, F>,
    y: &'d Y,
    order: Vec<usize>,
    shuffler: Option<StdRng>,
    batch_size: usize,
    next: usize,
    x_batch: Batch<S, F>,
    y_batch: Y::Batch,
    output: PhantomData<O>,
}

impl<'d, S, O, F, Y> Batches<'d, S, O, F, Y>
where
    S: Shape,
    O: Shape,
    F: Float,
    Y: Targets<O, F> + ?Sized,
{
    /// Batches of `batch_size` (at least 1) over the first `len` samples;
    /// shuffled each epoch from `seed` if one is given, in order otherwise.
    pub fn new(
        x: &'d Batch<S, F>,
        y: &'d Y,
        len: usize,
        batch_size: usize,
        seed: Option<u64>,
    ) -> Self {
        let len = len.min(x.len()).min(y.count());
        Self {
            x,
            y,
            order: (0..len).collect(),
            shuffler: seed.map(StdRng::seed_from_u64),
            batch_size: batch_size.max(1),
            next: len,
            x_batch: Batch::new(),
            y_batch: Y::Batch::default(),
            output: PhantomData,
        }
    }

    /// The number of batches in an epoch.
    pub fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// Whether an epoch has no batch.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Starts an epoch: reshuffles (when seeded) and rewinds.
    pub fn start_epoch(&mut self) {
        if let Some(shuffler) = &mut self.shuffler {
            self.order.shuffle(shuffler);
        }
        self.next = 0;
    }

    /// The next batch of the epoch, or `None` at its end.
    pub fn next_batch(&mut self) -> Option<(&Batch<S, F>, &Y::Batch)> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.order.len());
        let indices = &self.order[self.next..end];
        self.next = end;
        gather_samples(self.x, indices, &mut self.x_batch);
        self.y.gather(indices, &mut self.y_batch);
        Some((&self.x_batch, &self.y_batch))
    }
}
