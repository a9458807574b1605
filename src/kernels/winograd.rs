//! 3×3 convolutions of stride 1 by Winograd's minimal filtering F(4×4, 3×3)
//! (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
//! with the points 0, ±1, ±2 and ∞).
//!
//! The output planes are cut into 4×4 tiles, each computed from the 6×6
//! tile of the (zero-padded) input under it. Transformed, one tile's 3×3
//! correlation becomes 36 elementwise products instead of 144
//! multiply-adds, and the sum over channels becomes one matrix product per
//! point `p` of the 6×6 transform. With `N` the tiles of a part of the
//! batch, channels last:
//!
//! ```text
//! U[p] = (G g Gᵀ)[p]    weights                [C_IN, C_OUT]
//! V[p] = (Bᵀ d B)[p]    input tiles            [N, C_IN]
//! Z[p] = (A dz Aᵀ)[p]   output gradient tiles  [N, C_OUT]
//!
//! forward:  M[p] = V[p] · U[p]     y  = Aᵀ M A   (4×4 per tile)
//! weights:  Ŵ[p] = Z[p]ᵀ · V[p]    dW = Gᵀ Ŵ G   (3×3, summed over the parts)
//! input:    D[p] = Z[p] · U[p]ᵀ    dx += B D Bᵀ  (6×6 per tile; tiles overlap)
//! ```
//!
//! The backward transforms are the adjoints of the forward ones, so the
//! three passes share `U`, `V` and `Z`. Channels are padded to whole
//! groups of [`LANES`] and each transform runs on a group of channels at
//! once; a sample is laid out channels-last for them and back. A part is a
//! few samples, so that its tiles and products stay in cache between the
//! transforms and the products; parts run in parallel, each product on one
//! thread.
//!
//! Where max pooling follows, forward pools each sample's outputs while
//! they are channels-last, instead of laying them out channel by channel
//! ([`Outputs::Pooled`]), and backward lays out the output gradient
//! channels-last straight from the pooled maxima ([`OutputGrad::AtMaxima`]).

use rayon::iter::Either;
use rayon::prelude::*;

use super::pool::max_pool_channels_last;
use super::{ConvGeometry, Pointwise, Transpose, conv_direct, sum_lanes, vectorized};
use crate::{Float, GemmShape};

/// Channels transformed together, one per lane.
const LANES: usize = 8;

/// Outputs down and across a tile.
const OUT: usize = 4;

/// Inputs down and across the tile they are computed from.
const SIDE: usize = OUT + 2;

/// Points of the 6×6 transform: one matrix product each.
const POINTS: usize = SIDE * SIDE;

/// Tiles in a part of the batch, about: eight samples of the reference
/// CNN's conv2d_2 (nine tiles each), so that a batch of 64 makes eight
/// equal parts, four for each of two threads. Ten samples a part made
/// seven parts, 34 samples against 30, and forward took 4-20% longer.
const PART_TILES: usize = 72;

type Lanes<F> = [F; LANES];

/// The fewest tiles of a batch worth the per-point products: one image of
/// the reference CNN's conv2d_2 is 9 tiles, too few rows for them (its
/// forward pass, one thread, in a timing loop outside the benches: 134-194
/// µs against 74-99 µs by im2col; level at two images, faster from three
/// on; `cargo bench --bench models` measures the one-image inference).
const MIN_TILES: usize = 16;

/// Whether this convolution of a batch of `batch` samples runs here: 3×3
/// kernels, stride 1, more taps than the direct kernels take, tiles that
/// waste little of their 4×4 outputs (at most 40% of im2col's
/// multiplications: the reference CNN's 11×11 outputs take 30%, its 3×3
/// ones 44% and run faster by im2col), and enough of them.
pub fn takes(g: &ConvGeometry, batch: usize) -> bool {
    let tiles = g.h_out.div_ceil(OUT) * g.w_out.div_ceil(OUT);
    g.k == 3
        && g.stride == 1
        && !conv_direct::takes(g)
        && tiles * POINTS * 5 <= g.positions() * 9 * 2
        && batch * tiles >= MIN_TILES
}

/// An activation's derivative as the Winograd backward pass applies it:
/// `derivative(y, d)` multiplies one sample's output gradient `d` by the
/// derivative at that sample's outputs `y`, in place.
///
/// ```
/// use keelnet::kernels::ActivationDerivative;
/// let relu: ActivationDerivative<'_, f32> =
///     &|y, d| d.iter_mut().zip(y).filter(|(_, y)| **y <= 0.0).for_each(|(d, _)| *d = 0.0);
/// let mut d = [1.0, 1.0];
/// relu(&[-1.0, 2.0], &mut d);
/// assert_eq!(d, [0.0, 1.0]);
/// ```
pub type ActivationDerivative<'a, F> = &'a (dyn Fn(&[F], &mut [F]) + Sync);

/// A Winograd convolution's scratch, sized once per batch size and
/// reused; the forward pass's transformed weights and input tiles are
/// kept for backward.
#[derive(Clone, Debug, Default)]
pub struct WinogradScratch<F> {
    /// `U`: `[36, C_IN, C_OUT]`, channels padded.
    weights: Vec<F>,
    /// `V`, per part: `[36, N, C_IN]`.
    inputs: Vec<F>,
    /// `M` in forward, `Z` in backward, per part: `[36, N, C_OUT]`.
    products: Vec<F>,
    /// `D`, per part: `[36, N, C_IN]`.
    input_grads: Vec<F>,
    /// `Ŵ` and the bias gradient, per part: `[36, C_OUT, C_IN]`, `[C_OUT]`.
    weight_grads: Vec<F>,
    /// One sample channels-last, per part.
    planes: Vec<F>,
    /// The weights by tap, output channels last (padded): `[C_IN, 9, C_OUT]`.
    weights_by_tap: Vec<F>,
    /// The bias, channels padded.
    bias: Vec<F>,
    /// Each tile's (row, column) in tiles.
    tiles: Vec<(usize, usize)>,
    /// Where each output position's gradient starts in the channels-last
    /// output gradient that backward transforms.
    grad_offsets: Vec<usize>,
}

/// How a convolution's outputs are cut into tiles and its batch into parts.
#[derive(Clone, Copy, Debug)]
struct Tiling {
    /// Tiles down and across a plane.
    rows: usize,
    cols: usize,
    /// Columns of the padded input plane the tiles read (`4·cols + 2`;
    /// it has `4·rows + 2` rows).
    width: usize,
    /// Input and output channels, padded to whole groups of lanes.
    c_in: usize,
    c_out: usize,
    /// Samples in a part (the last part may have fewer).
    samples: usize,
}

impl Tiling {
    fn of(g: &ConvGeometry) -> Self {
        let (rows, cols) = (g.h_out.div_ceil(OUT), g.w_out.div_ceil(OUT));
        Self {
            rows,
            cols,
            width: OUT * cols + 2,
            c_in: g.c_in.next_multiple_of(LANES),
            c_out: g.c_out.next_multiple_of(LANES),
            samples: (PART_TILES / (rows * cols)).max(1),
        }
    }

    /// Tiles per sample.
    fn count(&self) -> usize {
        self.rows * self.cols
    }

    /// Values of a part's channels-last plane: the largest of a padded
    /// input (or its gradient) and an output (or its gradient), and one
    /// sample's output gradient channels-first.
    fn plane_len(&self) -> usize {
        let input = (OUT * self.rows + 2) * self.width * self.c_in;
        let output = OUT * OUT * self.count() * self.c_out;
        input.max(output) + output
    }

    /// Values of a part's transformed tiles with `channels` (padded).
    fn part_len(&self, channels: usize) -> usize {
        POINTS * self.samples * self.count() * channels
    }
}

#[inline(always)]
fn lanewise<F: Float>(a: Lanes<F>, b: Lanes<F>, f: impl Fn(F, F) -> F) -> Lanes<F> {
    let mut out = a;
    for l in 0..LANES {
        out[l] = f(a[l], b[l]);
    }
    out
}

#[inline(always)]
fn add<F: Float>(a: Lanes<F>, b: Lanes<F>) -> Lanes<F> {
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
trait Axis<const R: usize, const S: usize> {
    fn apply<F: Float>(x: [Lanes<F>; R]) -> [Lanes<F>; S];
}

/// `Bᵀ d` along one axis of an input tile: the 6 points from 6 inputs.
struct InputPoints;

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
struct InputGrads;

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
struct OutputValues;

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
struct OutputGradPoints;

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
struct WeightPoints;

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
struct WeightGrads;

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
fn load<F: Float>(values: &[F], at: usize) -> Lanes<F> {
    values[at..at + LANES].try_into().expect("a group of lanes")
}

/// Writes `lanes` at `at` in `values`.
#[inline(always)]
fn store<F: Float>(values: &mut [F], at: usize, lanes: Lanes<F>) {
    let target: &mut Lanes<F> = (&mut values[at..at + LANES])
        .try_into()
        .expect("a group of lanes");
    *target = lanes;
}

/// Where an `R`×`R` tile of groups of lanes lies in a buffer: group
/// `(i, j)` at `base + i·rows + j·cols`.
#[derive(Clone, Copy)]
struct Strided {
    base: usize,
    rows: usize,
    cols: usize,
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

    /// Where group `(i, j)` starts.
    #[inline(always)]
    fn at(self, i: usize, j: usize) -> usize {
        self.base + i * self.rows + j * self.cols
    }
}

/// `T x Tᵀ` of the `R`×`R` tile of groups of lanes at `at` in `values`,
/// streamed: each column is read from `values` and transformed, then each
/// row of the result is transformed and handed to `row_out(i, row)`. Only
/// a line and the transformed columns are live at a time, never a whole
/// tile copied by value.
#[inline(always)]
fn transform_tile<T: Axis<R, S>, F: Float, const R: usize, const S: usize>(
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
struct TileRows<'a, F, const R: usize> {
    values: &'a mut [F],
    at: Strided,
    accumulate: bool,
}

impl<'a, F: Float, const R: usize> TileRows<'a, F, R> {
    #[inline(always)]
    fn new(values: &'a mut [F], at: Strided, accumulate: bool) -> Self {
        at.check::<R>(values.len());
        Self {
            values,
            at,
            accumulate,
        }
    }

    /// Writes (or adds) row `i`.
    #[inline(always)]
    fn write(&mut self, i: usize, row: [Lanes<F>; R]) {
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

/// Zeros the border of a `rows`×`width` plane of `channels` (padded)
/// around the `h`×`w` block at `(top, left)`.
#[inline(always)]
fn zero_border<F: Float>(
    plane: &mut [F],
    (top, left, width): (usize, usize, usize),
    (h, w): (usize, usize),
    channels: usize,
) {
    let row_len = width * channels;
    for (i, row) in plane.chunks_exact_mut(row_len).enumerate() {
        if i < top || i >= top + h {
            row.fill(F::zero());
        } else {
            row[..left * channels].fill(F::zero());
            row[(left + w) * channels..].fill(F::zero());
        }
    }
}

/// The rows of [`LANES`] planes of `h`×`w` values as groups of lanes in
/// rows of `width` positions of `channels` values: row `i` of the planes
/// is one transpose, into row `i` of the groups.
#[inline(always)]
fn rows_to_channels_last((h, w): (usize, usize), width: usize, channels: usize) -> Transpose {
    Transpose {
        lines: LANES,
        depth: w,
        count: h,
        src_line: h * w,
        src_next: w,
        dst_group: channels,
        dst_next: width * channels,
    }
}

/// One sample `x: [C, H, W]` channels-last into `out: [rows, width, channels]`
/// (channels padded), at `(top, left)`: `out[((top + i)·width + left + j)·channels + c]
/// = x[c][i][j]`. The padded channels are zeros; positions not written keep their value.
#[inline(always)]
fn to_channels_last<F: Float>(
    x: &[F],
    (h, w): (usize, usize),
    (top, left, width): (usize, usize, usize),
    out: &mut [F],
    channels: usize,
) {
    let (planes, plane) = (x.len() / (h * w).max(1), h * w);
    for first in (0..planes.div_ceil(LANES)).map(|group| group * LANES) {
        let lanes = LANES.min(planes - first);
        let at = |i: usize, j: usize| ((top + i) * width + left + j) * channels + first;
        if lanes == LANES {
            let rows = rows_to_channels_last((h, w), width, channels);
            F::transpose(&rows, &x[first * plane..], &mut out[at(0, 0)..]);
            continue;
        }
        for i in 0..h {
            for j in 0..w {
                let mut group = [F::zero(); LANES];
                for (l, value) in group[..lanes].iter_mut().enumerate() {
                    *value = x[(first + l) * plane + i * w + j];
                }
                store(out, at(i, j), group);
            }
        }
    }
}

/// The inverse of [`to_channels_last`]: `x[c][i][j] = from[((top + i)·width
/// + left + j)·channels + c]`.
#[inline(always)]
fn to_channels_first<F: Float>(
    from: &[F],
    (top, left, width): (usize, usize, usize),
    channels: usize,
    x: &mut [F],
    (h, w): (usize, usize),
) {
    let (planes, plane) = (x.len() / (h * w).max(1), h * w);
    for first in (0..planes.div_ceil(LANES)).map(|group| group * LANES) {
        let lanes = LANES.min(planes - first);
        let at = |i: usize, j: usize| ((top + i) * width + left + j) * channels + first;
        if lanes == LANES {
            let rows = rows_to_channels_last((h, w), width, channels).inverse();
            F::transpose(&rows, &from[at(0, 0)..], &mut x[first * plane..]);
            continue;
        }
        for i in 0..h {
            for j in 0..w {
                let group = load(from, at(i, j));
                for (l, &value) in group[..lanes].iter().enumerate() {
                    x[(first + l) * plane + i * w + j] = value;
                }
            }
        }
    }
}

/// `U[p][c][o] = (G g Gᵀ)[p]` for every kernel `g = weight[o][c]`,
/// [`LANES`] output channels at a time, from the weights laid out by tap
/// with the output channels last (`by_tap: [C_IN, 9, C_OUT]`, channels
/// padded with zeros), where each tap's lanes are one load. The points
/// `p = 6a + b` of one row `a` of the transform are one task: row `a` of
/// `G g`, then `G` along it.
fn transform_weights<F: Float>(
    g: &ConvGeometry,
    t: &Tiling,
    weight: &[F],
    by_tap: &mut Vec<F>,
    u: &mut [F],
) {
    by_tap.clear();
    by_tap.resize(g.c_in * 9 * t.c_out, F::zero());
    let layout = Transpose {
        lines: g.c_out,
        depth: g.c_in * 9,
        count: 1,
        src_line: g.c_in * 9,
        src_next: 0,
        dst_group: t.c_out,
        dst_next: 0,
    };
    F::transpose(&layout, &weight[..g.c_out * g.c_in * 9], by_tap);
    let by_tap = &*by_tap;
    u.par_chunks_mut(SIDE * t.c_in * t.c_out)
        .enumerate()
        .for_each(|(a, points)| {
            vectorized(
                #[inline(always)]
                || {
                    for c in 0..g.c_in {
                        for first in (0..t.c_out).step_by(LANES) {
                            let tap = |i: usize, j: usize| {
                                load(by_tap, ((c * 3 + i) * 3 + j) * t.c_out + first)
                            };
                            let row: [Lanes<F>; 3] = std::array::from_fn(|j| {
                                WeightPoints::apply([tap(0, j), tap(1, j), tap(2, j)])[a]
                            });
                            for (b, &point) in WeightPoints::apply(row).iter().enumerate() {
                                store(points, (b * t.c_in + c) * t.c_out + first, point);
                            }
                        }
                    }
                    // The padded input channels.
                    for point in points.chunks_exact_mut(t.c_in * t.c_out) {
                        point[g.c_in * t.c_out..].fill(F::zero());
                    }
                },
            )
        });
}

/// Values of `Ŵ` summed in one task: the parts are added in order, a block
/// at a time, so that any number of threads gives the same bits.
const SUM_BLOCK: usize = 4096;

/// `dW[o][c] = Gᵀ Ŵ G`, with `Ŵ` summed over the parts (into the first),
/// and the bias gradient summed over the parts.
fn weight_grads_out<F: Float>(
    g: &ConvGeometry,
    t: &Tiling,
    parts: &mut [F],
    d_weight: &mut [F],
    d_bias: &mut [F],
) {
    let part_len = POINTS * t.c_out * t.c_in + t.c_out;
    let (sum, rest) = parts.split_at_mut(part_len);
    sum.par_chunks_mut(SUM_BLOCK)
        .enumerate()
        .for_each(|(block, sum)| {
            vectorized(
                #[inline(always)]
                || {
                    for part in rest.chunks_exact(part_len) {
                        let part = &part[block * SUM_BLOCK..][..sum.len()];
                        sum.iter_mut().zip(part).for_each(|(s, &v)| *s += v);
                    }
                },
            )
        });
    let sum = &*sum;
    let kernels = g.c_in * 9;
    d_weight[..g.c_out * kernels]
        .par_chunks_mut(kernels.max(1))
        .enumerate()
        .for_each(|(o, d_weight)| {
            vectorized(
                #[inline(always)]
                || {
                    for first in (0..g.c_in).step_by(LANES) {
                        let cols = t.c_out * t.c_in;
                        let at = Strided {
                            base: o * t.c_in + first,
                            rows: SIDE * cols,
                            cols,
                        };
                        transform_tile(sum, at, WeightGrads, |i, row| {
                            for l in 0..LANES.min(g.c_in - first) {
                                for (j, value) in row.iter().enumerate() {
                                    d_weight[(first + l) * 9 + i * 3 + j] = value[l];
                                }
                            }
                        });
                    }
                },
            )
        });
    d_bias.copy_from_slice(&sum[POINTS * t.c_out * t.c_in..][..g.c_out]);
}

/// Where a Winograd forward pass ([`Float::winograd_forward`]) puts its
/// outputs: all of them, or only their max pooling.
///
/// ```
/// use keelnet::kernels::Outputs;
/// let (mut pooled, mut argmax) = ([0.0f32; 4], [0u32; 4]);
/// let outputs = Outputs::Pooled { p: 2, pooled: &mut pooled, argmax: &mut argmax };
/// assert!(matches!(outputs, Outputs::Pooled { p: 2, .. }));
/// ```
pub enum Outputs<'a, F> {
    /// All of them, `y: [B, C_OUT, H_OUT, W_OUT]`.
    Full(&'a mut [F]),
    /// Only their max pooling, as
    /// [`max_pool_forward`](super::max_pool_forward) gives it.
    Pooled {
        /// The pooling's window and stride.
        p: usize,
        /// The window maxima, `[B, C_OUT, H_OUT / p, W_OUT / p]`.
        pooled: &'a mut [F],
        /// Each maximum's index into its sample's `[C_OUT, H_OUT, W_OUT]`.
        argmax: &'a mut [u32],
    },
}

/// One part's share of [`Outputs`].
enum PartOutputs<'a, F> {
    Full(&'a mut [F]),
    Pooled(&'a mut [F], &'a mut [u32]),
}

/// `y = act(conv(x, weight) + bias)` for a batch `x: [B, C_IN, H, W]`, into
/// `outputs`, `activation` applying `act` in place over one sample's
/// outputs (`[C_OUT, H_OUT, W_OUT]`, or channels-last when pooled: it must
/// be elementwise then). The activation comes as a value, not a type, so
/// that this code is compiled once, not once per activation.
pub fn forward<F: Float>(
    g: &ConvGeometry,
    (x, weight, bias): (&[F], &[F], &[F]),
    outputs: Outputs<'_, F>,
    activation: Pointwise<'_, F>,
    s: &mut WinogradScratch<F>,
) {
    let t = Tiling::of(g);
    let (in_len, out_len, count) = (g.c_in * g.h * g.w, g.c_out * g.positions(), t.count());
    let batch = x.len() / in_len.max(1);
    let parts = batch.div_ceil(t.samples);
    s.weights.resize(POINTS * t.c_in * t.c_out, F::zero());
    s.inputs.resize(POINTS * batch * count * t.c_in, F::zero());
    s.products
        .resize(POINTS * batch * count * t.c_out, F::zero());
    s.planes.resize(parts * t.plane_len(), F::zero());
    s.tiles.clear();
    s.tiles
        .extend((0..t.rows).flat_map(|r| (0..t.cols).map(move |c| (r, c))));
    transform_weights(g, &t, weight, &mut s.weights_by_tap, &mut s.weights);
    s.bias.clear();
    s.bias.extend_from_slice(bias);
    s.bias.resize(t.c_out, F::zero());
    let (u, tiles, bias, (top, left)) = (&s.weights, &s.tiles, &s.bias, g.pad());
    // One sample's share of the outputs: all of them, or their pooling.
    let (pool, sample_len) = match &outputs {
        Outputs::Full(_) => (1, out_len),
        Outputs::Pooled { p, .. } => (*p, g.c_out * (g.h_out / p) * (g.w_out / p)),
    };
    let part_outputs = match outputs {
        Outputs::Full(y) => Either::Left(
            y[..batch * out_len]
                .par_chunks_mut(t.samples * out_len)
                .map(PartOutputs::Full),
        ),
        Outputs::Pooled { pooled, argmax, .. } => {
            let len = batch * sample_len;
            let chunk = (t.samples * sample_len).max(1);
            Either::Right(
                pooled[..len]
                    .par_chunks_mut(chunk)
                    .zip(argmax[..len].par_chunks_mut(chunk))
                    .map(|(pooled, argmax)| PartOutputs::Pooled(pooled, argmax)),
            )
        }
    };
    let parts = x
        .par_chunks(t.samples * in_len)
        .zip(part_outputs)
        .zip(s.inputs.par_chunks_mut(t.part_len(t.c_in)))
        .zip(s.products.par_chunks_mut(t.part_len(t.c_out)))
        .zip(s.planes.par_chunks_mut(t.plane_len()));
    parts.for_each(|((((x, mut outputs), v), m), plane)| {
        let n = v.len() / (POINTS * t.c_in);
        // V[p][tile][c] = (Bᵀ d B)[p]
        vectorized(
            #[inline(always)]
            || {
                for (b, x) in x.chunks_exact(in_len).enumerate() {
                    let padded = &mut plane[..(OUT * t.rows + 2) * t.width * t.c_in];
                    let layout = (top, left, t.width);
                    zero_border(padded, layout, (g.h, g.w), t.c_in);
                    to_channels_last(x, (g.h, g.w), layout, padded, t.c_in);
                    for (index, &(r, c)) in tiles.iter().enumerate() {
                        let tile = b * count + index;
                        for first in (0..t.c_in.div_ceil(LANES)).map(|group| group * LANES) {
                            let rows = t.width * t.c_in;
                            let at = Strided {
                                base: OUT * r * rows + OUT * c * t.c_in + first,
                                rows,
                                cols: t.c_in,
                            };
                            let cols = n * t.c_in;
                            let base = tile * t.c_in + first;
                            let to = Strided {
                                base,
                                rows: SIDE * cols,
                                cols,
                            };
                            let mut points = TileRows::<F, SIDE>::new(v, to, false);
                            transform_tile(padded, at, InputPoints, |i, row| points.write(i, row));
                        }
                    }
                }
            },
        );
        // M[p][N, C_OUT] = V[p][N, C_IN] · U[p][C_IN, C_OUT]
        let shape = GemmShape {
            m: n,
            n: t.c_out,
            k: t.c_in,
            a_transposed: false,
            b_transposed: false,
            accumulate: false,
        };
        let products = v
            .chunks_exact(n * t.c_in)
            .zip(u.chunks_exact(t.c_in * t.c_out))
            .zip(m.chunks_exact_mut(n * t.c_out));
        for ((v, u), m) in products {
            F::gemm(shape, v, u, m, &|_, _, _: &mut [F]| {});
        }
        // y = act(Aᵀ M A + bias), channels-last, then laid out or pooled
        vectorized(
            #[inline(always)]
            || {
                for b in 0..x.len() / in_len {
                    let outputs_last = &mut plane[..g.positions() * t.c_out];
                    for (index, &(r, c)) in tiles.iter().enumerate() {
                        let tile = b * count + index;
                        for first in (0..t.c_out.div_ceil(LANES)).map(|group| group * LANES) {
                            let cols = n * t.c_out;
                            let base = tile * t.c_out + first;
                            let at = Strided {
                                base,
                                rows: SIDE * cols,
                                cols,
                            };
                            let bias = load(bias, first);
                            let with_bias = |mut row: [Lanes<F>; OUT]| {
                                for value in &mut row {
                                    *value = add(*value, bias);
                                }
                                row
                            };
                            let (rows, cols) = (g.w_out * t.c_out, t.c_out);
                            let base = OUT * r * rows + OUT * c * cols + first;
                            if OUT * (r + 1) <= g.h_out && OUT * (c + 1) <= g.w_out {
                                let to = Strided { base, rows, cols };
                                let mut values = TileRows::<F, OUT>::new(outputs_last, to, false);
                                transform_tile(m, at, OutputValues, |i, row| {
                                    values.write(i, with_bias(row));
                                });
                                continue;
                            }
                            // A tile past the edge: the outputs inside.
                            transform_tile(m, at, OutputValues, |i, row| {
                                for (j, value) in with_bias(row).into_iter().enumerate() {
                                    if OUT * r + i < g.h_out && OUT * c + j < g.w_out {
                                        store(outputs_last, base + i * rows + j * cols, value);
                                    }
                                }
                            });
                        }
                    }
                    let sample = b * sample_len..(b + 1) * sample_len;
                    match &mut outputs {
                        PartOutputs::Full(y) => {
                            let y = &mut y[sample];
                            let layout = (0, 0, g.w_out);
                            let size = (g.h_out, g.w_out);
                            to_channels_first(outputs_last, layout, t.c_out, y, size);
                            activation.apply(y);
                        }
                        PartOutputs::Pooled(pooled, argmax) => {
                            activation.apply(outputs_last);
                            let sizes = (g.c_out, g.h_out, g.w_out);
                            let (pooled, argmax) =
                                (&mut pooled[sample.clone()], &mut argmax[sample]);
                            max_pool_channels_last(
                                outputs_last,
                                sizes,
                                t.c_out,
                                pool,
                                pooled,
                                argmax,
                            );
                        }
                    }
                }
            },
        );
    });
}

/// The gradient at a Winograd forward pass's outputs, as backward
/// ([`Float::winograd_backward`]) reads it.
///
/// ```
/// use keelnet::kernels::OutputGrad;
/// // The gradient 1.0 at the maximum of the pooling of a 2×2 plane, at index 3.
/// let grad = OutputGrad::AtMaxima { dz: &[1.0f32], argmax: &[3], pooled_size: (1, 1) };
/// assert!(matches!(grad, OutputGrad::AtMaxima { pooled_size: (1, 1), .. }));
/// ```
#[derive(Clone, Copy)]
pub enum OutputGrad<'a, F> {
    /// At every output.
    Dense {
        /// The gradient at the outputs `y`, `[B, C_OUT, H_OUT, W_OUT]`.
        dy: &'a [F],
        /// The outputs (not read without a derivative).
        y: &'a [F],
        /// `derivative(y, d)` multiplies one sample's gradient `d` by the
        /// activation's derivative at its outputs `y` (`None`: the identity).
        derivative: Option<ActivationDerivative<'a, F>>,
    },
    /// Zero but at the maxima of a max pooling ([`Outputs::Pooled`]).
    AtMaxima {
        /// The gradient before the activation at the maxima, `[B, C_OUT,
        /// PH, PW]`.
        dz: &'a [F],
        /// The maxima's indices, as the pooled forward pass gave them.
        argmax: &'a [u32],
        /// `(PH, PW)`: the pooled rows and columns.
        pooled_size: (usize, usize),
    },
}

/// Backward from `grad`, with the scratch of the forward pass on the same
/// `x` and `weight`: writes `d_weight`, `d_bias`, and `dx` when asked.
pub fn backward<F: Float>(
    g: &ConvGeometry,
    grad: OutputGrad<'_, F>,
    (d_weight, d_bias): (&mut [F], &mut [F]),
    dx: Option<&mut [F]>,
    s: &mut WinogradScratch<F>,
) {
    let t = Tiling::of(g);
    let (in_len, out_len, count) = (g.c_in * g.h * g.w, g.c_out * g.positions(), t.count());
    // One sample's gradient values, all of them, and the derivative.
    let (grad_len, given, derivative) = match grad {
        OutputGrad::Dense { dy, derivative, .. } => (out_len, dy.len(), derivative),
        OutputGrad::AtMaxima {
            dz,
            pooled_size: (h, w),
            ..
        } => (g.c_out * h * w, dz.len(), None),
    };
    let batch = given / grad_len.max(1);
    let part_grads = POINTS * t.c_out * t.c_in + t.c_out;
    s.weight_grads
        .resize(batch.div_ceil(t.samples) * part_grads, F::zero());
    let with_dx = dx.is_some();
    if with_dx {
        s.input_grads
            .resize(POINTS * batch * count * t.c_in, F::zero());
    }
    let mut no_dx = Vec::new();
    let dx = dx.unwrap_or(&mut no_dx);
    let dz_width = OUT * t.cols;
    s.grad_offsets.clear();
    s.grad_offsets
        .extend((0..g.h_out).flat_map(|i| (0..g.w_out).map(move |j| (i * dz_width + j) * t.c_out)));
    let (u, tiles, grad_offsets) = (&s.weights, &s.tiles, &s.grad_offsets);
    let (top, left) = g.pad();
    let samples = t.samples;
    let parts = s
        .inputs
        .par_chunks(t.part_len(t.c_in))
        .zip(s.products.par_chunks_mut(t.part_len(t.c_out)))
        .zip(s.weight_grads.par_chunks_mut(part_grads))
        .zip(s.planes.par_chunks_mut(t.plane_len()))
        .take(batch.div_ceil(samples))
        .enumerate();
    type Part<'a, F> = (usize, (((&'a [F], &'a mut [F]), &'a mut [F]), &'a mut [F]));
    let each = |(part, (((v, z), grads), plane)): Part<'_, F>,
                input_grads: Option<(&mut [F], &mut [F])>| {
        let n = v.len() / (POINTS * t.c_in);
        let samples_here = samples.min(batch - part * samples);
        let (w_hat, d_bias) = grads.split_at_mut(POINTS * t.c_out * t.c_in);
        d_bias.fill(F::zero());
        let (plane, dz_first) = plane.split_at_mut(plane.len() - OUT * OUT * count * t.c_out);
        let dz_first = &mut dz_first[..out_len];
        // Z[p][tile][o] = (A dz Aᵀ)[p], dz = dy · act'(y)
        vectorized(
            #[inline(always)]
            || {
                for b in 0..samples_here {
                    let dz = &mut plane[..OUT * t.rows * dz_width * t.c_out];
                    let sample = (part * samples + b) * grad_len..;
                    match grad {
                        OutputGrad::Dense { dy, y, .. } => {
                            zero_border(dz, (0, 0, dz_width), (g.h_out, g.w_out), t.c_out);
                            dz_first.copy_from_slice(&dy[sample.clone()][..out_len]);
                            if let Some(derivative) = derivative {
                                derivative(&y[sample][..out_len], dz_first);
                            }
                            for (o, channel) in dz_first.chunks_exact(g.positions()).enumerate() {
                                d_bias[o] += sum_lanes(channel);
                            }
                            let size = (g.h_out, g.w_out);
                            to_channels_last(dz_first, size, (0, 0, dz_width), dz, t.c_out);
                        }
                        OutputGrad::AtMaxima {
                            dz: at_maxima,
                            argmax,
                            ..
                        } => {
                            dz.fill(F::zero());
                            let values = &at_maxima[sample.clone()][..grad_len];
                            let argmax = &argmax[sample][..grad_len];
                            let per_channel = (grad_len / g.c_out.max(1)).max(1);
                            let channels = values
                                .chunks_exact(per_channel)
                                .zip(argmax.chunks_exact(per_channel));
                            for (o, (values, argmax)) in channels.enumerate() {
                                let (plane, mut sum) = (o * g.positions(), F::zero());
                                for (&d, &at) in values.iter().zip(argmax) {
                                    dz[grad_offsets[at as usize - plane] + o] += d;
                                    sum += d;
                                }
                                d_bias[o] += sum;
                            }
                        }
                    }
                    for (index, &(r, c)) in tiles.iter().enumerate() {
                        let tile = b * count + index;
                        for first in (0..t.c_out.div_ceil(LANES)).map(|group| group * LANES) {
                            let rows = dz_width * t.c_out;
                            let base = OUT * r * rows + OUT * c * t.c_out + first;
                            let at = Strided {
                                base,
                                rows,
                                cols: t.c_out,
                            };
                            let cols = n * t.c_out;
                            let base = tile * t.c_out + first;
                            let to = Strided {
                                base,
                                rows: SIDE * cols,
                                cols,
                            };
                            let mut points = TileRows::<F, SIDE>::new(z, to, false);
                            transform_tile(dz, at, OutputGradPoints, |i, row| points.write(i, row));
                        }
                    }
                }
            },
        );
        // Ŵ[p][C_OUT, C_IN] = Z[p][N, C_OUT]ᵀ · V[p][N, C_IN]
        let weight_grad = GemmShape {
            m: t.c_out,
            n: t.c_in,
            k: n,
            a_transposed: true,
            b_transposed: false,
            accumulate: false,
        };
        let products = z
            .chunks_exact(n * t.c_out)
            .zip(v.chunks_exact(n * t.c_in))
            .zip(w_hat.chunks_exact_mut(t.c_out * t.c_in));
        for ((z, v), w_hat) in products {
            F::gemm(weight_grad, z, v, w_hat, &|_, _, _: &mut [F]| {});
        }
        let Some((d, dx)) = input_grads else {
            return;
        };
        // D[p][N, C_IN] = Z[p][N, C_OUT] · U[p][C_IN, C_OUT]ᵀ
        let input_grad = GemmShape {
            m: n,
            n: t.c_in,
            k: t.c_out,
            a_transposed: false,
            b_transposed: true,
            accumulate: false,
        };
        let products = z
            .chunks_exact(n * t.c_out)
            .zip(u.chunks_exact(t.c_in * t.c_out))
            .zip(d.chunks_exact_mut(n * t.c_in));
        for ((z, u), d) in products {
            F::gemm(input_grad, z, u, d, &|_, _, _: &mut [F]| {});
        }
        // dx = Σ over tiles of B D Bᵀ, cropped
        vectorized(
            #[inline(always)]
            || {
                for (b, dx) in dx.chunks_exact_mut(in_len).enumerate() {
                    let padded = &mut plane[..(OUT * t.rows + 2) * t.width * t.c_in];
                    padded.fill(F::zero());
                    for (index, &(r, c)) in tiles.iter().enumerate() {
                        let tile = b * count + index;
                        for first in (0..t.c_in.div_ceil(LANES)).map(|group| group * LANES) {
                            let cols = n * t.c_in;
                            let base = tile * t.c_in + first;
                            let at = Strided {
                                base,
                                rows: SIDE * cols,
                                cols,
                            };
                            let rows = t.width * t.c_in;
                            let base = OUT * r * rows + OUT * c * t.c_in + first;
                            let to = Strided {
                                base,
                                rows,
                                cols: t.c_in,
                            };
                            let mut grads = TileRows::<F, SIDE>::new(padded, to, true);
                            transform_tile(d, at, InputGrads, |i, row| grads.write(i, row));
                        }
                    }
                    let layout = (top, left, t.width);
                    to_channels_first(padded, layout, t.c_in, dx, (g.h, g.w));
                }
            },
        );
    };
    if with_dx {
        let input_grads = s.input_grads.par_chunks_mut(t.part_len(t.c_in));
        let dx_parts = dx[..batch * in_len].par_chunks_mut(samples * in_len);
        parts
            .zip(input_grads.zip(dx_parts))
            .for_each(|(part, (d, dx))| each(part, Some((d, dx))));
    } else {
        parts.for_each(|part| each(part, None));
    }
    weight_grads_out(g, &t, &mut s.weight_grads, d_weight, d_bias);
}
