//! Sequences `[T, D]`: Dense on every step, pooling over the steps, and
//! the recurrent layers, by hand and in `network!`, checked against finite
//! differences.

use keelnet::gradcheck::{check_layer, random_batch};
use keelnet::{
    Batch, Cell, Chain, Dense, GELU, GlobalAveragePooling1D, GlobalMaxPooling1D, LSTM, LastState,
    Layer, LstmCell, Rank1, Rank2, ReLU, Recurrent, Sequences, SimpleCell, SimpleRNN, Softmax,
    network,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

network! {
    /// A per-step projection, pooled by its mean, then classified.
    struct MeanOfSteps: Input<7, 5> -> Dense<6, Tanh> -> GlobalAveragePooling1D -> Dense<3, Softmax>;

    /// A per-step softmax over the vocabulary, as a language model ends.
    struct PerStep: Input<3, 4> -> Dense<8, GELU> -> Dense<5, Softmax>;

    /// Pooled by the maximum.
    struct MaxOfSteps: Input<5, 4> -> Dense<4, ReLU> -> GlobalMaxPooling1D -> Dense<2>;

    /// Stacked recurrent layers, then a classifier.
    struct StackedRnn: Input<6, 3> -> SimpleRNN<5, return_sequences = true> -> SimpleRNN<4>
        -> Dense<2, Softmax>;

    /// A recurrent layer read at every step.
    struct EveryStep: Input<4, 3> -> SimpleRNN<5, return_sequences = true> -> Dense<3, Softmax>;

    /// Stacked LSTMs, as the sentiment and language models use them.
    struct Lstms: Input<5, 3> -> LSTM<4, return_sequences = true> -> LSTM<3> -> Dense<1, Sigmoid>;
}

#[test]
fn recurrent_networks_gradient_check_and_count_like_keras() {
    let x = random_batch::<Rank2<6, 3>>(3, 21);
    if let Err(worst) = check_layer(&StackedRnn::<f64>::new(22), &x, 23) {
        panic!("StackedRnn: {worst}");
    }
    let x = random_batch::<Rank2<4, 3>>(1, 24);
    if let Err(worst) = check_layer(&EveryStep::<f64>::new(25), &x, 26) {
        panic!("EveryStep: {worst}");
    }
    let x = random_batch::<Rank2<5, 3>>(2, 27);
    if let Err(worst) = check_layer(&Lstms::<f64>::new(28), &x, 29) {
        panic!("Lstms: {worst}");
    }
    // Keras: 4 · units · (units + inputs + 1) an LSTM.
    assert_eq!(Lstms::<f32>::PARAM_COUNT, 4 * 4 * 8 + 4 * 3 * 8 + 3 + 1);
    assert!(Lstms::<f32>::SUMMARY.contains("lstm_1 (LSTM)"));
    // Keras: units · (units + inputs + 1) a recurrent layer.
    assert_eq!(StackedRnn::<f32>::PARAM_COUNT, 5 * 9 + 4 * 10 + 4 * 2 + 2);
    let summary = StackedRnn::<f32>::SUMMARY;
    assert!(
        summary.contains("simple_rnn_1 (SimpleRNN)  (None, 6, 5)"),
        "{summary}"
    );
    assert!(
        summary.contains("simple_rnn_2 (SimpleRNN)  (None, 4)"),
        "{summary}"
    );
}

#[test]
fn dense_acts_on_every_step_with_the_same_weights() {
    let dense = Dense::<4, 3, ReLU, f64>::new(&mut StdRng::seed_from_u64(1));
    let x = random_batch::<Rank2<5, 4>>(2, 2);
    let y: Batch<Rank2<5, 3>, f64> = dense.predict(&x);
    // Each step of each sample through the flat layer: the same numbers.
    let steps = Batch::<Rank1<4>, f64>::from_vec(x.as_slice().to_vec()).unwrap();
    assert_eq!(y.as_slice(), dense.predict(&steps).as_slice());
}

#[test]
fn sequence_layers_gradient_check() {
    for (batch, seed) in [(1, 3), (3, 4)] {
        let rng = &mut StdRng::seed_from_u64(seed);
        let x = random_batch::<Rank2<5, 4>>(batch, seed);
        let checks = [
            check_layer(&Dense::<4, 3, Softmax, f64>::new(rng), &x, seed),
            check_layer(&Dense::<4, 3, GELU, f64>::new(rng), &x, seed),
            check_layer(&GlobalAveragePooling1D, &x, seed),
            check_layer(&GlobalMaxPooling1D, &x, seed),
        ];
        for (i, check) in checks.into_iter().enumerate() {
            if let Err(worst) = check {
                panic!("layer {i}, batch {batch}: {worst}");
            }
        }
    }
    // One step (T = 1).
    let x = random_batch::<Rank2<1, 4>>(2, 9);
    assert!(check_layer(&GlobalMaxPooling1D, &x, 9).is_ok());
    assert!(check_layer(&GlobalAveragePooling1D, &x, 9).is_ok());
}

#[test]
fn sequence_networks_gradient_check() {
    let x = random_batch::<Rank2<7, 5>>(3, 11);
    if let Err(worst) = check_layer(&MeanOfSteps::<f64>::new(12), &x, 13) {
        panic!("MeanOfSteps: {worst}");
    }
    let x = random_batch::<Rank2<3, 4>>(2, 14);
    if let Err(worst) = check_layer(&PerStep::<f64>::new(15), &x, 16) {
        panic!("PerStep: {worst}");
    }
    let x = random_batch::<Rank2<5, 4>>(3, 17);
    if let Err(worst) = check_layer(&MaxOfSteps::<f64>::new(18), &x, 19) {
        panic!("MaxOfSteps: {worst}");
    }
}

#[test]
fn shapes_and_names_follow_keras() {
    let summary = MeanOfSteps::<f32>::SUMMARY;
    assert!(summary.contains("dense_1 (Dense)"), "{summary}");
    assert!(summary.contains("(None, 7, 6)"), "{summary}");
    assert!(
        summary.contains("global_average_pooling1d_1 (GlobalAveragePooling1D)"),
        "{summary}"
    );
    // Dense<6> on [7, 5]: 5·6 + 6 parameters, shared by the steps.
    assert_eq!(MeanOfSteps::<f32>::PARAM_COUNT, 36 + 6 * 3 + 3);
    let _: &GlobalMaxPooling1D = &MaxOfSteps::<f32>::new(0).global_max_pooling1d_1;
}

/// `C`'s layer alone, with and without sequences, and stacked, at `T`
/// steps and `batch` samples, against finite differences.
fn check_recurrent<C: Cell, const T: usize>(batch: usize, seed: u64) {
    let rng = &mut StdRng::seed_from_u64(seed);
    let x = random_batch::<Rank2<T, 3>>(batch, seed);
    let last = Recurrent::<3, 4, C, LastState, f64>::new(rng);
    let every = Recurrent::<3, 4, C, Sequences, f64>::new(rng);
    // Stacked: every state of the first is the second's input.
    let stacked = Chain::new(
        Recurrent::<3, 5, C, Sequences, f64>::new(rng),
        Recurrent::<5, 2, C, LastState, f64>::new(rng),
    );
    let results = [
        ("last state", check_layer(&last, &x, seed)),
        ("sequences", check_layer(&every, &x, seed)),
        ("stacked", check_layer(&stacked, &x, seed)),
    ];
    for (what, result) in results {
        if let Err(worst) = result {
            panic!("{what}, T = {T}, batch {batch}: {worst}");
        }
    }
}

#[test]
fn recurrent_layers_gradient_check() {
    check_recurrent::<SimpleCell, 1>(2, 1);
    check_recurrent::<SimpleCell, 5>(1, 2);
    check_recurrent::<SimpleCell, 7>(3, 3);
    check_recurrent::<LstmCell, 1>(2, 31);
    check_recurrent::<LstmCell, 5>(1, 32);
    check_recurrent::<LstmCell, 7>(3, 33);
}

#[test]
fn simple_rnn_steps_as_keras_defines_them() {
    let rnn = SimpleRNN::<2, 3, Sequences, f64>::new(&mut StdRng::seed_from_u64(5));
    let x = random_batch::<Rank2<4, 2>>(1, 6);
    let y = rnn.predict(&x);
    // h_t = tanh(x_t W + h_{t-1} U + b), by plain loops.
    let mut h = [0.0f64; 3];
    for t in 0..4 {
        let x_t = &x.as_slice()[t * 2..][..2];
        let next: Vec<f64> = (0..3)
            .map(|j| {
                let input: f64 = (0..2).map(|i| x_t[i] * rnn.kernel[i * 3 + j]).sum();
                let recurrent: f64 = (0..3).map(|i| h[i] * rnn.recurrent_kernel[i * 3 + j]).sum();
                (input + recurrent + rnn.bias[j]).tanh()
            })
            .collect();
        h.copy_from_slice(&next);
        for (got, want) in y.as_slice()[t * 3..][..3].iter().zip(&h) {
            assert!((got - want).abs() < 1e-12, "step {t}: {got} vs {want}");
        }
    }
    // The recurrent kernel starts orthogonal.
    let u = &rnn.recurrent_kernel;
    let dot = |i: usize, j: usize| (0..3).map(|k| u[i * 3 + k] * u[j * 3 + k]).sum::<f64>();
    assert!((dot(1, 1) - 1.0).abs() < 1e-12 && dot(0, 2).abs() < 1e-12);
}

/// The f32 layer (packed products) computes what the f64 one (plain
/// loops) does, forward and backward.
#[test]
fn simple_rnn_in_f32_agrees_with_f64() {
    let wide = SimpleRNN::<3, 17, Sequences, f64>::new(&mut StdRng::seed_from_u64(8));
    let mut narrow = SimpleRNN::<3, 17, Sequences, f32>::new(&mut StdRng::seed_from_u64(0));
    let to_f32 = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    narrow.kernel = to_f32(&wide.kernel);
    narrow.recurrent_kernel = to_f32(&wide.recurrent_kernel);
    narrow.bias = to_f32(&wide.bias);
    let x = random_batch::<Rank2<9, 3>>(5, 9);
    let x32 =
        Batch::<Rank2<9, 3>>::from_vec(x.as_slice().iter().map(|&v| v as f32).collect()).unwrap();
    let (y, y32) = (wide.predict(&x), narrow.predict(&x32));
    for (a, b) in y.as_slice().iter().zip(y32.as_slice()) {
        assert!((a - f64::from(*b)).abs() < 1e-5, "{a} vs {b}");
    }
    let grads = |dy: &mut Batch<Rank2<9, 17>, f64>| {
        let (mut cache, mut grads) = (Default::default(), Default::default());
        let mut y = Batch::new();
        wide.forward_train(&x, &mut y, &mut cache, &mut keelnet::TrainContext::new(0));
        wide.backward(&x, &y, &mut cache, dy, None, &mut grads);
        grads
    };
    let dy = random_batch::<Rank2<9, 17>>(5, 10);
    let g64: keelnet::RecurrentGrads<f64> = grads(&mut dy.clone());
    let (mut cache, mut g32) = (
        Default::default(),
        keelnet::RecurrentGrads::<f32>::default(),
    );
    let mut y = Batch::new();
    narrow.forward_train(&x32, &mut y, &mut cache, &mut keelnet::TrainContext::new(0));
    let mut dy32 = Batch::from_vec(dy.as_slice().iter().map(|&v| v as f32).collect()).unwrap();
    narrow.backward(&x32, &y, &mut cache, &mut dy32, None, &mut g32);
    for (a, b) in g64.recurrent_kernel.iter().zip(&g32.recurrent_kernel) {
        assert!((a - f64::from(*b)).abs() < 1e-4, "{a} vs {b}");
    }
}

#[test]
fn lstm_steps_as_keras_defines_them() {
    let lstm = LSTM::<2, 3, Sequences, f64>::new(&mut StdRng::seed_from_u64(7));
    // The forget gate's bias starts at one.
    assert_eq!(&lstm.bias[3..6], &[1.0; 3]);
    let x = random_batch::<Rank2<4, 2>>(1, 8);
    let y = lstm.predict(&x);
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let (mut h, mut c) = ([0.0f64; 3], [0.0f64; 3]);
    for t in 0..4 {
        let x_t = &x.as_slice()[t * 2..][..2];
        let z: Vec<f64> = (0..12)
            .map(|j| {
                let input: f64 = (0..2).map(|i| x_t[i] * lstm.kernel[i * 12 + j]).sum();
                let recurrent: f64 = (0..3)
                    .map(|i| h[i] * lstm.recurrent_kernel[i * 12 + j])
                    .sum();
                input + recurrent + lstm.bias[j]
            })
            .collect();
        for u in 0..3 {
            let (i, f) = (sigmoid(z[u]), sigmoid(z[3 + u]));
            let (g, o) = (z[6 + u].tanh(), sigmoid(z[9 + u]));
            c[u] = f * c[u] + i * g;
            h[u] = o * c[u].tanh();
        }
        for (got, want) in y.as_slice()[t * 3..][..3].iter().zip(&h) {
            assert!((got - want).abs() < 1e-12, "step {t}: {got} vs {want}");
        }
    }
}
