//! Downloading data files from a mirror, against an HTTP server on
//! 127.0.0.1 that this test starts, serving small IDX files it generates:
//! good files, corrupt files, a dropped connection, a missing file.
#![cfg(feature = "download")]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use keelnet::Error;
use keelnet::datasets::download::{DownloadLimits, download_files, download_gz};
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
    /// Reads the request and answers nothing, for a while.
    Silent,
    /// 503.
    Unavailable,
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
        self.serve_in_turn(&vec![behaviour; requests])
    }

    /// Serves one request a behaviour, in turn, then stops; returns the base URL.
    fn serve_in_turn(self: &Arc<Self>, behaviours: &[Behaviour]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/mnist/", listener.local_addr().unwrap());
        let mirror = Arc::clone(self);
        let behaviours = behaviours.to_vec();
        thread::spawn(move || {
            for (stream, behaviour) in listener.incoming().zip(behaviours) {
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
                    (Behaviour::Silent, _) => {
                        thread::sleep(Duration::from_secs(3));
                        continue;
                    }
                    (Behaviour::Unavailable, _) => {
                        let _ = stream.write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                        continue;
                    }
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

/// Limits for a server on this machine: short waits, no retries.
fn fast() -> DownloadLimits {
    DownloadLimits {
        connect: Duration::from_secs(2),
        read: Duration::from_millis(300),
        retries: 0,
        backoff: Duration::from_millis(10),
        ..DownloadLimits::default()
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
    download_files(
        &target,
        &mirror.serve(Behaviour::Good, 4),
        &mirror.list(),
        &fast(),
    )
    .unwrap();
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
    download_files(dir.path(), &url, &files[..1], &fast()).unwrap();
    // One request served, three left: the file on disk is not asked again.
    download_files(dir.path(), &url, &files, &fast()).unwrap();
    assert!(holds_mnist(dir.path()));
}

#[test]
fn a_missing_file_on_the_mirror_is_reported() {
    let mirror = Arc::new(Mirror::tiny());
    let dir = tempfile::tempdir().unwrap();
    let url = mirror.serve(Behaviour::Missing, 1);
    let error = download_files(dir.path(), &url, &mirror.list(), &fast()).unwrap_err();
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
    let error = download_gz(
        &format!("{url}{}.gz", file.name),
        &dest,
        other.sha256,
        &fast(),
    )
    .unwrap_err();
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

/// Serves `behaviours` in turn and downloads file `index` of the tiny
/// mirror with `limits`: the directory, the destination, the URL and the
/// result.
fn fetch_one(
    behaviours: &[Behaviour],
    index: usize,
    limits: &DownloadLimits,
) -> (tempfile::TempDir, PathBuf, String, keelnet::Result<()>) {
    let mirror = Arc::new(Mirror::tiny());
    let dir = tempfile::tempdir().unwrap();
    let file = mirror.list()[index];
    let url = format!("{}{}.gz", mirror.serve_in_turn(behaviours), file.name);
    let dest = dir.path().join(format!("{}.gz", file.name));
    let result = download_gz(&url, &dest, file.sha256, limits);
    (dir, dest, url, result)
}

#[test]
fn a_corrupt_download_fails_its_checksum_and_leaves_nothing() {
    let (dir, dest, url, result) = fetch_one(&[Behaviour::Corrupt], 3, &fast());
    // Either way the error names the final path, not a deleted temp file.
    match result.unwrap_err() {
        Error::Checksum {
            path, url: from, ..
        } => assert_eq!((path, from), (dest, Some(url))),
        Error::Malformed { path, .. } => assert_eq!(path, dest),
        other => panic!("{other:?}"),
    }
    no_gz_left(dir.path());
}

#[test]
fn a_dropped_connection_fails_and_leaves_nothing() {
    let (dir, dest, url, result) = fetch_one(&[Behaviour::Drop], 2, &fast());
    match result.unwrap_err() {
        Error::Download {
            path, url: from, ..
        } => assert_eq!((path, from), (dest, url)),
        other => panic!("{other:?}"),
    }
    no_gz_left(dir.path());
}

#[test]
fn a_server_that_never_answers_fails_within_the_read_timeout() {
    let started = Instant::now();
    let (dir, _, _, result) = fetch_one(&[Behaviour::Silent], 3, &fast());
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(matches!(result, Err(Error::Download { .. })), "{result:?}");
    no_gz_left(dir.path());
}

#[test]
fn a_file_larger_than_allowed_is_refused() {
    let small = DownloadLimits {
        max_bytes: 100,
        ..fast()
    };
    let (dir, _, _, result) = fetch_one(&[Behaviour::Good], 0, &small);
    let error = result.unwrap_err().to_string();
    assert!(error.contains("more than the 100 allowed"), "{error}");
    no_gz_left(dir.path());
}

#[test]
fn failures_that_may_pass_are_retried_and_others_are_not() {
    let retried = DownloadLimits {
        retries: 2,
        ..fast()
    };
    // Dropped, then 503, then good: the third try succeeds.
    let in_turn = [Behaviour::Drop, Behaviour::Unavailable, Behaviour::Good];
    let (_dir, dest, _, result) = fetch_one(&in_turn, 2, &retried);
    assert!(result.is_ok() && dest.is_file(), "{result:?}");
    // A 404 is not retried: the server answers one request only.
    let (_dir, _, _, result) = fetch_one(&[Behaviour::Missing], 2, &retried);
    let error = result.unwrap_err().to_string();
    assert!(error.contains("404") && !error.contains("tries"), "{error}");
    // Dropped every time: the error says how often it tried.
    let (_dir, _, _, result) = fetch_one(&[Behaviour::Drop; 3], 2, &retried);
    let error = result.unwrap_err().to_string();
    assert!(error.contains("(3 tries)"), "{error}");
}
