//! `Chain`: two layers composed by hand, checked by the type system.

use crate::fusion;
use crate::{
    ActivationKind, Batch, Float, Layer, OutputGrad, PairCache, Parameters, Shape, TrainContext,
    UpdateParams, VisitParams, VisitParamsMut, param_path,
};

/// `B` applied to the output of `A`: hand composition of layers.
///
/// It is a [`Layer`] only if `B` accepts `A`'s output shape, so a mismatch is
/// a type error where the chain is used as a layer (build with
/// [`Input::then`](crate::Input::then) to have it reported where the layers
/// are put together, naming both shapes):
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
/// it) runs the same fused kernels as in `network!`'s code. A chain fuses
/// with the layer after it where its own second layer does, so chains
/// nested to the left, as [`Sequential`](crate::Sequential) builds them,
/// fuse every such pair; so do chains of pairs.
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

    // A chain fuses with the layer after it where its second layer does:
    // then the first runs alone, and the second with `next`.
    fn fuses_with<N: Layer<B::Output, F>>() -> bool {
        B::fuses_with::<N>()
    }

    fn forward_then<N: Layer<B::Output, F>>(
        &self,
        next: &N,
        x: &Batch<I, F>,
        y: &mut Batch<N::Output, F>,
        cache: PairCache<'_, B::Output, F, Self::Cache, N::Cache>,
        ctx: Option<&mut TrainContext>,
    ) {
        if !B::fuses_with::<N>() {
            return fusion::forward_in_turn(self, next, x, y, cache, ctx);
        }
        let (first, first_output, _, pair) = hand_on(cache);
        match ctx {
            Some(ctx) => {
                self.first.forward_train(x, first_output, first, ctx);
                self.second
                    .forward_then(next, first_output, y, pair, Some(ctx));
            }
            None => {
                self.first.forward_cached(x, first_output, first);
                self.second.forward_then(next, first_output, y, pair, None);
            }
        }
    }

    fn backward_then<N: Layer<B::Output, F>>(
        &self,
        next: &N,
        x: &Batch<I, F>,
        cache: PairCache<'_, B::Output, F, Self::Cache, N::Cache>,
        out: OutputGrad<'_, N::Output, F>,
        dx: Option<&mut Batch<I, F>>,
        grads: (&mut Self::Grads, &mut N::Grads),
    ) {
        if !B::fuses_with::<N>() {
            return fusion::backward_in_turn(self, next, x, cache, out, dx, grads);
        }
        let (first, first_output, first_grad, pair) = hand_on(cache);
        let (first_grads, second_grads) = (&mut grads.0.0, &mut grads.0.1);
        let pair_grads = (second_grads, grads.1);
        let d = Some(&mut *first_grad);
        self.second
            .backward_then(next, first_output, pair, out, d, pair_grads);
        self.first
            .backward(x, first_output, first, first_grad, dx, first_grads);
    }
}

/// The buffers of a chain `A → B` paired with the layer `N` after it, split
/// for `B` to run fused with `N`: `A`'s cache, output and the gradient at
/// it, and the buffers of the pair `B → N`.
#[allow(clippy::type_complexity)]
fn hand_on<'a, M: Shape, O: Shape, F: Float, CA, CB, CN>(
    cache: PairCache<'a, O, F, ChainCache<M, F, CA, CB>, CN>,
) -> (
    &'a mut CA,
    &'a mut Batch<M, F>,
    &'a mut Batch<M, F>,
    PairCache<'a, O, F, CB, CN>,
) {
    let chain = cache.first;
    let pair = PairCache {
        first: &mut chain.second,
        second: cache.second,
        mid: cache.mid,
        d_mid: cache.d_mid,
    };
    (&mut chain.first, &mut chain.mid, &mut chain.d_mid, pair)
}
