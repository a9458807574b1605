//! Decompression bombs: a 1 MB gzipped MNIST file that would expand to a
//! gigabyte is refused from its header, before anything is decompressed,
//! and the process's peak memory stays under 100 MB. (Its own test binary:
//! the peak is the whole process's.)

use std::fs;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use keelnet::Error;
use keelnet::datasets::mnist::{FILES, Image, Mnist};

/// One gzip member of `zeros` zero bytes after `header`.
fn member(header: &[u8], zeros: usize) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(header).unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..zeros / block.len() {
        encoder.write_all(&block).unwrap();
    }
    encoder.finish().unwrap()
}

/// A gzipped IDX file whose header claims `dims` and whose data is about
/// `megabytes` MB of zeros, in concatenated members (as `gzip` writes
/// when files are appended): about 1 KB of file per MB of data.
fn bomb(path: &Path, magic: [u8; 4], dims: &[u32], megabytes: usize) {
    let mut header = magic.to_vec();
    dims.iter().for_each(|d| header.extend(d.to_be_bytes()));
    let first = member(&header, 1 << 20);
    let rest = member(&[], 1 << 20);
    let mut file = first;
    for _ in 1..megabytes {
        file.extend_from_slice(&rest);
    }
    fs::write(path, file).unwrap();
}

/// A valid raw file: `count` labels, or `count` blank images.
fn valid(path: &Path, rank: u8, count: u32) {
    let mut bytes = vec![0, 0, 8, rank];
    bytes.extend(count.to_be_bytes());
    let sample = if rank == 3 {
        bytes.extend([28u32.to_be_bytes(), 28u32.to_be_bytes()].concat());
        784
    } else {
        1
    };
    bytes.resize(bytes.len() + count as usize * sample, 0);
    fs::write(path, bytes).unwrap();
}

/// The process's peak resident memory, in MB (Linux).
fn peak_megabytes() -> usize {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kilobytes: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kilobytes / 1024
}

#[test]
fn a_one_megabyte_bomb_is_refused_from_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let [train_images, train_labels, test_images, test_labels] =
        FILES.map(|f| dir.path().join(f.name));
    valid(&test_images, 3, 2);
    valid(&test_labels, 1, 2);

    // Images: a header claiming 1.3 million images, about a gigabyte.
    valid(&train_labels, 1, 2);
    let gz = dir.path().join(format!("{}.gz", FILES[0].name));
    bomb(&gz, [0, 0, 8, 3], &[1_300_000, 28, 28], 1000);
    let size = fs::metadata(&gz).unwrap().len();
    assert!((500_000..2_000_000).contains(&size), "{size} bytes");
    let error = Mnist::<Image>::load_from(dir.path()).unwrap_err();
    assert!(
        matches!(&error, Error::Malformed { reason, .. } if reason.contains("claim more than")),
        "{error:?}"
    );

    // Labels: a header claiming a billion labels.
    valid(&train_images, 3, 2);
    fs::remove_file(&gz).unwrap();
    fs::remove_file(&train_labels).unwrap();
    let gz = dir.path().join(format!("{}.gz", FILES[1].name));
    bomb(&gz, [0, 0, 8, 1], &[1_000_000_000], 1000);
    let error = Mnist::<Image>::load_from(dir.path()).unwrap_err();
    assert!(
        matches!(&error, Error::Malformed { reason, .. } if reason.contains("claim more than")),
        "{error:?}"
    );

    let peak = peak_megabytes();
    assert!(peak < 100, "peak resident memory {peak} MB");
}
