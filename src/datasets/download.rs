//! Downloading data files: streamed with a progress bar, checked against
//! their SHA-256, and moved into place only when good.

use std::fs;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::mnist::{FILES, MnistFile};
use crate::{Error, Result};

/// Downloads whichever of the four MNIST files `dir` lacks from `mirror`
/// (a URL ending in `/`, holding `NAME.gz`), creating `dir` if needed.
///
/// ```no_run
/// keelnet::datasets::download::download_mnist(
///     "data/mnist".as_ref(),
///     keelnet::datasets::mnist::DEFAULT_MIRROR,
/// )?;
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn download_mnist(dir: &Path, mirror: &str) -> Result<()> {
    download_files(dir, mirror, &FILES)
}

/// Downloads whichever of `files` `dir` lacks (neither `NAME` nor `NAME.gz`
/// is there) from `mirror`, which holds each as `NAME.gz`, each checked
/// against its SHA-256 ([`download_gz`]); creates `dir` if needed.
///
/// ```no_run
/// use keelnet::datasets::mnist::{DEFAULT_MIRROR, FILES};
/// // The test files only.
/// keelnet::datasets::download::download_files("data/mnist".as_ref(), DEFAULT_MIRROR, &FILES[2..])?;
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn download_files(dir: &Path, mirror: &str, files: &[MnistFile]) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    for file in files {
        let dest = dir.join(format!("{}.gz", file.name));
        if dir.join(file.name).is_file() || dest.is_file() {
            continue;
        }
        let url = format!("{}/{}.gz", mirror.trim_end_matches('/'), file.name);
        download_gz(&url, &dest, file.sha256)?;
    }
    Ok(())
}

/// Downloads the gzipped file at `url` to `dest`, atomically: the bytes go
/// to a temporary file beside `dest`, which becomes `dest` only once its
/// uncompressed content has the SHA-256 `sha256`. On any failure nothing is
/// left at `dest`.
pub fn download_gz(url: &str, dest: &Path, sha256: &str) -> Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, &e))?;
    fetch(url, temp.as_file_mut())?;
    let actual = gunzip_sha256(temp.path())?;
    if actual != sha256 {
        return Err(Error::Checksum {
            path: dest.to_path_buf(),
            expected: sha256.into(),
            actual,
        });
    }
    temp.as_file().sync_all().map_err(|e| Error::io(dest, &e))?;
    temp.persist(dest).map_err(|e| Error::io(dest, &e.error))?;
    Ok(())
}

/// Streams `url` into `out`, with a progress bar on a terminal.
fn fetch(url: &str, out: &mut fs::File) -> Result<()> {
    let failed = |reason: String| Error::Download {
        url: url.into(),
        reason,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
    let expected = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bar = ProgressBar::new(expected.unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
    let mut reader = bar.wrap_read(response.body_mut().as_reader());
    let received = io::copy(&mut reader, out).map_err(|e| failed(e.to_string()))?;
    bar.finish_and_clear();
    out.flush().map_err(|e| failed(e.to_string()))?;
    match expected {
        Some(expected) if expected != received => Err(failed(format!(
            "the connection closed after {received} of {expected} bytes"
        ))),
        _ => Ok(()),
    }
}

/// The SHA-256 of the uncompressed content of the gzip file at `path`.
fn gunzip_sha256(path: &Path) -> Result<String> {
    let file = fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut decoder = MultiGzDecoder::new(BufReader::new(file));
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = decoder.read(&mut buffer).map_err(|e| Error::Malformed {
            path: path.to_path_buf(),
            reason: format!("not a valid gzip file: {e}"),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}
