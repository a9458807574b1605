//! Bad sizes given to the public kernels: each is a documented panic with a
//! message that says what is wrong, never an out-of-bounds access, a wrong
//! answer or an allocation of the wrong size. (The memory-safety findings
//! of issue 17: these ran off their buffers, or returned nonsense, before.)

use std::panic::{UnwindSafe, catch_unwind};

use keelnet::kernels::{
    ConvGeometry, ConvKernels, ConvScratch, Gather, GemmShape, Isa, MatRef, NoEpilogue, Transpose,
    WinogradKernels, conv2d_backward, conv2d_forward, conv2d_forward_pooled, conv2d_weight_grad_at,
    copy_short, dense_backward, dense_forward, fold, max_pool_backward, max_pool_forward,
    reference, sgemm_on, sum_rows, tap_sums,
};
use keelnet::{Linear, ReLU};

/// The message `f` panics with; fails the test if it returns.
fn panic_message(f: impl FnOnce() + UnwindSafe) -> String {
    let payload = catch_unwind(f).expect_err("should have panicked");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn assert_panics_with(what: &str, f: impl FnOnce() + UnwindSafe) {
    let message = panic_message(f);
    assert!(message.contains(what), "{message:?} does not say {what:?}");
}

const ISAS: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

#[test]
fn sgemm_refuses_overflowing_sizes_and_short_operands_on_every_path() {
    for isa in ISAS {
        let a = [1.0f32; 4];
        let huge = 1usize << 32;
        assert_panics_with("C holds", || {
            let mut c = [0.0f32; 4];
            let (a, b) = (MatRef::row_major(&a, 2), MatRef::row_major(&a, 2));
            sgemm_on(isa, huge, huge, 2, a, b, &mut c, false, &NoEpilogue);
        });
        assert_panics_with("A (3×2) reads past its 4 values", || {
            let mut c = [0.0f32; 6];
            let (a, b) = (MatRef::row_major(&a, 2), MatRef::row_major(&a, 2));
            sgemm_on(isa, 3, 2, 2, a, b, &mut c, false, &NoEpilogue);
        });
        assert_panics_with("B (2×2) reads past", || {
            let mut c = [0.0f32; 4];
            let far = MatRef {
                data: &a[..],
                row_stride: usize::MAX / 2,
                col_stride: 1,
            };
            sgemm_on(
                isa,
                2,
                2,
                2,
                MatRef::row_major(&a, 2),
                far,
                &mut c,
                false,
                &NoEpilogue,
            );
        });
        let gathered = |row_offsets: &'static [usize], col_offsets: &'static [usize]| {
            move || {
                let data = [1.0f32; 4];
                let b = Gather {
                    data: &data[..],
                    row_offsets,
                    col_offsets,
                };
                let a = MatRef::row_major(&data, 2);
                sgemm_on(isa, 2, 2, 2, a, b, &mut [0.0; 4], false, &NoEpilogue);
            }
        };
        assert_panics_with("B (2×2) reads past", gathered(&[0, usize::MAX], &[0, 1]));
        let message = "through 1 row and 2 column offsets";
        assert_panics_with(message, gathered(&[0], &[0, 1]));
    }
}

#[test]
fn sgemm_of_zero_sizes_writes_what_it_should() {
    for isa in ISAS {
        // k = 0: C = 0 (or unchanged when accumulating).
        let mut c = [5.0f32; 4];
        let empty = MatRef::row_major(&[], 0);
        sgemm_on(isa, 2, 2, 0, empty, empty, &mut c, false, &NoEpilogue);
        assert_eq!(c, [0.0; 4]);
        let mut c = [5.0f32; 4];
        sgemm_on(isa, 2, 2, 0, empty, empty, &mut c, true, &NoEpilogue);
        assert_eq!(c, [5.0; 4]);
        // m = 0 or n = 0: nothing to write, nothing read.
        sgemm_on(isa, 0, 2, 3, empty, empty, &mut [], false, &NoEpilogue);
        sgemm_on(isa, 2, 0, 3, empty, empty, &mut [], false, &NoEpilogue);
    }
}

#[test]
fn tap_sums_refuse_taps_past_the_input() {
    let (dz, x) = ([1.0f32; 8], [1.0f32; 16]);
    for tap in [usize::MAX, usize::MAX - 3, 9] {
        assert_panics_with("ends before the last tap", || {
            let mut d_weight = [0.0f32; 4];
            f32::tap_sums(&dz, 8, &x, &[0, tap], &mut d_weight);
        });
        assert_panics_with("ends before the last tap", || {
            let mut d_weight = [0.0f32; 4];
            tap_sums(&dz, 8, &x, &[0, tap], &mut d_weight);
        });
    }
    assert_panics_with("not 1×2 sums", || {
        let mut d_weight = [0.0f32; 1];
        f32::tap_sums(&dz, 8, &x, &[0, 1], &mut d_weight);
    });
    // Zero taps and zero lengths do nothing.
    let mut d_weight = [0.0f32; 1];
    f32::tap_sums(&dz, 8, &x, &[], &mut d_weight);
    f32::tap_sums(&[], 0, &x, &[0], &mut d_weight);
    assert_eq!(d_weight, [0.0]);
}

#[test]
fn transposes_refuse_overflowing_extents() {
    let t = Transpose {
        lines: 2,
        depth: 2,
        count: 2,
        src_line: 2,
        src_next: usize::MAX,
        dst_group: 2,
        dst_next: 4,
    };
    assert_panics_with("overflows", || {
        f32::transpose(&t, &[0.0; 8], &mut [0.0; 8]);
    });
}

fn geometry() -> ConvGeometry {
    ConvGeometry {
        c_in: 1,
        h: 4,
        w: 4,
        c_out: 1,
        k: 3,
        stride: 1,
        h_out: 2,
        w_out: 2,
    }
}

#[test]
fn convolutions_refuse_geometries_that_are_not_one() {
    let x = [1.0f32; 16];
    let bad = [
        ConvGeometry {
            stride: 0,
            ..geometry()
        },
        ConvGeometry {
            h_out: 0,
            ..geometry()
        },
        ConvGeometry { k: 0, ..geometry() },
        ConvGeometry {
            c_in: 0,
            ..geometry()
        },
        ConvGeometry {
            h_out: 3,
            ..geometry()
        },
        ConvGeometry {
            c_out: usize::MAX,
            ..geometry()
        },
    ];
    for g in bad {
        let message = panic_message(|| {
            let mut y = [0.0f32; 4];
            let mut scratch = ConvScratch::default();
            conv2d_forward::<f32, ReLU>(&g, &x, &[1.0; 9], &[0.0], &mut y, &mut scratch);
        });
        assert!(message.contains("a convolution's"), "{g:?}: {message}");
    }
}

#[test]
fn convolutions_refuse_buffers_that_do_not_fit() {
    let g = geometry();
    let x = [1.0f32; 16];
    let forward = |x: &[f32], weight: &[f32], y_len: usize| {
        let (x, weight) = (x.to_vec(), weight.to_vec());
        move || {
            let mut y = vec![0.0f32; y_len];
            let mut scratch = ConvScratch::default();
            conv2d_forward::<f32, ReLU>(&g, &x, &weight, &[0.0], &mut y, &mut scratch);
        }
    };
    assert_panics_with("whole number of samples", forward(&x[..15], &[1.0; 9], 4));
    assert_panics_with("weight holds 8 values", forward(&x, &[1.0; 8], 4));
    assert_panics_with("y holds 3 values", forward(&x, &[1.0; 9], 3));
    assert_panics_with("dx holds 15 values", || {
        let mut scratch = ConvScratch::default();
        let (mut y, mut dw, mut db, mut dx) = ([0.0f32; 4], [0.0; 9], [0.0], [0.0; 15]);
        conv2d_forward::<f32, ReLU>(&g, &x, &[1.0; 9], &[0.0], &mut y, &mut scratch);
        let grads = (&[1.0f32; 4][..], Some(&y[..]));
        conv2d_backward::<f32, ReLU>(
            &g,
            &x,
            &[1.0; 9],
            grads,
            &mut dw,
            &mut db,
            Some(&mut dx),
            &mut scratch,
        );
    });
    assert_panics_with("kernel_offsets holds 2 values", || {
        fold(&g, &[1.0f32; 36], &[0, 1], &mut [0.0; 16]);
    });
}

#[test]
fn max_pooling_refuses_sizes_that_drop_or_divide_by_zero() {
    let x = [1.0f32; 16];
    for (c, h, w, p) in [(1, 4, 4, 0), (0, 4, 4, 2), (1, 1, 4, 2)] {
        assert_panics_with("must be at least 1", || {
            max_pool_forward((c, h, w), p, &x, &mut [0.0; 4], &mut [0; 4]);
        });
    }
    // Two samples in, room for one out: refused rather than one dropped.
    assert_panics_with("y holds 4 values, not 8", || {
        max_pool_forward((1, 4, 4), 2, &[1.0f32; 32], &mut [0.0; 4], &mut [0; 4]);
    });
    assert_panics_with("dx holds 8 values, not 16", || {
        let dy = &mut [1.0f32; 4];
        max_pool_backward::<f32, Linear>((16, 4), &[0; 4], (dy, &[]), &mut [0.0; 8]);
    });
}

#[test]
fn dense_kernels_refuse_short_buffers() {
    let (x, w) = ([1.0f32; 4], [1.0f32; 6]);
    assert_panics_with(
        "dz holds 5 values, not a whole number of samples of 3",
        || {
            let (mut dw, mut db) = ([0.0f32; 6], [0.0f32; 3]);
            dense_backward(&x[..2], &w, &[1.0; 5], &mut dw, &mut db, None);
        },
    );
    assert_panics_with("x holds 4 values, not 2", || {
        let (mut dw, mut db) = ([0.0f32; 6], [0.0f32; 3]);
        dense_backward(&x, &w, &[1.0; 3], &mut dw, &mut db, None);
    });
    assert_panics_with("y holds 2 values, not 6", || {
        dense_forward::<f32, ReLU>(&x, &w, &[0.0; 3], &mut [0.0; 2]);
    });
    assert_panics_with("at least one output", || {
        dense_forward::<f32, ReLU>(&x, &w, &[], &mut [0.0; 2]);
    });
}

#[test]
fn the_pooled_convolution_kernels_refuse_what_does_not_fit() {
    let g = geometry();
    let x = [1.0f32; 16];
    assert_panics_with("a convolution's sizes", || {
        let bad = ConvGeometry { stride: 0, ..g };
        let outputs = (&mut [0.0f32; 1][..], &mut [0u32; 1][..]);
        let params = (&[1.0f32; 9][..], &[0.0f32][..]);
        conv2d_forward_pooled::<f32, ReLU>(
            &bad,
            &x,
            params,
            2,
            outputs,
            &mut ConvScratch::default(),
        );
    });
    assert_panics_with("pooled holds 2 values, not 1", || {
        let outputs = (&mut [0.0f32; 2][..], &mut [0u32; 2][..]);
        let params = (&[1.0f32; 9][..], &[0.0f32][..]);
        conv2d_forward_pooled::<f32, ReLU>(&g, &x, params, 2, outputs, &mut ConvScratch::default());
    });
    assert_panics_with("d_weight holds 4 values, not 9", || {
        let at = (&[0u32][..], &mut [1.0f32][..], &[1.0f32][..]);
        let grads = (&mut [0.0f32; 4][..], &mut [0.0f32][..]);
        conv2d_weight_grad_at::<f32, ReLU>(&g, &x, at, grads, &mut ConvScratch::default());
    });
    assert_panics_with("not whole rows of 3", || {
        sum_rows(&[1.0f32; 4], &mut [0.0; 3]);
    });
}

#[test]
fn row_copies_and_reference_products_check_lengths_in_release_too() {
    assert_panics_with("different lengths", || {
        copy_short(&mut [0.0f32; 3], &[1.0; 4]);
    });
    assert_panics_with("a holds 3 values, not 2×2", || {
        reference::matmul(&[1.0f64; 3], &[1.0; 4], &mut [0.0; 4], 2, 2, 2);
    });
    assert_panics_with("c holds 2 values, not 2×2", || {
        let shape = GemmShape {
            m: 2,
            n: 2,
            k: 2,
            a_transposed: false,
            b_transposed: false,
            accumulate: false,
        };
        reference::gemm(shape, &[1.0f64; 4], &[1.0; 4], &mut [0.0; 2]);
    });
}
