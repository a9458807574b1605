//! `LSTM`: a long short-term memory layer over a sequence, Keras' gates.

use super::recurrent::{Cell, LastState, Recurrent};
use crate::{Activation, Float, Sigmoid, Tanh};

/// A long short-term memory layer over sequences `[T, D]` (Keras'
/// `LSTM(UNITS)`). With `z = x_t · W + h_{t-1} · U + b` cut into the gates
/// `i, f, c, o` (Keras' order): `c_t = σ(z_f) c_{t-1} + σ(z_i) tanh(z_c)`,
/// `h_t = σ(z_o) tanh(c_t)`, from `h_{-1} = c_{-1} = 0`; it returns
/// `h_{T-1}` or, with [`Sequences`](crate::Sequences), every `h_t`.
///
/// Keras' layout and defaults: `kernel` W `[D, 4·UNITS]` Glorot-uniform,
/// `recurrent_kernel` U `[UNITS, 4·UNITS]` orthogonal, `bias` `[4·UNITS]`
/// zero but for the forget gate's, one (`unit_forget_bias`).
///
/// ```
/// use keelnet::{Batch, LSTM, Layer, Rank1, Rank2};
/// use rand::SeedableRng;
/// let lstm = LSTM::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let h: Batch<Rank1<4>> = lstm.predict(&Batch::<Rank2<5, 3>>::zeros(2));
/// assert!(h.as_slice().iter().all(|&h| h == 0.0)); // no input: the cell stays empty
/// ```
pub type LSTM<const D: usize, const UNITS: usize, R = LastState, F = f32> =
    Recurrent<D, UNITS, LstmCell, R, F>;

/// [`LSTM`]'s step: the gates `i, f, c, o`, a cell and a state.
///
/// ```
/// use keelnet::{Cell, LstmCell};
/// let bias: Vec<f32> = LstmCell::initial_bias(2);
/// assert_eq!(bias, [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]); // the forget gate's
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LstmCell;

impl Cell for LstmCell {
    const GATES: usize = 4;

    fn initial_bias<F: Float>(units: usize) -> Vec<F> {
        let mut bias = vec![F::zero(); 4 * units];
        bias[units..2 * units].fill(F::one());
        bias
    }

    // i, f, o = σ(z); g = tanh(z_c); c = f c_{t-1} + i g; h = o tanh(c)
    fn forward<F: Float>(z: &mut [F], c_previous: Option<&[F]>, c: &mut [F], h: &mut [F]) {
        let units = c.len();
        let (ifo, rest) = z.split_at_mut(2 * units);
        let (g, o) = rest.split_at_mut(units);
        <Sigmoid as Activation>::forward(ifo);
        <Tanh as Activation>::forward(g);
        <Sigmoid as Activation>::forward(o);
        let (i, f) = ifo.split_at(units);
        for u in 0..units {
            let kept = c_previous.map_or(F::zero(), |c| f[u] * c[u]);
            c[u] = kept + i[u] * g[u];
            h[u] = o[u] * c[u].tanh();
        }
    }

    // dc += dh o (1 - tanh²c); dz_i = dc g i(1-i), dz_f = dc c_{t-1} f(1-f),
    // dz_c = dc i (1-g²), dz_o = dh tanh(c) o(1-o); dc_{t-1} = dc f
    fn backward<F: Float>(
        g: &[F],
        (c, c_previous): (&[F], Option<&[F]>),
        (dh, dc): (&mut [F], &mut [F]),
        dz: &mut [F],
    ) {
        let (units, one) = (c.len(), F::one());
        for u in 0..units {
            let (i, f, cand, o) = (g[u], g[units + u], g[2 * units + u], g[3 * units + u]);
            let tanh_c = c[u].tanh();
            let d_cell = dc[u] + dh[u] * o * (one - tanh_c * tanh_c);
            let c_before = c_previous.map_or(F::zero(), |c| c[u]);
            dz[u] = d_cell * cand * i * (one - i);
            dz[units + u] = d_cell * c_before * f * (one - f);
            dz[2 * units + u] = d_cell * i * (one - cand * cand);
            dz[3 * units + u] = dh[u] * tanh_c * o * (one - o);
            dc[u] = d_cell * f;
            dh[u] = F::zero();
        }
    }
}
