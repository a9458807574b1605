//! Activations as layers of their own (`ReLU` after a `Dense` without one).

use crate::{Activation, ActivationKind, Batch, Float, Layer, Shape};

crate::params::no_parameters!({A: Activation} A);

/// Every [`Activation`] is also a layer over any shape, applied per sample.
///
/// ```
/// use keelnet::{Batch, Layer, Rank1, Tanh};
/// let y = Tanh.predict(&Batch::<Rank1<2>, f64>::from_vec(vec![0.0, 1.0])?);
/// assert_eq!(y.as_slice(), &[0.0, 1.0f64.tanh()]);
/// # Ok::<(), keelnet::Error>(())
/// ```
// Not suggested when a layer does not take a shape: the error names the
// layer and the shape, not the activations.
#[diagnostic::do_not_recommend]
impl<S: Shape, F: Float, A: Activation> Layer<S, F> for A {
    type Output = S;
    type Cache = ();
    const ACTIVATION: ActivationKind = A::KIND;

    // x: [B, ...S] -> y = act(x): [B, ...S]
    fn forward(&self, x: &Batch<S, F>, y: &mut Batch<S, F>) {
        y.copy_from(x);
        for sample in y.as_mut_slice().chunks_exact_mut(S::NUMEL) {
            A::forward(sample);
        }
    }

    // dy: [B, ...S] -> dx = dy * act'(x), from x or y
    fn backward(
        &self,
        x: &Batch<S, F>,
        y: &Batch<S, F>,
        cache: &mut (),
        dy: &mut Batch<S, F>,
        dx: Option<&mut Batch<S, F>>,
        grads: &mut (),
    ) {
        let samples = x.samples().zip(y.samples());
        for ((x, y), dy) in samples.zip(dy.as_mut_slice().chunks_exact_mut(S::NUMEL)) {
            A::backward(x, y, dy);
        }
        self.backward_preactivation(x, y, cache, dy, dx, grads);
    }

    // dz is already dL/dx
    fn backward_preactivation(
        &self,
        _x: &Batch<S, F>,
        _y: &Batch<S, F>,
        _cache: &mut (),
        dz: &mut Batch<S, F>,
        dx: Option<&mut Batch<S, F>>,
        _grads: &mut (),
    ) {
        if let Some(dx) = dx {
            dx.copy_from(dz);
        }
    }
}
