//! Fusion chosen through the trait system: a model composed by hand with
//! `Chain` runs the same fused convolution-and-pooling code as the one
//! `network!` generates, to the bit.

use keelnet::gradcheck::{check_layer, random_batch};
use keelnet::kernels::{ConvGeometry, conv2d_pools_in_one_pass};
use keelnet::{
    Batch, Chain, Conv2D, Flatten, GELU, Input, Layer, MaxPool, Rank1, Rank3, ReLU, Shape,
    TrainContext, network,
};

network! {
    /// The Keras reference CNN.
    struct ReferenceCnn: Input<1, 28, 28>
        -> Conv2D<32, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU>
        -> Flatten -> Dense<64, ReLU> -> Dense<10, Softmax>;

    /// Pairs that fuse (ReLU) and that do not (GELU reads its inputs).
    struct SmallCnn: Input<2, 10, 10>
        -> Conv2D<3, 3, ReLU> -> MaxPool<2>
        -> Conv2D<4, 2, GELU> -> MaxPool<2>
        -> Flatten -> Dense<2, Softmax>;
}

type Image = Rank3<1, 28, 28>;

/// The samples of a batch on which both convolutions that feed pooling
/// run in one pass (direct kernels, then Winograd's tiles).
const BATCH: usize = 32;

#[test]
fn the_reference_convolutions_pool_in_one_pass_at_the_test_batch() {
    let first = ConvGeometry {
        c_in: 1,
        h: 28,
        w: 28,
        c_out: 32,
        k: 3,
        stride: 1,
        h_out: 26,
        w_out: 26,
    };
    let second = ConvGeometry {
        c_in: 32,
        h: 13,
        w: 13,
        c_out: 64,
        k: 3,
        stride: 1,
        h_out: 11,
        w_out: 11,
    };
    assert!(conv2d_pools_in_one_pass(&first, BATCH));
    assert!(conv2d_pools_in_one_pass(&second, BATCH));
}

#[test]
fn a_convolution_fuses_with_the_max_pooling_after_it_by_its_type() {
    type Relu = Conv2D<1, 32, 3, 1, 26, 26, ReLU>;
    type Gelu = Conv2D<1, 32, 3, 1, 26, 26, GELU>;
    type Pool = MaxPool<2, 13, 13>;
    assert!(<Relu as Layer<Image, f32>>::fuses_with::<Pool>());
    assert!(!<Gelu as Layer<Image, f32>>::fuses_with::<Pool>());
    assert!(!<Relu as Layer<Image, f32>>::fuses_with::<Flatten<21632>>());
}

#[test]
fn the_reference_cnn_by_hand_and_by_network_agree_to_the_bit_and_both_fuse() {
    let net = ReferenceCnn::<f32>::new(3);
    let convs = Chain::new(
        Chain::new(net.conv2d_1.clone(), net.max_pool_1),
        Chain::new(net.conv2d_2.clone(), net.max_pool_2),
    );
    let head = Chain::new(
        Chain::new(net.conv2d_3.clone(), Flatten),
        Chain::new(net.dense_1.clone(), net.dense_2.clone()),
    );
    let by_hand = Chain::new(convs, head);
    let x = random_f32::<Image>(BATCH, 5);

    assert_eq!(net.predict(&x), by_hand.predict(&x));

    let mut net_cache = Default::default();
    let generated = one_step(&net, &x, &mut net_cache);
    let mut hand_cache = Default::default();
    let hand = one_step(&by_hand, &x, &mut hand_cache);
    assert_eq!(generated, hand);

    // A fused pair never writes the convolution's own outputs.
    assert!(net_cache.conv2d_1_output.is_empty() && net_cache.conv2d_2_output.is_empty());
    let pairs = &hand_cache.first;
    assert!(pairs.first.mid.is_empty() && pairs.second.mid.is_empty());
    // The unfused convolution's are written.
    assert_eq!(net_cache.conv2d_3_output.len(), BATCH);
}

#[test]
fn the_reference_cnn_built_layer_by_layer_agrees_to_the_bit_and_fuses() {
    let net = ReferenceCnn::<f32>::new(4);
    let sequential = Input::<Image>::new()
        .then(net.conv2d_1.clone())
        .then(net.max_pool_1)
        .then(net.conv2d_2.clone())
        .then(net.max_pool_2)
        .then(net.conv2d_3.clone())
        .then(Flatten)
        .then(net.dense_1.clone())
        .then(net.dense_2.clone());
    let x = random_f32::<Image>(BATCH, 6);
    assert_eq!(net.predict(&x), sequential.predict(&x));
    let generated = one_step(&net, &x, &mut Default::default());
    let mut cache = Default::default();
    assert_eq!(generated, one_step(&sequential, &x, &mut cache));

    // Nested to the left: the second pooling's chain, then the first's.
    let second_pair = &cache.first.first.first.first;
    assert!(
        second_pair.mid.is_empty(),
        "conv2d_2's outputs were written"
    );
    let first_pair = &second_pair.first.first;
    assert!(first_pair.mid.is_empty(), "conv2d_1's outputs were written");
}

/// One training pass as `fit` runs it (no input gradient): the output and
/// every parameter gradient, in walk order.
fn one_step<L>(layer: &L, x: &Batch<Image, f32>, cache: &mut L::Cache) -> (Vec<f32>, Vec<f32>)
where
    L: Layer<Image, f32, Output = Rank1<10>> + Clone,
{
    let (mut y, mut grads) = (Batch::new(), Default::default());
    layer.forward_train(x, &mut y, cache, &mut TrainContext::new(0));
    let mut dy = random_f32::<Rank1<10>>(x.len(), 13);
    layer.backward_preactivation(x, &y, cache, &mut dy, None, &mut grads);
    let mut all = Vec::new();
    layer
        .clone()
        .update_params("", &grads, &mut |_, _, g| all.extend_from_slice(g));
    (y.into_vec(), all)
}

/// [`random_batch`] in f32.
fn random_f32<S: Shape>(len: usize, seed: u64) -> Batch<S, f32> {
    let values = random_batch::<S>(len, seed)
        .as_slice()
        .iter()
        .map(|&v| v as f32)
        .collect();
    Batch::from_vec(values).expect("whole samples")
}

#[test]
fn fused_and_unfused_pairs_gradient_check_generated_and_by_hand() {
    let x = random_batch::<Rank3<2, 10, 10>>(3, 1);
    let net = SmallCnn::<f64>::new(2);
    if let Err(worst) = check_layer(&net, &x, 4) {
        panic!("SmallCnn: {worst}");
    }
    let by_hand = Chain::new(
        Chain::new(net.conv2d_1.clone(), net.max_pool_1),
        Chain::new(
            Chain::new(net.conv2d_2.clone(), net.max_pool_2),
            Chain::new(Flatten, net.dense_1.clone()),
        ),
    );
    if let Err(worst) = check_layer(&by_hand, &x, 4) {
        panic!("SmallCnn by hand: {worst}");
    }
}
