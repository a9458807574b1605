//! Fuzz targets for every parser of untrusted bytes, run by `cargo test`
//! over a fixed budget of generated inputs (bolero's property-test mode),
//! so that every CI run fuzzes. Each input must give `Ok` or a typed error:
//! no panic, no hang (each input is timed), and no allocation beyond what
//! the input's size allows.
//!
//! For a long, coverage-guided run, see the README ("Fuzzing").

use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use keelnet::datasets::idx::{EXPANSION_SLACK, MAX_EXPANSION, parse_idx_bytes};
use std::io::Write;

/// The most one input may take: far above what any input needs.
const TIME_PER_INPUT: Duration = Duration::from_secs(5);

/// Parses `bytes` as IDX files of rank 1 to 3 and checks what comes back.
fn parse_checked(bytes: &[u8]) {
    for rank in 1..=3 {
        let started = Instant::now();
        let parsed = parse_idx_bytes(bytes, "fuzz".as_ref(), rank);
        assert!(
            started.elapsed() < TIME_PER_INPUT,
            "an input took {:?}",
            started.elapsed()
        );
        if let Ok(idx) = parsed {
            let len: usize = idx.dims.iter().product();
            assert_eq!((idx.dims.len(), idx.data.len()), (rank, len));
            let most = bytes.len() * MAX_EXPANSION + EXPANSION_SLACK;
            assert!(
                idx.data.len() <= most,
                "{} bytes from {}",
                idx.data.len(),
                bytes.len()
            );
        }
    }
}

/// Any bytes at all, read as a raw or gzipped IDX file.
#[test]
fn idx_from_any_bytes() {
    bolero::check!()
        .with_iterations(200_000)
        .with_max_len(4096)
        .for_each(parse_checked);
}

/// A well-formed header (rank, small dimensions) over generated data,
/// gzipped, then damaged at generated places: the inputs reach past the
/// header checks into the data and the decompressor.
#[test]
fn idx_gzipped_and_damaged() {
    bolero::check!()
        .with_iterations(20_000)
        .with_type::<(u8, [u8; 3], Vec<u8>, Vec<(u16, u8)>)>()
        .for_each(|(rank, dims, data, damage)| {
            let rank = rank % 4;
            let mut content = vec![0, 0, 8, rank];
            for &d in &dims[..usize::from(rank)] {
                content.extend(u32::from(d).to_be_bytes());
            }
            content.extend(data);
            let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
            gz.write_all(&content).unwrap();
            let mut file = gz.finish().unwrap();
            for &(at, value) in damage {
                let len = file.len();
                file[usize::from(at) % len] ^= value;
            }
            parse_checked(&file);
            parse_checked(&content);
        });
}
