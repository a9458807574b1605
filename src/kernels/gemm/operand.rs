//! The operands a product reads: strided matrices, and gathered ones
//! (an unfolded convolution input, read straight from the images).

/// An operand: `rows × cols` values at `data[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    /// The values.
    pub data: &'a [f32],
    /// Distance between consecutive rows.
    pub row_stride: usize,
    /// Distance between consecutive columns.
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn row_major(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: 1,
            col_stride: cols,
        }
    }
}

/// An operand whose element `(i, j)` is `data[row_offsets[i] +
/// col_offsets[j]]`: an unfolded convolution input read straight from the
/// images, never materialised (row `i` a kernel offset, column `j` an
/// output position, or the other way round for its transpose).
///
/// ```
/// use keelnet::kernels::Gather;
/// // The 2×2 windows of a 3×3 image, one column per output position.
/// let image = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
/// let unfolded = Gather { data: &image[..], row_offsets: &[0, 1, 3, 4], col_offsets: &[0, 1, 3, 4] };
/// assert_eq!(unfolded.at(3, 1), 6.0); // offset (1, 1) of the window at (0, 1)
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Gather<'a, F = f32> {
    /// The values.
    pub data: &'a [F],
    /// Where each row starts.
    pub row_offsets: &'a [usize],
    /// Where each column starts, from its row's start.
    pub col_offsets: &'a [usize],
}

impl<F: Copy> Gather<'_, F> {
    /// Element `(i, j)`.
    pub fn at(&self, i: usize, j: usize) -> F {
        self.data[self.row_offsets[i] + self.col_offsets[j]]
    }
}

/// An operand of [`sgemm`](super::sgemm): strided or gathered. Both convert into it, so
/// `sgemm` takes either.
///
/// ```
/// use keelnet::kernels::{Gather, MatRef, NoEpilogue, Operand, sgemm};
/// let a = [1.0, 2.0];
/// // b = [[1, 2], [2, 3]] read from [1, 2, 3] through offsets.
/// let b = Gather { data: &[1.0, 2.0, 3.0][..], row_offsets: &[0, 1], col_offsets: &[0, 1] };
/// let mut c = [0.0; 2];
/// sgemm(1, 2, 2, MatRef::row_major(&a, 2), b, &mut c, false, &NoEpilogue);
/// assert_eq!(c, [5.0, 8.0]);
/// assert!(matches!(Operand::from(b), Operand::Gathered(_)));
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Operand<'a> {
    /// Rows and columns at fixed strides.
    Strided(MatRef<'a>),
    /// Elements at the sums of row and column offsets.
    Gathered(Gather<'a>),
}

impl<'a> From<MatRef<'a>> for Operand<'a> {
    fn from(m: MatRef<'a>) -> Self {
        Operand::Strided(m)
    }
}

impl<'a> From<Gather<'a>> for Operand<'a> {
    fn from(g: Gather<'a>) -> Self {
        Operand::Gathered(g)
    }
}
