//! The IDX format of MNIST: a magic number, big-endian dimensions, then
//! unsigned bytes; read raw or gzipped.

use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::Path;

use byteorder::{BigEndian, ReadBytesExt};
use flate2::read::MultiGzDecoder;

use crate::{Error, Result};

/// The largest IDX payload read (1 GiB): a header that claims more is
/// malformed, not a reason to allocate.
pub const MAX_BYTES: usize = 1 << 30;

/// The most a gzipped IDX file's data may claim per byte of the file:
/// MNIST's own files expand about five times, a decompression bomb a
/// thousand. A header that claims more is refused before anything is
/// decompressed.
pub const MAX_EXPANSION: usize = 32;

/// What any gzipped file may expand to, whatever its size (small files of
/// few distinct values compress far better than images).
pub const EXPANSION_SLACK: usize = 1 << 20;

/// The element-type byte of unsigned bytes, the only type MNIST uses.
const UNSIGNED_BYTE: u8 = 0x08;

/// An IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    /// The dimensions, outermost (the sample count) first.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads the IDX file at `path` (gzipped if it starts with the gzip magic),
/// which must have `rank` dimensions.
///
/// The data a header claims must fit the file: as many bytes as follow
/// the header (raw), or at most [`MAX_EXPANSION`] times the file's size
/// (gzipped) plus [`EXPANSION_SLACK`]. A header that claims more is [`Error::Malformed`] before any
/// data is read or decompressed, as is a corrupt gzip stream.
///
/// ```no_run
/// let labels = keelnet::datasets::idx::read_idx("data/mnist/t10k-labels-idx1-ubyte.gz".as_ref(), 1)?;
/// assert_eq!(labels.dims, [10_000]);
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn read_idx(path: &Path, rank: usize) -> Result<Idx> {
    read_idx_checked(path, rank, |_| Ok(()))
}

/// [`read_idx`], with `check` run on the dimensions before the data is
/// read: a caller that knows what it expects (a count, a sample shape)
/// refuses a wrong file without reading it.
///
/// ```no_run
/// use keelnet::datasets::idx::read_idx_checked;
/// let images = read_idx_checked("data/mnist/t10k-images-idx3-ubyte.gz".as_ref(), 3, |dims| {
///     assert_eq!(&dims[1..], [28, 28]);
///     Ok(())
/// })?;
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn read_idx_checked(
    path: &Path,
    rank: usize,
    check: impl FnOnce(&[usize]) -> Result<()>,
) -> Result<Idx> {
    let file = File::open(path).map_err(|e| Error::io(path, &e))?;
    let size = file.metadata().map_err(|e| Error::io(path, &e))?.len();
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    parse_file(BufReader::new(file), size, path, (rank, check))
}

/// [`read_idx`] of a file's `bytes` already in memory (`path` names it in
/// errors): the same checks and limits. The fuzz targets run it.
///
/// ```
/// use keelnet::datasets::idx::parse_idx_bytes;
/// let idx = parse_idx_bytes(&[0, 0, 8, 1, 0, 0, 0, 2, 4, 2], "labels".as_ref(), 1)?;
/// assert_eq!(idx.data, [4, 2]);
/// // A header that claims more than ten bytes can hold.
/// assert!(parse_idx_bytes(&[0, 0, 8, 1, 0, 0, 0, 9, 4, 2], "labels".as_ref(), 1).is_err());
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn parse_idx_bytes(bytes: &[u8], path: &Path, rank: usize) -> Result<Idx> {
    parse_file(bytes, bytes.len(), path, (rank, |_: &[usize]| Ok(())))
}

/// An IDX file of `size` bytes from `reader`, gzipped if it starts with
/// the gzip magic, with the data it may claim bounded by its size.
fn parse_file(
    mut reader: impl BufRead,
    size: usize,
    path: &Path,
    (rank, check): (usize, impl FnOnce(&[usize]) -> Result<()>),
) -> Result<Idx> {
    let gzipped = reader
        .fill_buf()
        .map_err(|e| Error::io(path, &e))?
        .starts_with(&[0x1f, 0x8b]);
    if gzipped {
        let most = size
            .saturating_mul(MAX_EXPANSION)
            .saturating_add(EXPANSION_SLACK)
            .min(MAX_BYTES);
        let decoder = BufReader::new(MultiGzDecoder::new(reader));
        parse_idx_within(decoder, path, (rank, most), check)
    } else {
        parse_idx_within(reader, path, (rank, size.min(MAX_BYTES)), check)
    }
}

/// Parses an IDX stream; `path` names it in errors.
///
/// ```
/// use keelnet::datasets::idx::parse_idx;
/// let bytes = [0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9];
/// let idx = parse_idx(&bytes[..], "labels".as_ref(), 1)?;
/// assert_eq!((idx.dims, idx.data), (vec![3], vec![7, 8, 9]));
/// assert!(parse_idx(&bytes[..10], "labels".as_ref(), 1).is_err()); // truncated
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn parse_idx(reader: impl Read, path: &Path, rank: usize) -> Result<Idx> {
    parse_idx_within(reader, path, (rank, MAX_BYTES), |_| Ok(()))
}

/// [`parse_idx`] of at most `most` bytes of data, `check` run on the
/// dimensions before the data is read.
fn parse_idx_within(
    mut reader: impl Read,
    path: &Path,
    (rank, most): (usize, usize),
    check: impl FnOnce(&[usize]) -> Result<()>,
) -> Result<Idx> {
    let malformed = |reason: String| Error::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    // A stream that is not what it claims (corrupt gzip) is malformed, not
    // an I/O failure.
    let read_error = |e: std::io::Error| match e.kind() {
        ErrorKind::InvalidData | ErrorKind::InvalidInput => {
            malformed(format!("corrupt compressed data: {e}"))
        }
        _ => Error::io(path, &e),
    };
    let io = |e: std::io::Error| match e.kind() {
        ErrorKind::UnexpectedEof => malformed("the file ends inside its header".into()),
        _ => read_error(e),
    };
    let mut magic = [0u8; 4];
    reader.read_exact(&mut magic).map_err(io)?;
    if magic[..2] != [0, 0] {
        return Err(malformed(format!(
            "magic number {:#010x} is not an IDX header",
            u32::from_be_bytes(magic)
        )));
    }
    if magic[2] != UNSIGNED_BYTE {
        return Err(malformed(format!(
            "element type {:#04x} is not unsigned bytes (0x08)",
            magic[2]
        )));
    }
    if usize::from(magic[3]) != rank {
        return Err(malformed(format!(
            "{} dimensions where {rank} were expected (magic number {})",
            magic[3],
            u32::from_be_bytes(magic)
        )));
    }
    let mut dims = Vec::with_capacity(rank);
    for _ in 0..rank {
        dims.push(reader.read_u32::<BigEndian>().map_err(io)? as usize);
    }
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&len| len <= most)
        .ok_or_else(|| {
            malformed(format!(
                "dimensions {dims:?} claim more than the {most} bytes this file can hold"
            ))
        })?;
    check(&dims)?;
    // Grows with what actually arrives, so a lying header cannot make us allocate.
    let mut data = Vec::new();
    (&mut reader)
        .take(len as u64)
        .read_to_end(&mut data)
        .map_err(read_error)?;
    if data.len() < len {
        return Err(malformed(format!(
            "truncated: dimensions {dims:?} need {len} bytes of data, the file has {}",
            data.len()
        )));
    }
    let mut extra = [0u8; 1];
    if reader.read(&mut extra).map_err(read_error)? != 0 {
        return Err(malformed(format!(
            "trailing bytes after the {len} bytes that dimensions {dims:?} describe"
        )));
    }
    Ok(Idx { dims, data })
}
