//! `Sequential`: a model built by hand, layer by layer, from its input
//! shape, each layer checked where it is added.

use std::marker::PhantomData;

use crate::{
    ActivationKind, Batch, Chain, Float, Layer, Parameters, Shape, TrainContext, UpdateParams,
    VisitParams, VisitParamsMut,
};

/// The start of a [`Sequential`] model: its input shape `I`, no layer yet.
///
/// ```
/// use keelnet::{Dense, Input, Layer, Rank1, ReLU, Softmax};
/// use rand::{SeedableRng, rngs::StdRng};
/// let rng = &mut StdRng::seed_from_u64(0);
/// let mlp = Input::<Rank1<784>>::new()
///     .then(Dense::<784, 128, ReLU>::new(rng))
///     .then(Dense::<128, 10, Softmax>::new(rng));
/// assert_eq!(mlp.predict(&keelnet::Batch::zeros(2)).len(), 2);
/// ```
///
/// A layer that does not take the shape before it is refused at its
/// `.then(...)`, which names the layer and the shape:
///
/// ```compile_fail
/// use keelnet::{Dense, Input, Rank1, ReLU, Softmax};
/// use rand::{SeedableRng, rngs::StdRng};
/// let rng = &mut StdRng::seed_from_u64(0);
/// let mlp = Input::<Rank1<784>>::new()
///     .then(Dense::<784, 128, ReLU>::new(rng))
///     .then(Dense::<64, 10, Softmax>::new(rng)); // takes Rank1<64>, not Rank1<128>
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Input<I, F = f32>(PhantomData<(I, F)>);

impl<I: Shape, F: Float> Input<I, F> {
    /// No layer yet.
    pub fn new() -> Self {
        Self(PhantomData)
    }

    /// The first layer, which must take samples of shape `I`.
    pub fn then<L: Layer<I, F>>(self, layer: L) -> Sequential<I, L, F> {
        Sequential {
            layers: layer,
            input: PhantomData,
        }
    }
}

/// Layers applied in turn from the input shape `I`: Keras' `Sequential`,
/// built with [`Input::then`] and [`Sequential::then`], each layer checked
/// against the output shape of the one before where it is added.
///
/// The layers nest as [`Chain`]s to the left, so every pair that fuses (a
/// [`Conv2D`](crate::Conv2D) and the [`MaxPool`](crate::MaxPool) after it)
/// runs fused, as in `network!`'s code. Parameters are named by position in
/// that nesting (`0.0.1.weight`); for names by layer kind (`dense_1.weight`)
/// and flat code, declare the model with `network!`.
///
/// ```
/// use keelnet::{Conv2D, Dense, Flatten, Input, Layer, MaxPool, Rank3, ReLU, Softmax};
/// use rand::{SeedableRng, rngs::StdRng};
/// let rng = &mut StdRng::seed_from_u64(0);
/// let cnn = Input::<Rank3<1, 28, 28>>::new()
///     .then(Conv2D::<1, 8, 3, 1, 26, 26, ReLU>::new(rng))
///     .then(MaxPool::<2, 13, 13>)
///     .then(Flatten::<1352>)
///     .then(Dense::<1352, 10, Softmax>::new(rng));
/// assert_eq!(cnn.predict(&keelnet::Batch::zeros(1)).len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sequential<I, L, F = f32> {
    /// The layers, nested as chains.
    pub layers: L,
    input: PhantomData<(I, F)>,
}

impl<I: Shape, F: Float, L: Layer<I, F>> Sequential<I, L, F> {
    /// `next` after the layers so far; it must take their output shape.
    pub fn then<N: Layer<L::Output, F>>(self, next: N) -> Sequential<I, Chain<L, N>, F> {
        Sequential {
            layers: Chain::new(self.layers, next),
            input: PhantomData,
        }
    }
}

impl<I, F: Float, L: Parameters<F>> Parameters<F> for Sequential<I, L, F> {
    type Grads = L::Grads;

    fn visit_params(&self, layer: &str, f: &mut VisitParams<'_, F>) {
        self.layers.visit_params(layer, f);
    }

    fn visit_params_mut(&mut self, layer: &str, f: &mut VisitParamsMut<'_, F>) {
        self.layers.visit_params_mut(layer, f);
    }

    fn update_params(&mut self, layer: &str, grads: &Self::Grads, f: &mut UpdateParams<'_, F>) {
        self.layers.update_params(layer, grads, f);
    }
}

impl<I: Shape, F: Float, L: Layer<I, F>> Layer<I, F> for Sequential<I, L, F> {
    type Output = L::Output;
    type Cache = L::Cache;
    const ACTIVATION: ActivationKind = L::ACTIVATION;

    fn forward(&self, x: &Batch<I, F>, y: &mut Batch<L::Output, F>) {
        self.layers.forward(x, y);
    }

    fn forward_cached(&self, x: &Batch<I, F>, y: &mut Batch<L::Output, F>, cache: &mut L::Cache) {
        self.layers.forward_cached(x, y, cache);
    }

    fn forward_train(
        &self,
        x: &Batch<I, F>,
        y: &mut Batch<L::Output, F>,
        cache: &mut L::Cache,
        ctx: &mut TrainContext,
    ) {
        self.layers.forward_train(x, y, cache, ctx);
    }

    fn backward(
        &self,
        x: &Batch<I, F>,
        y: &Batch<L::Output, F>,
        cache: &mut L::Cache,
        dy: &mut Batch<L::Output, F>,
        dx: Option<&mut Batch<I, F>>,
        grads: &mut L::Grads,
    ) {
        self.layers.backward(x, y, cache, dy, dx, grads);
    }

    fn backward_preactivation(
        &self,
        x: &Batch<I, F>,
        y: &Batch<L::Output, F>,
        cache: &mut L::Cache,
        dz: &mut Batch<L::Output, F>,
        dx: Option<&mut Batch<I, F>>,
        grads: &mut L::Grads,
    ) {
        self.layers
            .backward_preactivation(x, y, cache, dz, dx, grads);
    }
}
