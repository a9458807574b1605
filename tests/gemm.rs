//! The packed SGEMM against the reference loops, on awkward sizes, every
//! transposition, and every instruction set this CPU runs.

use keelnet::kernels::GemmShape;
use keelnet::kernels::{Isa, MatRef, NoEpilogue, reference, sgemm_on};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn random(len: usize, rng: &mut StdRng) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Checks `got` against `want` within `tolerance` relative to the size of
/// the terms summed (`k` products of values below 1).
fn assert_close(what: &str, got: &[f32], want: &[f32], k: usize) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let tolerance = 1e-6 * (k as f32 + 1.0) * 4.0;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance,
            "{what}: element {i}: {g} vs {w} (tolerance {tolerance})"
        );
    }
}

const SIZES: [usize; 10] = [1, 3, 7, 8, 17, 33, 64, 127, 129, 300];

#[test]
fn sgemm_matches_the_reference_on_every_path() {
    let mut rng = StdRng::seed_from_u64(1);
    let isas = Isa::available();
    println!("instruction sets: {isas:?}");
    for (case, &(m, n, k)) in [
        (1, 1, 1),
        (3, 7, 17),
        (17, 33, 7),
        (33, 129, 127),
        (129, 17, 300),
        (32, 128, 784),
        (7, 300, 33),
        (64, 64, 1),
    ]
    .iter()
    .enumerate()
    {
        for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = random(m * k, &mut rng);
            let b = random(k * n, &mut rng);
            let start = random(m * n, &mut rng);
            for accumulate in [false, true] {
                let shape = GemmShape {
                    m,
                    n,
                    k,
                    a_transposed: a_t,
                    b_transposed: b_t,
                    accumulate,
                };
                let mut want = start.clone();
                reference::gemm(shape, &a, &b, &mut want);
                for &isa in &isas {
                    let ar = if a_t {
                        MatRef::transposed(&a, m)
                    } else {
                        MatRef::row_major(&a, k)
                    };
                    let br = if b_t {
                        MatRef::transposed(&b, k)
                    } else {
                        MatRef::row_major(&b, n)
                    };
                    let mut got = start.clone();
                    sgemm_on(isa, m, n, k, ar, br, &mut got, accumulate, &NoEpilogue);
                    let what = format!(
                        "case {case} {m}x{n}x{k} a_t={a_t} b_t={b_t} acc={accumulate} {isa:?}"
                    );
                    assert_close(&what, &got, &want, k);
                }
            }
        }
    }
}

#[test]
fn sgemm_square_sizes_on_every_path() {
    let mut rng = StdRng::seed_from_u64(2);
    for &s in &SIZES {
        let (a, b) = (random(s * s, &mut rng), random(s * s, &mut rng));
        let shape = GemmShape {
            m: s,
            n: s,
            k: s,
            a_transposed: false,
            b_transposed: false,
            accumulate: false,
        };
        let mut want = vec![0.0; s * s];
        reference::gemm(shape, &a, &b, &mut want);
        for isa in Isa::available() {
            let mut got = vec![f32::NAN; s * s];
            sgemm_on(
                isa,
                s,
                s,
                s,
                MatRef::row_major(&a, s),
                MatRef::row_major(&b, s),
                &mut got,
                false,
                &NoEpilogue,
            );
            assert_close(&format!("{s}³ on {isa:?}"), &got, &want, s);
        }
    }
}

#[test]
fn the_epilogue_sees_every_finished_value_once() {
    let mut rng = StdRng::seed_from_u64(3);
    let (m, n, k) = (37, 45, 300);
    let (a, b) = (random(m * k, &mut rng), random(k * n, &mut rng));
    let shape = GemmShape {
        m,
        n,
        k,
        a_transposed: false,
        b_transposed: false,
        accumulate: false,
    };
    let mut want = vec![0.0; m * n];
    reference::gemm(shape, &a, &b, &mut want);
    // The epilogue adds 1000·row + column: applied once, after the whole sum.
    let mark = |row: usize, col: usize, values: &mut [f32]| {
        for (j, v) in values.iter_mut().enumerate() {
            *v += (1000 * row + col + j) as f32;
        }
    };
    for (i, w) in want.iter_mut().enumerate() {
        *w += (1000 * (i / n) + i % n) as f32;
    }
    for isa in Isa::available() {
        let mut got = vec![0.0; m * n];
        sgemm_on(
            isa,
            m,
            n,
            k,
            MatRef::row_major(&a, k),
            MatRef::row_major(&b, n),
            &mut got,
            false,
            &mark,
        );
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-2, "{isa:?}: {g} vs {w}");
        }
    }
}

#[test]
fn a_large_product_is_split_over_threads_and_still_right() {
    let mut rng = StdRng::seed_from_u64(4);
    // Above the threading threshold (2^20 multiply-adds): split by rows
    // (m > n) and by columns (n >= m), the other operand packed once and
    // shared; the last one too large to share (each part packs its own).
    for (m, n, k) in [(301, 131, 300), (40, 1500, 150), (40, 33, 22_000)] {
        let (a, b) = (random(m * k, &mut rng), random(k * n, &mut rng));
        let start = random(m * n, &mut rng);
        let shape = GemmShape {
            m,
            n,
            k,
            a_transposed: false,
            b_transposed: true,
            accumulate: true,
        };
        let mut want = start.clone();
        reference::gemm(shape, &a, &b, &mut want);
        // The epilogue sees every value once: doubling shows a second visit.
        let double =
            |_: usize, _: usize, values: &mut [f32]| values.iter_mut().for_each(|v| *v *= 2.0);
        want.iter_mut().for_each(|v| *v *= 2.0);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for isa in Isa::available() {
            let mut got = start.clone();
            pool.install(|| {
                sgemm_on(
                    isa,
                    m,
                    n,
                    k,
                    MatRef::row_major(&a, k),
                    MatRef::transposed(&b, k),
                    &mut got,
                    true,
                    &double,
                )
            });
            assert_close(
                &format!("{m}x{n}x{k} threaded on {isa:?}"),
                &got,
                &want,
                2 * k,
            );
        }
    }
}

#[test]
fn products_running_side_by_side_on_threads_do_not_share_packing_buffers() {
    use rayon::prelude::*;
    let mut rng = StdRng::seed_from_u64(5);
    let (m, n, k) = (64, 700, 120);
    let inputs: Vec<(Vec<f32>, Vec<f32>)> = (0..6)
        .map(|_| (random(m * k, &mut rng), random(k * n, &mut rng)))
        .collect();
    let shape = GemmShape {
        m,
        n,
        k,
        a_transposed: false,
        b_transposed: false,
        accumulate: false,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let got: Vec<Vec<f32>> = pool.install(|| {
        inputs
            .par_iter()
            .map(|(a, b)| {
                let mut c = vec![0.0; m * n];
                keelnet::kernels::sgemm(
                    m,
                    n,
                    k,
                    MatRef::row_major(a, k),
                    MatRef::row_major(b, n),
                    &mut c,
                    false,
                    &NoEpilogue,
                );
                c
            })
            .collect()
    });
    for ((a, b), got) in inputs.iter().zip(&got) {
        let mut want = vec![0.0; m * n];
        reference::gemm(shape, a, b, &mut want);
        assert_close("side by side", got, &want, k);
    }
}

#[test]
fn gathered_operands_match_the_reference_on_every_path() {
    use keelnet::kernels::Gather;
    let mut rng = StdRng::seed_from_u64(6);
    let data = random(5000, &mut rng);
    // Offsets with runs (contiguous slivers) and jumps, as an unfolded image has.
    let offsets = |len: usize, run: usize, jump: usize| -> Vec<usize> {
        (0..len).map(|i| i / run * jump + i % run).collect()
    };
    // Runs across a sliver (output positions in B's columns) or along its
    // depth (positions in B's rows, as the weight gradient reads them).
    let shapes = [(7, 33, 17), (33, 129, 9), (64, 300, 400), (3, 17, 1000)];
    for ((m, n, k), (row_run, col_run)) in shapes
        .into_iter()
        .flat_map(|shape| [(shape, (3, 11)), (shape, (11, 3)), (shape, (20, 1))])
    {
        let (rows, cols) = (offsets(k, row_run, 13), offsets(n, col_run, 13));
        let b = Gather {
            data: &data,
            row_offsets: &rows,
            col_offsets: &cols,
        };
        let a_data = random(m * k, &mut rng);
        let shape = GemmShape {
            m,
            n,
            k,
            a_transposed: false,
            b_transposed: false,
            accumulate: false,
        };
        let mut want = vec![0.0; m * n];
        reference::gemm_gathered(shape, &a_data, b, &mut want);
        // The same values as a gathered A: aᵀ's transpose read through offsets.
        let (a_rows, a_cols): (Vec<usize>, Vec<usize>) =
            ((0..m).map(|i| i * k).collect(), (0..k).collect());
        let a = Gather {
            data: &a_data,
            row_offsets: &a_rows,
            col_offsets: &a_cols,
        };
        for isa in Isa::available() {
            let mut got = vec![f32::NAN; m * n];
            sgemm_on(
                isa,
                m,
                n,
                k,
                MatRef::row_major(&a_data, k),
                b,
                &mut got,
                false,
                &NoEpilogue,
            );
            assert_close(&format!("{isa:?} gathered B {m}x{n}x{k}"), &got, &want, k);
            let mut got = vec![f32::NAN; m * n];
            sgemm_on(isa, m, n, k, a, b, &mut got, false, &NoEpilogue);
            assert_close(
                &format!("{isa:?} gathered A and B {m}x{n}x{k}"),
                &got,
                &want,
                k,
            );
        }
    }
}

/// Operands stored with rows (or columns) longer than the product reads:
/// blocks of a larger matrix, whose packs (transposing ones among them)
/// must follow the strides, not the widths.
#[test]
fn operands_inside_larger_matrices_match_the_reference_on_every_path() {
    let mut rng = StdRng::seed_from_u64(7);
    for &(m, n, k) in &[(6, 16, 8), (13, 41, 23), (48, 64, 400), (7, 9, 3)] {
        let pad = 5;
        for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
            // A block of a matrix with `pad` extra values per stored line.
            let (a_lines, a_len) = if a_t { (k, m) } else { (m, k) };
            let (b_lines, b_len) = if b_t { (n, k) } else { (k, n) };
            let a_big = random(a_lines * (a_len + pad), &mut rng);
            let b_big = random(b_lines * (b_len + pad), &mut rng);
            let tight = |big: &[f32], lines: usize, len: usize| -> Vec<f32> {
                big.chunks_exact(len + pad)
                    .take(lines)
                    .flat_map(|line| line[..len].to_vec())
                    .collect()
            };
            let (a, b) = (tight(&a_big, a_lines, a_len), tight(&b_big, b_lines, b_len));
            let shape = GemmShape {
                m,
                n,
                k,
                a_transposed: a_t,
                b_transposed: b_t,
                accumulate: false,
            };
            let mut want = vec![0.0; m * n];
            reference::gemm(shape, &a, &b, &mut want);
            let stored = |data, lines_are_rows: bool, len: usize| MatRef {
                data,
                row_stride: if lines_are_rows { len + pad } else { 1 },
                col_stride: if lines_are_rows { 1 } else { len + pad },
            };
            let ar = stored(&a_big[..], !a_t, a_len);
            let br = stored(&b_big[..], !b_t, b_len);
            for isa in Isa::available() {
                let mut got = vec![f32::NAN; m * n];
                sgemm_on(isa, m, n, k, ar, br, &mut got, false, &NoEpilogue);
                let what = format!("{m}x{n}x{k} a_t={a_t} b_t={b_t} strided {isa:?}");
                assert_close(&what, &got, &want, k);
            }
        }
    }
}
