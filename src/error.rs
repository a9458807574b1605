//! The one error type of keelnet.

use std::fmt;
use std::path::{Path, PathBuf};

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
#[derive(Debug, Clone, PartialEq)]
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
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        message: String,
    },
    /// A data file is not in the format it claims (wrong magic number,
    /// truncated, trailing bytes, absurd sizes).
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A data file holds samples of another shape than the network takes.
    ShapeMismatch {
        /// The file.
        path: PathBuf,
        /// The sample shape the receiving batch needs.
        expected: Vec<usize>,
        /// The sample shape in the file.
        found: Vec<usize>,
    },
    /// A data set is on none of the places searched, and could not be fetched.
    DataNotFound {
        /// The data set.
        name: String,
        /// The directories searched, in order.
        searched: Vec<PathBuf>,
        /// Why it could not be fetched, and how to get it.
        help: String,
    },
    /// A download failed.
    Download {
        /// What was fetched.
        url: String,
        /// Where it was to go.
        path: PathBuf,
        /// Why it failed.
        reason: String,
    },
    /// A file's SHA-256 is not the published one (corrupt or tampered).
    Checksum {
        /// Where it came from, if it was downloaded.
        url: Option<String>,
        /// The file, or where a download was to go (nothing is left there).
        path: PathBuf,
        /// The published digest.
        expected: String,
        /// The digest of what was read.
        actual: String,
    },
    /// The loss stopped being a finite number: training diverged.
    NonFiniteLoss {
        /// Where in `fit`: the epoch and the step within it, both from 1;
        /// `None` for a step taken alone (`train_on_batch`).
        at: Option<(usize, usize)>,
        /// The loss value (NaN or infinite).
        loss: f64,
    },
    /// A parameter became non-finite or exploded past
    /// [`MAX_PARAMETER`](crate::train::MAX_PARAMETER): training diverged,
    /// even if the clipped loss still looks finite.
    Diverged {
        /// The parameter tensor (`dense_1.weight`).
        parameter: String,
        /// The offending value.
        value: f64,
        /// The epoch, from 1, and the step within it after which it was found.
        at: (usize, usize),
    },
    /// A training or validation target the loss cannot take: a label out of
    /// range is [`Error::LabelOutOfRange`]; this is a target row that is
    /// not a probability distribution for a categorical cross-entropy, not
    /// in `[0, 1]` for a binary one, or not finite.
    InvalidTarget {
        /// The sample's index in the targets given.
        sample: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// No parameter tensor has this name.
    UnknownParameter {
        /// The name asked for (`dense_1.weight`).
        name: String,
    },
    /// An argument is out of its range (a batch size of 0, a validation
    /// split of 1.5, ...).
    InvalidArgument {
        /// What is wrong and what is allowed.
        message: String,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: &Path, error: &std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            message: error.to_string(),
        }
    }
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
            Error::Io { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Malformed { path, reason } => {
                write!(f, "{}: not a valid data file: {reason}", path.display())
            }
            Error::ShapeMismatch {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}: samples of shape {found:?}, but the batch takes samples of shape {expected:?}",
                path.display()
            ),
            Error::DataNotFound {
                name,
                searched,
                help,
            } => {
                let places: Vec<String> =
                    searched.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "{name} not found; looked in: {}. {help}",
                    places.join(", ")
                )
            }
            Error::Download { url, path, reason } => write!(
                f,
                "downloading {url} to {} failed: {reason}",
                path.display()
            ),
            Error::Checksum {
                url,
                path,
                expected,
                actual,
            } => {
                write!(f, "{}", path.display())?;
                if let Some(url) = url {
                    write!(f, " (from {url})")?;
                }
                write!(
                    f,
                    ": SHA-256 is {actual}, expected {expected}: the file is corrupt"
                )
            }
            Error::NonFiniteLoss { at, loss } => {
                write!(f, "the loss became {loss}")?;
                if let Some((epoch, step)) = at {
                    write!(f, " at epoch {epoch}, step {step}")?;
                }
                f.write_str(
                    ": training diverged (lower the learning rate, or check the data for NaN)",
                )
            }
            Error::Diverged {
                parameter,
                value,
                at: (epoch, step),
            } => write!(
                f,
                "`{parameter}` holds {value} after epoch {epoch}, step {step}: training diverged (lower the learning rate)"
            ),
            Error::InvalidTarget { sample, reason } => {
                write!(f, "the target of sample {sample} {reason}")
            }
            Error::UnknownParameter { name } => write!(
                f,
                "no parameter is named `{name}` (the walk names them like `dense_1.weight`)"
            ),
            Error::InvalidArgument { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with keelnet's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
