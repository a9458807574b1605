//! `Flatten`: an image (or any sample) seen as a vector.

use crate::{Batch, Float, Layer, Rank1, Shape};

/// Flattens each sample of shape `S` into a vector of `N = S::NUMEL`
/// features, copying the values in their memory order (channels first).
///
/// `network!` fills in `N`; written by hand, a wrong `N` is refused when the
/// program is built ("`Flatten<N>`: N must be the element count of the input shape (`network!` computes it)").
///
/// ```
/// use keelnet::{Batch, Flatten, Layer, Rank3};
/// let x = Batch::<Rank3<1, 2, 2>>::from_vec(vec![1.0, 2.0, 3.0, 4.0])?;
/// let y = <Flatten<4> as Layer<Rank3<1, 2, 2>, f32>>::predict(&Flatten, &x);
/// assert_eq!(y.as_slice(), &[1.0, 2.0, 3.0, 4.0]);
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten<const N: usize>;

crate::params::no_parameters!({const N: usize} Flatten<N>);

impl<S: Shape, const N: usize, F: Float> Layer<S, F> for Flatten<N> {
    type Output = Rank1<N>;
    type Cache = ();

    // x: [B, ...S] -> y: [B, N], same values
    fn forward(&self, x: &Batch<S, F>, y: &mut Batch<Rank1<N>, F>) {
        const {
            assert!(
                S::NUMEL == N,
                "`Flatten<N>`: N must be the element count of the input shape (`network!` computes it)"
            )
        };
        y.resize(x.len());
        y.as_mut_slice().copy_from_slice(x.as_slice());
    }

    // dy: [B, N] -> dx: [B, ...S], same values
    fn backward(
        &self,
        _x: &Batch<S, F>,
        _y: &Batch<Rank1<N>, F>,
        _cache: &mut (),
        dy: &mut Batch<Rank1<N>, F>,
        dx: Option<&mut Batch<S, F>>,
        _grads: &mut (),
    ) {
        if let Some(dx) = dx {
            dx.resize(dy.len());
            dx.as_mut_slice().copy_from_slice(dy.as_slice());
        }
    }
}
