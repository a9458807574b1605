//! The fully connected layer at the reference MLP's shapes (batch 32).
//!
//! `cargo bench --bench dense`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keelnet::gradcheck::random_batch;
use keelnet::{Batch, Dense, Layer, Rank1, ReLU};
use rand::SeedableRng;

fn dense_784_128(c: &mut Criterion) {
    let layer = Dense::<784, 128, ReLU>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let x64 = random_batch::<Rank1<784>>(32, 1);
    let x = Batch::<Rank1<784>>::from_vec(x64.as_slice().iter().map(|&v| v as f32).collect())
        .expect("whole samples");
    let mut y = Batch::new();
    let flops = 2 * 32 * 784 * 128;
    let mut group = c.benchmark_group("dense_784x128_batch32");
    group.throughput(Throughput::Elements(flops));
    group.bench_function("forward", |b| {
        b.iter(|| layer.forward(black_box(&x), &mut y))
    });
    layer.forward(&x, &mut y);
    let (mut dy, mut dx, mut grads) = (y.clone(), Batch::new(), Default::default());
    group.throughput(Throughput::Elements(2 * flops));
    group.bench_function("backward", |b| {
        b.iter(|| {
            dy.copy_from(&y);
            layer.backward(
                &x,
                &y,
                &mut Batch::new(),
                &mut dy,
                Some(&mut dx),
                &mut grads,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, dense_784_128);
criterion_main!(benches);
