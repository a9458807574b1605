//! A batch of samples of one static shape, in one contiguous buffer.

use std::fmt;
use std::marker::PhantomData;

use crate::{Error, Float, Result, Shape};

/// A batch of samples of shape `S` with elements `F`, stored contiguously.
///
/// The sample shape is in the type; the number of samples is a run-time
/// value, so the same network runs on full batches, on the partial last batch
/// of an epoch, and on single images. Sample `i` occupies
/// `data[i * S::NUMEL..(i + 1) * S::NUMEL]` in the layout described in
/// [`shape`](crate::shape).
///
/// Conversions from plain buffers check the length and return an [`Error`]:
///
/// ```
/// use keelnet::{Batch, Rank1};
/// let x = Batch::<Rank1<3>>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// assert_eq!(x.len(), 2);
/// assert_eq!(x.sample(1), &[4.0, 5.0, 6.0]);
/// assert!(Batch::<Rank1<3>>::from_vec(vec![1.0; 4]).is_err());
/// # Ok::<(), keelnet::Error>(())
/// ```
pub struct Batch<S: Shape, F: Float = f32> {
    data: Vec<F>,
    shape: PhantomData<S>,
}

impl<S: Shape, F: Float> Batch<S, F> {
    /// A batch of `len` samples, all zero.
    ///
    /// ```
    /// use keelnet::{Batch, Rank3};
    /// let x = Batch::<Rank3<1, 28, 28>>::zeros(32);
    /// assert_eq!(x.as_slice().len(), 32 * 784);
    /// ```
    pub fn zeros(len: usize) -> Self {
        Self::from_vec_unchecked(vec![F::zero(); len * S::NUMEL])
    }

    /// An empty batch (no samples); [`resize`](Self::resize) gives it some.
    ///
    /// ```
    /// use keelnet::{Batch, Rank1};
    /// assert!(Batch::<Rank1<4>>::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::from_vec_unchecked(Vec::new())
    }

    /// Takes ownership of `data`, which must hold a whole number of samples.
    ///
    /// ```
    /// use keelnet::{Batch, Rank2};
    /// let x = Batch::<Rank2<2, 2>>::from_vec(vec![0.0; 8])?;
    /// assert_eq!(x.len(), 2);
    /// # Ok::<(), keelnet::Error>(())
    /// ```
    pub fn from_vec(data: Vec<F>) -> Result<Self> {
        if S::NUMEL == 0 || !data.len().is_multiple_of(S::NUMEL) {
            return Err(Error::NotWholeSamples {
                len: data.len(),
                sample_len: S::NUMEL,
            });
        }
        Ok(Self::from_vec_unchecked(data))
    }

    /// Copies `data`, which must hold a whole number of samples.
    ///
    /// ```
    /// use keelnet::{Batch, Rank1};
    /// let x = Batch::<Rank1<2>, f64>::from_slice(&[1.0, 2.0])?;
    /// assert_eq!(x.len(), 1);
    /// # Ok::<(), keelnet::Error>(())
    /// ```
    pub fn from_slice(data: &[F]) -> Result<Self> {
        Self::from_vec(data.to_vec())
    }

    /// A batch of exactly `len` samples taken from `data`.
    ///
    /// ```
    /// use keelnet::{Batch, Error, Rank1};
    /// let err = Batch::<Rank1<2>>::from_vec_with_len(vec![0.0; 6], 2).unwrap_err();
    /// assert_eq!(err, Error::LengthMismatch { expected: 4, actual: 6 });
    /// ```
    pub fn from_vec_with_len(data: Vec<F>, len: usize) -> Result<Self> {
        let expected = len * S::NUMEL;
        if data.len() != expected {
            return Err(Error::LengthMismatch {
                expected,
                actual: data.len(),
            });
        }
        Ok(Self::from_vec_unchecked(data))
    }

    fn from_vec_unchecked(data: Vec<F>) -> Self {
        Self {
            data,
            shape: PhantomData,
        }
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(S::NUMEL).unwrap_or(0)
    }

    /// Whether the batch holds no sample.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Makes the batch hold `len` samples, reusing its allocation where it
    /// can; samples kept keep their values, new ones are zero.
    ///
    /// ```
    /// use keelnet::{Batch, Rank1};
    /// let mut x = Batch::<Rank1<3>>::zeros(64);
    /// x.resize(10);
    /// assert_eq!(x.len(), 10);
    /// ```
    pub fn resize(&mut self, len: usize) {
        self.data.resize(len * S::NUMEL, F::zero());
    }

    /// All elements, sample after sample.
    pub fn as_slice(&self) -> &[F] {
        &self.data
    }

    /// All elements, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [F] {
        &mut self.data
    }

    /// The elements of sample `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing.
    pub fn sample(&self, i: usize) -> &[F] {
        &self.data[i * S::NUMEL..(i + 1) * S::NUMEL]
    }

    /// The elements of sample `i`, mutably.
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing.
    pub fn sample_mut(&mut self, i: usize) -> &mut [F] {
        &mut self.data[i * S::NUMEL..(i + 1) * S::NUMEL]
    }

    /// The samples one by one.
    ///
    /// ```
    /// use keelnet::{Batch, Rank1};
    /// let x = Batch::<Rank1<2>>::from_vec(vec![1.0, 2.0, 3.0, 4.0])?;
    /// let sums: Vec<f32> = x.samples().map(|s| s.iter().sum()).collect();
    /// assert_eq!(sums, [3.0, 7.0]);
    /// # Ok::<(), keelnet::Error>(())
    /// ```
    pub fn samples(&self) -> std::slice::ChunksExact<'_, F> {
        self.data.chunks_exact(S::NUMEL.max(1))
    }

    /// Gives back the buffer.
    pub fn into_vec(self) -> Vec<F> {
        self.data
    }

    /// The same elements viewed as another shape of the same size (a
    /// flatten or reshape, free of copies). A size mismatch is refused when
    /// the program is built.
    ///
    /// ```
    /// use keelnet::{Batch, Rank1, Rank3};
    /// let images = Batch::<Rank3<1, 2, 2>>::zeros(5);
    /// let flat: Batch<Rank1<4>> = images.reshape();
    /// assert_eq!(flat.len(), 5);
    /// ```
    pub fn reshape<T: Shape>(self) -> Batch<T, F> {
        const { assert!(S::NUMEL == T::NUMEL, "reshape must keep the sample size") };
        Batch::from_vec_unchecked(self.data)
    }

    /// Makes `self` a copy of `other`, reusing `self`'s allocation.
    pub fn copy_from(&mut self, other: &Self) {
        self.data.clear();
        self.data.extend_from_slice(&other.data);
    }
}

impl<S: Shape, F: Float> Default for Batch<S, F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Shape, F: Float> Clone for Batch<S, F> {
    fn clone(&self) -> Self {
        Self::from_vec_unchecked(self.data.clone())
    }
}

impl<S: Shape, F: Float> PartialEq for Batch<S, F> {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}

impl<S: Shape, F: Float> fmt::Debug for Batch<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("len", &self.len())
            .field("sample_shape", &S::DIMS)
            .field("data", &self.data)
            .finish()
    }
}
