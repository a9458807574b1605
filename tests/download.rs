//! Downloading data files from a mirror, against an HTTP server on
//! 127.0.0.1 that this test starts, serving small IDX files it generates:
//! good files, corrupt files, a dropped connection, a missing file.
#![cfg(feature = "download")]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use keelnet::Error;
use keelnet::datasets::download::{download_files, download_gz};
use keelnet::datasets::mnist::{FILES, Mnist, MnistFile, holds_mnist};
use sha2::{Digest, Sha256};

/// What the server does with a request for a path.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Serves the file.
    Good,
    /// Serves the file with one byte flipped in its middle.
    Corrupt,
    /// Promises the whole file, sends half, and closes the connection.
    Drop,
    /// 404.
    Missing,
}

/// A tiny MNIST (three training and two test images) as the mirror holds
/// it: each file's name, gzipped bytes and the SHA-256 of its content.
struct Mirror {
    files: Vec<(MnistFile, Vec<u8>)>,
}

impl Mirror {
    fn tiny() -> Self {
        let images = |n: u32| {
            let header = [
                [0u8, 0, 8, 3],
                n.to_be_bytes(),
                28u32.to_be_bytes(),
                28u32.to_be_bytes(),
            ];
            let pixels = (0..n as usize * 784).map(|i| (i * 7 % 256) as u8);
            header
                .concat()
                .into_iter()
                .chain(pixels)
                .collect::<Vec<u8>>()
        };
        let labels = |digits: &[u8]| {
            let count = (digits.len() as u32).to_be_bytes();
            [&[0u8, 0, 8, 1][..], &count, digits].concat()
        };
        let contents = [images(3), labels(&[5, 0, 4]), images(2), labels(&[7, 2])];
        let files = FILES
            .iter()
            .zip(contents)
            .map(|(file, content)| {
                let sha256 = format!("{:x}", Sha256::digest(&content));
                let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
                gz.write_all(&content).unwrap();
                let file = MnistFile {
                    name: file.name,
                    sha256: Box::leak(sha256.into_boxed_str()),
                };
                (file, gz.finish().unwrap())
            })
            .collect();
        Mirror { files }
    }

    fn list(&self) -> Vec<MnistFile> {
        self.files.iter().map(|(file, _)| *file).collect()
    }

    /// Serves at most `requests` requests, then stops; returns the base URL.
    fn serve(self: &Arc<Self>, behaviour: Behaviour, requests: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/mnist/", listener.local_addr().unwrap());
        let mirror = Arc::clone(self);
        thread::spawn(move || {
            for stream in listener.incoming().take(requests) {
                let Ok(mut stream) = stream else { continue };
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).ok();
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("");
                let name = path.rsplit('/').next().unwrap_or("");
                let body = mirror
                    .files
                    .iter()
                    .find(|(file, _)| format!("{}.gz", file.name) == name)
                    .map(|(_, gz)| gz.clone());
                let (length, body) = match (behaviour, body) {
                    (Behaviour::Missing, _) | (_, None) => {
                        let _ = stream.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                        continue;
                    }
                    (Behaviour::Corrupt, Some(mut body)) => {
                        let middle = body.len() / 2;
                        body[middle] ^= 0x55;
                        (body.len(), body)
                    }
                    (Behaviour::Drop, Some(body)) => (body.len(), body[..body.len() / 2].to_vec()),
                    (Behaviour::Good, Some(body)) => (body.len(), body),
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        url
    }
}

fn no_gz_left(dir: &Path) {
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "files left behind: {leftovers:?}");
}

#[test]
fn downloads_verifies_and_loads() {
    let mirror = Arc::new(Mirror::tiny());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mnist");
    download_files(&target, &mirror.serve(Behaviour::Good, 4), &mirror.list()).unwrap();
    assert!(holds_mnist(&target));
    let mnist: Mnist = Mnist::load_from(&target).unwrap();
    assert_eq!(
        (mnist.train_labels, mnist.test_labels),
        (vec![5, 0, 4], vec![7, 2])
    );
}

#[test]
fn only_what_is_missing_is_downloaded() {
    let mirror = Arc::new(Mirror::tiny());
    let dir = tempfile::tempdir().unwrap();
    let files = mirror.list();
    let url = mirror.serve(Behaviour::Good, 4);
    download_files(dir.path(), &url, &files[..1]).unwrap();
    // One request served, three left: the file on disk is not asked again.
    download_files(dir.path(), &url, &files).unwrap();
    assert!(holds_mnist(dir.path()));
}

#[test]
fn a_corrupt_download_fails_its_checksum_and_leaves_nothing() {
    let mirror = Arc::new(Mirror::tiny());
    let dir = tempfile::tempdir().unwrap();
    let url = mirror.serve(Behaviour::Corrupt, 1);
    let file = mirror.list()[3];
    let dest = dir.path().join(format!("{}.gz", file.name));
    let error = download_gz(&format!("{url}{}.gz", file.name), &dest, file.sha256).unwrap_err();
    assert!(
        matches!(error, Error::Checksum { .. } | Error::Malformed { .. }),
        "{error:?}"
    );
    no_gz_left(dir.path());
}

#[test]
fn a_dropped_connection_fails_and_leaves_nothing() {
    let mirror = Arc::new(Mirror::tiny());
    let dir = tempfile::tempdir().unwrap();
    let url = mirror.serve(Behaviour::Drop, 1);
    let file = mirror.list()[2];
    let dest = dir.path().join(format!("{}.gz", file.name));
    let error = download_gz(&format!("{url}{}.gz", file.name), &dest, file.sha256).unwrap_err();
    assert!(matches!(error, Error::Download { .. }), "{error:?}");
    no_gz_left(dir.path());
}

#[test]
fn a_missing_file_on_the_mirror_is_reported() {
    let mirror = Arc::new(Mirror::tiny());
    let dir = tempfile::tempdir().unwrap();
    let url = mirror.serve(Behaviour::Missing, 1);
    let error = download_files(dir.path(), &url, &mirror.list()).unwrap_err();
    assert!(error.to_string().contains("404"), "{error}");
    no_gz_left(dir.path());
}

#[test]
fn a_good_file_with_the_wrong_checksum_is_refused() {
    let mirror = Arc::new(Mirror::tiny());
    let dir = tempfile::tempdir().unwrap();
    let url = mirror.serve(Behaviour::Good, 1);
    let files = mirror.list();
    let (file, other) = (files[3], files[1]);
    let dest = dir.path().join("labels.gz");
    let error = download_gz(&format!("{url}{}.gz", file.name), &dest, other.sha256).unwrap_err();
    match error {
        Error::Checksum {
            expected, actual, ..
        } => {
            assert_eq!(expected, other.sha256);
            assert_eq!(actual, file.sha256);
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    no_gz_left(dir.path());
}
