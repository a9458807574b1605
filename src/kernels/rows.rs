//! Row-wise helpers: broadcasting a bias over rows and reducing rows.

use crate::Float;

/// `out[n] = sum over rows of a[rows×n]` (a bias gradient).
///
/// # Panics
///
/// If `a` is not whole rows of `out.len()` values (an empty `out` takes
/// only an empty `a`).
///
/// ```
/// let mut out = [0.0; 2];
/// keelnet::kernels::sum_rows(&[1.0, 2.0, 3.0, 4.0], &mut out);
/// assert_eq!(out, [4.0, 6.0]);
/// ```
pub fn sum_rows<F: Float>(a: &[F], out: &mut [F]) {
    let whole = match out.len() {
        0 => a.is_empty(),
        n => a.len().is_multiple_of(n),
    };
    assert!(
        whole,
        "{} values are not whole rows of {}",
        a.len(),
        out.len()
    );
    out.fill(F::zero());
    for row in a.chunks_exact(out.len().max(1)) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

/// The sum of `values`, in eight interleaved partial sums: a running sum
/// waits for each addition before the next, eight do not (and vectorize).
///
/// ```
/// assert_eq!(keelnet::kernels::sum_lanes(&[1.0f32; 21]), 21.0);
/// ```
pub fn sum_lanes<F: Float>(values: &[F]) -> F {
    let mut lanes = [F::zero(); 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    let tail: F = chunks.remainder().iter().copied().sum();
    lanes.iter().copied().sum::<F>() + tail
}

/// Copies `src` into `dst` (of the same length) eight values at a time, for
/// the short rows of images: a library `memmove` call per row costs more
/// than the copy itself.
///
/// # Panics
///
/// If the lengths differ (as `copy_from_slice`).
///
/// ```
/// let mut dst = [0.0; 11];
/// keelnet::kernels::copy_short(&mut dst, &[1.0; 11]);
/// assert_eq!(dst, [1.0; 11]);
/// ```
#[inline(always)]
pub fn copy_short<F: Copy>(dst: &mut [F], src: &[F]) {
    assert_eq!(
        dst.len(),
        src.len(),
        "copy between rows of different lengths"
    );
    let mut dst_chunks = dst.chunks_exact_mut(8);
    let mut src_chunks = src.chunks_exact(8);
    for (d, s) in (&mut dst_chunks).zip(&mut src_chunks) {
        let s: &[F; 8] = s.try_into().expect("chunks of eight");
        let d: &mut [F; 8] = d.try_into().expect("chunks of eight");
        *d = *s;
    }
    for (d, s) in dst_chunks
        .into_remainder()
        .iter_mut()
        .zip(src_chunks.remainder())
    {
        *d = *s;
    }
}
