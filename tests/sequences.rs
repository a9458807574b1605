//! Sequences `[T, D]`: Dense on every step, and pooling over the steps, by
//! hand and in `network!`, checked against finite differences.

use keelnet::gradcheck::{check_layer, random_batch};
use keelnet::{
    Batch, Dense, GELU, GlobalAveragePooling1D, GlobalMaxPooling1D, Layer, Rank1, Rank2, ReLU,
    Softmax, network,
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
