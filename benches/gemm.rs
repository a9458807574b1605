//! SGEMM at the reference networks' shapes and at squares, next to the
//! reference loops and the `matrixmultiply` crate; throughput in FLOP/s
//! (criterion's "elem/s" here counts floating-point operations).
//!
//! `cargo bench --bench gemm` (one thread: `RAYON_NUM_THREADS=1`).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keelnet::kernels::{Isa, MatRef, NoEpilogue, reference, sgemm_on};

/// (name, m, n, k, a transposed, b transposed). The CNN's products are
/// those of one batch of 64: the batch unfolds into `B·P` columns.
const SHAPES: [(&str, usize, usize, usize, bool, bool); 11] = [
    ("mlp_forward_32x128x784", 32, 128, 784, false, false),
    ("mlp_weight_grad_784x128x32", 784, 128, 32, true, false),
    ("mlp_input_grad_32x784x128", 32, 784, 128, false, true),
    (
        "cnn_conv1_forward_32x43264x9",
        32,
        64 * 676,
        9,
        false,
        false,
    ),
    (
        "cnn_conv2_forward_64x7744x288",
        64,
        64 * 121,
        288,
        false,
        false,
    ),
    (
        "cnn_conv2_weight_grad_64x288x7744",
        64,
        288,
        64 * 121,
        false,
        true,
    ),
    (
        "cnn_conv2_input_grad_288x7744x64",
        288,
        64 * 121,
        64,
        true,
        false,
    ),
    (
        "cnn_conv3_forward_64x576x576",
        64,
        64 * 9,
        576,
        false,
        false,
    ),
    ("square_256", 256, 256, 256, false, false),
    ("square_512", 512, 512, 512, false, false),
    ("square_1024", 1024, 1024, 1024, false, false),
];

fn data(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 1000.0 - 0.5
        })
        .collect()
}

fn gemm(c: &mut Criterion) {
    let isas = Isa::available();
    for &(name, m, n, k, a_t, b_t) in &SHAPES {
        let (a, b) = (data(m * k, 1), data(k * n, 2));
        let mut out = vec![0.0f32; m * n];
        let mut group = c.benchmark_group(format!("gemm/{name}"));
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
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
        for &isa in &isas {
            group.bench_function(BenchmarkId::new("keelnet", format!("{isa:?}")), |bench| {
                bench.iter(|| {
                    sgemm_on(
                        isa,
                        m,
                        n,
                        k,
                        black_box(ar),
                        br,
                        &mut out,
                        false,
                        &NoEpilogue,
                    )
                })
            });
        }
        group.bench_function("matrixmultiply", |bench| {
            bench.iter(|| {
                // SAFETY: the pointers and strides describe the vectors above, sized m×k, k×n, m×n.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        black_box(a.as_ptr()),
                        ar.row_stride as isize,
                        ar.col_stride as isize,
                        b.as_ptr(),
                        br.row_stride as isize,
                        br.col_stride as isize,
                        0.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            })
        });
        if m * n * k <= 1 << 24 {
            let shape = keelnet::kernels::GemmShape {
                m,
                n,
                k,
                a_transposed: a_t,
                b_transposed: b_t,
                accumulate: false,
            };
            group.bench_function("reference", |bench| {
                bench.iter(|| reference::gemm(shape, black_box(&a), &b, &mut out))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = gemm
}
criterion_main!(benches);
