//! `GlobalMaxPooling1D`: a sequence's maximum over its steps.

use crate::{Batch, Float, Layer, Rank1, Rank2, TrainContext};

/// The maximum of each feature over the `T` steps of a sequence `[T, D]`,
/// giving `[D]` (Keras' `GlobalMaxPooling1D`, channels last). Backward
/// routes each gradient to the step that held the maximum (the first, on
/// ties).
///
/// ```
/// use keelnet::{Batch, GlobalMaxPooling1D, Layer, Rank2};
/// let x = Batch::<Rank2<2, 3>>::from_vec(vec![1.0, 5.0, 3.0, 3.0, 4.0, 5.0])?;
/// assert_eq!(GlobalMaxPooling1D.predict(&x).as_slice(), &[3.0, 5.0, 5.0]);
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalMaxPooling1D;

crate::params::no_parameters!(GlobalMaxPooling1D);

impl<const T: usize, const D: usize, F: Float> Layer<Rank2<T, D>, F> for GlobalMaxPooling1D {
    type Output = Rank1<D>;
    /// Per sample and feature, the step of its maximum.
    type Cache = Vec<u32>;

    fn forward(&self, x: &Batch<Rank2<T, D>, F>, y: &mut Batch<Rank1<D>, F>) {
        self.forward_cached(x, y, &mut Vec::new());
    }

    fn forward_train(
        &self,
        x: &Batch<Rank2<T, D>, F>,
        y: &mut Batch<Rank1<D>, F>,
        steps: &mut Vec<u32>,
        _ctx: &mut TrainContext,
    ) {
        self.forward_cached(x, y, steps);
    }

    // x: [B, T, D] -> y[b, d] = max_t x[b, t, d], steps[b, d] = its t
    fn forward_cached(
        &self,
        x: &Batch<Rank2<T, D>, F>,
        y: &mut Batch<Rank1<D>, F>,
        steps: &mut Vec<u32>,
    ) {
        const {
            assert!(
                T >= 1 && T <= u32::MAX as usize,
                "`GlobalMaxPooling1D` needs at least one step, and at most 2^32"
            )
        };
        y.resize(x.len());
        steps.resize(y.as_slice().len(), 0);
        let outputs = y.as_mut_slice().chunks_exact_mut(D);
        for ((x, y), steps) in x.samples().zip(outputs).zip(steps.chunks_exact_mut(D)) {
            y.copy_from_slice(&x[..D]);
            steps.fill(0);
            for (t, step) in x.chunks_exact(D).enumerate().skip(1) {
                for ((y, at), &v) in y.iter_mut().zip(steps.iter_mut()).zip(step) {
                    if v > *y {
                        (*y, *at) = (v, t as u32);
                    }
                }
            }
        }
    }

    // dy: [B, D] -> dx[b, steps[b, d], d] = dy[b, d], zero elsewhere
    fn backward(
        &self,
        _x: &Batch<Rank2<T, D>, F>,
        _y: &Batch<Rank1<D>, F>,
        steps: &mut Vec<u32>,
        dy: &mut Batch<Rank1<D>, F>,
        dx: Option<&mut Batch<Rank2<T, D>, F>>,
        _grads: &mut (),
    ) {
        let Some(dx) = dx else { return };
        dx.resize(dy.len());
        let samples = dx.as_mut_slice().chunks_exact_mut(T * D);
        let grads = dy.as_slice().chunks_exact(D).zip(steps.chunks_exact(D));
        for (dx, (dy, steps)) in samples.zip(grads) {
            dx.fill(F::zero());
            for (d, (&g, &t)) in dy.iter().zip(steps).enumerate() {
                dx[t as usize * D + d] = g;
            }
        }
    }
}
