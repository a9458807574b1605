//! The reference MLP (Flatten -> Dense 128 ReLU -> Dense 10 Softmax; Adam;
//! cross-entropy; batch 32; 10 epochs; the last 20% of the training images
//! held out for validation) in burn on its Flex CPU backend, timed per
//! epoch the way keelnet's and Keras' examples are (validation included).
//!
//! `cargo run --release -- ../../../../shared/data/mnist`

use std::io::Read;
use std::time::Instant;

use burn::nn::loss::CrossEntropyLoss;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;

#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    activation: Relu,
    output: Linear,
}

impl Mlp {
    fn new(device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(784, 128).init(device),
            activation: Relu::new(),
            output: LinearConfig::new(128, 10).init(device),
        }
    }

    /// Logits; the loss applies the softmax.
    fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        self.output
            .forward(self.activation.forward(self.hidden.forward(images)))
    }
}

/// An idx file's payload (gzipped), after its header.
fn idx(path: &str) -> Vec<u8> {
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect(path))
        .read_to_end(&mut data)
        .expect(path);
    let dims = data[3] as usize;
    data.split_off(4 + 4 * dims)
}

fn batch(
    images: &[f32],
    labels: &[u8],
    rows: &[usize],
    device: &Device,
) -> (Tensor<2>, Tensor<1, Int>) {
    let mut x = Vec::with_capacity(rows.len() * 784);
    let mut y = Vec::with_capacity(rows.len());
    for &r in rows {
        x.extend_from_slice(&images[r * 784..(r + 1) * 784]);
        y.push(labels[r] as i64);
    }
    let x = Tensor::from_data(TensorData::new(x, [rows.len(), 784]), device);
    let y = Tensor::from_data(TensorData::new(y, [rows.len()]), device);
    (x, y)
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or("../../../../shared/data/mnist".into());
    let images: Vec<f32> = idx(&format!("{root}/train-images-idx3-ubyte.gz"))
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect();
    let labels = idx(&format!("{root}/train-labels-idx1-ubyte.gz"));
    let test_images: Vec<f32> = idx(&format!("{root}/t10k-images-idx3-ubyte.gz"))
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect();
    let test_labels = idx(&format!("{root}/t10k-labels-idx1-ubyte.gz"));
    let (train, valid) = (48_000, 12_000);

    let device = Device::flex().autodiff();
    device.seed(42);
    let mut model = Mlp::new(&device);
    let mut optim = AdamConfig::new().with_epsilon(1e-7).init();
    let mut order: Vec<usize> = (0..train).collect();
    let mut state = 42u64;
    let mut seconds = Vec::new();
    for epoch in 1..=10 {
        let start = Instant::now();
        for i in (1..order.len()).rev() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            order.swap(i, (state >> 33) as usize % (i + 1));
        }
        for rows in order.chunks(32) {
            let (x, y) = batch(&images, &labels, rows, &device);
            let loss = CrossEntropyLoss::new(None, &device).forward(model.forward(x), y);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-3, model, grads);
        }
        let eval = model.valid();
        let rows: Vec<usize> = (train..train + valid).collect();
        let mut correct = 0i64;
        for rows in rows.chunks(32) {
            let (x, y) = batch(&images, &labels, rows, &device);
            let predicted = eval.forward(x).argmax(1).flatten::<1>(0, 1);
            correct += predicted.equal(y).int().sum().into_scalar::<i64>();
        }
        seconds.push(start.elapsed().as_secs_f64());
        println!(
            "epoch {epoch}: {:.2} s, val_accuracy {:.4}",
            seconds[seconds.len() - 1],
            correct as f64 / valid as f64
        );
    }
    let eval = model.valid();
    let rows: Vec<usize> = (0..10_000).collect();
    let mut correct = 0i64;
    for rows in rows.chunks(1000) {
        let (x, y) = batch(&test_images, &test_labels, rows, &device);
        let predicted = eval.forward(x).argmax(1).flatten::<1>(0, 1);
        correct += predicted.equal(y).int().sum().into_scalar::<i64>();
    }
    seconds.sort_by(f64::total_cmp);
    println!(
        "median epoch {:.3} s, test accuracy {:.4}",
        (seconds[4] + seconds[5]) / 2.0,
        correct as f64 / 10_000.0
    );
}
