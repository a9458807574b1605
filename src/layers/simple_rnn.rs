//! `SimpleRNN`: `h_t = tanh(x_t · W + h_{t-1} · U + b)` over a sequence.

use super::recurrent::{Cell, LastState, Recurrent};
use crate::{Activation, Float, Tanh};

/// A fully connected recurrent layer over sequences `[T, D]` (Keras'
/// `SimpleRNN(UNITS)`): `h_t = tanh(x_t · W + h_{t-1} · U + b)` from
/// `h_{-1} = 0`, returning `h_{T-1}` or, with [`Sequences`](crate::Sequences),
/// every `h_t`.
///
/// Keras' layout and defaults: `kernel` W `[D, UNITS]` Glorot-uniform,
/// `recurrent_kernel` U `[UNITS, UNITS]` orthogonal, `bias` `[UNITS]` zero.
///
/// ```
/// use keelnet::{Batch, Layer, Rank2, Sequences, SimpleRNN};
/// use rand::SeedableRng;
/// let rnn = SimpleRNN::<3, 4, Sequences>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let y: Batch<Rank2<5, 4>> = rnn.predict(&Batch::<Rank2<5, 3>>::zeros(2));
/// assert!(y.as_slice().iter().all(|&h| h == 0.0)); // zero input, zero bias
/// ```
pub type SimpleRNN<const D: usize, const UNITS: usize, R = LastState, F = f32> =
    Recurrent<D, UNITS, SimpleCell, R, F>;

/// [`SimpleRNN`]'s step: `h = tanh(z)`, no cell.
///
/// ```
/// use keelnet::{Cell, SimpleCell};
/// let (mut z, mut h) = ([0.0f64, 100.0], [0.0; 2]);
/// SimpleCell::forward(&mut z, None, &mut [], &mut h);
/// assert_eq!(h, [0.0, 1.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimpleCell;

impl Cell for SimpleCell {
    const GATES: usize = 1;

    fn forward<F: Float>(z: &mut [F], _c_previous: Option<&[F]>, _c: &mut [F], h: &mut [F]) {
        <Tanh as Activation>::forward(z);
        h.copy_from_slice(z);
    }

    // dz = dh · (1 - h²)
    fn backward<F: Float>(
        h: &[F],
        _cells: (&[F], Option<&[F]>),
        (dh, _dc): (&mut [F], &mut [F]),
        dz: &mut [F],
    ) {
        for ((dz, dh), &h) in dz.iter_mut().zip(dh.iter_mut()).zip(h) {
            *dz = *dh * (F::one() - h * h);
            *dh = F::zero();
        }
    }
}
