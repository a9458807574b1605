//! The kernels against direct, obviously-correct loops.

use keelnet::gradcheck::random_batch;
use keelnet::kernels::{
    ConvGeometry, ConvScratch, conv2d_forward, max_pool_backward, max_pool_forward,
};
use keelnet::{Linear, Rank1, ReLU};

/// Direct convolution with TensorFlow's padding rule: total padding
/// `max((out - 1)·stride + k - in, 0)`, the smaller half at the top/left.
fn direct_conv(g: &ConvGeometry, x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    let pad = |out: usize, input: usize| {
        let total = ((out - 1) * g.stride + g.k).saturating_sub(input);
        (total / 2) as isize
    };
    let (pt, pl) = (pad(g.h_out, g.h), pad(g.w_out, g.w));
    let mut y = vec![0.0; g.c_out * g.h_out * g.w_out];
    for o in 0..g.c_out {
        for oh in 0..g.h_out {
            for ow in 0..g.w_out {
                let mut sum = b[o];
                for c in 0..g.c_in {
                    for i in 0..g.k {
                        for j in 0..g.k {
                            let r = (oh * g.stride + i) as isize - pt;
                            let s = (ow * g.stride + j) as isize - pl;
                            if r >= 0 && s >= 0 && (r as usize) < g.h && (s as usize) < g.w {
                                let xv = x[(c * g.h + r as usize) * g.w + s as usize];
                                sum += xv * w[((o * g.c_in + c) * g.k + i) * g.k + j];
                            }
                        }
                    }
                }
                y[(o * g.h_out + oh) * g.w_out + ow] = sum;
            }
        }
    }
    y
}

#[test]
fn conv2d_matches_direct_convolution() {
    let cases = [
        // (c_in, h, w, c_out, k, stride, h_out, w_out)
        (1, 28, 28, 4, 3, 1, 26, 26), // valid
        (3, 7, 9, 5, 3, 1, 7, 9),     // same
        (2, 8, 8, 3, 4, 1, 8, 8),     // same, even kernel
        (2, 9, 7, 3, 3, 2, 5, 4),     // same, stride 2
        (1, 17, 13, 2, 5, 3, 5, 3),   // valid, stride 3
        (3, 1, 1, 1, 1, 1, 1, 1),
        (4, 7, 9, 3, 3, 1, 7, 9),    // same, Winograd tiles
        (5, 12, 11, 3, 3, 1, 10, 9), // valid, Winograd tiles past the edge
        (8, 11, 13, 8, 3, 1, 9, 11), // valid, whole groups of channels, rows of 8 and a tail
        (16, 9, 10, 9, 3, 1, 9, 10), // same, a partial group of output channels
    ];
    for (seed, &(c_in, h, w, c_out, k, stride, h_out, w_out)) in cases.iter().enumerate() {
        let g = ConvGeometry {
            c_in,
            h,
            w,
            c_out,
            k,
            stride,
            h_out,
            w_out,
        };
        // Three samples: enough tiles for Winograd's kernels to take the
        // cases above that they can.
        let (batch, seed) = (3, seed as u64 * 3);
        let (in_len, out_len) = (c_in * h * w, c_out * h_out * w_out);
        let x = random_batch::<Rank1<1>>(batch * in_len, seed).into_vec();
        let weight = random_batch::<Rank1<1>>(c_out * c_in * k * k, seed + 1).into_vec();
        let bias = random_batch::<Rank1<1>>(c_out, seed + 2).into_vec();
        let mut y = vec![0.0; batch * out_len];
        conv2d_forward::<f64, Linear>(&g, &x, &weight, &bias, &mut y, &mut ConvScratch::default());
        let samples = x.chunks_exact(in_len).zip(y.chunks_exact(out_len));
        for (x, y) in samples {
            let expected = direct_conv(&g, x, &weight, &bias);
            for (a, b) in y.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-12, "{g:?}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn max_pool_drops_the_rows_that_do_not_fill_a_window() {
    // 1x3x3 with P = 2: only the top-left 2x2 window counts.
    let x = [1.0, 5.0, 9.0, 2.0, 3.0, 9.0, 9.0, 9.0, 9.0];
    let (mut y, mut argmax) = ([0.0], [0]);
    max_pool_forward((1, 3, 3), 2, &x, &mut y, &mut argmax);
    assert_eq!((y, argmax), ([5.0], [1]));
}

/// Window maxima by direct loops: the first of equal values wins.
fn direct_max_pool((c, h, w): (usize, usize, usize), p: usize, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let (mut y, mut argmax) = (Vec::new(), Vec::new());
    for ch in 0..c {
        for oh in 0..h / p {
            for ow in 0..w / p {
                let mut best = (f32::NEG_INFINITY, 0);
                for i in 0..p {
                    for j in 0..p {
                        let at = (ch * h + oh * p + i) * w + ow * p + j;
                        if x[at] > best.0 {
                            best = (x[at], at as u32);
                        }
                    }
                }
                y.push(best.0);
                argmax.push(best.1);
            }
        }
    }
    (y, argmax)
}

#[test]
fn max_pool_matches_direct_loops_with_ties_and_odd_sizes() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for &(c, h, w, p) in &[
        (1, 2, 2, 2),
        (3, 26, 26, 2),
        (5, 11, 11, 2),
        (2, 7, 37, 2),
        (2, 5, 3, 2),
        (4, 9, 10, 3),
    ] {
        let batch = 3;
        let in_len = c * h * w;
        // Few distinct values: many ties, which the first of must win.
        let x: Vec<f32> = (0..batch * in_len)
            .map(|_| rng.random_range(-2..2) as f32)
            .collect();
        let out_len = c * (h / p) * (w / p);
        let (mut y, mut argmax) = (vec![0.0; batch * out_len], vec![0; batch * out_len]);
        max_pool_forward((c, h, w), p, &x, &mut y, &mut argmax);
        for b in 0..batch {
            let (want_y, want_at) = direct_max_pool((c, h, w), p, &x[b * in_len..][..in_len]);
            let what = format!("{c}x{h}x{w}, P = {p}, sample {b}");
            assert_eq!(&y[b * out_len..][..out_len], &want_y[..], "{what}");
            assert_eq!(&argmax[b * out_len..][..out_len], &want_at[..], "{what}");
        }
        // Backward: each output's gradient at its maximum, zeros elsewhere
        // (dx starts as garbage: every value must be written); through
        // ReLU's derivative at the pooled outputs, nothing where a maximum
        // is not positive.
        let dy: Vec<f32> = (0..batch * out_len).map(|v| v as f32 + 1.0).collect();
        let route = |through_relu: bool| {
            let mut want = vec![0.0; batch * in_len];
            for (i, (&d, &at)) in dy.iter().zip(&argmax).enumerate() {
                let d = if through_relu && y[i] <= 0.0 { 0.0 } else { d };
                want[i / out_len * in_len + at as usize] += d;
            }
            want
        };
        let mut dx = vec![f32::NAN; batch * in_len];
        let lens = (in_len, out_len);
        max_pool_backward::<f32, Linear>(lens, &argmax, (&mut dy.clone(), &[]), &mut dx);
        assert_eq!(dx, route(false), "{c}x{h}x{w}, P = {p}: backward");
        max_pool_backward::<f32, ReLU>(lens, &argmax, (&mut dy.clone(), &y), &mut dx);
        assert_eq!(
            dx,
            route(true),
            "{c}x{h}x{w}, P = {p}: backward through ReLU"
        );
        assert!(y.iter().any(|&v| v <= 0.0), "some maxima are not positive");
    }
}

/// A batch of 8x16x16 -> 8x14x14 convolutions with 3x3 kernels (which
/// Winograd's kernels take): its geometry, and random inputs, weights,
/// biases and output gradients.
fn conv_8x16x16_to_8x14x14(batch: usize) -> (ConvGeometry, [Vec<f64>; 4]) {
    let g = ConvGeometry {
        c_in: 8,
        h: 16,
        w: 16,
        c_out: 8,
        k: 3,
        stride: 1,
        h_out: 14,
        w_out: 14,
    };
    let values = |len: usize, seed: u64| random_batch::<Rank1<1>>(len, seed).into_vec();
    let (x, dz) = (
        values(batch * 8 * 16 * 16, 1),
        values(batch * 8 * 14 * 14, 4),
    );
    (g, [x, values(8 * 8 * 9, 2), values(8, 3), dz])
}

#[test]
fn conv2d_backward_through_softmax_takes_whole_samples() {
    use keelnet::kernels::conv2d_backward;
    use keelnet::{Activation, Softmax};
    let (batch, in_len, out_len) = (3, 8 * 16 * 16, 8 * 14 * 14);
    let (g, [x, weight, bias, dy]) = conv_8x16x16_to_8x14x14(batch);
    let mut y = vec![0.0; batch * out_len];
    let mut scratch = ConvScratch::default();
    conv2d_forward::<f64, Softmax>(&g, &x, &weight, &bias, &mut y, &mut scratch);
    // The softmax's derivative over each whole sample by hand, then no activation.
    let mut dz = dy.clone();
    for (y, dz) in y.chunks_exact(out_len).zip(dz.chunks_exact_mut(out_len)) {
        Softmax::backward(&[], y, dz);
    }
    let mut grads = |activation_in_kernel: bool| {
        let (mut dw, mut db, mut dx) = (
            vec![0.0; 8 * 8 * 9],
            vec![0.0; 8],
            vec![0.0; batch * in_len],
        );
        let dx_out = Some(&mut dx[..]);
        if activation_in_kernel {
            let (dw, db) = (&mut dw, &mut db);
            conv2d_backward::<f64, Softmax>(
                &g,
                &x,
                &weight,
                (&dy, Some(&y)),
                dw,
                db,
                dx_out,
                &mut scratch,
            );
        } else {
            let (dw, db) = (&mut dw, &mut db);
            conv2d_backward::<f64, Linear>(
                &g,
                &x,
                &weight,
                (&dz, None),
                dw,
                db,
                dx_out,
                &mut scratch,
            );
        }
        [dw, db, dx]
    };
    let (through_kernel, by_hand) = (grads(true), grads(false));
    for (a, b) in through_kernel
        .iter()
        .flatten()
        .zip(by_hand.iter().flatten())
    {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn conv2d_on_a_batch_matches_one_sample_at_a_time() {
    use keelnet::kernels::conv2d_backward;
    // Large enough for threaded products: 16 samples.
    let (batch, in_len, out_len) = (16, 8 * 16 * 16, 8 * 14 * 14);
    let (g, [x, weight, bias, dz]) = conv_8x16x16_to_8x14x14(batch);

    let mut scratch = ConvScratch::default();
    let mut y = vec![0.0; batch * out_len];
    conv2d_forward::<f64, Linear>(&g, &x, &weight, &bias, &mut y, &mut scratch);
    let (mut dw, mut db, mut dx) = (
        vec![0.0; 8 * 8 * 9],
        vec![0.0; 8],
        vec![0.0; batch * in_len],
    );
    conv2d_backward::<f64, Linear>(
        &g,
        &x,
        &weight,
        (&dz, None),
        &mut dw,
        &mut db,
        Some(&mut dx),
        &mut scratch,
    );

    let (mut dw_sum, mut db_sum) = (vec![0.0; dw.len()], vec![0.0; 8]);
    for i in 0..batch {
        let (xi, dzi) = (
            &x[i * in_len..(i + 1) * in_len],
            &dz[i * out_len..(i + 1) * out_len],
        );
        let mut one = ConvScratch::default();
        let mut yi = vec![0.0; out_len];
        conv2d_forward::<f64, Linear>(&g, xi, &weight, &bias, &mut yi, &mut one);
        for (a, b) in yi.iter().zip(&y[i * out_len..(i + 1) * out_len]) {
            assert!((a - b).abs() < 1e-12, "forward: {a} vs {b}");
        }
        let (mut dwi, mut dbi, mut dxi) = (vec![0.0; dw.len()], vec![0.0; 8], vec![0.0; in_len]);
        conv2d_backward::<f64, Linear>(
            &g,
            xi,
            &weight,
            (dzi, None),
            &mut dwi,
            &mut dbi,
            Some(&mut dxi),
            &mut one,
        );
        for (a, b) in dxi.iter().zip(&dx[i * in_len..(i + 1) * in_len]) {
            assert!((a - b).abs() < 1e-12, "input gradient: {a} vs {b}");
        }
        dw_sum.iter_mut().zip(&dwi).for_each(|(a, b)| *a += b);
        db_sum.iter_mut().zip(&dbi).for_each(|(a, b)| *a += b);
    }
    // Sums in another order: equal to rounding.
    for (a, b) in dw.iter().zip(&dw_sum).chain(db.iter().zip(&db_sum)) {
        assert!((a - b).abs() < 1e-10, "{a} vs {b}");
    }
}

/// A ReLU convolution's output and its three gradients, from the gradient
/// `dz` at its output.
fn forward_backward<F: keelnet::Float>(
    g: &ConvGeometry,
    x: &[F],
    weight: &[F],
    bias: &[F],
    dz: &[F],
) -> [Vec<F>; 4] {
    use keelnet::kernels::conv2d_backward;
    let mut s = ConvScratch::default();
    let mut y = vec![F::zero(); dz.len()];
    conv2d_forward::<F, keelnet::ReLU>(g, x, weight, bias, &mut y, &mut s);
    let (mut dw, mut db, mut dx) = (
        vec![F::zero(); weight.len()],
        vec![F::zero(); bias.len()],
        vec![F::zero(); x.len()],
    );
    // The gradient at the ReLU's outputs, its derivative applied on the way.
    let grad = (dz, Some(&y[..]));
    conv2d_backward::<F, keelnet::ReLU>(
        g,
        x,
        weight,
        grad,
        &mut dw,
        &mut db,
        Some(&mut dx),
        &mut s,
    );
    [y, dw, db, dx]
}

/// The f32 convolution (packed SIMD products) against the f64 reference, on
/// every padding and stride case.
#[test]
fn conv2d_in_f32_matches_f64() {
    let cases = [
        (1, 28, 28, 32, 3, 1, 26, 26),
        (3, 7, 9, 5, 3, 1, 7, 9),
        (2, 9, 7, 3, 3, 2, 5, 4),
        (32, 13, 13, 64, 3, 1, 11, 11),
        (4, 7, 9, 3, 3, 1, 7, 9),
        (16, 9, 10, 9, 3, 1, 9, 10),
        // Output planes within 16 values of the input rows: folded with
        // AVX-512 where it runs.
        (64, 5, 5, 64, 3, 1, 3, 3), // the reference CNN's last convolution
        (4, 3, 3, 5, 3, 1, 3, 3),   // same
        (5, 4, 6, 3, 3, 1, 2, 4),
    ];
    for (seed, &(c_in, h, w, c_out, k, stride, h_out, w_out)) in cases.iter().enumerate() {
        let g = ConvGeometry {
            c_in,
            h,
            w,
            c_out,
            k,
            stride,
            h_out,
            w_out,
        };
        let batch = 5;
        let seed = seed as u64 * 10;
        let x = random_batch::<Rank1<1>>(batch * c_in * h * w, seed).into_vec();
        let weight = random_batch::<Rank1<1>>(c_out * c_in * k * k, seed + 1).into_vec();
        let bias = random_batch::<Rank1<1>>(c_out, seed + 2).into_vec();
        let dz = random_batch::<Rank1<1>>(batch * c_out * h_out * w_out, seed + 3).into_vec();
        let single = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let run64 = || forward_backward(&g, &x, &weight, &bias, &dz);
        let run32 = || {
            forward_backward(
                &g,
                &single(&x),
                &single(&weight),
                &single(&bias),
                &single(&dz),
            )
        };
        let (want, got) = (run64(), run32());
        for (name, (w, g32)) in ["y", "d_weight", "d_bias", "dx"]
            .iter()
            .zip(want.iter().zip(&got))
        {
            // Sums of up to B·P products of values below 1, in f32.
            let tolerance = 1e-5 * (batch * h_out * w_out + c_in * k * k) as f64;
            for (a, b) in w.iter().zip(g32) {
                assert!(
                    (a - f64::from(*b)).abs() <= tolerance,
                    "{g:?} {name}: {a} vs {b}"
                );
            }
        }
    }
}

/// The direct convolution's weight-gradient sums (AVX2 for `f32` where it
/// runs: four planes and three taps in registers) against plain loops, on
/// plane counts and lengths that leave remainders, and tap counts that do
/// not fill a group.
#[test]
fn tap_sums_match_plain_loops() {
    use keelnet::kernels::ConvKernels;
    use keelnet::kernels::tap_sums;
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    for &(planes, len, n) in &[
        (4, 37, 9),
        (9, 8, 4),
        (5, 3, 1),
        (8, 726, 25),
        (1, 17, 2),
        (4, 0, 3),
    ] {
        let taps: Vec<usize> = (0..n).map(|t| t / 3 * 11 + t % 3).collect();
        let x: Vec<f32> = (0..len + taps[n - 1])
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let dz: Vec<f32> = (0..planes * len)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let start: Vec<f32> = (0..planes * n)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let (mut got, mut want) = (start.clone(), start);
        f32::tap_sums(&dz, len, &x, &taps, &mut got);
        tap_sums(&dz, len, &x, &taps, &mut want);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let tolerance = 1e-6 * (len as f32 + 1.0);
            assert!(
                (g - w).abs() <= tolerance,
                "{planes}x{len}, {n} taps, sum {i}: {g} vs {w}"
            );
        }
    }
}

/// Batches of transposes (8×8 blocks in AVX2 registers for `f32` where
/// it runs) against plain loops: sides below, at and past eight, with
/// overlapping tail blocks, strides wider than the sides, and several
/// transposes per batch. Values the batch does not write keep theirs.
#[test]
fn transposes_match_plain_loops() {
    use keelnet::kernels::WinogradKernels;
    use keelnet::kernels::{Transpose, transpose};
    for &(lines, depth, count) in &[
        (8, 8, 1),
        (8, 13, 11),
        (11, 8, 13),
        (17, 33, 2),
        (3, 9, 4),
        (9, 3, 2),
        (16, 16, 3),
        (1, 1, 1),
        (8, 0, 2),
    ] {
        let t = Transpose {
            lines,
            depth,
            count,
            src_line: depth + 3,
            src_next: lines * (depth + 3) + 5,
            dst_group: lines + 2,
            dst_next: depth * (lines + 2) + 7,
        };
        let src: Vec<f32> = (0..count * t.src_next + 1).map(|v| v as f32).collect();
        let mut got = vec![-1.0f32; count * t.dst_next + 1];
        let mut want = got.clone();
        f32::transpose(&t, &src, &mut got);
        transpose(&t, &src, &mut want);
        assert_eq!(got, want, "{lines} lines of {depth}, {count} times");
        if lines.min(depth).min(count) >= 2 {
            assert_eq!(
                want[t.dst_next + t.dst_group + 1],
                src[t.src_next + t.src_line + 1]
            );
        }
    }
}

/// The weight and bias gradients of a ReLU convolution from the gradient
/// at the maxima of a max pooling after it, by plain loops: each pooled
/// gradient through ReLU's derivative at its maximum, times the input
/// window under the maximum (zero-padded).
fn weight_grad_at_maxima(
    g: &ConvGeometry,
    x: &[f64],
    (argmax, y, dy): (&[u32], &[f64], &[f64]),
) -> (Vec<f64>, Vec<f64>) {
    let pad = |out: usize, input: usize| ((out - 1) * g.stride + g.k).saturating_sub(input) / 2;
    let (pt, pl) = (pad(g.h_out, g.h), pad(g.w_out, g.w));
    let (in_len, positions) = (g.c_in * g.h * g.w, g.h_out * g.w_out);
    let pooled = argmax.len() / (x.len() / in_len);
    let (mut dw, mut db) = (vec![0.0; g.c_out * g.patch_len()], vec![0.0; g.c_out]);
    for (i, (&at, (&y, &dy))) in argmax.iter().zip(y.iter().zip(dy)).enumerate() {
        let dz = if y > 0.0 { dy } else { 0.0 };
        let x = &x[i / pooled * in_len..][..in_len];
        let (o, position) = (at as usize / positions, at as usize % positions);
        let (oh, ow) = (position / g.w_out, position % g.w_out);
        db[o] += dz;
        for c in 0..g.c_in {
            for ki in 0..g.k {
                for kj in 0..g.k {
                    let (r, s) = (oh + ki, ow + kj);
                    if r >= pt && s >= pl && r - pt < g.h && s - pl < g.w {
                        let v = x[(c * g.h + r - pt) * g.w + s - pl];
                        dw[((o * g.c_in + c) * g.k + ki) * g.k + kj] += dz * v;
                    }
                }
            }
        }
    }
    (dw, db)
}

/// A ReLU convolution pooled in one pass (`conv2d_forward_pooled`), checked
/// to the bit against the convolution then the pooling: the pooled outputs,
/// their maxima's indices, and the scratch for backward.
fn pooled_forward<F: keelnet::Float>(
    g: &ConvGeometry,
    p: usize,
    x: &[F],
    (weight, bias): (&[F], &[F]),
) -> (Vec<F>, Vec<u32>, ConvScratch<F>) {
    use keelnet::kernels::conv2d_forward_pooled;
    let batch = x.len() / (g.c_in * g.h * g.w);
    let pooled_len = batch * g.c_out * (g.h_out / p) * (g.w_out / p);
    let mut y = vec![F::zero(); batch * g.c_out * g.h_out * g.w_out];
    conv2d_forward::<F, ReLU>(g, x, weight, bias, &mut y, &mut ConvScratch::default());
    let (mut pooled, mut argmax) = (vec![F::zero(); pooled_len], vec![0; pooled_len]);
    max_pool_forward((g.c_out, g.h_out, g.w_out), p, &y, &mut pooled, &mut argmax);
    let (mut fused, mut fused_at) = (vec![F::nan(); pooled_len], vec![u32::MAX; pooled_len]);
    let mut scratch = ConvScratch::default();
    let outputs = (&mut fused[..], &mut fused_at[..]);
    conv2d_forward_pooled::<F, ReLU>(g, x, (weight, bias), p, outputs, &mut scratch);
    assert_eq!(fused, pooled, "{g:?}, pool {p}: pooled outputs");
    assert_eq!(fused_at, argmax, "{g:?}, pool {p}: maxima");
    (fused, fused_at, scratch)
}

/// A convolution of stride 1 and its pool from `(c_in, h, w, c_out, k,
/// h_out, w_out, pool)`.
fn pooled_case(
    (c_in, h, w, c_out, k, h_out, w_out, p): (
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
        usize,
    ),
) -> (ConvGeometry, usize) {
    let g = ConvGeometry {
        c_in,
        h,
        w,
        c_out,
        k,
        stride: 1,
        h_out,
        w_out,
    };
    (g, p)
}

/// The first layer's weight gradient summed over the maxima of the pooling
/// after it (vectors of four or eight inputs per kernel row, the last
/// sample's last outputs one value at a time) against plain loops, after
/// the forward pass pooled in one: kernels of 1 to 5, 'valid' and 'same',
/// 2×2 and 3×3 pools that drop rows, in f64 and f32.
#[test]
fn conv2d_pooled_passes_match_plain_loops() {
    use keelnet::kernels::{conv2d_pools_directly, conv2d_weight_grad_at};
    let cases = [
        // (c_in, h, w, c_out, k, h_out, w_out, pool)
        (1, 28, 28, 5, 3, 26, 26, 2),
        (3, 7, 9, 5, 3, 7, 9, 2),   // same
        (1, 8, 8, 3, 4, 8, 8, 2),   // same, even kernel
        (1, 12, 11, 2, 5, 8, 7, 2), // rows of eight lanes
        (3, 9, 10, 4, 1, 9, 10, 3), // one tap a row
        (2, 6, 7, 3, 2, 5, 6, 2),
    ];
    for (seed, &case) in cases.iter().enumerate() {
        let (g, p) = pooled_case(case);
        let (c_in, h, w, c_out, k) = (g.c_in, g.h, g.w, g.c_out, g.k);
        let (h_out, w_out) = (g.h_out, g.w_out);
        assert!(conv2d_pools_directly(&g), "{g:?}");
        for batch in [1, 3] {
            let seed = seed as u64 * 10 + batch as u64;
            let in_len = c_in * h * w;
            let pooled_len = c_out * (h_out / p) * (w_out / p);
            let x = random_batch::<Rank1<1>>(batch * in_len, seed).into_vec();
            let weight = random_batch::<Rank1<1>>(c_out * c_in * k * k, seed + 1).into_vec();
            let bias = random_batch::<Rank1<1>>(c_out, seed + 2).into_vec();
            let dy = random_batch::<Rank1<1>>(batch * pooled_len, seed + 3).into_vec();
            let run = |x: &[f64], weight: &[f64], bias: &[f64], dy: &[f64]| {
                let (pooled, argmax, mut scratch) = pooled_forward(&g, p, x, (weight, bias));
                let want = weight_grad_at_maxima(&g, x, (&argmax, &pooled, dy));
                let (mut dw, mut db) = (vec![f64::NAN; weight.len()], vec![f64::NAN; c_out]);
                let at = (&argmax[..], &mut dy.to_vec()[..], &pooled[..]);
                conv2d_weight_grad_at::<f64, ReLU>(&g, x, at, (&mut dw, &mut db), &mut scratch);
                // The same in f32 (the vectors of the AVX2 path where it runs).
                let single = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
                let (x32, w32, b32) = (single(x), single(weight), single(bias));
                let (pooled32, argmax32, mut scratch32) = pooled_forward(&g, p, &x32, (&w32, &b32));
                let (mut dw32, mut db32) = (vec![f32::NAN; weight.len()], vec![f32::NAN; c_out]);
                let at = (&argmax32[..], &mut single(dy)[..], &pooled32[..]);
                let grads = (&mut dw32[..], &mut db32[..]);
                conv2d_weight_grad_at::<f32, ReLU>(&g, &x32, at, grads, &mut scratch32);
                (want, (dw, db), (dw32, db32))
            };
            let ((want_w, want_b), (dw, db), (dw32, db32)) = run(&x, &weight, &bias, &dy);
            let what = format!("{g:?}, pool {p}, batch {batch}");
            assert!(want_w.iter().any(|&v| v != 0.0), "{what}: some gradient");
            let pairs = want_w.iter().zip(dw.iter().zip(&dw32));
            for (&want, (&got, &got32)) in pairs.chain(want_b.iter().zip(db.iter().zip(&db32))) {
                assert!((want - got).abs() < 1e-12, "{what}: {got} vs {want}");
                assert!(
                    (want - f64::from(got32)).abs() < 1e-4,
                    "{what}, f32: {got32} vs {want}"
                );
            }
        }
    }
}

/// Winograd's convolutions pooled in one pass, both ways: the pooled
/// outputs and their maxima to the bit against the convolution then the
/// pooling (`pooled_forward`), and backward from the maxima against the
/// gradient routed back and the plain backward pass, weight and input
/// gradients to the bit, the bias gradient to rounding. Partial groups of
/// input and output channels, 'valid' and 'same', 2×2 and 3×3 pools that
/// drop rows and columns, ReLU's ties at zero, in f64 and f32.
#[test]
fn winograd_pooled_passes_match_the_layers_apart() {
    use keelnet::Float;
    use keelnet::kernels::{
        conv2d_backward, conv2d_backward_at_maxima, conv2d_pools_directly, conv2d_pools_in_one_pass,
    };
    fn check<F: Float>(g: &ConvGeometry, p: usize, batch: usize, seed: u64, tolerance: f64) {
        let data = |len: usize, seed: u64| -> Vec<F> {
            let values = random_batch::<Rank1<1>>(len, seed).into_vec();
            values.into_iter().map(F::from_f64).collect()
        };
        let (in_len, out_len) = (g.c_in * g.h * g.w, g.c_out * g.h_out * g.w_out);
        let pooled_size = (g.h_out / p, g.w_out / p);
        let pooled_len = g.c_out * pooled_size.0 * pooled_size.1;
        let x = data(batch * in_len, seed);
        let weight = data(g.c_out * g.patch_len(), seed + 1);
        let bias = data(g.c_out, seed + 2);
        let dy = data(batch * pooled_len, seed + 3);
        let (pooled, argmax, mut scratch) = pooled_forward(g, p, &x, (&weight, &bias));
        // Routed back: the pooling's backward through ReLU, then the
        // convolution's from before its activation.
        let mut unfused = ConvScratch::default();
        let mut y = vec![F::zero(); batch * out_len];
        conv2d_forward::<F, ReLU>(g, &x, &weight, &bias, &mut y, &mut unfused);
        let mut dz = vec![F::nan(); batch * out_len];
        let lens = (out_len, pooled_len);
        max_pool_backward::<F, ReLU>(lens, &argmax, (&mut dy.clone(), &pooled), &mut dz);
        let fresh = || {
            let grads = (vec![F::nan(); weight.len()], vec![F::nan(); g.c_out]);
            (grads, vec![F::nan(); batch * in_len])
        };
        let ((mut want_w, mut want_b), mut want_dx) = fresh();
        let (dw, db, dx) = (&mut want_w[..], &mut want_b[..], Some(&mut want_dx[..]));
        conv2d_backward::<F, Linear>(g, &x, &weight, (&dz, None), dw, db, dx, &mut unfused);
        for with_dx in [true, false] {
            let ((mut dw, mut db), mut dx) = fresh();
            let at = (&argmax[..], &mut dy.clone()[..], &pooled[..]);
            let dx_out = with_dx.then_some(&mut dx[..]);
            let grads = (&mut dw[..], &mut db[..]);
            conv2d_backward_at_maxima::<F, ReLU>(g, pooled_size, at, grads, dx_out, &mut scratch);
            let what = format!("{g:?}, pool {p}, batch {batch}, dx {with_dx}");
            assert_eq!(dw, want_w, "{what}: weight gradient");
            if with_dx {
                assert_eq!(dx, want_dx, "{what}: input gradient");
            }
            for (&got, &want) in db.iter().zip(&want_b) {
                let (got, want) = (got.to_f64(), want.to_f64());
                assert!(
                    (got - want).abs() <= tolerance * (1.0 + want.abs()),
                    "{what}: {got} vs {want}"
                );
            }
        }
        assert!(want_w.iter().any(|&v| v != F::zero()), "some gradient");
    }
    let cases = [
        // (c_in, h, w, c_out, k, h_out, w_out, pool)
        (12, 13, 13, 10, 3, 11, 11, 2),
        (9, 12, 14, 5, 3, 12, 14, 3), // same
        (8, 10, 10, 16, 3, 8, 8, 2),  // whole groups, no rows dropped
    ];
    for (seed, &case) in cases.iter().enumerate() {
        let (g, p) = pooled_case(case);
        for batch in [4, 5] {
            assert!(
                conv2d_pools_in_one_pass(&g, batch) && !conv2d_pools_directly(&g),
                "{g:?}"
            );
            let seed = seed as u64 * 10 + batch as u64;
            check::<f64>(&g, p, batch, seed, 1e-12);
            check::<f32>(&g, p, batch, seed, 1e-5);
        }
    }
}
