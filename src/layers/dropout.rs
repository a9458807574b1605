//! `Dropout`: inverted dropout while training, identity at inference.

use rand::Rng;

use crate::{Batch, Float, Layer, Shape, TrainContext};

/// Zeroes each value with probability `rate` while training and scales the
/// rest by `1 / (1 - rate)`, so that inference is the identity (Keras'
/// `Dropout`). The draws come from the [`TrainContext`], so a seeded run is
/// reproducible.
///
/// ```
/// use keelnet::{Batch, Dropout, Layer, Rank1, TrainContext};
/// let dropout = Dropout::new(0.5);
/// let x = Batch::<Rank1<1000>>::from_vec(vec![1.0; 1000])?;
/// let (mut y, mut mask) = (Batch::new(), Vec::new());
/// dropout.forward_train(&x, &mut y, &mut mask, &mut TrainContext::new(0));
/// assert!(y.as_slice().iter().all(|&v| v == 0.0 || v == 2.0));
/// assert_eq!(dropout.predict(&x), x);
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    rate: f64,
}

impl Dropout {
    /// Dropout of the given rate, clamped to `[0, 1)`.
    pub fn new(rate: f64) -> Self {
        let rate = if rate.is_finite() { rate } else { 0.0 };
        Self {
            rate: rate.clamp(0.0, 0.999_999),
        }
    }

    /// The fraction of values dropped while training.
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

crate::params::no_parameters!(Dropout);

impl<S: Shape, F: Float> Layer<S, F> for Dropout {
    type Output = S;
    /// The mask: `0` or `1 / (1 - rate)` per value.
    type Cache = Vec<F>;

    fn forward(&self, x: &Batch<S, F>, y: &mut Batch<S, F>) {
        y.copy_from(x);
    }

    // x: [B, ...S] -> y = x * mask
    fn forward_train(
        &self,
        x: &Batch<S, F>,
        y: &mut Batch<S, F>,
        mask: &mut Vec<F>,
        ctx: &mut TrainContext,
    ) {
        let keep = F::from_f64(1.0 / (1.0 - self.rate));
        let rng = ctx.rng();
        mask.clear();
        mask.extend(x.as_slice().iter().map(|_| {
            if rng.random::<f64>() < self.rate {
                F::zero()
            } else {
                keep
            }
        }));
        y.copy_from(x);
        for (y, &m) in y.as_mut_slice().iter_mut().zip(mask.iter()) {
            *y *= m;
        }
    }

    // dy -> dx = dy * mask
    fn backward(
        &self,
        _x: &Batch<S, F>,
        _y: &Batch<S, F>,
        mask: &mut Vec<F>,
        dy: &mut Batch<S, F>,
        dx: Option<&mut Batch<S, F>>,
        _grads: &mut (),
    ) {
        if let Some(dx) = dx {
            dx.copy_from(dy);
            for (d, &m) in dx.as_mut_slice().iter_mut().zip(mask.iter()) {
                *d *= m;
            }
        }
    }
}
