//! `Dense`: a fully connected layer, `y = act(x · W + b)`.

use std::marker::PhantomData;

use rand::Rng;

use crate::kernels::{dense_backward, dense_forward};
use crate::shape::Rows;
use crate::{
    Activation, ActivationKind, Batch, Float, Init, Layer, Linear, ParamInfo, Parameters,
    TrainContext, UpdateParams, VisitParams, VisitParamsMut,
};

/// A fully connected layer from `IN` to `OUT` features with activation `A`
/// folded in (Keras' `Dense(OUT, activation=...)`).
///
/// The weight is stored `[IN, OUT]` row-major as in Keras; the bias is
/// `[OUT]`. It takes flat samples (`Rank1<IN>`: put a
/// [`Flatten`](crate::Flatten) before it after images) and sequences
/// (`Rank2<T, IN>`, to `Rank2<T, OUT>`), where it acts on every step with
/// the same weights, as Keras' `Dense` on its input's last axis.
///
/// ```
/// use keelnet::{Batch, Dense, Layer, Rank1, Softmax};
/// use rand::SeedableRng;
/// let layer = Dense::<784, 10, Softmax>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let probs = layer.predict(&Batch::<Rank1<784>>::zeros(2));
/// assert!((probs.sample(0).iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<const IN: usize, const OUT: usize, A: Activation = Linear, F: Float = f32> {
    /// `[IN, OUT]`, row-major.
    pub weight: Vec<F>,
    /// `[OUT]`.
    pub bias: Vec<F>,
    activation: PhantomData<A>,
}

/// The gradients of a [`Dense`]'s parameters, laid out like them.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseGrads<const IN: usize, const OUT: usize, F: Float = f32> {
    /// dL/dweight, `[IN, OUT]`.
    pub weight: Vec<F>,
    /// dL/dbias, `[OUT]`.
    pub bias: Vec<F>,
}

impl<const IN: usize, const OUT: usize, F: Float> Default for DenseGrads<IN, OUT, F> {
    fn default() -> Self {
        Self {
            weight: vec![F::zero(); IN * OUT],
            bias: vec![F::zero(); OUT],
        }
    }
}

impl<const IN: usize, const OUT: usize, A: Activation, F: Float> Dense<IN, OUT, A, F> {
    const WEIGHT_DIMS: &'static [usize] = &[IN, OUT];
    const BIAS_DIMS: &'static [usize] = &[OUT];

    /// Glorot-uniform weights and zero biases (Keras' defaults).
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_init(Init::GlorotUniform, rng)
    }

    /// Weights from `init`, zero biases.
    ///
    /// ```
    /// use keelnet::{Dense, Init, ReLU};
    /// use rand::SeedableRng;
    /// let layer = Dense::<8, 4, ReLU>::with_init(Init::HeNormal, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert!(layer.bias.iter().all(|&b| b == 0.0));
    /// ```
    pub fn with_init<R: Rng + ?Sized>(init: Init, rng: &mut R) -> Self {
        Self {
            weight: init.sample(rng, IN, OUT, IN * OUT),
            bias: vec![F::zero(); OUT],
            activation: PhantomData,
        }
    }
}

impl<const IN: usize, const OUT: usize, A: Activation, F: Float> Parameters<F>
    for Dense<IN, OUT, A, F>
{
    type Grads = DenseGrads<IN, OUT, F>;

    fn visit_params(&self, layer: &str, f: &mut VisitParams<'_, F>) {
        f(ParamInfo::weight(layer, Self::WEIGHT_DIMS), &self.weight);
        f(ParamInfo::bias(layer, Self::BIAS_DIMS), &self.bias);
    }

    fn visit_params_mut(&mut self, layer: &str, f: &mut VisitParamsMut<'_, F>) {
        f(
            ParamInfo::weight(layer, Self::WEIGHT_DIMS),
            &mut self.weight,
        );
        f(ParamInfo::bias(layer, Self::BIAS_DIMS), &mut self.bias);
    }

    fn update_params(&mut self, layer: &str, grads: &Self::Grads, f: &mut UpdateParams<'_, F>) {
        f(
            ParamInfo::weight(layer, Self::WEIGHT_DIMS),
            &mut self.weight,
            &grads.weight,
        );
        f(
            ParamInfo::bias(layer, Self::BIAS_DIMS),
            &mut self.bias,
            &grads.bias,
        );
    }
}

// Every row of `IN` values of `S` (a sample, or one step of a sequence)
// goes through the same weights, as in Keras.
impl<S: Rows<IN>, const IN: usize, const OUT: usize, A: Activation, F: Float> Layer<S, F>
    for Dense<IN, OUT, A, F>
{
    type Output = S::With<OUT>;
    /// The pre-activations, kept for an activation that
    /// [needs its input](Activation::NEEDS_INPUT) (GELU, SiLU); empty otherwise.
    type Cache = Batch<S::With<OUT>, F>;
    const ACTIVATION: ActivationKind = A::KIND;

    // x: [B, .., IN] -> y: [B, .., OUT]
    fn forward(&self, x: &Batch<S, F>, y: &mut Batch<S::With<OUT>, F>) {
        y.resize(x.len());
        dense_forward::<F, A>(x.as_slice(), &self.weight, &self.bias, y.as_mut_slice());
    }

    // x -> z = x · W + b (kept if the activation needs it) -> y = act(z)
    fn forward_train(
        &self,
        x: &Batch<S, F>,
        y: &mut Batch<S::With<OUT>, F>,
        z: &mut Batch<S::With<OUT>, F>,
        _ctx: &mut TrainContext,
    ) {
        if !A::NEEDS_INPUT {
            return self.forward(x, y);
        }
        y.resize(x.len());
        let ys = y.as_mut_slice();
        dense_forward::<F, Linear>(x.as_slice(), &self.weight, &self.bias, ys);
        z.copy_from(y);
        y.as_mut_slice().chunks_exact_mut(OUT).for_each(A::forward);
    }

    // dy -> dz = dy * act'(z or y), row by row, then as backward_preactivation
    fn backward(
        &self,
        x: &Batch<S, F>,
        y: &Batch<S::With<OUT>, F>,
        z: &mut Batch<S::With<OUT>, F>,
        dy: &mut Batch<S::With<OUT>, F>,
        dx: Option<&mut Batch<S, F>>,
        grads: &mut Self::Grads,
    ) {
        let rows = y.as_slice().chunks_exact(OUT);
        let dys = dy.as_mut_slice().chunks_exact_mut(OUT);
        if A::NEEDS_INPUT {
            for ((z, y), dy) in z.as_slice().chunks_exact(OUT).zip(rows).zip(dys) {
                A::backward(z, y, dy);
            }
        } else {
            rows.zip(dys).for_each(|(y, dy)| A::backward(&[], y, dy));
        }
        self.backward_preactivation(x, y, z, dy, dx, grads);
    }

    // dz: [B, .., OUT] -> dW: [IN, OUT], db: [OUT], dx: [B, .., IN]
    fn backward_preactivation(
        &self,
        x: &Batch<S, F>,
        _y: &Batch<S::With<OUT>, F>,
        _z: &mut Batch<S::With<OUT>, F>,
        dz: &mut Batch<S::With<OUT>, F>,
        dx: Option<&mut Batch<S, F>>,
        grads: &mut Self::Grads,
    ) {
        let dx = dx.map(|dx| {
            dx.resize(x.len());
            dx.as_mut_slice()
        });
        let (dw, db) = (&mut grads.weight, &mut grads.bias);
        dense_backward(x.as_slice(), &self.weight, dz.as_slice(), dw, db, dx);
    }
}
