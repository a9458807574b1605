//! Weight initialisers, drawn from a caller's seeded random source.

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::Float;

/// How a weight tensor is initialised from its fan-in and fan-out.
///
/// The default is Glorot-uniform, Keras' default for `Dense` and `Conv2D`
/// kernels; biases start at zero.
///
/// ```
/// use keelnet::Init;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
/// let w: Vec<f32> = Init::HeUniform.sample(&mut rng, 100, 10, 1000);
/// let limit = (6.0f32 / 100.0).sqrt();
/// assert!(w.iter().all(|v| v.abs() <= limit));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Init {
    /// Uniform on `±sqrt(6 / (fan_in + fan_out))`.
    #[default]
    GlorotUniform,
    /// Uniform on `±sqrt(6 / fan_in)`, for ReLU networks.
    HeUniform,
    /// Normal with standard deviation `sqrt(2 / fan_in)`, truncated at two
    /// standard deviations (as Keras' `he_normal`).
    HeNormal,
    /// All zero.
    Zeros,
}

impl Init {
    /// `len` values for a tensor with the given fans.
    pub fn sample<F: Float, R: Rng + ?Sized>(
        self,
        rng: &mut R,
        fan_in: usize,
        fan_out: usize,
        len: usize,
    ) -> Vec<F> {
        let uniform = |rng: &mut R, limit: f64| -> Vec<F> {
            match Uniform::new_inclusive(-limit, limit) {
                Ok(dist) => (0..len).map(|_| F::from_f64(dist.sample(rng))).collect(),
                Err(_) => vec![F::zero(); len],
            }
        };
        let (fan_in, fan_out) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        match self {
            Init::GlorotUniform => uniform(rng, (6.0 / (fan_in + fan_out)).sqrt()),
            Init::HeUniform => uniform(rng, (6.0 / fan_in).sqrt()),
            Init::HeNormal => {
                let std = (2.0 / fan_in).sqrt();
                let Ok(normal) = Normal::new(0.0, std) else {
                    return vec![F::zero(); len];
                };
                (0..len)
                    .map(|_| {
                        loop {
                            let v: f64 = normal.sample(rng);
                            if v.abs() <= 2.0 * std {
                                break F::from_f64(v);
                            }
                        }
                    })
                    .collect()
            }
            Init::Zeros => vec![F::zero(); len],
        }
    }
}
