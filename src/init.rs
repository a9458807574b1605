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
    /// A random orthogonal matrix, `fan_in` rows of `fan_out` (Keras'
    /// default for a recurrent kernel): a normal matrix made orthonormal by
    /// Gram-Schmidt, along its rows when `fan_in <= fan_out`, else along
    /// its columns.
    Orthogonal,
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
            Init::Orthogonal => orthogonal(rng, fan_in as usize, fan_out as usize)
                .into_iter()
                .map(F::from_f64)
                .take(len)
                .collect(),
        }
    }
}

/// A `rows × cols` matrix, row-major, whose rows (if `rows <= cols`) or
/// columns are orthonormal.
///
/// ```
/// use keelnet::Init;
/// use rand::SeedableRng;
/// let q: Vec<f64> = Init::Orthogonal.sample(&mut rand::rngs::StdRng::seed_from_u64(1), 3, 3, 9);
/// let dot = |i: usize, j: usize| (0..3).map(|k| q[3 * i + k] * q[3 * j + k]).sum::<f64>();
/// assert!((dot(0, 0) - 1.0).abs() < 1e-12 && dot(0, 1).abs() < 1e-12);
/// ```
fn orthogonal<R: Rng + ?Sized>(rng: &mut R, rows: usize, cols: usize) -> Vec<f64> {
    let (n, len) = (rows.min(cols), rows.max(cols));
    // `n` vectors of `len`, made orthonormal one after the other.
    let mut vectors: Vec<Vec<f64>> = Vec::with_capacity(n);
    while vectors.len() < n {
        let mut v: Vec<f64> = (0..len)
            .map(|_| rand_distr::StandardNormal.sample(rng))
            .collect();
        for u in &vectors {
            let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-6 {
            v.iter_mut().for_each(|a| *a /= norm);
            vectors.push(v);
        }
    }
    let mut matrix = vec![0.0; rows * cols];
    for (i, v) in vectors.iter().enumerate() {
        for (j, &value) in v.iter().enumerate() {
            // Along the rows, or along the columns of a tall matrix.
            let at = if rows <= cols {
                i * cols + j
            } else {
                j * cols + i
            };
            matrix[at] = value;
        }
    }
    matrix
}
