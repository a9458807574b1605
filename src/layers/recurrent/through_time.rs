//! The loops over time of a recurrent layer: forward step by step, and
//! backward through time, one recurrent product a step each way.

use super::{Cell, Recurrent, RecurrentCache, Returns};
use crate::Float;
use crate::kernels::GemmShape;

impl<const D: usize, const UNITS: usize, C: Cell, R: Returns, F: Float>
    Recurrent<D, UNITS, C, R, F>
{
    /// `[B, UNITS] · U` (or `· Uᵀ` into `[B, UNITS]` when `back`).
    fn by_recurrent(batch: usize, back: bool) -> GemmShape {
        let (n, k) = if back {
            (UNITS, Self::WIDE)
        } else {
            (Self::WIDE, UNITS)
        };
        GemmShape {
            m: batch,
            n,
            k,
            a_transposed: false,
            b_transposed: back,
            accumulate: !back,
        }
    }

    // projected: [B, T, G·U] -> gates: [T, B, G·U], cells and states: [T, B, U];
    // z_t = projected_t + h_{t-1} · U, then the cell, sample by sample
    pub(super) fn steps_forward(
        &self,
        (steps, batch): (usize, usize),
        cache: &mut RecurrentCache<F>,
    ) {
        let (step, wide) = (batch * UNITS, batch * Self::WIDE);
        let RecurrentCache {
            projected,
            gates,
            cells,
            states,
            ..
        } = cache;
        gates.resize(steps * wide, F::zero());
        cells.resize(steps * step, F::zero());
        states.resize(steps * step, F::zero());
        let nothing = |_: usize, _: usize, _: &mut [F]| {};
        for t in 0..steps {
            let z = &mut gates[t * wide..][..wide];
            for (b, z) in z.chunks_exact_mut(Self::WIDE).enumerate() {
                z.copy_from_slice(&projected[(b * steps + t) * Self::WIDE..][..Self::WIDE]);
            }
            if t > 0 {
                let previous = &states[(t - 1) * step..][..step];
                let shape = Self::by_recurrent(batch, false);
                F::gemm(shape, previous, &self.recurrent_kernel, z, &nothing);
            }
            let (before, from) = cells.split_at_mut(t * step);
            let c_previous = t.checked_sub(1).map(|p| &before[p * step..][..step]);
            let (c, h) = (&mut from[..step], &mut states[t * step..][..step]);
            let rows = z
                .chunks_exact_mut(Self::WIDE)
                .zip(c.chunks_exact_mut(UNITS));
            for (b, ((z, c), h)) in rows.zip(h.chunks_exact_mut(UNITS)).enumerate() {
                let c_previous = c_previous.map(|c| &c[b * UNITS..][..UNITS]);
                C::forward(z, c_previous, c, h);
            }
        }
    }

    // dy at each step's state -> d_gates: [B, T, G·U], back through time;
    // dU += h_{t-1}ᵀ · dz_t and dh = dz_t · Uᵀ at each step
    pub(super) fn steps_backward<'a>(
        &self,
        (steps, batch): (usize, usize),
        dy_at: impl Fn(usize, usize) -> Option<&'a [F]>,
        cache: &mut RecurrentCache<F>,
        d_recurrent: &mut Vec<F>,
    ) {
        let (step, wide) = (batch * UNITS, batch * Self::WIDE);
        let RecurrentCache {
            gates,
            cells,
            states,
            d_gates,
            dz,
            dh,
            dc,
            ..
        } = cache;
        d_gates.resize(batch * steps * Self::WIDE, F::zero());
        dz.resize(wide, F::zero());
        for carried in [&mut *dh, &mut *dc] {
            carried.clear();
            carried.resize(step, F::zero());
        }
        d_recurrent.clear();
        d_recurrent.resize(UNITS * Self::WIDE, F::zero());
        let nothing = |_: usize, _: usize, _: &mut [F]| {};
        for t in (0..steps).rev() {
            for b in 0..batch {
                // Sample b's row of a time-major buffer of rows of `width`.
                let row =
                    |width: usize, t: usize| (t * batch + b) * width..(t * batch + b + 1) * width;
                let c_previous = t.checked_sub(1).map(|p| &cells[row(UNITS, p)]);
                let (dh, dc) = (&mut dh[row(UNITS, 0)], &mut dc[row(UNITS, 0)]);
                if let Some(dy) = dy_at(b, t) {
                    dh.iter_mut().zip(dy).for_each(|(dh, &d)| *dh += d);
                }
                let dz = &mut dz[row(Self::WIDE, 0)];
                C::backward(
                    &gates[row(Self::WIDE, t)],
                    (&cells[row(UNITS, t)], c_previous),
                    (dh, dc),
                    dz,
                );
                d_gates[(b * steps + t) * Self::WIDE..][..Self::WIDE].copy_from_slice(dz);
            }
            if t > 0 {
                let previous = &states[(t - 1) * step..][..step];
                let grad = GemmShape {
                    m: UNITS,
                    n: Self::WIDE,
                    k: batch,
                    a_transposed: true,
                    b_transposed: false,
                    accumulate: true,
                };
                F::gemm(grad, previous, dz, d_recurrent, &nothing);
                let back = Self::by_recurrent(batch, true);
                F::gemm(back, dz, &self.recurrent_kernel, dh, &nothing);
            }
        }
    }
}
