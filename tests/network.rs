//! Networks declared with `network!`: shapes, names, summary, and the same
//! numbers as the same layers composed by hand.

use keelnet::gradcheck::{check_layer, random_batch};
use keelnet::{
    Batch, Chain, Dense, Dropout, Flatten, GradientOf, Layer, Linear, Loss, Optimizer, Parameters,
    Rank1, Rank3, ReLU, Softmax, SparseCategoricalCrossentropy, TrainContext, network,
};

network! {
    /// A small MLP over 1x6x6 images.
    pub struct SmallMlp: Input<1, 6, 6>
        -> Flatten -> Dense<8, Tanh> -> Dropout<0.25> -> Dense<5, ReLU> -> Dense<3, Softmax>;

    /// The reference MLP of the Keras MNIST tutorial.
    pub struct KerasMlp: Input<1, 28, 28> -> Flatten -> Dense<128, ReLU> -> Dense<10, Softmax>;

    /// One layer only.
    struct Single: Input<4> -> Dense<2, Sigmoid>;

    /// Activations as layers of their own.
    struct Separate: Input<2, 3> -> Flatten -> Dense<4> -> LeakyReLU -> Dense<2> -> Softmax;
}

/// Reads every gradient of `model` into vectors, by parameter name.
fn gradients<M: Parameters<f64> + Clone>(model: &M, grads: &M::Grads) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    model.clone().update_params("", grads, &mut |info, _, g| {
        out.push((info.to_string(), g.to_vec()))
    });
    out
}

#[test]
fn shapes_names_and_parameter_counts() {
    let net = SmallMlp::<f64>::new(0);
    let mut names = Vec::new();
    net.visit_params("", &mut |info, values| {
        names.push(format!("{info} {:?} {}", info.dims, values.len()))
    });
    assert_eq!(
        names,
        [
            "dense_1.weight [36, 8] 288",
            "dense_1.bias [8] 8",
            "dense_2.weight [8, 5] 40",
            "dense_2.bias [5] 5",
            "dense_3.weight [5, 3] 15",
            "dense_3.bias [3] 3",
        ]
    );
    assert_eq!(SmallMlp::<f64>::PARAM_COUNT, net.param_count());
    assert_eq!(KerasMlp::<f32>::PARAM_COUNT, 101_770);
    assert_eq!(KerasMlp::<f32>::new(0).param_count(), 101_770);
}

#[test]
fn summary_reads_like_keras() {
    let summary = KerasMlp::<f32>::new(0).to_string();
    let expected = "\
Model: \"KerasMlp\"
-----------------------------------------------
Layer (type)         Output Shape       Param #
===============================================
input (Input)        (None, 1, 28, 28)        0
flatten_1 (Flatten)  (None, 784)              0
dense_1 (Dense)      (None, 128)        100,480
dense_2 (Dense)      (None, 10)           1,290
===============================================
Total params: 101,770
Trainable params: 101,770
Non-trainable params: 0";
    assert_eq!(summary, expected);
}

#[test]
fn same_seed_same_network_other_seed_other_network() {
    assert_eq!(SmallMlp::<f32>::new(3), SmallMlp::<f32>::new(3));
    assert_ne!(SmallMlp::<f32>::new(3), SmallMlp::<f32>::new(4));
}

#[test]
fn whole_network_gradient_check() {
    let x = random_batch::<Rank3<1, 6, 6>>(3, 1);
    if let Err(worst) = check_layer(&SmallMlp::<f64>::new(7), &x, 2) {
        panic!("SmallMlp: {worst}");
    }
    if let Err(worst) = check_layer(&Single::<f64>::new(7), &random_batch(2, 3), 4) {
        panic!("Single: {worst}");
    }
    if let Err(worst) = check_layer(&Separate::<f64>::new(7), &random_batch(2, 5), 6) {
        panic!("Separate: {worst}");
    }
}

#[test]
fn generated_network_matches_hand_composition() {
    let net = SmallMlp::<f64>::new(11);
    let by_hand = Chain::new(
        Chain::new(
            Chain::new(
                Chain::new(Flatten::<36>, net.dense_1.clone()),
                Dropout::new(0.25),
            ),
            net.dense_2.clone(),
        ),
        net.dense_3.clone(),
    );
    let x = random_batch::<Rank3<1, 6, 6>>(5, 12);
    assert_same_numbers(&net, &by_hand, &x, &[0, 2, 1, 1, 0]);
}

/// `net` and `by_hand` (the same layers, composed by hand) give the same
/// inference, training outputs, input gradient and parameter gradients on
/// `x`, through the fused softmax/cross-entropy gradient, to the bit.
fn assert_same_numbers<I, N, H>(net: &N, by_hand: &H, x: &Batch<I, f64>, labels: &[usize])
where
    I: keelnet::Shape,
    N: Layer<I, f64, Output = Rank1<3>> + Clone,
    H: Layer<I, f64, Output = Rank1<3>> + Clone,
{
    assert_same_numbers_but(net, by_hand, x, labels, &[]);
}

/// [`assert_same_numbers`], but for the gradients named in `to_rounding`,
/// which are summed in another order: equal to 1e-12.
fn assert_same_numbers_but<I, N, H>(
    net: &N,
    by_hand: &H,
    x: &Batch<I, f64>,
    labels: &[usize],
    to_rounding: &[&str],
) where
    I: keelnet::Shape,
    N: Layer<I, f64, Output = Rank1<3>> + Clone,
    H: Layer<I, f64, Output = Rank1<3>> + Clone,
{
    let loss = SparseCategoricalCrossentropy;

    // Inference.
    assert_eq!(net.predict(x), by_hand.predict(x));

    // Training pass, through the fused softmax/cross-entropy gradient.
    let (mut y1, mut c1, mut g1, mut dx1) = (
        Batch::new(),
        Default::default(),
        Default::default(),
        Batch::new(),
    );
    let (mut y2, mut c2, mut g2, mut dx2) = (
        Batch::new(),
        Default::default(),
        Default::default(),
        Batch::new(),
    );
    net.forward_train(x, &mut y1, &mut c1, &mut TrainContext::new(5));
    by_hand.forward_train(x, &mut y2, &mut c2, &mut TrainContext::new(5));
    assert_eq!(y1, y2);
    let mut dz = Batch::new();
    let wrt = loss.gradient(&y1, labels, N::ACTIVATION, &mut dz).unwrap();
    assert_eq!(wrt, GradientOf::PreActivation);
    net.backward_preactivation(x, &y1, &mut c1, &mut dz.clone(), Some(&mut dx1), &mut g1);
    by_hand.backward_preactivation(x, &y2, &mut c2, &mut dz, Some(&mut dx2), &mut g2);
    assert_eq!(dx1, dx2);
    let (named, positional) = (gradients(net, &g1), gradients(by_hand, &g2));
    assert_eq!(named.len(), positional.len());
    for ((name, a), (_, b)) in named.iter().zip(&positional) {
        if !to_rounding.contains(&name.as_str()) {
            assert_eq!(a, b, "{name}");
            continue;
        }
        assert!(a.iter().any(|&v| v != 0.0), "{name}");
        for (a, b) in a.iter().zip(b) {
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                "{name}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn a_generated_network_trains() {
    let mut net = Separate::<f32>::new(1);
    let x = Batch::<keelnet::Rank2<2, 3>>::from_vec(
        (0..48).map(|v| ((v * 7) % 11) as f32 / 11.0).collect(),
    )
    .unwrap();
    let labels: Vec<usize> = x.samples().map(|s| usize::from(s[0] > s[5])).collect();
    let loss = SparseCategoricalCrossentropy;
    let mut adam = keelnet::Adam::new(0.02);
    let (mut y, mut cache, mut grads, mut dz) = (
        Batch::new(),
        Default::default(),
        Default::default(),
        Batch::new(),
    );
    let mut ctx = TrainContext::new(0);
    net.forward_train(&x, &mut y, &mut cache, &mut ctx);
    let first = loss.loss(&y, &labels).unwrap();
    for _ in 0..200 {
        net.forward_train(&x, &mut y, &mut cache, &mut ctx);
        loss.gradient(&y, &labels, Separate::<f32>::ACTIVATION, &mut dz)
            .unwrap();
        net.backward_preactivation(&x, &y, &mut cache, &mut dz, None, &mut grads);
        adam.step(&mut net, &grads);
    }
    let last = loss.loss(&net.predict(&x), &labels).unwrap();
    assert!(last < first / 4.0, "loss went from {first} to {last}");
}

network! {
    /// A generator and a discriminator, as a GAN composes them.
    struct Generator: Input<4> -> Dense<8, ReLU> -> Dense<6, Tanh>;
    struct Discriminator: Input<6> -> Dense<5, ReLU> -> Dense<1, Sigmoid>;
}

#[test]
fn networks_compose_and_the_input_gradient_reaches_the_generator() {
    let gan = Chain::new(Generator::<f64>::new(1), Discriminator::<f64>::new(2));
    let mut names = Vec::new();
    gan.visit_params("gan", &mut |info, _| names.push(info.to_string()));
    assert_eq!(names[0], "gan.0.dense_1.weight");
    assert_eq!(names[7], "gan.1.dense_2.bias");
    if let Err(worst) = check_layer(&gan, &random_batch::<Rank1<4>>(3, 1), 2) {
        panic!("generator through discriminator: {worst}");
    }
    // The discriminator's input gradient on its own.
    let d = Discriminator::<f64>::new(2);
    let x = random_batch::<Rank1<6>>(2, 3);
    let (mut y, mut cache, mut grads, mut dx) = (
        Batch::new(),
        Default::default(),
        Default::default(),
        Batch::new(),
    );
    d.forward_train(&x, &mut y, &mut cache, &mut TrainContext::new(0));
    let mut dy = Batch::from_vec(vec![1.0, 1.0]).unwrap();
    d.backward(&x, &y, &mut cache, &mut dy, Some(&mut dx), &mut grads);
    assert_eq!(dx.len(), 2);
    assert!(dx.as_slice().iter().any(|&v| v != 0.0));
}

#[test]
fn layers_are_public_fields_with_concrete_types() {
    let net = KerasMlp::<f32>::new(0);
    let _: &Dense<784, 128, ReLU, f32> = &net.dense_1;
    let _: &Dense<128, 10, Softmax, f32> = &net.dense_2;
    let _: &Flatten<784> = &net.flatten_1;
    let _ = Linear;
}

network! {
    /// The CNN of the Keras MNIST tutorial.
    pub struct KerasCnn: Input<1, 28, 28>
        -> Conv2D<32, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU>
        -> Flatten -> Dense<64, ReLU> -> Dense<10, Softmax>;

    /// A small CNN with padding and stride, for the gradient check.
    struct SmallCnn: Input<2, 9, 9>
        -> Conv2D<3, 3, Tanh, padding = same> -> MaxPool<2>
        -> Conv2D<4, 2, ReLU, stride = 2> -> Flatten -> Dense<3, Softmax>;

    /// Activations right before max pooling, whose derivatives backward
    /// takes after the pooling (one a layer of its own, one ending a
    /// convolution), and a dropped row and column (7 -> 3).
    struct PooledCnn: Input<2, 9, 9>
        -> Conv2D<3, 3> -> ReLU -> MaxPool<2>
        -> Conv2D<4, 2, Sigmoid, padding = same> -> MaxPool<2>
        -> Flatten -> Dense<3, Softmax>;
}

#[test]
fn derivatives_taken_after_pooling_match_hand_composition() {
    use keelnet::MaxPool;
    let net = PooledCnn::<f64>::new(4);
    let by_hand = Chain::new(
        Chain::new(
            Chain::new(
                Chain::new(
                    Chain::new(Chain::new(net.conv2d_1.clone(), ReLU), MaxPool::<2, 3, 3>),
                    net.conv2d_2.clone(),
                ),
                MaxPool::<2, 1, 1>,
            ),
            Flatten::<4>,
        ),
        net.dense_1.clone(),
    );
    let x = random_batch::<Rank3<2, 9, 9>>(4, 8);
    assert_same_numbers(&net, &by_hand, &x, &[2, 0, 1, 2]);
}

network! {
    /// A first convolution feeding max pooling, as in the reference CNN.
    struct FirstConvPooled: Input<2, 9, 9>
        -> Conv2D<3, 3, ReLU> -> MaxPool<2> -> Flatten -> Dense<3, Softmax>;
}

#[test]
fn first_convolution_sums_its_weight_gradient_over_the_pooled_maxima() {
    use keelnet::MaxPool;
    let net = FirstConvPooled::<f64>::new(6);
    let by_hand = Chain::new(
        Chain::new(
            Chain::new(net.conv2d_1.clone(), MaxPool::<2, 3, 3>),
            Flatten::<27>,
        ),
        net.dense_1.clone(),
    );
    let (x, labels) = (random_batch::<Rank3<2, 9, 9>>(5, 3), [2, 0, 1, 2, 1]);
    // With the input gradient asked, every gradient routed back, zeros
    // and all: the same numbers as by hand.
    assert_same_numbers(&net, &by_hand, &x, &labels);
    // Without, the weight gradient sums over the maxima: equal to rounding.
    let (mut y, mut caches) = (Batch::new(), [Default::default(), Default::default()]);
    for cache in &mut caches {
        net.forward_train(&x, &mut y, cache, &mut TrainContext::new(5));
    }
    let mut dz = Batch::new();
    let softmax = keelnet::ActivationKind::Softmax;
    SparseCategoricalCrossentropy
        .gradient(&y, &labels, softmax, &mut dz)
        .unwrap();
    let (mut routed, mut summed) = (Default::default(), Default::default());
    let [mut routing, mut summing] = caches;
    let dx = Some(&mut Batch::new());
    net.backward_preactivation(&x, &y, &mut routing, &mut dz.clone(), dx, &mut routed);
    net.backward_preactivation(&x, &y, &mut summing, &mut dz, None, &mut summed);
    let (routed, summed) = (gradients(&net, &routed), gradients(&net, &summed));
    for ((name, a), (_, b)) in routed.iter().zip(&summed) {
        assert!(a.iter().any(|&v| v != 0.0), "{name}");
        for (a, b) in a.iter().zip(b) {
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                "{name}: {a} vs {b}"
            );
        }
    }
}

network! {
    /// A second convolution of 3×3 kernels over enough channels for
    /// Winograd's tiles, feeding max pooling.
    struct SecondConvPooled: Input<1, 12, 12>
        -> Conv2D<4, 3, ReLU, padding = same> -> Conv2D<6, 3, ReLU> -> MaxPool<2>
        -> Flatten -> Dense<3, Softmax>;
}

#[test]
fn winograd_convolutions_pool_in_one_pass() {
    use keelnet::MaxPool;
    use keelnet::kernels::conv2d_pools_in_one_pass;
    let net = SecondConvPooled::<f64>::new(7);
    let second = keelnet::kernels::ConvGeometry {
        c_in: 4,
        h: 12,
        w: 12,
        c_out: 6,
        k: 3,
        stride: 1,
        h_out: 10,
        w_out: 10,
    };
    let by_hand = Chain::new(
        Chain::new(
            Chain::new(
                Chain::new(net.conv2d_1.clone(), net.conv2d_2.clone()),
                MaxPool::<2, 5, 5>,
            ),
            Flatten::<150>,
        ),
        net.dense_1.clone(),
    );
    // Batches of 2 and 3 are pooled in one pass by Winograd's tiles; one
    // image is too few tiles, and goes the usual way.
    for (batch, labels) in [(1, &[1][..]), (2, &[2, 0]), (3, &[0, 2, 1])] {
        assert_eq!(conv2d_pools_in_one_pass(&second, batch), batch > 1);
        let x = random_batch::<Rank3<1, 12, 12>>(batch, 9);
        let bias = ["conv2d_2.bias"];
        assert_same_numbers_but(&net, &by_hand, &x, labels, &bias[..usize::from(batch > 1)]);
    }
}

#[test]
fn keras_cnn_shapes_and_parameters() {
    let net = KerasCnn::<f32>::new(0);
    let _: &keelnet::Conv2D<32, 64, 3, 1, 11, 11, ReLU> = &net.conv2d_2;
    let _: &keelnet::MaxPool<2, 5, 5> = &net.max_pool_2;
    let _: &Dense<576, 64, ReLU> = &net.dense_1;
    // Keras' summary of the same model: 93,322 parameters.
    assert_eq!(KerasCnn::<f32>::PARAM_COUNT, 93_322);
    assert_eq!(net.param_count(), 93_322);
    assert!(
        KerasCnn::<f32>::SUMMARY.contains("conv2d_3 (Conv2D)     (None, 64, 3, 3)     36,928"),
        "{}",
        KerasCnn::<f32>::SUMMARY
    );
    let y = net.predict(&Batch::<Rank3<1, 28, 28>>::zeros(2));
    assert_eq!(y.len(), 2);
}

#[test]
fn small_cnn_gradient_check() {
    let x = random_batch::<Rank3<2, 9, 9>>(2, 1);
    if let Err(worst) = check_layer(&SmallCnn::<f64>::new(3), &x, 2) {
        panic!("SmallCnn: {worst}");
    }
}

#[test]
fn without_an_input_gradient_the_parameter_gradients_are_the_same() {
    // SmallMlp starts with Flatten: with `dx` not asked for, the first Dense
    // skips its input gradient and Flatten its backward.
    let net = SmallMlp::<f64>::new(5);
    let x = random_batch::<Rank3<1, 6, 6>>(4, 6);
    let run = |want_dx: bool| {
        let (mut y, mut cache, mut grads) = (Batch::new(), Default::default(), Default::default());
        net.forward_train(&x, &mut y, &mut cache, &mut TrainContext::new(1));
        let mut dy = random_batch::<Rank1<3>>(4, 7);
        let mut dx = Batch::new();
        net.backward(
            &x,
            &y,
            &mut cache,
            &mut dy,
            want_dx.then_some(&mut dx),
            &mut grads,
        );
        (gradients(&net, &grads), dx.len())
    };
    let (with, dx_len) = run(true);
    let (without, none_len) = run(false);
    assert_eq!(with, without);
    assert_eq!((dx_len, none_len), (4, 0));
}

network! {
    /// The activations of modern networks, fused and on their own: GELU
    /// and SiLU keep their inputs (even before max pooling), ELU's
    /// derivative is taken after the pooling from its outputs.
    struct ModernCnn: Input<2, 9, 9>
        -> Conv2D<3, 3, GELU> -> MaxPool<2>
        -> Conv2D<4, 2, ELU, padding = same> -> MaxPool<2>
        -> Flatten -> Dense<6, SiLU> -> GELUTanh -> Dense<5> -> Softplus -> Dense<3, Softmax>;
}

#[test]
fn modern_activations_in_a_network_gradient_check() {
    let x = random_batch::<Rank3<2, 9, 9>>(3, 11);
    if let Err(worst) = check_layer(&ModernCnn::<f64>::new(12), &x, 13) {
        panic!("ModernCnn: {worst}");
    }
    assert!(ModernCnn::<f32>::SUMMARY.contains("gelu_tanh_1 (GELUTanh)"));
}
