//! Data sets and their loading: MNIST, and the helpers every data set needs.

#[cfg(feature = "download")]
pub mod download;
pub mod idx;
pub mod mnist;

use crate::{Batch, Error, Float, Rank1, Result};

/// One-hot rows from class labels (Keras' `to_categorical`).
///
/// ```
/// use keelnet::{Batch, Rank1, datasets::to_categorical};
/// let y: Batch<Rank1<3>> = to_categorical(&[2, 0])?;
/// assert_eq!(y.as_slice(), &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// assert!(to_categorical::<3, f32>(&[3]).is_err());
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn to_categorical<const N: usize, F: Float>(labels: &[usize]) -> Result<Batch<Rank1<N>, F>> {
    let mut out = Batch::zeros(labels.len());
    for (row, &label) in out.as_mut_slice().chunks_exact_mut(N).zip(labels) {
        if label >= N {
            return Err(Error::LabelOutOfRange { label, classes: N });
        }
        row[label] = F::one();
    }
    Ok(out)
}

/// Bytes `0..=255` as values in `[0, 1]` (pixel / 255).
///
/// ```
/// let x: Vec<f32> = keelnet::datasets::scale_bytes(&[0, 51, 255]);
/// assert_eq!(x, [0.0, 0.2, 1.0]);
/// ```
pub fn scale_bytes<F: Float>(bytes: &[u8]) -> Vec<F> {
    bytes
        .iter()
        .map(|&b| F::from_f64(f64::from(b) / 255.0))
        .collect()
}
