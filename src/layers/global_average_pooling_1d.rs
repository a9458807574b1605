//! `GlobalAveragePooling1D`: a sequence's mean over its steps.

use crate::{Batch, Float, Layer, Rank1, Rank2};

/// The mean of each feature over the `T` steps of a sequence `[T, D]`,
/// giving `[D]` (Keras' `GlobalAveragePooling1D`, channels last).
///
/// ```
/// use keelnet::{Batch, GlobalAveragePooling1D, Layer, Rank2};
/// let x = Batch::<Rank2<2, 3>>::from_vec(vec![1.0, 2.0, 3.0, 3.0, 4.0, 5.0])?;
/// assert_eq!(GlobalAveragePooling1D.predict(&x).as_slice(), &[2.0, 3.0, 4.0]);
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAveragePooling1D;

crate::params::no_parameters!(GlobalAveragePooling1D);

impl<const T: usize, const D: usize, F: Float> Layer<Rank2<T, D>, F> for GlobalAveragePooling1D {
    type Output = Rank1<D>;
    type Cache = ();

    // x: [B, T, D] -> y[b, d] = Σ_t x[b, t, d] / T
    fn forward(&self, x: &Batch<Rank2<T, D>, F>, y: &mut Batch<Rank1<D>, F>) {
        const { assert!(T >= 1, "`GlobalAveragePooling1D` needs at least one step") };
        y.resize(x.len());
        let scale = F::one() / F::from_usize(T);
        for (x, y) in x.samples().zip(y.as_mut_slice().chunks_exact_mut(D)) {
            y.fill(F::zero());
            for step in x.chunks_exact(D) {
                y.iter_mut().zip(step).for_each(|(y, &v)| *y += v);
            }
            y.iter_mut().for_each(|y| *y *= scale);
        }
    }

    // dy: [B, D] -> dx[b, t, d] = dy[b, d] / T
    fn backward(
        &self,
        _x: &Batch<Rank2<T, D>, F>,
        _y: &Batch<Rank1<D>, F>,
        _cache: &mut (),
        dy: &mut Batch<Rank1<D>, F>,
        dx: Option<&mut Batch<Rank2<T, D>, F>>,
        _grads: &mut (),
    ) {
        let Some(dx) = dx else { return };
        dx.resize(dy.len());
        let scale = F::one() / F::from_usize(T);
        let samples = dx.as_mut_slice().chunks_exact_mut(T * D);
        for (dx, dy) in samples.zip(dy.as_slice().chunks_exact(D)) {
            for step in dx.chunks_exact_mut(D) {
                step.iter_mut().zip(dy).for_each(|(dx, &d)| *dx = d * scale);
            }
        }
    }
}
