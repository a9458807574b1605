//! Winograd's transforms, applied to tiles of groups of [`LANES`] channels
//! (one channel per lane): the 1-D transforms along one axis, and a tile
//! streamed through one along both axes.

use super::{LANES, Lanes, OUT, SIDE};
use crate::Float;

#[inline(always)]
fn lanewise<F: Float>(a: Lanes<F>, b: Lanes<F>, f: impl Fn(F, F) -> F) -> Lanes<F> {
    let mut out = a;
    for l in 0..LANES {
        out[l] = f(a[l], b[l]);
    }
    out
}

#[inline(always)]
pub(super) fn add<F: Float>(a: Lanes<F>, b: Lanes<F>) -> Lanes<F> {
    lanewise(a, b, |a, b| a + b)
}

#[inline(always)]
fn sub<F: Float>(a: Lanes<F>, b: Lanes<F>) -> Lanes<F> {
    lanewise(a, b, |a, b| a - b)
}

#[inline(always)]
fn neg<F: Float>(a: Lanes<F>) -> Lanes<F> {
    lanewise(a, a, |a, _| -a)
}

#[inline(always)]
fn scale<F: Float>(a: Lanes<F>, by: f64) -> Lanes<F> {
    let by = F::from_f64(by);
    lanewise(a, a, |a, _| a * by)
}

/// A 1-D transform along one axis of a tile: `R` groups of lanes in, `S`
/// out. [`transform_tile`] applies it along both axes of a tile. It is a
/// trait, not a function value, so that every application is inlined into
/// the vectorized loop around it: passed as a function, `B D` went through
/// an out-of-line `Fn::call` compiled without AVX2.
pub(super) trait Axis<const R: usize, const S: usize> {
    fn apply<F: Float>(x: [Lanes<F>; R]) -> [Lanes<F>; S];
}

/// `Bᵀ d` along one axis of an input tile: the 6 points from 6 inputs.
pub(super) struct InputPoints;

impl Axis<6, 6> for InputPoints {
    #[inline(always)]
    fn apply<F: Float>([d0, d1, d2, d3, d4, d5]: [Lanes<F>; 6]) -> [Lanes<F>; 6] {
        // Rows of Bᵀ: [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0],
        // [0 -2 -1 2 1 0], [0 2 -1 -2 1 0], [0 4 0 -5 0 1].
        let (even, odd) = (sub(d4, scale(d2, 4.0)), sub(scale(d1, 4.0), d3));
        let (near, far) = (sub(d4, d2), scale(sub(d1, d3), 2.0));
        [
            add(sub(scale(d0, 4.0), scale(d2, 5.0)), d4),
            sub(even, odd),
            add(even, odd),
            sub(near, far),
            add(near, far),
            add(sub(scale(d1, 4.0), scale(d3, 5.0)), d5),
        ]
    }
}

/// `B D` along one axis: the adjoint of [`InputPoints`].
pub(super) struct InputGrads;

impl Axis<6, 6> for InputGrads {
    #[inline(always)]
    fn apply<F: Float>([e0, e1, e2, e3, e4, e5]: [Lanes<F>; 6]) -> [Lanes<F>; 6] {
        let (odd, near, far) = (sub(e2, e1), add(e3, e4), sub(e4, e3));
        [
            scale(e0, 4.0),
            add(add(scale(odd, 4.0), scale(far, 2.0)), scale(e5, 4.0)),
            neg(add(add(scale(e0, 5.0), scale(add(e1, e2), 4.0)), near)),
            sub(sub(neg(odd), scale(far, 2.0)), scale(e5, 5.0)),
            add(add(e0, add(e1, e2)), near),
            e5,
        ]
    }
}

/// `Aᵀ m` along one axis: a tile's 4 outputs from its 6 points.
pub(super) struct OutputValues;

impl Axis<6, 4> for OutputValues {
    #[inline(always)]
    fn apply<F: Float>([m0, m1, m2, m3, m4, m5]: [Lanes<F>; 6]) -> [Lanes<F>; 4] {
        // Rows of Aᵀ: [1 1 1 1 1 0], [0 1 -1 2 -2 0], [0 1 1 4 4 0], [0 1 -1 8 -8 1].
        let (sum12, diff12) = (add(m1, m2), sub(m1, m2));
        let (sum34, diff34) = (add(m3, m4), sub(m3, m4));
        [
            add(add(m0, sum12), sum34),
            add(diff12, scale(diff34, 2.0)),
            add(sum12, scale(sum34, 4.0)),
            add(add(diff12, scale(diff34, 8.0)), m5),
        ]
    }
}

/// `A z` along one axis: the adjoint of [`OutputValues`].
pub(super) struct OutputGradPoints;

impl Axis<4, 6> for OutputGradPoints {
    #[inline(always)]
    fn apply<F: Float>([z0, z1, z2, z3]: [Lanes<F>; 4]) -> [Lanes<F>; 6] {
        let (even, odd) = (add(z0, z2), add(z1, z3));
        let (even4, odd2) = (add(z0, scale(z2, 4.0)), add(scale(z1, 2.0), scale(z3, 8.0)));
        [
            z0,
            add(even, odd),
            sub(even, odd),
            add(even4, odd2),
            sub(even4, odd2),
            z3,
        ]
    }
}

/// `G g` along one axis of a kernel: its 6 points from its 3 taps.
pub(super) struct WeightPoints;

impl Axis<3, 6> for WeightPoints {
    #[inline(always)]
    fn apply<F: Float>([g0, g1, g2]: [Lanes<F>; 3]) -> [Lanes<F>; 6] {
        // Rows of G: [1/4 0 0], [-1/6 -1/6 -1/6], [-1/6 1/6 -1/6],
        // [1/24 1/12 1/6], [1/24 -1/12 1/6], [0 0 1].
        let (outer, outer4) = (add(g0, g2), add(g0, scale(g2, 4.0)));
        [
            scale(g0, 0.25),
            scale(add(outer, g1), -1.0 / 6.0),
            scale(sub(outer, g1), -1.0 / 6.0),
            scale(add(outer4, scale(g1, 2.0)), 1.0 / 24.0),
            scale(sub(outer4, scale(g1, 2.0)), 1.0 / 24.0),
            g2,
        ]
    }
}

/// `Gᵀ w` along one axis: the adjoint of [`WeightPoints`].
pub(super) struct WeightGrads;

impl Axis<6, 3> for WeightGrads {
    #[inline(always)]
    fn apply<F: Float>([w0, w1, w2, w3, w4, w5]: [Lanes<F>; 6]) -> [Lanes<F>; 3] {
        let (sum12, diff12) = (
            scale(add(w1, w2), -1.0 / 6.0),
            scale(sub(w2, w1), 1.0 / 6.0),
        );
        let (sum34, diff34) = (
            scale(add(w3, w4), 1.0 / 24.0),
            scale(sub(w3, w4), 1.0 / 12.0),
        );
        [
            add(add(scale(w0, 0.25), sum12), sum34),
            add(diff12, diff34),
            add(add(sum12, scale(sum34, 4.0)), w5),
        ]
    }
}

/// The lanes at `at` in `values`.
#[inline(always)]
pub(super) fn load<F: Float>(values: &[F], at: usize) -> Lanes<F> {
    values[at..at + LANES].try_into().expect("a group of lanes")
}

/// Writes `lanes` at `at` in `values`.
#[inline(always)]
pub(super) fn store<F: Float>(values: &mut [F], at: usize, lanes: Lanes<F>) {
    let target: &mut Lanes<F> = (&mut values[at..at + LANES])
        .try_into()
        .expect("a group of lanes");
    *target = lanes;
}

/// Where an `R`×`R` tile of groups of lanes lies in a buffer: group
/// `(i, j)` at `base + i·rows + j·cols`.
#[derive(Clone, Copy)]
pub(super) struct Strided {
    pub(super) base: usize,
    pub(super) rows: usize,
    pub(super) cols: usize,
}

impl Strided {
    /// Panics unless every group of an `R`×`R` tile lies inside `len`
    /// values: the one bounds check of a tile.
    #[inline(always)]
    fn check<const R: usize>(self, len: usize) {
        let last = (R - 1)
            .checked_mul(self.rows)
            .and_then(|rows| rows.checked_add((R - 1).checked_mul(self.cols)?))
            .and_then(|offset| offset.checked_add(self.base)?.checked_add(LANES));
        assert!(last.is_some_and(|end| end <= len), "a tile past its buffer");
    }

    /// Where the points of tile `tile` lie among `n` transformed tiles of
    /// `channels` (padded), `[36, N, channels]`, from channel `first`:
    /// point `6i + j` at `(i, j)`.
    #[inline(always)]
    pub(super) fn points(tile: usize, first: usize, n: usize, channels: usize) -> Self {
        let cols = n * channels;
        Self {
            base: tile * channels + first,
            rows: SIDE * cols,
            cols,
        }
    }

    /// Where the tile at `(r, c)` (in tiles, of 4×4 positions) lies in a
    /// channels-last plane of rows of `width` positions of `channels`
    /// (padded), from channel `first`.
    #[inline(always)]
    pub(super) fn in_plane(
        (r, c): (usize, usize),
        first: usize,
        width: usize,
        channels: usize,
    ) -> Self {
        let rows = width * channels;
        Self {
            base: OUT * r * rows + OUT * c * channels + first,
            rows,
            cols: channels,
        }
    }

    /// Where group `(i, j)` starts.
    #[inline(always)]
    pub(super) fn at(self, i: usize, j: usize) -> usize {
        self.base + i * self.rows + j * self.cols
    }
}

/// `T x Tᵀ` of the `R`×`R` tile of groups of lanes at `at` in `values`,
/// streamed: each column is read from `values` and transformed, then each
/// row of the result is transformed and handed to `row_out(i, row)`. Only
/// a line and the transformed columns are live at a time, never a whole
/// tile copied by value.
#[inline(always)]
pub(super) fn transform_tile<T: Axis<R, S>, F: Float, const R: usize, const S: usize>(
    values: &[F],
    at: Strided,
    _transform: T,
    mut row_out: impl FnMut(usize, [Lanes<F>; S]),
) {
    at.check::<R>(values.len());
    let zero = [F::zero(); LANES];
    let mut columns = [[zero; S]; R];
    for (j, column) in columns.iter_mut().enumerate() {
        let mut line = [zero; R];
        for (i, lanes) in line.iter_mut().enumerate() {
            // SAFETY: i, j < R, so the group ends at most at
            // base + (R - 1)·(rows + cols) + LANES, which `check` bounded by the length.
            *lanes = unsafe {
                values
                    .as_ptr()
                    .add(at.at(i, j))
                    .cast::<Lanes<F>>()
                    .read_unaligned()
            };
        }
        *column = T::apply(line);
    }
    for i in 0..S {
        let mut line = [zero; R];
        for (value, column) in line.iter_mut().zip(&columns) {
            *value = column[i];
        }
        row_out(i, T::apply(line));
    }
}

/// The rows of an `R`×`R` tile of groups of lanes at `at` in `values`,
/// written (or with `accumulate`, added) one at a time; the tile's bounds
/// are checked once.
pub(super) struct TileRows<'a, F, const R: usize> {
    values: &'a mut [F],
    at: Strided,
    accumulate: bool,
}

impl<'a, F: Float, const R: usize> TileRows<'a, F, R> {
    #[inline(always)]
    pub(super) fn new(values: &'a mut [F], at: Strided, accumulate: bool) -> Self {
        at.check::<R>(values.len());
        Self {
            values,
            at,
            accumulate,
        }
    }

    /// Writes (or adds) row `i`.
    #[inline(always)]
    pub(super) fn write(&mut self, i: usize, row: [Lanes<F>; R]) {
        assert!(i < R, "a row past the tile");
        for (j, lanes) in row.into_iter().enumerate() {
            // SAFETY: i, j < R: inside the buffer by the check in `new`, as
            // in `transform_tile`.
            unsafe {
                let target = self
                    .values
                    .as_mut_ptr()
                    .add(self.at.at(i, j))
                    .cast::<Lanes<F>>();
                let value = if self.accumulate {
                    add(target.read_unaligned(), lanes)
                } else {
                    lanes
                };
                target.write_unaligned(value);
            }
        }
    }
}
