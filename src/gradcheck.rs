//! Finite-difference gradient checks for any layer or network, in `f64`.
//!
//! [`check_layer`] compares a layer's backward pass with central differences
//! of its forward pass, for the input and for every parameter, and reports the
//! worst disagreement. It is how keelnet tests every layer, loss and
//! generated network, and how you can test a layer of your own.
//!
//! # Tolerance
//!
//! With step `h = 1e-5`, the central difference has a truncation error of
//! about `h²/6·|f'''| ≈ 2e-11` and a rounding error of about
//! `ε·|L|/h ≈ 2e-11·|L|` in `f64`. An entry passes when
//! `|analytic - numeric| <= 1e-6·max(|analytic|, |numeric|) + 1e-8`:
//! a relative error of one in a million, with an absolute floor above the
//! rounding noise for entries whose true gradient is zero. A wrong gradient
//! (a missing factor, a transposed product, a dropped term) is off by far more.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{Batch, GradientOf, Layer, Shape, TrainContext};

/// Step of the central differences.
pub const STEP: f64 = 1e-5;
/// Relative tolerance of one entry.
pub const RELATIVE_TOLERANCE: f64 = 1e-6;
/// Absolute tolerance of one entry (for gradients that are zero).
pub const ABSOLUTE_TOLERANCE: f64 = 1e-8;

/// The worst entry of a gradient check.
#[derive(Clone, Debug, PartialEq)]
pub struct Disagreement {
    /// `input[i]` or a parameter name with its index (`weight[3]`).
    pub entry: String,
    /// From backward.
    pub analytic: f64,
    /// From central differences.
    pub numeric: f64,
}

impl Disagreement {
    /// `|analytic - numeric|` relative to the tolerance: at most 1 passes.
    pub fn score(&self) -> f64 {
        let (a, n) = (self.analytic, self.numeric);
        (a - n).abs() / (RELATIVE_TOLERANCE * a.abs().max(n.abs()) + ABSOLUTE_TOLERANCE)
    }
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: backward gives {:e}, finite differences {:e}",
            self.entry, self.analytic, self.numeric
        )
    }
}

/// A batch of `len` samples with values uniform in `[-1, 1)` from `seed`.
///
/// ```
/// use keelnet::{Rank3, gradcheck::random_batch};
/// let x = random_batch::<Rank3<2, 3, 3>>(4, 0);
/// assert!(x.as_slice().iter().all(|v| (-1.0..1.0).contains(v)));
/// ```
pub fn random_batch<S: Shape>(len: usize, seed: u64) -> Batch<S, f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let data = (0..len * S::NUMEL)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    Batch::from_vec_with_len(data, len).unwrap_or_default()
}

/// A scalar objective on a layer's output: its value, and its gradient
/// written into the second argument.
pub type Objective<'o, S> = dyn Fn(&Batch<S, f64>, &mut Batch<S, f64>) -> (f64, GradientOf) + 'o;

/// Checks `layer`'s gradients at `x` for the objective `L = Σ r·y`, with `r`
/// random from `seed`. Returns the worst entry; `Err` holds it when it is
/// out of tolerance.
///
/// The parameter gradients are checked twice: from a backward pass asked
/// for the input gradient, and from one that is not (as `fit` runs a
/// network's first layer), since a layer may compute them another way then.
///
/// ```
/// use keelnet::{Dense, Rank1, Tanh, gradcheck};
/// use rand::SeedableRng;
/// let layer = Dense::<5, 3, Tanh, f64>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let x = gradcheck::random_batch::<Rank1<5>>(4, 1);
/// gradcheck::check_layer(&layer, &x, 2).unwrap();
/// ```
pub fn check_layer<I: Shape, L: Layer<I, f64> + Clone>(
    layer: &L,
    x: &Batch<I, f64>,
    seed: u64,
) -> Result<Disagreement, Disagreement> {
    let mut y = Batch::new();
    layer.forward_train(
        x,
        &mut y,
        &mut L::Cache::default(),
        &mut TrainContext::new(seed),
    );
    let weights = random_batch::<L::Output>(y.len(), seed ^ 0x5eed);
    let objective = move |y: &Batch<L::Output, f64>, dy: &mut Batch<L::Output, f64>| {
        dy.copy_from(&weights);
        let value = y
            .as_slice()
            .iter()
            .zip(weights.as_slice())
            .map(|(a, b)| a * b)
            .sum();
        (value, GradientOf::Output)
    };
    check_layer_with(layer, x, seed, &objective)
}

/// Checks `layer`'s gradients at `x` for a given objective, such as a loss
/// (which may hand back a gradient before the output activation). The
/// training forward pass runs with a [`TrainContext`] seeded by `seed` each
/// time, so Dropout's mask stays the same across evaluations.
pub fn check_layer_with<I: Shape, L: Layer<I, f64> + Clone>(
    layer: &L,
    x: &Batch<I, f64>,
    seed: u64,
    objective: &Objective<'_, L::Output>,
) -> Result<Disagreement, Disagreement> {
    let evaluate = |layer: &L, x: &Batch<I, f64>| {
        let mut y = Batch::new();
        layer.forward_train(
            x,
            &mut y,
            &mut L::Cache::default(),
            &mut TrainContext::new(seed),
        );
        objective(&y, &mut Batch::new()).0
    };

    // Analytic gradients, with the input gradient asked and without: a
    // layer may take another path when none is asked (a network's first
    // convolution sums its weight gradient over the pooled maxima alone).
    let analytic = |dx: Option<&mut Batch<I, f64>>| {
        let (mut y, mut cache, mut dy) = (Batch::new(), L::Cache::default(), Batch::new());
        layer.forward_train(x, &mut y, &mut cache, &mut TrainContext::new(seed));
        let (_, wrt) = objective(&y, &mut dy);
        let mut grads = L::Grads::default();
        match wrt {
            GradientOf::Output => layer.backward(x, &y, &mut cache, &mut dy, dx, &mut grads),
            GradientOf::PreActivation => {
                layer.backward_preactivation(x, &y, &mut cache, &mut dy, dx, &mut grads)
            }
        }
        grads
    };
    let mut dx = Batch::new();
    let grads = analytic(Some(&mut dx));
    let grads_without_dx = analytic(None);

    let mut worst = Disagreement {
        entry: "nothing".into(),
        analytic: 0.0,
        numeric: 0.0,
    };
    let mut consider = |entry: &dyn Fn() -> String, analytic: f64, numeric: f64| {
        let candidate = Disagreement {
            entry: String::new(),
            analytic,
            numeric,
        };
        if candidate.score() > worst.score() || !candidate.score().is_finite() {
            worst = Disagreement {
                entry: entry(),
                ..candidate
            };
        }
    };

    // Input.
    let mut probe = x.clone();
    for i in 0..x.as_slice().len() {
        let original = probe.as_slice()[i];
        probe.as_mut_slice()[i] = original + STEP;
        let plus = evaluate(layer, &probe);
        probe.as_mut_slice()[i] = original - STEP;
        let minus = evaluate(layer, &probe);
        probe.as_mut_slice()[i] = original;
        let numeric = (plus - minus) / (2.0 * STEP);
        consider(&|| format!("input[{i}]"), dx.as_slice()[i], numeric);
    }

    // Parameters: read the analytic gradients, then nudge each entry through the walk.
    let mut tensors: Vec<(String, Vec<f64>)> = Vec::new();
    let mut probe = layer.clone();
    probe.update_params("", &grads, &mut |info, _, grad| {
        tensors.push((info.to_string(), grad.to_vec()))
    });
    let mut without_dx: Vec<Vec<f64>> = Vec::new();
    probe.update_params("", &grads_without_dx, &mut |_, _, grad| {
        without_dx.push(grad.to_vec())
    });
    let nudge = |probe: &mut L, tensor: usize, index: usize, delta: f64| {
        let mut slot = 0;
        probe.update_params("", &grads, &mut |_, param, _| {
            if slot == tensor {
                param[index] += delta;
            }
            slot += 1;
        });
    };
    for (tensor, (name, analytic)) in tensors.iter().enumerate() {
        for (index, &analytic) in analytic.iter().enumerate() {
            nudge(&mut probe, tensor, index, STEP);
            let plus = evaluate(&probe, x);
            nudge(&mut probe, tensor, index, -2.0 * STEP);
            let minus = evaluate(&probe, x);
            nudge(&mut probe, tensor, index, STEP);
            let numeric = (plus - minus) / (2.0 * STEP);
            consider(&|| format!("{name}[{index}]"), analytic, numeric);
            let without = without_dx[tensor][index];
            consider(
                &|| format!("{name}[{index}], no input gradient asked"),
                without,
                numeric,
            );
        }
    }

    if worst.score() <= 1.0 {
        Ok(worst)
    } else {
        Err(worst)
    }
}
