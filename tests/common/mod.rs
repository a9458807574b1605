//! Test helpers shared by the test files that need the data sets.

use std::path::PathBuf;

/// The directory holding `mnist/`: `$KEELNET_DATA`, else `../shared/data`
/// beside the repository (where CI and developers have it).
pub fn data_dir() -> PathBuf {
    let dir = match std::env::var_os("KEELNET_DATA") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    };
    assert!(
        dir.join("mnist").is_dir(),
        "MNIST is not at {}: set KEELNET_DATA to a directory holding mnist/",
        dir.display()
    );
    dir
}
