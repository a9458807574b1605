//! The IDX format of MNIST: a magic number, big-endian dimensions, then
//! unsigned bytes; read raw or gzipped.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use byteorder::{BigEndian, ReadBytesExt};
use flate2::read::MultiGzDecoder;

use crate::{Error, Result};

/// The largest IDX payload read (1 GiB): a header that claims more is
/// malformed, not a reason to allocate.
pub const MAX_BYTES: usize = 1 << 30;

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
/// ```no_run
/// let labels = keelnet::datasets::idx::read_idx("data/mnist/t10k-labels-idx1-ubyte.gz".as_ref(), 1)?;
/// assert_eq!(labels.dims, [10_000]);
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn read_idx(path: &Path, rank: usize) -> Result<Idx> {
    let file = File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut reader = BufReader::new(file);
    let gzipped = reader
        .fill_buf()
        .map_err(|e| Error::io(path, &e))?
        .starts_with(&[0x1f, 0x8b]);
    if gzipped {
        parse_idx(BufReader::new(MultiGzDecoder::new(reader)), path, rank)
    } else {
        parse_idx(reader, path, rank)
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
pub fn parse_idx(mut reader: impl Read, path: &Path, rank: usize) -> Result<Idx> {
    let malformed = |reason: String| Error::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => malformed("the file ends inside its header".into()),
        _ => Error::io(path, &e),
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
        .filter(|&len| len <= MAX_BYTES)
        .ok_or_else(|| {
            malformed(format!(
                "dimensions {dims:?} claim more than {MAX_BYTES} bytes"
            ))
        })?;
    // Grows with what actually arrives, so a lying header cannot make us allocate.
    let mut data = Vec::new();
    (&mut reader)
        .take(len as u64)
        .read_to_end(&mut data)
        .map_err(|e| Error::io(path, &e))?;
    if data.len() < len {
        return Err(malformed(format!(
            "truncated: dimensions {dims:?} need {len} bytes of data, the file has {}",
            data.len()
        )));
    }
    let mut extra = [0u8; 1];
    if reader.read(&mut extra).map_err(|e| Error::io(path, &e))? != 0 {
        return Err(malformed(format!(
            "trailing bytes after the {len} bytes that dimensions {dims:?} describe"
        )));
    }
    Ok(Idx { dims, data })
}
