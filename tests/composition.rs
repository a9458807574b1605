//! Composition: residual blocks and networks used as layers, in `network!`
//! and by hand, checked against finite differences and against each other.

use keelnet::gradcheck::{check_layer, random_batch};
use keelnet::{
    Batch, Chain, Dense, Layer, Parameters, Rank1, Rank3, ReLU, Residual, TrainContext, network,
};

network! {
    /// A residual MLP: `x + F(x)` around two dense layers.
    struct ResMlp: Input<6> -> Dense<8, ReLU> -> Residual(Dense<12, ReLU> -> Dense<8>)
        -> ReLU -> Dense<3, Softmax>;

    /// Two residual convolution blocks over padded 3×3 convolutions.
    struct ResCnn: Input<2, 8, 8>
        -> Conv2D<4, 3, ReLU, padding = same>
        -> Residual(Conv2D<4, 3, ReLU, padding = same> -> Conv2D<4, 3, padding = same>)
        -> ReLU -> MaxPool<2>
        -> Residual(Conv2D<4, 3, Tanh, padding = same>)
        -> Flatten -> Dense<3, Softmax>;

    /// A block declared on its own...
    pub struct Block: Input<8> -> Dense<8, GELU>;

    /// ...and used as a layer, alone and inside a residual block, with a
    /// residual block nested in another.
    pub struct Stack: Input<5> -> Dense<8> -> Block
        -> Residual(Block -> Residual(Dense<8, Tanh>)) -> Dense<3, Softmax>;
}

#[test]
fn residual_networks_gradient_check() {
    if let Err(worst) = check_layer(&ResMlp::<f64>::new(1), &random_batch(3, 2), 3) {
        panic!("ResMlp: {worst}");
    }
    let x = random_batch::<Rank3<2, 8, 8>>(2, 4);
    if let Err(worst) = check_layer(&ResCnn::<f64>::new(5), &x, 6) {
        panic!("ResCnn: {worst}");
    }
    if let Err(worst) = check_layer(&Stack::<f64>::new(7), &random_batch(3, 8), 9) {
        panic!("Stack: {worst}");
    }
}

#[test]
fn a_residual_block_adds_its_input() {
    let net = ResMlp::<f64>::new(3);
    let x = random_batch::<Rank1<6>>(2, 1);
    let h = net.dense_1.predict(&x);
    let inner = net.residual_1.inner.predict(&h);
    let y = net.residual_1.predict(&h);
    for ((y, h), f) in y.as_slice().iter().zip(h.as_slice()).zip(inner.as_slice()) {
        assert_eq!(*y, h + f);
    }
}

#[test]
fn generated_and_hand_composed_residual_networks_agree_to_the_bit() {
    let net = ResMlp::<f64>::new(11);
    let inner = &net.residual_1.inner;
    let by_hand = Chain::new(
        Chain::new(
            net.dense_1.clone(),
            Residual::new(Chain::new(inner.dense_1.clone(), inner.dense_2.clone())),
        ),
        Chain::new(ReLU, net.dense_2.clone()),
    );
    let x = random_batch::<Rank1<6>>(4, 12);
    assert_eq!(net.predict(&x), by_hand.predict(&x));
    assert_eq!(one_step(&net, &x), one_step(&by_hand, &x));
}

/// One training pass of `layer` on `x`: every parameter gradient, in walk
/// order, and the input gradient.
fn one_step<L>(layer: &L, x: &Batch<Rank1<6>, f64>) -> (Vec<f64>, Batch<Rank1<6>, f64>)
where
    L: Layer<Rank1<6>, f64, Output = Rank1<3>> + Clone,
{
    let (mut y, mut cache, mut grads, mut dx) = (
        Batch::new(),
        Default::default(),
        Default::default(),
        Batch::new(),
    );
    layer.forward_train(x, &mut y, &mut cache, &mut TrainContext::new(0));
    let mut dy = random_batch::<Rank1<3>>(x.len(), 13);
    layer.backward(x, &y, &mut cache, &mut dy, Some(&mut dx), &mut grads);
    (all_gradients(layer, &grads), dx)
}

/// Every gradient of `model`, in walk order.
fn all_gradients<M: Parameters<f64> + Clone>(model: &M, grads: &M::Grads) -> Vec<f64> {
    let mut out = Vec::new();
    model
        .clone()
        .update_params("", grads, &mut |_, _, g| out.extend_from_slice(g));
    out
}

#[test]
fn nested_networks_are_fields_named_by_path_and_shown_nested() {
    let net = Stack::<f32>::new(0);
    let _: &Block<f32> = &net.block_1;
    let _: &Residual<StackResidual1<f32>> = &net.residual_1;
    let _: &Dense<8, 8, keelnet::Tanh, f32> = &net.residual_1.inner.residual_1.inner.dense_1;
    let mut names = Vec::new();
    net.visit_params("", &mut |info, _| names.push(info.to_string()));
    assert_eq!(
        names,
        [
            "dense_1.weight",
            "dense_1.bias",
            "block_1.dense_1.weight",
            "block_1.dense_1.bias",
            "residual_1.block_1.dense_1.weight",
            "residual_1.block_1.dense_1.bias",
            "residual_1.residual_1.dense_1.weight",
            "residual_1.residual_1.dense_1.bias",
            "dense_2.weight",
            "dense_2.bias",
        ]
    );
    let summary = Stack::<f32>::SUMMARY;
    assert!(summary.contains("\nblock_1 (Block)"), "{summary}");
    assert!(summary.contains("\n  dense_1 (Dense)"), "{summary}");
    assert!(summary.contains("\nresidual_1 (Residual)"), "{summary}");
    assert!(summary.contains("\n    dense_1 (Dense)"), "{summary}");
    assert_eq!(Stack::<f32>::PARAM_COUNT, net.param_count());
}

network! {
    /// BatchNormalization after Dense and after Conv2D, inside and outside
    /// a residual block.
    struct NormedCnn: Input<2, 6, 6>
        -> Conv2D<4, 3, padding = same> -> BatchNormalization -> ReLU
        -> Residual(Conv2D<4, 3, padding = same> -> BatchNormalization -> ReLU)
        -> MaxPool<2> -> Flatten -> Dense<8> -> BatchNormalization -> Tanh -> Dense<3, Softmax>;
}

#[test]
fn batch_normalization_in_a_network_gradient_check() {
    let x = random_batch::<Rank3<2, 6, 6>>(3, 21);
    if let Err(worst) = check_layer(&NormedCnn::<f64>::new(22), &x, 23) {
        panic!("NormedCnn: {worst}");
    }
    // γ, β counted; the moving statistics are state.
    assert_eq!(
        NormedCnn::<f64>::PARAM_COUNT,
        NormedCnn::<f64>::new(0).param_count()
    );
}

#[test]
fn batch_normalization_infers_with_its_moving_statistics() {
    use keelnet::BatchNormalization;
    let mut bn = BatchNormalization::<2, f64>::new();
    bn.moving_mean = vec![1.0, -2.0];
    bn.moving_variance = vec![4.0, 0.25];
    bn.gamma = vec![2.0, 1.0];
    bn.beta = vec![0.5, 0.0];
    let x = Batch::<Rank1<2>, f64>::from_vec(vec![3.0, 0.0, 5.0, -1.0]).unwrap();
    let y = bn.predict(&x);
    let expect = |x: f64, c: usize| {
        bn.gamma[c] * (x - bn.moving_mean[c]) / (bn.moving_variance[c] + 1e-3).sqrt() + bn.beta[c]
    };
    let want = [
        expect(3.0, 0),
        expect(0.0, 1),
        expect(5.0, 0),
        expect(-1.0, 1),
    ];
    for (got, want) in y.as_slice().iter().zip(want) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
}

#[test]
fn optimizers_leave_the_moving_statistics_to_the_layer() {
    use keelnet::{Adam, BatchNormalization, Optimizer, ParamKind};
    let mut bn = BatchNormalization::<3, f64>::new();
    let x = random_batch::<Rank1<3>>(8, 41);
    let (mut y, mut cache, mut grads) = (Batch::new(), Default::default(), Default::default());
    bn.forward_train(&x, &mut y, &mut cache, &mut TrainContext::new(0));
    let mut dy = random_batch::<Rank1<3>>(8, 42);
    bn.backward(&x, &y, &mut cache, &mut dy, None, &mut grads);
    // The optimizer is handed γ and β only.
    let mut handed = Vec::new();
    bn.clone().update_params("bn", &grads, &mut |info, _, _| {
        handed.push(info.to_string())
    });
    assert_eq!(handed, ["bn.gamma", "bn.beta"]);
    let mut kinds = Vec::new();
    bn.visit_params("bn", &mut |info, _| {
        kinds.push((info.to_string(), info.kind))
    });
    assert_eq!(kinds[2], ("bn.moving_mean".to_string(), ParamKind::State));
    assert_eq!(
        kinds[3],
        ("bn.moving_variance".to_string(), ParamKind::State)
    );
    // One step: γ and β move by Adam's rule; the moving statistics by
    // momentum 0.99 toward the batch's, whatever the optimizer.
    let before = bn.clone();
    Adam::new(0.1).step(&mut bn, &grads);
    assert_ne!(bn.gamma, before.gamma);
    assert_ne!(bn.beta, before.beta);
    let x = &x;
    let sample = |c: usize| (0..8).map(move |b| x.sample(b)[c]);
    for c in 0..3 {
        let mean = sample(c).sum::<f64>() / 8.0;
        let variance = sample(c).map(|v| (v - mean) * (v - mean)).sum::<f64>() / 8.0;
        assert!((bn.moving_mean[c] - 0.01 * mean).abs() < 1e-15);
        assert!((bn.moving_variance[c] - (0.99 + 0.01 * variance)).abs() < 1e-15);
    }
}

/// Every tensor, state included, can be read and set by its name, however
/// deep it is nested; the mutable walk visits what the walk visits.
#[test]
fn every_tensor_can_be_set_by_name() {
    use keelnet::{Error, Parameters};
    let mut net = NormedCnn::<f64>::new(5);
    let mut names = Vec::new();
    net.visit_params("", &mut |info, values| {
        names.push((info.to_string(), values.len()))
    });
    let mut names_mut = Vec::new();
    net.visit_params_mut("", &mut |info, values| {
        names_mut.push((info.to_string(), values.len()))
    });
    assert_eq!(names, names_mut);
    assert!(names.contains(&("residual_1.conv2d_1.weight".into(), 4 * 4 * 9)));

    for (name, len) in &names {
        let values: Vec<f64> = (0..*len).map(|i| i as f64 + 0.5).collect();
        net.set_param(name, &values).unwrap();
        let mut read = None;
        net.visit_params("", &mut |info, v| {
            if info.to_string() == *name {
                read = Some(v.to_vec());
            }
        });
        assert_eq!(read, Some(values), "{name}");
    }
    assert_eq!(
        net.batch_normalization_2.moving_mean,
        [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]
    );

    let before = net.clone();
    let wrong = net.set_param("dense_1.bias", &[1.0; 3]);
    assert_eq!(
        wrong,
        Err(Error::LengthMismatch {
            expected: 8,
            actual: 3
        })
    );
    let unknown = net.set_param("dense_9.bias", &[1.0; 8]);
    assert!(matches!(unknown, Err(Error::UnknownParameter { name }) if name == "dense_9.bias"));
    assert_eq!(net, before);
}
