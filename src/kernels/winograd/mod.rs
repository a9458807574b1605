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

mod backward;
mod forward;
mod layout;
mod transforms;
mod weights;

pub use backward::{OutputGrad, backward};
pub use forward::{Outputs, forward};

use super::{ConvGeometry, conv_direct};
use crate::Float;
use crate::kernels::GemmShape;

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

    /// Each tile of a sample: its index, and its (row, column) in tiles.
    fn tiles(&self) -> impl Iterator<Item = (usize, (usize, usize))> {
        let cols = self.cols.max(1);
        (0..self.count()).map(move |index| (index, (index / cols, index % cols)))
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

/// One product per point of the transform, on one thread (a part's):
/// `c[p] = op(a[p]) · op(b[p])` for each point `p`, the operands of each
/// point of the sizes `shape` gives, one after another in `a`, `b` and `c`.
fn per_point<F: Float>(shape: GemmShape, a: &[F], b: &[F], c: &mut [F]) {
    let (a_len, b_len, c_len) = (shape.m * shape.k, shape.k * shape.n, shape.m * shape.n);
    let products = a
        .chunks_exact(a_len.max(1))
        .zip(b.chunks_exact(b_len.max(1)))
        .zip(c.chunks_exact_mut(c_len.max(1)));
    for ((a, b), c) in products {
        F::gemm(shape, a, b, c, &|_, _, _: &mut [F]| {});
    }
}
