//! MNIST: the real files, and every way a file can be wrong.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use keelnet::datasets::mnist::{FILES, Image, Mnist, holds_mnist};
use keelnet::{Error, Rank1, Rank2, Rank3};

#[test]
fn loads_the_real_files() {
    let mnist: Mnist = common::mnist();
    assert_eq!(
        (mnist.train_images.len(), mnist.train_labels.len()),
        (60_000, 60_000)
    );
    assert_eq!(
        (mnist.test_images.len(), mnist.test_labels.len()),
        (10_000, 10_000)
    );
    assert_eq!(&mnist.train_labels[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(&mnist.test_labels[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let mut counts = [0; 10];
    mnist.train_labels.iter().for_each(|&l| counts[l] += 1);
    assert_eq!(
        counts,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    let pixels = mnist.train_images.as_slice();
    assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)));
    assert_eq!(pixels.iter().copied().fold(0.0f32, f32::max), 1.0);
}

#[test]
fn finds_the_files_in_a_given_directory() {
    let dir = common::mnist_dir();
    let mnist: Mnist<Rank1<784>> = Mnist::load(Some(&dir)).unwrap();
    assert_eq!(mnist.test_images.len(), 10_000);
    assert!(holds_mnist(&dir));
}

#[test]
fn images_fit_any_shape_of_the_same_layout_and_no_other() {
    let dir = common::mnist_dir();
    assert!(Mnist::<Rank2<28, 28>>::load_from(&dir).is_ok());
    match Mnist::<Rank3<1, 14, 56>>::load_from(&dir) {
        Err(Error::ShapeMismatch {
            expected, found, ..
        }) => {
            assert_eq!((expected, found), (vec![1, 14, 56], vec![28, 28]));
        }
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
}

/// A directory with four tiny, valid files (2 images of 28x28), raw or gzipped.
fn tiny_mnist(dir: &Path, gzip: bool) {
    let image_header = |n: u32| {
        [
            &[0u8, 0, 8, 3][..],
            &n.to_be_bytes(),
            &28u32.to_be_bytes(),
            &28u32.to_be_bytes(),
        ]
        .concat()
    };
    let label_header = |n: u32| [&[0u8, 0, 8, 1][..], &n.to_be_bytes()].concat();
    let images = [image_header(2), vec![128; 2 * 784]].concat();
    let labels = [label_header(2), vec![3, 7]].concat();
    for (file, bytes) in FILES.iter().zip([&images, &labels, &images, &labels]) {
        write(dir, file.name, bytes, gzip);
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8], gzip: bool) {
    if gzip {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        fs::write(dir.join(format!("{name}.gz")), encoder.finish().unwrap()).unwrap();
    } else {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn raw_and_gzipped_files_read_alike() {
    for gzip in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        tiny_mnist(dir.path(), gzip);
        let mnist: Mnist = Mnist::load_from(dir.path()).unwrap();
        assert_eq!(mnist.train_labels, [3, 7]);
        assert!(
            mnist
                .test_images
                .as_slice()
                .iter()
                .all(|&p| (p - 128.0 / 255.0).abs() < 1e-6)
        );
    }
}

/// Replaces the training images with `bytes` and returns the error of loading.
fn load_with_images(bytes: &[u8]) -> Error {
    let dir = tempfile::tempdir().unwrap();
    tiny_mnist(dir.path(), false);
    write(dir.path(), FILES[0].name, bytes, false);
    Mnist::<Image>::load_from(dir.path()).unwrap_err()
}

fn reason(error: Error) -> String {
    match error {
        Error::Malformed { reason, .. } => reason,
        other => panic!("expected a malformed-file error, got {other:?}"),
    }
}

#[test]
fn malformed_files_are_typed_errors() {
    let header = |magic: [u8; 4], dims: &[u32]| {
        let mut bytes = magic.to_vec();
        dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
        bytes
    };
    assert!(reason(load_with_images(b"GIF89a.....")).contains("not an IDX header"));
    assert!(
        reason(load_with_images(&header([0, 0, 0x0d, 3], &[1, 28, 28])))
            .contains("not unsigned bytes")
    );
    assert!(
        reason(load_with_images(&header([0, 0, 8, 2], &[1, 784]))).contains("2 dimensions where 3")
    );
    assert!(reason(load_with_images(&[0, 0, 8, 3, 0, 0])).contains("ends inside its header"));
    // 60,000 images promised, one delivered: the raw file cannot hold them.
    let truncated = [header([0, 0, 8, 3], &[60_000, 28, 28]), vec![0; 784]].concat();
    assert!(reason(load_with_images(&truncated)).contains("claim more than the 800 bytes"));
    // Two promised, one delivered, gzipped: found where the data ends.
    let dir = tempfile::tempdir().unwrap();
    tiny_mnist(dir.path(), true);
    let truncated = [header([0, 0, 8, 3], &[2, 28, 28]), vec![0; 784]].concat();
    write(dir.path(), FILES[0].name, &truncated, true);
    let error = Mnist::<Image>::load_from(dir.path()).unwrap_err();
    assert!(reason(error).contains("truncated"));
    // More images than labels: refused from the header.
    let three = [header([0, 0, 8, 3], &[3, 28, 28]), vec![0; 3 * 784]].concat();
    assert!(reason(load_with_images(&three)).contains("3 images for 2 labels"));
    let trailing = [header([0, 0, 8, 3], &[2, 28, 28]), vec![0; 2 * 784 + 1]].concat();
    assert!(reason(load_with_images(&trailing)).contains("trailing"));
    // A header claiming 2^32 × 2^32 × 2^32 bytes: refused before any allocation.
    let absurd = header([0, 0, 8, 3], &[u32::MAX, u32::MAX, u32::MAX]);
    assert!(reason(load_with_images(&absurd)).contains("claim more than"));
}

#[test]
fn labels_must_be_digits_and_match_the_images() {
    let dir = tempfile::tempdir().unwrap();
    tiny_mnist(dir.path(), false);
    write(
        dir.path(),
        FILES[1].name,
        &[0, 0, 8, 1, 0, 0, 0, 2, 3, 12],
        false,
    );
    assert!(reason(Mnist::<Image>::load_from(dir.path()).unwrap_err()).contains("label 12"));
    write(
        dir.path(),
        FILES[1].name,
        &[0, 0, 8, 1, 0, 0, 0, 3, 3, 4, 5],
        false,
    );
    assert!(
        reason(Mnist::<Image>::load_from(dir.path()).unwrap_err())
            .contains("2 images for 3 labels")
    );
}

#[test]
fn a_corrupt_gzip_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    tiny_mnist(dir.path(), true);
    let path = dir.path().join(format!("{}.gz", FILES[0].name));
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes.truncate(middle);
    fs::write(&path, &bytes).unwrap();
    assert!(Mnist::<Image>::load_from(dir.path()).is_err());
    // Flipped bytes inside the deflate stream: malformed, not an I/O error.
    let mut bytes = fs::read(dir.path().join(format!("{}.gz", FILES[1].name))).unwrap();
    bytes[12..20].fill(0xff);
    fs::write(&path, &bytes).unwrap();
    let error = Mnist::<Image>::load_from(dir.path()).unwrap_err();
    assert!(matches!(error, Error::Malformed { .. }), "{error:?}");
}

#[test]
fn when_nothing_works_the_error_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("nowhere");
    // A mirror nobody listens on: the download fails at once.
    let error = Mnist::<Image>::load_or_fetch(Some(&empty), "http://127.0.0.1:9/").unwrap_err();
    let message = error.to_string();
    // The download's own error, naming what it fetched and where to.
    assert!(matches!(error, Error::Download { .. }), "{message}");
    assert!(message.contains(&empty.display().to_string()), "{message}");
    assert!(message.contains("train-images-idx3-ubyte"), "{message}");
    assert!(message.contains("127.0.0.1:9"), "{message}");
    assert!(!holds_mnist(&empty));
}
