//! The reference models: one training step, single-image inference, and
//! each convolution and pooling of the CNN forward and backward.
//!
//! `cargo bench --bench models`

use std::hint::black_box;

mod common;

use common::timed_on_pool;
use criterion::{Criterion, criterion_group, criterion_main};
use keelnet::prelude::*;
use keelnet::train::{Model, Targets};
use keelnet::{CategoricalCrossentropy, ChainCache, Conv2D, MaxPool, OutputGrad, TrainContext};

network! {
    /// The reference MLP.
    struct MnistMlp: Input<1, 28, 28> -> Flatten -> Dense<128, ReLU> -> Dense<10, Softmax>;
    /// The reference CNN.
    struct MnistCnn: Input<1, 28, 28>
        -> Conv2D<32, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU>
        -> Flatten -> Dense<64, ReLU> -> Dense<10, Softmax>;
}

fn images<S: Shape>(len: usize) -> Batch<S> {
    let data = (0..len * S::NUMEL)
        .map(|i| ((i * 7919) % 256) as f32 / 255.0)
        .collect();
    Batch::from_vec(data).expect("whole samples")
}

fn one_hot(len: usize) -> Batch<Rank1<10>> {
    keelnet::datasets::to_categorical(&(0..len).map(|i| i % 10).collect::<Vec<_>>())
        .expect("digits")
}

/// One optimization step (forward, loss, backward, Adam) at the reference batch size.
fn train_step<N>(c: &mut Criterion, name: &str, network: N, batch: usize)
where
    N: Layer<Rank3<1, 28, 28>, f32, Output = Rank1<10>> + Send,
{
    let (x, y) = (images::<Rank3<1, 28, 28>>(batch), one_hot(batch));
    let all: Vec<usize> = (0..batch).collect();
    let mut targets = Batch::new();
    <Batch<Rank1<10>> as Targets<Rank1<10>, f32>>::gather(&y, &all, &mut targets);
    let mut model = Model::compile(network, Adam::default(), CategoricalCrossentropy);
    let mut ctx = TrainContext::new(0);
    c.bench_function(&format!("train_step/{name}_batch{batch}"), |b| {
        b.iter_custom(|iters| {
            timed_on_pool(iters, || {
                model
                    .train_on_batch::<Batch<Rank1<10>>>(black_box(&x), &targets, &mut ctx)
                    .expect("finite loss");
            })
        })
    });
}

/// Forward of one image, as an application would classify it.
fn inference<N>(c: &mut Criterion, name: &str, network: &N)
where
    N: Layer<Rank3<1, 28, 28>, f32, Output = Rank1<10>>,
{
    let x = images::<Rank3<1, 28, 28>>(1);
    let mut y = Batch::new();
    c.bench_function(&format!("inference/{name}_one_image"), |b| {
        b.iter(|| network.forward(black_box(&x), &mut y))
    });
}

/// Forward and backward of one layer of the CNN at batch 64 (a convolution
/// or a pooling); the input gradient only where the network needs it (not
/// for the first layer).
fn cnn_layer<L, I>(c: &mut Criterion, name: &str, layer: &L, input_grad: bool)
where
    I: Shape,
    L: Layer<I, f32> + Sync,
{
    let x = images::<I>(64);
    let (mut y, mut cache) = (Batch::new(), L::Cache::default());
    let mut ctx = TrainContext::new(0);
    c.bench_function(&format!("{name}/forward"), |b| {
        b.iter_custom(|iters| {
            timed_on_pool(iters, || {
                layer.forward_train(black_box(&x), &mut y, &mut cache, &mut ctx)
            })
        })
    });
    layer.forward_train(&x, &mut y, &mut cache, &mut ctx);
    let (mut dy, mut dx, mut grads) = (y.clone(), Batch::new(), L::Grads::default());
    c.bench_function(&format!("{name}/backward"), |b| {
        b.iter_custom(|iters| {
            timed_on_pool(iters, || {
                dy.copy_from(&y);
                let dx = input_grad.then_some(&mut dx);
                layer.backward(&x, &y, &mut cache, &mut dy, dx, &mut grads)
            })
        })
    });
}

/// One of the CNN's convolutions and the max pooling after it as the
/// network runs them: forward in one pass, backward from the gradient at
/// the pooled outputs (the input gradient only where the network needs it).
fn conv_through_pool<
    const C_IN: usize,
    const C_OUT: usize,
    const H: usize,
    const W: usize,
    const H_OUT: usize,
    const W_OUT: usize,
    const PH: usize,
    const PW: usize,
>(
    c: &mut Criterion,
    name: &str,
    conv: &Conv2D<C_IN, C_OUT, 3, 1, H_OUT, W_OUT, ReLU>,
    input_grad: bool,
) {
    let x = images::<Rank3<C_IN, H, W>>(64);
    let pool = MaxPool::<2, PH, PW>;
    let mut cache = ChainCache::default();
    let mut pooled = Batch::new();
    c.bench_function(&format!("{name}/forward"), |b| {
        b.iter_custom(|iters| {
            timed_on_pool(iters, || {
                conv.forward_then(&pool, black_box(&x), &mut pooled, cache.pair(), None)
            })
        })
    });
    // The forward pass backward starts from (its bench may be filtered out).
    let ctx = &mut TrainContext::new(0);
    conv.forward_then(&pool, &x, &mut pooled, cache.pair(), Some(ctx));
    let (mut dy, mut grads, mut dx) = (pooled.clone(), Default::default(), Batch::new());
    c.bench_function(&format!("{name}/backward"), |b| {
        b.iter_custom(|iters| {
            timed_on_pool(iters, || {
                dy.copy_from(&pooled);
                let out = OutputGrad {
                    y: &pooled,
                    dy: &mut dy,
                    before_activation: false,
                };
                let dx = input_grad.then_some(&mut dx);
                conv.backward_then(&pool, &x, cache.pair(), out, dx, (&mut grads, &mut ()))
            })
        })
    });
}

fn models(c: &mut Criterion) {
    train_step(c, "mlp", MnistMlp::new(0), 32);
    train_step(c, "cnn", MnistCnn::new(0), 64);
    inference(c, "mlp", &MnistMlp::new(0));
    inference(c, "cnn", &MnistCnn::new(0));
    let rng = &mut <keelnet::rand::rngs::StdRng as keelnet::rand::SeedableRng>::seed_from_u64(0);
    cnn_layer::<_, Rank3<1, 28, 28>>(
        c,
        "conv/conv2d_1_1x28x28_to_32x26x26",
        &Conv2D::<1, 32, 3, 1, 26, 26, ReLU>::new(rng),
        false,
    );
    conv_through_pool::<1, 32, 28, 28, 26, 26, 13, 13>(
        c,
        "conv/conv2d_1_through_max_pool_1",
        &Conv2D::new(rng),
        false,
    );
    cnn_layer::<_, Rank3<32, 13, 13>>(
        c,
        "conv/conv2d_2_32x13x13_to_64x11x11",
        &Conv2D::<32, 64, 3, 1, 11, 11, ReLU>::new(rng),
        true,
    );
    conv_through_pool::<32, 64, 13, 13, 11, 11, 5, 5>(
        c,
        "conv/conv2d_2_through_max_pool_2",
        &Conv2D::new(rng),
        true,
    );
    cnn_layer::<_, Rank3<64, 5, 5>>(
        c,
        "conv/conv2d_3_64x5x5_to_64x3x3",
        &Conv2D::<64, 64, 3, 1, 3, 3, ReLU>::new(rng),
        true,
    );
    cnn_layer::<_, Rank3<32, 26, 26>>(
        c,
        "pool/max_pool_1_32x26x26_to_32x13x13",
        &MaxPool::<2, 13, 13>,
        true,
    );
    cnn_layer::<_, Rank3<64, 11, 11>>(
        c,
        "pool/max_pool_2_64x11x11_to_64x5x5",
        &MaxPool::<2, 5, 5>,
        true,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3));
    targets = models
}
criterion_main!(benches);
