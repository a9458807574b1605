//! MNIST: 60,000 training and 10,000 test images of handwritten digits,
//! 28×28 grey pixels, with their labels 0 to 9.
//!
//! # Where the files come from
//!
//! [`Mnist::load`] looks for the four standard IDX files (gzipped or raw) in
//! the first of these places that holds all four:
//!
//! 1. the directory the caller gives, if any (and nowhere else);
//! 2. `$KEELNET_DATA/mnist`, if `KEELNET_DATA` is set;
//! 3. `data/mnist` under the working directory.
//!
//! If none does, and the `download` feature is on (it is by default), the
//! files are downloaded into the first of those places from a public mirror
//! (`KEELNET_MNIST_MIRROR` overrides it), each checked against its
//! published SHA-256 before it is moved into place, so that an interrupted
//! or corrupt download never leaves a file that looks good.

use std::path::{Path, PathBuf};

use crate::datasets::idx::{Idx, read_idx, read_idx_checked};
use crate::datasets::scale_bytes;
use crate::{Batch, Error, Float, Rank3, Result, Shape};

/// One image of MNIST: one channel of 28×28 pixels.
pub type Image = Rank3<1, 28, 28>;

/// The environment variable naming the directory that holds data sets.
pub const DATA_ENV: &str = "KEELNET_DATA";

/// The environment variable that overrides the download mirror.
pub const MIRROR_ENV: &str = "KEELNET_MNIST_MIRROR";

/// The mirror files are downloaded from (the one Keras and TensorFlow use).
pub const DEFAULT_MIRROR: &str = "https://storage.googleapis.com/cvdf-datasets/mnist/";

/// One of the four files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MnistFile {
    /// The file name without `.gz`.
    pub name: &'static str,
    /// The SHA-256 of the uncompressed file, whatever compressor made the `.gz`.
    pub sha256: &'static str,
}

/// The four files: training images and labels, test images and labels.
pub const FILES: [MnistFile; 4] = [
    MnistFile {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    MnistFile {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    MnistFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    MnistFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// MNIST in typed batches, pixels scaled to `[0, 1]`.
///
/// `S` is the sample shape the images are read into: [`Image`] for a
/// network declared with `Input<1, 28, 28>`, `Rank2<28, 28>` or
/// `Rank1<784>` where that is what the network takes.
///
/// ```no_run
/// use keelnet::datasets::mnist::Mnist;
/// let mnist: Mnist = Mnist::load(None)?; // searches, downloads if needed
/// assert_eq!(mnist.train_images.len(), 60_000);
/// assert_eq!(&mnist.test_labels[..3], &[7, 2, 1]);
/// # Ok::<(), keelnet::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Mnist<S: Shape = Image, F: Float = f32> {
    /// 60,000 training images.
    pub train_images: Batch<S, F>,
    /// Their labels, 0 to 9.
    pub train_labels: Vec<usize>,
    /// 10,000 test images.
    pub test_images: Batch<S, F>,
    /// Their labels, 0 to 9.
    pub test_labels: Vec<usize>,
}

impl<S: Shape, F: Float> Mnist<S, F> {
    /// Finds the files (see the [module documentation](self)), downloading
    /// them if the `download` feature is on and they are nowhere, and reads them.
    pub fn load(dir: Option<&Path>) -> Result<Self> {
        let mirror = std::env::var(MIRROR_ENV).unwrap_or_else(|_| DEFAULT_MIRROR.into());
        Self::load_or_fetch(dir, &mirror)
    }

    /// [`load`](Self::load) with the download mirror given (a URL ending in
    /// `/` that holds `NAME.gz`), not read from the environment.
    ///
    /// # Errors
    ///
    /// [`Error::DataNotFound`] (saying where it looked) when the files are
    /// nowhere and downloading is off; the download's own error
    /// ([`Error::Download`], [`Error::Checksum`], ...) when it failed.
    pub fn load_or_fetch(dir: Option<&Path>, mirror: &str) -> Result<Self> {
        let searched = search_dirs(dir);
        if let Some(found) = searched.iter().find(|d| holds_mnist(d)) {
            return Self::load_from(found);
        }
        fetch_into(&searched, mirror)?;
        Self::load_from(&searched[0])
    }

    /// Reads the four files from `dir`, with no search and no download.
    pub fn load_from(dir: &Path) -> Result<Self> {
        let [train_images, train_labels, test_images, test_labels] =
            FILES.map(|f| file_in(dir, f.name));
        let (train_images, train_labels) = read_split(&train_images, &train_labels)?;
        let (test_images, test_labels) = read_split(&test_images, &test_labels)?;
        Ok(Self {
            train_images,
            train_labels,
            test_images,
            test_labels,
        })
    }
}

/// Where [`Mnist::load`] looks, in order.
///
/// ```
/// use std::path::Path;
/// let dirs = keelnet::datasets::mnist::search_dirs(Some(Path::new("/data")));
/// assert_eq!(dirs, [Path::new("/data")]);
/// ```
pub fn search_dirs(dir: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = dir {
        return vec![dir.to_path_buf()];
    }
    let mut dirs = Vec::new();
    if let Some(data) = std::env::var_os(DATA_ENV).filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(data).join("mnist"));
    }
    dirs.push(PathBuf::from("data").join("mnist"));
    dirs
}

/// Whether `dir` holds all four files, gzipped or raw.
pub fn holds_mnist(dir: &Path) -> bool {
    FILES.iter().all(|f| file_in(dir, f.name).is_file())
}

/// `dir/name` if it exists raw, else `dir/name.gz`.
fn file_in(dir: &Path, name: &str) -> PathBuf {
    let raw = dir.join(name);
    if raw.is_file() {
        raw
    } else {
        dir.join(format!("{name}.gz"))
    }
}

/// Downloads the files into the first of the `searched` directories.
#[cfg(feature = "download")]
fn fetch_into(searched: &[PathBuf], mirror: &str) -> Result<()> {
    super::download::download_mnist(&searched[0], mirror)
}

/// Downloads are off: says where it looked and how to get the files.
#[cfg(not(feature = "download"))]
fn fetch_into(searched: &[PathBuf], _mirror: &str) -> Result<()> {
    Err(Error::DataNotFound {
        name: "MNIST".into(),
        searched: searched.to_vec(),
        help: format!(
            "Downloading is off (keelnet's `download` feature). Put the four files ({}), gzipped or not, into one of those directories, or set {DATA_ENV} to a directory holding mnist/.",
            file_list()
        ),
    })
}

#[cfg(not(feature = "download"))]
fn file_list() -> String {
    FILES.map(|f| f.name).join(", ")
}

/// Reads one split's images and labels. The labels come first, as bytes:
/// the images file is checked against their count before its data is
/// read, and nothing is converted before both agree.
fn read_split<S: Shape, F: Float>(
    images: &Path,
    labels: &Path,
) -> Result<(Batch<S, F>, Vec<usize>)> {
    let label_bytes = read_idx(labels, 1)?;
    let images = read_images(images, label_bytes.dims[0])?;
    Ok((images, digits(label_bytes, labels)?))
}

/// Reads an images file of `count` images into samples of shape `S`,
/// which must have the file's 28×28 layout (`[1, 28, 28]`, `[28, 28]` or
/// `[784]`); both are checked before the data is read.
fn read_images<S: Shape, F: Float>(path: &Path, count: usize) -> Result<Batch<S, F>> {
    let idx = read_idx_checked(path, 3, |dims| {
        let sample = &dims[1..];
        let fits = S::DIMS == sample
            || (S::DIMS.first() == Some(&1) && &S::DIMS[1..] == sample)
            || S::DIMS == [sample.iter().product::<usize>()];
        if !fits {
            return Err(Error::ShapeMismatch {
                path: path.to_path_buf(),
                expected: S::DIMS.to_vec(),
                found: sample.to_vec(),
            });
        }
        if dims[0] != count {
            return Err(Error::Malformed {
                path: path.to_path_buf(),
                reason: format!("{} images for {count} labels", dims[0]),
            });
        }
        Ok(())
    })?;
    Batch::from_vec_with_len(scale_bytes(&idx.data), idx.dims[0])
}

/// The labels read from `path`, each 0 to 9.
fn digits(idx: Idx, path: &Path) -> Result<Vec<usize>> {
    if let Some(bad) = idx.data.iter().find(|&&l| l > 9) {
        return Err(Error::Malformed {
            path: path.to_path_buf(),
            reason: format!("label {bad} is not a digit 0-9"),
        });
    }
    Ok(idx.data.iter().map(|&l| usize::from(l)).collect())
}
