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
            for oh in 0..h_out {
                for ow in 0..w_out {
                    let mut best = (ch * h + oh * p) * w + ow * p;
                    for i in 0..p {
                        for j in 0..p {
                            let at = (ch * h + oh * p + i) * w + ow * p + j;
                            if x[at] > x[best] {
                                best = at;
                            }
                        }
                    }
                    let out = (ch * h_out + oh) * w_out + ow;
                    y[out] = x[best];
                    argmax[out] = best as u32;
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
