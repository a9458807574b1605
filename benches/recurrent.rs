//! The recurrent layers: forward and backward of an LSTM at batch 64, 64
//! steps, 256 units (the character-level language model's layer), and
//! inference at batch 1.
//!
//! `cargo bench --bench recurrent`

use std::hint::black_box;

mod common;

use common::timed_on_pool;
use criterion::{Criterion, criterion_group, criterion_main};
use keelnet::{Batch, LSTM, Layer, Rank2, Sequences, TrainContext};
use rand::SeedableRng;

const STEPS: usize = 64;
const FEATURES: usize = 64;
const UNITS: usize = 256;

type Lstm = LSTM<FEATURES, UNITS, Sequences>;
type Input = Rank2<STEPS, FEATURES>;

fn sequences(len: usize) -> Batch<Input> {
    let values = (0..len * STEPS * FEATURES)
        .map(|i| ((i * 7919) % 256) as f32 / 255.0 - 0.5)
        .collect();
    Batch::from_vec(values).expect("whole samples")
}

fn lstm(c: &mut Criterion) {
    let layer = Lstm::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let x = sequences(64);
    let (mut y, mut cache, mut grads) = (Batch::new(), Default::default(), Default::default());
    let mut ctx = TrainContext::new(0);
    let mut dy = Batch::new();
    let mut dx = Batch::new();
    c.bench_function("lstm_64x256/forward_backward_batch64", |b| {
        b.iter_custom(|iters| {
            timed_on_pool(iters, || {
                layer.forward_train(black_box(&x), &mut y, &mut cache, &mut ctx);
                dy.copy_from(&y);
                layer.backward(&x, &y, &mut cache, &mut dy, Some(&mut dx), &mut grads);
            })
        })
    });
    let one = sequences(1);
    let mut y = Batch::new();
    let mut cache = Default::default();
    c.bench_function("lstm_64x256/inference_batch1_64_steps", |b| {
        b.iter_custom(|iters| {
            timed_on_pool(iters, || {
                layer.forward_cached(black_box(&one), &mut y, &mut cache);
            })
        })
    });
}

criterion_group!(benches, lstm);
criterion_main!(benches);
