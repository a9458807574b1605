//! Downloading data files: streamed with a progress bar, bounded in time
//! and size, retried when the failure may pass, checked against their
//! SHA-256, and moved into place only when good.

use std::fs;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::mnist::{FILES, MnistFile};
use crate::{Error, Result};

/// How long a download may wait and how much it may take.
///
/// [`DownloadLimits::from_env`] reads overrides from the environment:
/// `KEELNET_DOWNLOAD_CONNECT_TIMEOUT` and `KEELNET_DOWNLOAD_READ_TIMEOUT`
/// (seconds), `KEELNET_DOWNLOAD_MAX_BYTES` and `KEELNET_DOWNLOAD_RETRIES`.
///
/// ```
/// use std::time::Duration;
/// use keelnet::datasets::download::DownloadLimits;
/// let limits = DownloadLimits { retries: 0, read: Duration::from_secs(5), ..Default::default() };
/// assert_eq!(limits.max_bytes, 64 << 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadLimits {
    /// To open the connection.
    pub connect: Duration,
    /// For the response to start, and between two reads of its body: a
    /// server that stops sending fails after this long, while a slow one
    /// that keeps sending can take as long as it needs.
    pub read: Duration,
    /// The most bytes a file may have, compressed.
    pub max_bytes: u64,
    /// Attempts after the first, when a failure may pass (no connection, a
    /// timeout, a dropped connection, a 5xx answer).
    pub retries: u32,
    /// The wait before the first retry, doubled before each next one.
    pub backoff: Duration,
}

impl Default for DownloadLimits {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(30),
            read: Duration::from_secs(30),
            max_bytes: 64 << 20,
            retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

impl DownloadLimits {
    /// The defaults, with any of the environment's overrides.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an override that is not a whole number.
    ///
    /// ```
    /// let limits = keelnet::datasets::download::DownloadLimits::from_env()?;
    /// assert!(limits.max_bytes > 0);
    /// # Ok::<(), keelnet::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        let mut limits = Self::default();
        let read = |name: &str| -> Result<Option<u64>> {
            match std::env::var(name) {
                Err(_) => Ok(None),
                Ok(value) => value
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| Error::InvalidArgument {
                        message: format!("{name}={value:?} is not a whole number"),
                    }),
            }
        };
        if let Some(secs) = read("KEELNET_DOWNLOAD_CONNECT_TIMEOUT")? {
            limits.connect = Duration::from_secs(secs);
        }
        if let Some(secs) = read("KEELNET_DOWNLOAD_READ_TIMEOUT")? {
            limits.read = Duration::from_secs(secs);
        }
        if let Some(bytes) = read("KEELNET_DOWNLOAD_MAX_BYTES")? {
            limits.max_bytes = bytes;
        }
        if let Some(retries) = read("KEELNET_DOWNLOAD_RETRIES")? {
            limits.retries = u32::try_from(retries).unwrap_or(u32::MAX);
        }
        Ok(limits)
    }
}

/// Downloads whichever of the four MNIST files `dir` lacks from `mirror`
/// (a URL ending in `/`, holding `NAME.gz`), creating `dir` if needed,
/// within the environment's [`DownloadLimits`].
///
/// ```no_run
/// keelnet::datasets::download::download_mnist(
///     "data/mnist".as_ref(),
///     keelnet::datasets::mnist::DEFAULT_MIRROR,
/// )?;
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn download_mnist(dir: &Path, mirror: &str) -> Result<()> {
    download_files(dir, mirror, &FILES, &DownloadLimits::from_env()?)
}

/// Downloads whichever of `files` `dir` lacks (neither `NAME` nor `NAME.gz`
/// is there) from `mirror`, which holds each as `NAME.gz`, each checked
/// against its SHA-256 ([`download_gz`]); creates `dir` if needed.
///
/// ```no_run
/// use keelnet::datasets::download::{DownloadLimits, download_files};
/// use keelnet::datasets::mnist::{DEFAULT_MIRROR, FILES};
/// // The test files only.
/// download_files("data/mnist".as_ref(), DEFAULT_MIRROR, &FILES[2..], &DownloadLimits::default())?;
/// # Ok::<(), keelnet::Error>(())
/// ```
pub fn download_files(
    dir: &Path,
    mirror: &str,
    files: &[MnistFile],
    limits: &DownloadLimits,
) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    for file in files {
        let dest = dir.join(format!("{}.gz", file.name));
        if dir.join(file.name).is_file() || dest.is_file() {
            continue;
        }
        let url = format!("{}/{}.gz", mirror.trim_end_matches('/'), file.name);
        download_gz(&url, &dest, file.sha256, limits)?;
    }
    Ok(())
}

/// Downloads the gzipped file at `url` to `dest`, atomically: the bytes go
/// to a temporary file beside `dest`, which becomes `dest` only once its
/// uncompressed content has the SHA-256 `sha256`. On any failure nothing is
/// left at `dest`. A failure that may pass is retried, as `limits` say.
///
/// # Errors
///
/// [`Error::Download`] (naming `url` and `dest`) when the file could not be
/// fetched within `limits`, [`Error::Checksum`] or [`Error::Malformed`] when
/// what arrived is not the file, [`Error::Io`] when it could not be written.
pub fn download_gz(url: &str, dest: &Path, sha256: &str, limits: &DownloadLimits) -> Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let (mut wait, mut tries) = (limits.backoff, 1);
    loop {
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, &e))?;
        match fetch(url, temp.as_file_mut(), limits) {
            Ok(()) => return verify_and_persist(url, temp, dest, sha256),
            Err(Failure::Final(reason)) => return Err(download_error(url, dest, reason)),
            Err(Failure::Transient(reason)) if tries > limits.retries => {
                return Err(download_error(
                    url,
                    dest,
                    format!("{reason} ({tries} tries)"),
                ));
            }
            Err(Failure::Transient(_)) => {
                std::thread::sleep(wait);
                (wait, tries) = (wait.saturating_mul(2), tries + 1);
            }
        }
    }
}

fn download_error(url: &str, dest: &Path, reason: String) -> Error {
    Error::Download {
        url: url.into(),
        path: dest.to_path_buf(),
        reason,
    }
}

/// Moves the downloaded `temp` to `dest` if its content has the SHA-256
/// `sha256`; errors name `dest`, where nothing is left.
fn verify_and_persist(
    url: &str,
    temp: tempfile::NamedTempFile,
    dest: &Path,
    sha256: &str,
) -> Result<()> {
    let actual = gunzip_sha256(temp.path()).map_err(|reason| Error::Malformed {
        path: dest.to_path_buf(),
        reason: format!("the download from {url} is not a valid gzip file: {reason}"),
    })?;
    if actual != sha256 {
        return Err(Error::Checksum {
            url: Some(url.into()),
            path: dest.to_path_buf(),
            expected: sha256.into(),
            actual,
        });
    }
    temp.as_file().sync_all().map_err(|e| Error::io(dest, &e))?;
    temp.persist(dest).map_err(|e| Error::io(dest, &e.error))?;
    Ok(())
}

/// Why a fetch failed: worth another try, or not.
enum Failure {
    Transient(String),
    Final(String),
}

/// Streams `url` into `out` within `limits`, with a progress bar on a
/// terminal.
fn fetch(url: &str, out: &mut fs::File, limits: &DownloadLimits) -> Result<(), Failure> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(limits.connect))
        .timeout_recv_response(Some(limits.read))
        .timeout_per_read(Some(limits.read))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| Failure::Transient(e.to_string()))?;
    let status = response.status();
    if status.is_server_error() {
        return Err(Failure::Transient(format!("the server answered {status}")));
    }
    if !status.is_success() {
        return Err(Failure::Final(format!("the server answered {status}")));
    }
    let expected = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(expected) = expected.filter(|&e| e > limits.max_bytes) {
        let most = limits.max_bytes;
        return Err(Failure::Final(format!(
            "the file has {expected} bytes, more than the {most} allowed (KEELNET_DOWNLOAD_MAX_BYTES)"
        )));
    }
    let bar = progress_bar(url, expected);
    let body = response.body_mut().with_config().limit(limits.max_bytes);
    let mut reader = bar.wrap_read(body.reader());
    let copied = io::copy(&mut reader, out);
    bar.finish_and_clear();
    let received = copied.map_err(|e| Failure::Transient(e.to_string()))?;
    out.flush().map_err(|e| Failure::Final(e.to_string()))?;
    match expected {
        Some(expected) if expected != received => Err(Failure::Transient(format!(
            "the connection closed after {received} of {expected} bytes"
        ))),
        _ => Ok(()),
    }
}

fn progress_bar(url: &str, expected: Option<u64>) -> ProgressBar {
    let bar = ProgressBar::new(expected.unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
    bar
}

/// The SHA-256 of the uncompressed content of the gzip file at `path`, or
/// why it cannot be read as one.
fn gunzip_sha256(path: &Path) -> Result<String, String> {
    let file = fs::File::open(path).map_err(|e| e.to_string())?;
    let mut decoder = MultiGzDecoder::new(BufReader::new(file));
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = decoder.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}
