//! A hand-composed Dense-ReLU-Dense network learns XOR with Adam.

use keelnet::{
    Adam, Batch, Chain, Dense, GradientOf, Layer, Linear, Loss, Optimizer, Rank1, ReLU, Softmax,
    SparseCategoricalCrossentropy, TrainContext,
};
use rand::SeedableRng;

#[test]
fn dense_relu_dense_learns_xor() {
    let rng = &mut rand::rngs::StdRng::seed_from_u64(42);
    let mut net = Chain::new(
        Chain::new(Dense::<2, 16, Linear>::new(rng), ReLU),
        Dense::<16, 2, Softmax>::new(rng),
    );
    let x = Batch::<Rank1<2>>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.]).unwrap();
    let labels = [0, 1, 1, 0];
    let loss = SparseCategoricalCrossentropy;
    let mut adam = Adam::new(0.05);
    let (mut y, mut cache, mut dy, mut grads) = (
        Batch::new(),
        Default::default(),
        Batch::new(),
        Default::default(),
    );
    let mut ctx = TrainContext::new(0);
    let mut first_loss = None;
    for _ in 0..300 {
        net.forward_train(&x, &mut y, &mut cache, &mut ctx);
        first_loss.get_or_insert(loss.loss(&y, &labels).unwrap());
        match loss.gradient(&y, &labels, Softmax::KIND, &mut dy).unwrap() {
            GradientOf::PreActivation => {
                net.backward_preactivation(&x, &y, &mut cache, &mut dy, None, &mut grads)
            }
            GradientOf::Output => net.backward(&x, &y, &mut cache, &mut dy, None, &mut grads),
        }
        adam.step(&mut net, &grads);
    }
    let probs = net.predict(&x);
    let predicted: Vec<usize> = probs
        .samples()
        .map(|p| if p[1] > p[0] { 1 } else { 0 })
        .collect();
    assert_eq!(predicted, labels);
    let last = loss.loss(&probs, &labels).unwrap();
    assert!(
        last < 0.05 && last < first_loss.unwrap() / 10.0,
        "loss {last}"
    );
}

use keelnet::Activation;
