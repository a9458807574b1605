//! The one error type of keelnet.

use std::fmt;

/// Everything that can go wrong at run time in keelnet.
///
/// Shapes inside a network are checked by the compiler; what remains are
/// values that arrive at run time: buffers of the wrong length, labels out of
/// range, losses that stop being finite.
///
/// ```
/// use keelnet::{Batch, Error, Rank1};
/// let err = Batch::<Rank1<3>>::from_vec(vec![1.0; 7]).unwrap_err();
/// assert_eq!(err, Error::NotWholeSamples { len: 7, sample_len: 3 });
/// println!("{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A buffer holds `actual` elements where `expected` were needed.
    LengthMismatch {
        /// What the receiving shape needs.
        expected: usize,
        /// What was given.
        actual: usize,
    },
    /// A buffer's length is not a whole number of samples.
    NotWholeSamples {
        /// Elements given.
        len: usize,
        /// Elements in one sample of the receiving shape.
        sample_len: usize,
    },
    /// Two batches that must hold the same number of samples do not.
    BatchMismatch {
        /// Samples in the first batch.
        left: usize,
        /// Samples in the second.
        right: usize,
    },
    /// A class label is not below the number of classes.
    LabelOutOfRange {
        /// The offending label.
        label: usize,
        /// How many classes there are.
        classes: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch { expected, actual } => write!(
                f,
                "buffer holds {actual} elements but the shape needs {expected}"
            ),
            Error::NotWholeSamples { len, sample_len } => write!(
                f,
                "buffer of {len} elements is not a whole number of samples of {sample_len} elements"
            ),
            Error::BatchMismatch { left, right } => write!(
                f,
                "batches hold different numbers of samples: {left} and {right}"
            ),
            Error::LabelOutOfRange { label, classes } => write!(
                f,
                "label {label} is out of range for {classes} classes (labels run 0..{classes})"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with keelnet's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
