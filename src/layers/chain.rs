//! `Chain`: two layers composed by hand, checked by the type system.

use crate::{
    ActivationKind, Batch, Float, Layer, OutputGrad, PairCache, Parameters, Shape, TrainContext,
    UpdateParams, VisitParams, VisitParamsMut, param_path,
};

/// `B` applied to the output of `A`: hand composition of layers.
///
/// It is a [`Layer`] only if `B` accepts `A`'s output shape, so a mismatch is
/// a type error:
///
/// ```
/// use keelnet::{Batch, Chain, Dense, Layer, Rank1, ReLU, Softmax};
/// use rand::{SeedableRng, rngs::StdRng};
/// let rng = &mut StdRng::seed_from_u64(0);
/// let mlp = Chain::new(Dense::<784, 128, ReLU>::new(rng), Dense::<128, 10, Softmax>::new(rng));
/// let probs = mlp.predict(&Batch::<Rank1<784>>::zeros(1));
/// assert_eq!(probs.len(), 1);
/// ```
///
/// ```compile_fail
/// use keelnet::{Batch, Chain, Dense, Layer, Rank1, ReLU, Softmax};
/// use rand::{SeedableRng, rngs::StdRng};
/// let rng = &mut StdRng::seed_from_u64(0);
/// // 128 features do not fit a layer that expects 64
/// let mlp = Chain::new(Dense::<784, 128, ReLU>::new(rng), Dense::<64, 10, Softmax>::new(rng));
/// let probs = mlp.predict(&Batch::<Rank1<784>>::zeros(1));
/// ```
///
/// The pair runs through [`Layer::forward_then`] and
/// [`Layer::backward_then`], so a first layer that fuses with the second
/// (a [`Conv2D`](crate::Conv2D) and the [`MaxPool`](crate::MaxPool) after
/// it) runs the same fused kernels as in `network!`'s code. Nest chains
/// so that such pairs are each one `Chain`.
///
/// Parameters are named `0.weight`, `1.bias`, ... (prefixed by the caller's
/// layer name, if any). For long chains, prefer `network!`, whose code is flat.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain<A, B> {
    /// The first layer.
    pub first: A,
    /// The layer applied to the first one's output.
    pub second: B,
}

impl<A, B> Chain<A, B> {
    /// `second` after `first`.
    pub fn new(first: A, second: B) -> Self {
        Self { first, second }
    }
}

/// What a [`Chain`] keeps between forward and backward.
pub struct ChainCache<M: Shape, F: Float, CA, CB> {
    /// The first layer's cache.
    pub first: CA,
    /// The second layer's cache.
    pub second: CB,
    /// The first layer's output (not written where the pair runs fused).
    pub mid: Batch<M, F>,
    /// dL/d(mid).
    pub d_mid: Batch<M, F>,
}

impl<M: Shape, F: Float, CA, CB> ChainCache<M, F, CA, CB> {
    /// The buffers as a [`PairCache`].
    ///
    /// ```
    /// use keelnet::{ChainCache, Rank1};
    /// let mut cache = ChainCache::<Rank1<2>, f32, (), ()>::default();
    /// assert!(cache.pair().mid.is_empty());
    /// ```
    pub fn pair(&mut self) -> PairCache<'_, M, F, CA, CB> {
        PairCache {
            first: &mut self.first,
            second: &mut self.second,
            mid: &mut self.mid,
            d_mid: &mut self.d_mid,
        }
    }
}

impl<M: Shape, F: Float, CA: Default, CB: Default> Default for ChainCache<M, F, CA, CB> {
    fn default() -> Self {
        Self {
            first: CA::default(),
            second: CB::default(),
            mid: Batch::new(),
            d_mid: Batch::new(),
        }
    }
}

impl<F: Float, A: Parameters<F>, B: Parameters<F>> Parameters<F> for Chain<A, B> {
    type Grads = (A::Grads, B::Grads);

    fn visit_params(&self, layer: &str, f: &mut VisitParams<'_, F>) {
        self.first.visit_params(&param_path(layer, "0"), f);
        self.second.visit_params(&param_path(layer, "1"), f);
    }

    fn visit_params_mut(&mut self, layer: &str, f: &mut VisitParamsMut<'_, F>) {
        self.first.visit_params_mut(&param_path(layer, "0"), f);
        self.second.visit_params_mut(&param_path(layer, "1"), f);
    }

    fn update_params(&mut self, layer: &str, grads: &Self::Grads, f: &mut UpdateParams<'_, F>) {
        self.first
            .update_params(&param_path(layer, "0"), &grads.0, f);
        self.second
            .update_params(&param_path(layer, "1"), &grads.1, f);
    }
}

impl<I: Shape, F: Float, A: Layer<I, F>, B: Layer<A::Output, F>> Layer<I, F> for Chain<A, B> {
    type Output = B::Output;
    type Cache = ChainCache<A::Output, F, A::Cache, B::Cache>;
    const ACTIVATION: ActivationKind = B::ACTIVATION;

    fn forward(&self, x: &Batch<I, F>, y: &mut Batch<B::Output, F>) {
        self.forward_cached(x, y, &mut ChainCache::default());
    }

    fn forward_cached(
        &self,
        x: &Batch<I, F>,
        y: &mut Batch<B::Output, F>,
        cache: &mut Self::Cache,
    ) {
        self.first
            .forward_then(&self.second, x, y, cache.pair(), None);
    }

    fn forward_train(
        &self,
        x: &Batch<I, F>,
        y: &mut Batch<B::Output, F>,
        cache: &mut Self::Cache,
        ctx: &mut TrainContext,
    ) {
        self.first
            .forward_then(&self.second, x, y, cache.pair(), Some(ctx));
    }

    fn backward(
        &self,
        x: &Batch<I, F>,
        y: &Batch<B::Output, F>,
        cache: &mut Self::Cache,
        dy: &mut Batch<B::Output, F>,
        dx: Option<&mut Batch<I, F>>,
        grads: &mut Self::Grads,
    ) {
        let out = OutputGrad {
            y,
            dy,
            before_activation: false,
        };
        let grads = (&mut grads.0, &mut grads.1);
        self.first
            .backward_then(&self.second, x, cache.pair(), out, dx, grads);
    }

    fn backward_preactivation(
        &self,
        x: &Batch<I, F>,
        y: &Batch<B::Output, F>,
        cache: &mut Self::Cache,
        dz: &mut Batch<B::Output, F>,
        dx: Option<&mut Batch<I, F>>,
        grads: &mut Self::Grads,
    ) {
        let out = OutputGrad {
            y,
            dy: dz,
            before_activation: true,
        };
        let grads = (&mut grads.0, &mut grads.1);
        self.first
            .backward_then(&self.second, x, cache.pair(), out, dx, grads);
    }
}
