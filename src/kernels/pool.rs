//! Max pooling with window and stride `P`, rows and columns that do not fill
//! a window dropped (Keras' 'valid').

use crate::Float;

/// `y[C, H/P, W/P]` = window maxima of `x[C, H, W]` for each sample; `argmax`
/// receives, per output value, the index of its maximum within the sample.
pub fn max_pool_forward<F: Float>(
    (c, h, w): (usize, usize, usize),
    p: usize,
    x: &[F],
    y: &mut [F],
    argmax: &mut [u32],
) {
    let (h_out, w_out) = (h / p, w / p);
    let out_len = c * h_out * w_out;
    let samples = x.chunks_exact(c * h * w).zip(y.chunks_exact_mut(out_len));
    for ((x, y), argmax) in samples.zip(argmax.chunks_exact_mut(out_len)) {
        for ch in 0..c {
            let channel = &x[ch * h * w..][..h * w];
            let y = &mut y[ch * h_out * w_out..][..h_out * w_out];
            let argmax = &mut argmax[ch * h_out * w_out..][..h_out * w_out];
            for oh in 0..h_out {
                let y = &mut y[oh * w_out..][..w_out];
                let argmax = &mut argmax[oh * w_out..][..w_out];
                // The window's first row sets the running maxima, the others compete.
                let first = oh * p * w;
                let row = &channel[first..][..w_out * p];
                for (ow, (y, at)) in y.iter_mut().zip(argmax.iter_mut()).enumerate() {
                    let (mut best, mut index) = (row[ow * p], first + ow * p);
                    for j in 1..p {
                        let (v, better) = (row[ow * p + j], row[ow * p + j] > best);
                        // Selects, not branches: which value wins is data-dependent.
                        best = if better { v } else { best };
                        index = if better { first + ow * p + j } else { index };
                    }
                    (*y, *at) = (best, index as u32);
                }
                for i in 1..p {
                    let start = first + i * w;
                    let row = &channel[start..][..w_out * p];
                    for (ow, (y, at)) in y.iter_mut().zip(argmax.iter_mut()).enumerate() {
                        for j in 0..p {
                            let (v, better) = (row[ow * p + j], row[ow * p + j] > *y);
                            *y = if better { v } else { *y };
                            *at = if better {
                                (start + ow * p + j) as u32
                            } else {
                                *at
                            };
                        }
                    }
                }
                for at in argmax.iter_mut() {
                    *at += (ch * h * w) as u32;
                }
            }
        }
    }
}

/// `dx` = `dy` routed to the maxima recorded by [`max_pool_forward`], zero elsewhere.
/// `in_len` and `out_len` are the element counts of one input and one output sample.
pub fn max_pool_backward<F: Float>(
    (in_len, out_len): (usize, usize),
    argmax: &[u32],
    dy: &[F],
    dx: &mut [F],
) {
    dx.fill(F::zero());
    let samples = dx.chunks_exact_mut(in_len).zip(dy.chunks_exact(out_len));
    for ((dx, dy), argmax) in samples.zip(argmax.chunks_exact(out_len)) {
        for (&d, &at) in dy.iter().zip(argmax) {
            dx[at as usize] += d;
        }
    }
}
