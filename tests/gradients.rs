//! Every layer, activation and loss against finite differences, in f64.

use keelnet::gradcheck::{check_layer, check_layer_with, random_batch};
use keelnet::{
    Activation, ActivationKind, Batch, BinaryCrossentropy, CategoricalCrossentropy, Chain, Dense,
    Dropout, ELU, Flatten, GELU, GELUTanh, GradientOf, Layer, LeakyReLU, Linear, Loss,
    MeanSquaredError, Rank1, Rank2, Rank3, ReLU, Shape, SiLU, Sigmoid, Softmax, Softplus,
    SparseCategoricalCrossentropy, Tanh, TrainContext,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn assert_passes<I: Shape, L: Layer<I, f64> + Clone>(layer: &L, x: &Batch<I, f64>, seed: u64) {
    if let Err(worst) = check_layer(layer, x, seed) {
        panic!("gradient check failed at {worst}");
    }
}

/// `x` with every value at least `margin` away from zero, so that a ReLU's kink
/// is never inside a finite difference.
fn away_from_zero<S: Shape>(mut x: Batch<S, f64>, margin: f64) -> Batch<S, f64> {
    for v in x.as_mut_slice() {
        if v.abs() < margin {
            *v = if *v < 0.0 { -0.5 } else { 0.5 };
        }
    }
    x
}

fn dense_check<const IN: usize, const OUT: usize, A: Activation>(batch: usize, seed: u64) {
    let layer = Dense::<IN, OUT, A, f64>::new(&mut StdRng::seed_from_u64(seed));
    let x = random_batch::<Rank1<IN>>(batch, seed + 1);
    assert_passes(&layer, &x, seed + 2);
}

#[test]
fn dense_with_every_activation_on_several_shapes() {
    for (batch, seed) in [(1, 0), (3, 10), (4, 20)] {
        dense_check::<5, 3, Linear>(batch, seed);
        dense_check::<7, 4, ReLU>(batch, seed);
        dense_check::<1, 9, LeakyReLU>(batch, seed);
        dense_check::<13, 2, Sigmoid>(batch, seed);
        dense_check::<6, 6, Tanh>(batch, seed);
        dense_check::<4, 10, Softmax>(batch, seed);
        dense_check::<5, 3, GELU>(batch, seed);
        dense_check::<3, 5, GELUTanh>(batch, seed);
        dense_check::<7, 2, SiLU>(batch, seed);
        dense_check::<2, 7, ELU>(batch, seed);
        dense_check::<6, 5, Softplus>(batch, seed);
    }
}

#[test]
fn activations_that_need_their_input_or_output_alone() {
    // Values spread over [-4, 4]: the tails of GELU and SiLU, and ELU on
    // both sides of its kink at 0.
    let x = away_from_zero(random_batch::<Rank2<3, 7>>(3, 21), 0.01);
    let x = Batch::<Rank2<3, 7>, f64>::from_vec(x.as_slice().iter().map(|v| 4.0 * v).collect())
        .unwrap();
    assert_passes(&GELU, &x, 22);
    assert_passes(&GELUTanh, &x, 23);
    assert_passes(&SiLU, &x, 24);
    assert_passes(&ELU::<1000>, &x, 25);
    assert_passes(&ELU::<300>, &x, 26);
    assert_passes(&Softplus, &x, 27);
}

#[test]
#[should_panic(expected = "needs the pre-activations")]
fn an_activation_that_needs_its_input_refuses_to_go_without() {
    <GELU as Activation>::backward(&[], &[0.5f64], &mut [1.0]);
}

#[test]
fn activations_as_layers() {
    let x = away_from_zero(random_batch::<Rank3<2, 3, 4>>(3, 1), 0.01);
    assert_passes(&ReLU, &x, 2);
    assert_passes(&LeakyReLU::<300>, &x, 3);
    assert_passes(&LeakyReLU::<10>, &x, 3);
    assert_passes(&Sigmoid, &x, 4);
    assert_passes(&Tanh, &x, 5);
    assert_passes(&Linear, &x, 6);
    assert_passes(&Softmax, &random_batch::<Rank1<11>>(4, 7), 8);
    assert_passes(&Softmax, &random_batch::<Rank2<3, 5>>(2, 9), 10);
}

#[test]
fn flatten_and_dropout() {
    let x = random_batch::<Rank3<3, 4, 5>>(2, 1);
    assert_passes(&Flatten::<60>, &x, 2);
    for rate in [0.0, 0.3, 0.8] {
        assert_passes(&Dropout::new(rate), &random_batch::<Rank1<50>>(3, 3), 4);
    }
}

#[test]
fn dropout_drops_at_its_rate_and_scales_the_rest() {
    let x = Batch::<Rank1<10_000>, f64>::from_vec(vec![1.0; 10_000]).unwrap();
    let (mut y, mut mask) = (Batch::new(), Vec::new());
    Dropout::new(0.3).forward_train(&x, &mut y, &mut mask, &mut TrainContext::new(5));
    let dropped = y.as_slice().iter().filter(|&&v| v == 0.0).count();
    assert!(
        (2800..3200).contains(&dropped),
        "dropped {dropped} of 10000"
    );
    assert!(
        y.as_slice()
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-12)
    );
}

#[test]
fn hand_composed_chain() {
    let rng = &mut StdRng::seed_from_u64(3);
    let net = Chain::new(
        Chain::new(Flatten::<12>, Dense::<12, 8, Linear, f64>::new(rng)),
        Chain::new(
            Chain::new(ReLU, Dropout::new(0.2)),
            Dense::<8, 3, Softmax, f64>::new(rng),
        ),
    );
    assert_passes(&net, &random_batch::<Rank3<1, 3, 4>>(3, 4), 5);
}

/// Checks `loss` on the outputs of `layer`, through whichever gradient the
/// loss hands back for `layer`'s activation.
fn loss_check<I: Shape, L, Lo>(
    layer: &L,
    x: &Batch<I, f64>,
    loss: &Lo,
    target: &Lo::Target,
    kind: ActivationKind,
    expect: GradientOf,
) where
    L: Layer<I, f64> + Clone,
    Lo: Loss<L::Output, f64>,
{
    let objective = |y: &Batch<L::Output, f64>, dy: &mut Batch<L::Output, f64>| {
        let wrt = loss.gradient(y, target, kind, dy).unwrap();
        assert_eq!(wrt, expect);
        (loss.loss(y, target).unwrap(), wrt)
    };
    if let Err(worst) = check_layer_with(layer, x, 1, &objective) {
        panic!("{} through {kind:?}: {worst}", Lo::NAME);
    }
}

fn one_hot<const N: usize>(labels: &[usize]) -> Batch<Rank1<N>, f64> {
    let mut t = Batch::zeros(labels.len());
    for (i, &l) in labels.iter().enumerate() {
        t.sample_mut(i)[l] = 1.0;
    }
    t
}

#[test]
fn mean_squared_error() {
    let x = random_batch::<Rank1<6>>(4, 1);
    let target = random_batch::<Rank1<6>>(4, 2);
    loss_check(
        &Linear,
        &x,
        &MeanSquaredError,
        &target,
        ActivationKind::Linear,
        GradientOf::Output,
    );
    let dense = Dense::<6, 3, Tanh, f64>::new(&mut StdRng::seed_from_u64(0));
    let target = random_batch::<Rank1<3>>(4, 3);
    loss_check(
        &dense,
        &x,
        &MeanSquaredError,
        &target,
        ActivationKind::Tanh,
        GradientOf::Output,
    );
}

#[test]
fn binary_crossentropy_fused_with_sigmoid_and_on_its_own() {
    let x = random_batch::<Rank1<5>>(3, 1);
    let mut target = random_batch::<Rank1<5>>(3, 2);
    for t in target.as_mut_slice() {
        *t = if *t > 0.0 { 1.0 } else { 0.0 };
    }
    let bce = BinaryCrossentropy;
    loss_check(
        &Sigmoid,
        &x,
        &bce,
        &target,
        ActivationKind::Sigmoid,
        GradientOf::PreActivation,
    );
    loss_check(
        &Sigmoid,
        &x,
        &bce,
        &target,
        ActivationKind::Linear,
        GradientOf::Output,
    );
    let dense = Dense::<5, 2, Sigmoid, f64>::new(&mut StdRng::seed_from_u64(4));
    let t2 = Batch::from_vec(vec![1.0, 0.0, 0.0, 0.0, 1.0, 1.0]).unwrap();
    loss_check(
        &dense,
        &x,
        &bce,
        &t2,
        ActivationKind::Sigmoid,
        GradientOf::PreActivation,
    );
}

#[test]
fn categorical_crossentropy_fused_with_softmax_and_on_its_own() {
    let x = random_batch::<Rank1<7>>(4, 1);
    let target = one_hot::<7>(&[0, 6, 3, 3]);
    let cce = CategoricalCrossentropy;
    loss_check(
        &Softmax,
        &x,
        &cce,
        &target,
        ActivationKind::Softmax,
        GradientOf::PreActivation,
    );
    loss_check(
        &Softmax,
        &x,
        &cce,
        &target,
        ActivationKind::Linear,
        GradientOf::Output,
    );
    // A target that is a distribution, not one-hot.
    let soft = Batch::from_vec(vec![0.5, 0.5, 0.0, 0.2, 0.3, 0.5]).unwrap();
    let dense = Dense::<7, 3, Softmax, f64>::new(&mut StdRng::seed_from_u64(2));
    loss_check(
        &dense,
        &x.clone_first(2),
        &cce,
        &soft,
        ActivationKind::Softmax,
        GradientOf::PreActivation,
    );
}

#[test]
fn sparse_categorical_crossentropy_fused_with_softmax_and_on_its_own() {
    let x = random_batch::<Rank1<10>>(5, 1);
    let labels = [9, 0, 4, 4, 2];
    let loss = SparseCategoricalCrossentropy;
    loss_check(
        &Softmax,
        &x,
        &loss,
        &labels[..],
        ActivationKind::Softmax,
        GradientOf::PreActivation,
    );
    loss_check(
        &Softmax,
        &x,
        &loss,
        &labels[..],
        ActivationKind::Linear,
        GradientOf::Output,
    );
    let dense = Dense::<10, 10, Softmax, f64>::new(&mut StdRng::seed_from_u64(2));
    loss_check(
        &dense,
        &x,
        &loss,
        &labels[..],
        ActivationKind::Softmax,
        GradientOf::PreActivation,
    );
}

#[test]
fn fused_softmax_cross_entropy_stays_finite_where_the_separate_form_overflows() {
    // Logits so far apart that softmax underflows to exactly 0 for the true class.
    let logits = Batch::<Rank1<2>, f64>::from_vec(vec![0.0, 800.0]).unwrap();
    let mut p = Batch::new();
    Softmax.forward(&logits, &mut p);
    assert_eq!(p.as_slice()[0], 0.0);
    let mut dz = Batch::new();
    SparseCategoricalCrossentropy
        .gradient(&p, &[0], ActivationKind::Softmax, &mut dz)
        .unwrap();
    assert_eq!(dz.as_slice(), &[-1.0, 1.0]);
    let loss = SparseCategoricalCrossentropy.loss(&p, &[0]).unwrap();
    assert!(loss.is_finite() && loss > 16.0);
}

/// A layer `y = x²` whose backward forgets the factor 2: the checker must say so.
#[derive(Clone, Copy, Debug, Default)]
struct WrongSquare;

impl keelnet::Parameters<f64> for WrongSquare {
    type Grads = ();
    fn visit_params(&self, _: &str, _: &mut keelnet::VisitParams<'_, f64>) {}
    fn visit_params_mut(&mut self, _: &str, _: &mut keelnet::VisitParamsMut<'_, f64>) {}
    fn update_params(&mut self, _: &str, _: &(), _: &mut keelnet::UpdateParams<'_, f64>) {}
}

impl Layer<Rank1<4>, f64> for WrongSquare {
    type Output = Rank1<4>;
    type Cache = ();
    fn forward(&self, x: &Batch<Rank1<4>, f64>, y: &mut Batch<Rank1<4>, f64>) {
        y.copy_from(x);
        y.as_mut_slice().iter_mut().for_each(|v| *v *= *v);
    }
    fn backward(
        &self,
        x: &Batch<Rank1<4>, f64>,
        _: &Batch<Rank1<4>, f64>,
        _: &mut (),
        dy: &mut Batch<Rank1<4>, f64>,
        dx: Option<&mut Batch<Rank1<4>, f64>>,
        _: &mut (),
    ) {
        let Some(dx) = dx else { return };
        dx.copy_from(dy);
        dx.as_mut_slice()
            .iter_mut()
            .zip(x.as_slice())
            .for_each(|(d, x)| *d *= x);
    }
}

#[test]
fn the_checker_catches_a_wrong_gradient() {
    let worst = check_layer(&WrongSquare, &random_batch::<Rank1<4>>(2, 1), 0).unwrap_err();
    assert!(worst.entry.starts_with("input["), "{worst}");
    assert!(
        (worst.analytic * 2.0 - worst.numeric).abs() < 1e-6,
        "{worst}"
    );
}

#[test]
fn the_checker_catches_a_wrong_parameter_gradient() {
    let layer = Dense::<3, 2, Linear, f64>::new(&mut StdRng::seed_from_u64(0));
    let x = random_batch::<Rank1<3>>(2, 1);
    // Correct first.
    assert_passes(&layer, &x, 2);
    // The same layer whose objective claims a gradient for the wrong output.
    let objective = |y: &Batch<Rank1<2>, f64>, dy: &mut Batch<Rank1<2>, f64>| {
        dy.copy_from(y);
        dy.as_mut_slice().iter_mut().for_each(|d| *d = 1.0);
        dy.as_mut_slice()[0] = 0.0;
        (y.as_slice().iter().sum(), GradientOf::Output)
    };
    assert!(check_layer_with(&layer, &x, 2, &objective).is_err());
}

trait CloneFirst {
    fn clone_first(&self, n: usize) -> Self;
}

impl<S: Shape> CloneFirst for Batch<S, f64> {
    fn clone_first(&self, n: usize) -> Self {
        Batch::from_slice(&self.as_slice()[..n * S::NUMEL]).unwrap()
    }
}

#[test]
fn conv2d_with_few_taps_and_rows_longer_than_a_vector() {
    // The direct kernels (at most 27 taps, stride 1), with output rows of
    // more than eight values and a channel count that is not a multiple of four.
    let rng = &mut StdRng::seed_from_u64(12);
    // valid, 3x3 over 2x6x12 -> 5x4x10
    let valid = keelnet::Conv2D::<2, 5, 3, 1, 4, 10, Tanh, f64>::new(rng);
    assert_passes(&valid, &random_batch::<Rank3<2, 6, 12>>(2, 13), 14);
    // same, 3x3 over 3x4x19 -> 6x4x19
    let same = keelnet::Conv2D::<3, 6, 3, 1, 4, 19, Sigmoid, f64>::new(rng);
    assert_passes(&same, &random_batch::<Rank3<3, 4, 19>>(2, 15), 16);
}

#[test]
fn conv2d_by_winograd_tiles() {
    // 3x3, stride 1, more than 27 taps: Winograd's F(4x4, 3x3), with odd
    // output sizes (tiles past the edge), four samples of four tiles (the
    // fewest tiles it takes).
    let rng = &mut StdRng::seed_from_u64(17);
    // valid, 4x9x8 -> 3x7x6
    let valid = keelnet::Conv2D::<4, 3, 3, 1, 7, 6, Tanh, f64>::new(rng);
    assert_passes(&valid, &random_batch::<Rank3<4, 9, 8>>(4, 18), 19);
    // same, 5x6x7 -> 2x6x7
    let same = keelnet::Conv2D::<5, 2, 3, 1, 6, 7, Sigmoid, f64>::new(rng);
    assert_passes(&same, &random_batch::<Rank3<5, 6, 7>>(4, 20), 21);
}

#[test]
fn conv2d_with_activations_that_need_their_input() {
    let rng = &mut StdRng::seed_from_u64(23);
    // The direct kernels (few taps) and Winograd's tiles, with GELU and SiLU
    // applied to pre-activations the layer keeps.
    let direct = keelnet::Conv2D::<2, 3, 3, 1, 4, 5, GELU, f64>::new(rng);
    assert_passes(&direct, &random_batch::<Rank3<2, 6, 7>>(2, 24), 25);
    let winograd = keelnet::Conv2D::<4, 3, 3, 1, 7, 6, SiLU, f64>::new(rng);
    assert_passes(&winograd, &random_batch::<Rank3<4, 9, 8>>(4, 26), 27);
    let strided = keelnet::Conv2D::<2, 2, 3, 2, 3, 3, GELUTanh, f64>::new(rng);
    assert_passes(&strided, &random_batch::<Rank3<2, 6, 6>>(2, 28), 29);
}

#[test]
fn conv2d_valid_same_and_strided() {
    let rng = &mut StdRng::seed_from_u64(9);
    // valid, 3x3 over 2x7x6 -> 3x5x4
    let valid = keelnet::Conv2D::<2, 3, 3, 1, 5, 4, Tanh, f64>::new(rng);
    assert_passes(&valid, &random_batch::<Rank3<2, 7, 6>>(2, 1), 2);
    // same, 3x3 over 1x5x5 -> 4x5x5
    let same = keelnet::Conv2D::<1, 4, 3, 1, 5, 5, Linear, f64>::new(rng);
    assert_passes(&same, &random_batch::<Rank3<1, 5, 5>>(3, 3), 4);
    // same, 4x4 (even kernel: extra padding bottom-right), stride 2 over 2x7x7 -> 2x4x4
    let strided = keelnet::Conv2D::<2, 2, 4, 2, 4, 4, Sigmoid, f64>::new(rng);
    assert_passes(&strided, &random_batch::<Rank3<2, 7, 7>>(2, 5), 6);
    // valid, stride 2, 1x1 output over 3x3
    let whole = keelnet::Conv2D::<3, 2, 3, 2, 1, 1, ReLU, f64>::new(rng);
    assert_passes(&whole, &random_batch::<Rank3<3, 3, 3>>(2, 7), 8);
}

#[test]
fn max_pool_routes_the_gradient_to_the_maximum() {
    // 11x11 pools to 5x5 with P = 2 (the last row and column are dropped)
    assert_passes(
        &keelnet::MaxPool::<2, 5, 5>,
        &random_batch::<Rank3<2, 11, 11>>(2, 1),
        2,
    );
    assert_passes(
        &keelnet::MaxPool::<3, 2, 1>,
        &random_batch::<Rank3<1, 7, 5>>(3, 3),
        4,
    );
}

#[test]
fn small_cnn_end_to_end() {
    let rng = &mut StdRng::seed_from_u64(10);
    let net = Chain::new(
        Chain::new(
            keelnet::Conv2D::<1, 3, 3, 1, 6, 6, ReLU, f64>::new(rng),
            keelnet::MaxPool::<2, 3, 3>,
        ),
        Chain::new(Flatten::<27>, Dense::<27, 4, Softmax, f64>::new(rng)),
    );
    assert_passes(&net, &random_batch::<Rank3<1, 8, 8>>(2, 11), 12);
}

#[test]
fn batch_normalization_in_training_mode() {
    use keelnet::BatchNormalization;
    let mut bn = BatchNormalization::<5, f64>::new();
    // γ and β away from their defaults, so that their gradients matter.
    bn.gamma = vec![0.5, 1.5, -1.0, 2.0, 0.8];
    bn.beta = vec![0.1, -0.2, 0.3, 0.0, 1.0];
    assert_passes(&bn, &random_batch::<Rank1<5>>(4, 31), 32);
    let mut bn = BatchNormalization::<3, f64>::new();
    bn.gamma = vec![0.7, -1.2, 1.1];
    assert_passes(&bn, &random_batch::<Rank3<3, 4, 5>>(2, 33), 34);
    // One sample of an image: statistics over its positions alone.
    assert_passes(&bn, &random_batch::<Rank3<3, 3, 3>>(1, 35), 36);
}
