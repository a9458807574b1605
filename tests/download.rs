//! Downloading MNIST from a mirror, against an HTTP server on 127.0.0.1
//! that this test starts: good files, corrupt files, a dropped connection.
#![cfg(feature = "download")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::thread;
use std::time::Duration;

use keelnet::Error;
use keelnet::datasets::download::{download_gz, download_mnist};
use keelnet::datasets::mnist::{FILES, Mnist, holds_mnist};

/// What the server does with a request for a path.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Serves the real file from the shared data.
    Good,
    /// Serves the real file with one byte flipped in its middle.
    Corrupt,
    /// Promises the whole file, sends half, and closes the connection.
    Drop,
    /// 404.
    Missing,
}

/// Serves at most `requests` requests, then stops; returns the base URL.
fn serve(behaviour: Behaviour, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mnist/", listener.local_addr().unwrap());
    let source = common::data_dir().join("mnist");
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
            let name = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("");
            let body = std::fs::read(source.join(name)).ok();
            let reply = match (behaviour, body) {
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
                (Behaviour::Drop, Some(body)) => {
                    let half = body[..body.len() / 2].to_vec();
                    (body.len(), half)
                }
                (Behaviour::Good, Some(body)) => (body.len(), body),
            };
            let (length, body) = reply;
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
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
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mnist");
    download_mnist(&target, &serve(Behaviour::Good, 4)).unwrap();
    assert!(holds_mnist(&target));
    let mnist: Mnist = Mnist::load_from(&target).unwrap();
    assert_eq!(mnist.test_labels.len(), 10_000);
}

#[test]
fn load_downloads_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("fresh");
    let mnist: Mnist = Mnist::load_or_fetch(Some(&target), &serve(Behaviour::Good, 4)).unwrap();
    assert_eq!(mnist.train_labels.len(), 60_000);
}

#[test]
fn a_corrupt_download_fails_its_checksum_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve(Behaviour::Corrupt, 1);
    let file = FILES[3];
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
    let dir = tempfile::tempdir().unwrap();
    let url = serve(Behaviour::Drop, 1);
    let file = FILES[2];
    let dest = dir.path().join(format!("{}.gz", file.name));
    let error = download_gz(&format!("{url}{}.gz", file.name), &dest, file.sha256).unwrap_err();
    assert!(matches!(error, Error::Download { .. }), "{error:?}");
    no_gz_left(dir.path());
}

#[test]
fn a_missing_file_on_the_mirror_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let error = download_mnist(dir.path(), &serve(Behaviour::Missing, 1)).unwrap_err();
    assert!(error.to_string().contains("404"), "{error}");
    no_gz_left(dir.path());
}

#[test]
fn a_good_file_with_the_wrong_checksum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve(Behaviour::Good, 1);
    let file = FILES[3];
    let dest = dir.path().join("labels.gz");
    let error = download_gz(&format!("{url}{}.gz", file.name), &dest, FILES[1].sha256).unwrap_err();
    match error {
        Error::Checksum {
            expected, actual, ..
        } => {
            assert_eq!(expected, FILES[1].sha256);
            assert_eq!(actual, file.sha256);
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
    no_gz_left(dir.path());
}
