//! Each optimizer against steps computed by hand from its published rule.
//!
//! The model is one `Dense<1, 2>` with weight `[1, -2]` and bias `[0.5, 0.25]`,
//! given three fixed gradients; the expected values follow the Keras update
//! rules written in each optimizer's documentation, evaluated in f64.

use keelnet::optim::ParamState;
use keelnet::{Adam, Dense, DenseGrads, Linear, Optimizer, ParamInfo, RmsProp, Sgd};
use rand::SeedableRng;

const GRAD_WEIGHT: [[f64; 2]; 3] = [[0.5, -0.1], [0.2, 0.3], [-0.4, 0.1]];
const GRAD_BIAS: [[f64; 2]; 3] = [[0.1, -0.2], [0.0, 0.05], [0.3, -0.3]];

fn three_steps(opt: &mut impl Optimizer<f64>) -> (Vec<f64>, Vec<f64>) {
    let mut layer = Dense::<1, 2, Linear, f64>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    layer.weight = vec![1.0, -2.0];
    layer.bias = vec![0.5, 0.25];
    for (gw, gb) in GRAD_WEIGHT.iter().zip(GRAD_BIAS) {
        let grads = DenseGrads {
            weight: gw.to_vec(),
            bias: gb.to_vec(),
        };
        opt.step(&mut layer, &grads);
    }
    (layer.weight, layer.bias)
}

fn assert_close(got: (Vec<f64>, Vec<f64>), weight: [f64; 2], bias: [f64; 2]) {
    for (g, e) in got.0.iter().chain(&got.1).zip(weight.iter().chain(&bias)) {
        assert!(
            (g - e).abs() < 1e-12,
            "got {got:?}, expected {weight:?} {bias:?}"
        );
    }
}

#[test]
fn sgd() {
    // w -= 0.1 g, three times: 1 - 0.1 (0.5 + 0.2 - 0.4) = 0.97
    assert_close(
        three_steps(&mut Sgd::new(0.1)),
        [0.97, -2.03],
        [0.46, 0.295],
    );
}

#[test]
fn sgd_momentum() {
    // v1 = -0.05, v2 = 0.9 v1 - 0.02 = -0.065, v3 = 0.9 v2 + 0.04 = -0.0185; w = 1 + Σv = 0.8665
    let mut opt = Sgd::new(0.1).momentum(0.9);
    assert_close(three_steps(&mut opt), [0.8665, -2.0399], [0.4429, 0.3247]);
}

#[test]
fn sgd_nesterov() {
    let mut opt = Sgd::new(0.1).momentum(0.9).nesterov(true);
    assert_close(
        three_steps(&mut opt),
        [0.84985, -2.06591],
        [0.40861, 0.36223],
    );
}

#[test]
fn sgd_weight_decay_applies_to_weights_only() {
    // g + 0.5 w on the weight; the bias moves as without decay
    let mut opt = Sgd::new(0.1).weight_decay(0.5);
    assert_close(three_steps(&mut opt), [0.83325, -1.744225], [0.46, 0.295]);
}

#[test]
fn adam() {
    let mut opt = Adam::new(0.1);
    assert_close(
        three_steps(&mut opt),
        [0.7925158368784964, -2.0051131296383295],
        [0.2560264949407646, 0.4701483240443678],
    );
    assert_eq!(opt.iterations, 3);
}

#[test]
fn adam_first_step_moves_each_weight_by_the_learning_rate() {
    // At t = 1, m/(sqrt(v)) = sign(g) after bias correction: the step is lr (less epsilon).
    let mut layer = Dense::<1, 2, Linear, f64>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let before = layer.weight.clone();
    let grads = DenseGrads {
        weight: vec![3.0, -0.001],
        bias: vec![0.0, 0.0],
    };
    Adam::new(0.01).step(&mut layer, &grads);
    // The step is lr·|g|·s / (|g|·s + ε) with s = sqrt(1 - β2): ε shortens it slightly.
    let s = 0.001f64.sqrt();
    let expected = |g: f64| 0.01 * g * s / (g * s + 1e-7);
    assert!((before[0] - layer.weight[0] - expected(3.0)).abs() < 1e-15);
    assert!((layer.weight[1] - before[1] - expected(0.001)).abs() < 1e-15);
    assert!((layer.weight[1] - before[1] - 0.01).abs() < 1e-4);
}

#[test]
fn adam_weight_decay() {
    let mut opt = Adam::new(0.1).weight_decay(0.01);
    assert_close(
        three_steps(&mut opt),
        [0.7899924080575478, -1.9899288404506892],
        [0.2560264949407646, 0.4701483240443678],
    );
}

#[test]
fn rmsprop() {
    let mut opt = RmsProp::new(0.01);
    assert_close(
        three_steps(&mut opt),
        [0.9761289881460681, -2.008575041962965],
        [0.4380898321554524, 0.3004346092964626],
    );
}

#[test]
fn learning_rate_can_be_changed() {
    let mut opt: Adam<f64> = Adam::default();
    opt.set_learning_rate(0.5);
    assert_eq!(opt.learning_rate(), 0.5);
}

/// A layer with 300·400 = 120,000 weights: long enough that each update is
/// split into parts over threads and run on the selected instruction set.
fn long_layer() -> (Dense<300, 400, Linear>, DenseGrads<300, 400>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let layer = Dense::new(&mut rng);
    let mut grads = DenseGrads::default();
    for (i, g) in grads.weight.iter_mut().enumerate() {
        *g = ((i * 7919 % 1000) as f32 - 500.0) * 1e-3;
    }
    (layer, grads)
}

#[test]
fn long_tensors_get_the_same_bits_as_a_plain_loop() {
    let (mut layer, grads) = long_layer();
    let mut expected = layer.weight.clone();
    let (mut m, mut v) = (vec![0.0f32; expected.len()], vec![0.0f32; expected.len()]);
    let mut adam: Adam = Adam::default().weight_decay(1e-3);
    for t in 1..=3 {
        adam.step(&mut layer, &grads);
        let alpha =
            (1e-3 * (1.0 - 0.999f64.powf(t as f64)).sqrt() / (1.0 - 0.9f64.powf(t as f64))) as f32;
        for i in 0..expected.len() {
            let g = grads.weight[i] + 1e-3 * expected[i];
            m[i] = 0.9 * m[i] + (1.0 - 0.9) * g;
            v[i] = 0.999 * v[i] + (1.0 - 0.999) * g * g;
            expected[i] -= alpha * m[i] / (v[i].sqrt() + 1e-7);
        }
    }
    let differing = expected
        .iter()
        .zip(&layer.weight)
        .filter(|(a, b)| a.to_bits() != b.to_bits());
    assert_eq!(differing.count(), 0);
}

#[test]
fn long_tensors_update_with_every_optimizer() {
    for momentum in [0.0, 0.9] {
        let (mut layer, grads) = long_layer();
        let before = layer.weight.clone();
        Sgd::new(0.1).momentum(momentum).step(&mut layer, &grads);
        for ((&w, &w0), &g) in layer.weight.iter().zip(&before).zip(&grads.weight) {
            assert_eq!(w.to_bits(), (w0 - 0.1 * g).to_bits());
        }
    }
    let (mut layer, grads) = long_layer();
    let before = layer.weight.clone();
    RmsProp::default().step(&mut layer, &grads);
    for ((&w, &w0), &g) in layer.weight.iter().zip(&before).zip(&grads.weight) {
        let s = (1.0 - 0.9f32) * g * g;
        assert_eq!(w.to_bits(), (w0 - 1e-3 * g / (s + 1e-7).sqrt()).to_bits());
    }
}

/// Optimizer state follows its tensor by name: a walk that visits the
/// tensors in another order, or one tensor fewer, finds each state where
/// it was left.
#[test]
fn optimizer_state_is_keyed_by_tensor_name() {
    let mut adam: Adam<f64> = Adam::default();
    let infos = [ParamInfo::weight("a", &[2]), ParamInfo::bias("a", &[2])];
    let mut params = [vec![0.0; 2], vec![0.0; 2]];
    let grads = [vec![1.0, 1.0], vec![-1.0, -1.0]];
    adam.begin_step();
    for (slot, info) in infos.iter().enumerate() {
        adam.update(slot, *info, &mut params[slot], &grads[slot]);
    }
    let m = |adam: &Adam<f64>, name| adam.m.get(name).map(|m| (m[0] * 1e6).round() / 1e6);
    assert_eq!(
        (m(&adam, "a.weight"), m(&adam, "a.bias")),
        (Some(0.1), Some(-0.1))
    );
    // The bias first, then the weight: each keeps its own moments.
    adam.begin_step();
    adam.update(0, infos[1], &mut params[1], &grads[1]);
    adam.update(1, infos[0], &mut params[0], &grads[0]);
    assert_eq!(
        (m(&adam, "a.weight"), m(&adam, "a.bias")),
        (Some(0.19), Some(-0.19))
    );
    // A restored state is used by the next step.
    adam.m.insert("a.weight", vec![1.0, 1.0]);
    adam.update(1, infos[0], &mut params[0], &grads[0]);
    assert_eq!(m(&adam, "a.weight"), Some(1.0));
}

/// After one gradient and then none, every optimizer's state decays; where
/// it would fall into the subnormal range (and stay there, slow to compute
/// with) it becomes zero instead, and the weights stop moving.
#[test]
fn decaying_state_is_flushed_to_zero_rather_than_left_subnormal() {
    fn subnormals(states: &ParamState) -> usize {
        let values = states.iter().flat_map(|(_, values)| values);
        values.filter(|x| x.is_subnormal()).count()
    }
    fn zeros(states: &ParamState) -> usize {
        states
            .iter()
            .flat_map(|(_, values)| values)
            .filter(|&&x| x == 0.0)
            .count()
    }
    let (mut layer, mut grads) = long_layer();
    let mut adam: Adam = Adam::default();
    let mut rmsprop: RmsProp = RmsProp::default();
    let mut sgd: Sgd = Sgd::new(0.1).momentum(0.9);
    for step in 0..2000 {
        adam.step(&mut layer, &grads);
        rmsprop.step(&mut layer, &grads);
        sgd.step(&mut layer, &grads);
        if step == 0 {
            grads.weight.fill(0.0);
        }
    }
    // Adam's first moment and the momentum decay by 0.9 a step (past 1e-38
    // within 900 steps); RMSprop's mean square by 0.9 of g²; Adam's second
    // moment only by 0.999, and is still normal here.
    let nonzero_grads = 120_000 - 120;
    for (what, states) in [
        ("adam m", &adam.m),
        ("rmsprop", &rmsprop.mean_square),
        ("sgd momentum", &sgd.velocity),
    ] {
        assert_eq!(subnormals(states), 0, "{what}");
        assert!(zeros(states) >= nonzero_grads, "{what}: {}", zeros(states));
    }
    assert_eq!(subnormals(&adam.v), 0);
    let before = layer.weight.clone();
    adam.step(&mut layer, &grads);
    sgd.step(&mut layer, &grads);
    assert_eq!(layer.weight, before);
}
