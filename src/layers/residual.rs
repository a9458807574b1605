//! `Residual`: a block with a skip connection around it, `y = x + F(x)`.

use crate::{
    Batch, Float, Layer, Parameters, Shape, TrainContext, UpdateParams, VisitParams, VisitParamsMut,
};

/// `x + F(x)` for a block `F` whose output has its input's shape: a ResNet
/// block, or a Transformer's `x + MHA(LN(x))`.
///
/// It is a [`Layer`] only for a block that gives back its input's shape, so
/// a block that changes it does not compile. `network!` writes
/// `Residual(Conv2D<8, 3, ReLU, padding = same> -> Conv2D<8, 3, padding = same>)`
/// as a `Residual` over a network it generates for the inside; by hand,
/// wrap any layer:
///
/// ```
/// use keelnet::{Batch, Chain, Dense, Layer, Rank1, ReLU, Residual};
/// use rand::{SeedableRng, rngs::StdRng};
/// let rng = &mut StdRng::seed_from_u64(0);
/// let block = Residual::new(Chain::new(Dense::<4, 8, ReLU>::new(rng), Dense::<8, 4>::new(rng)));
/// let x = Batch::<Rank1<4>>::from_vec(vec![1.0, 2.0, 3.0, 4.0])?;
/// let y = block.predict(&x);
/// let inner = block.inner.predict(&x);
/// assert_eq!(y.as_slice()[0], 1.0 + inner.as_slice()[0]);
/// # Ok::<(), keelnet::Error>(())
/// ```
///
/// Its parameters are the block's, under the caller's name for it
/// (`residual_1.dense_1.weight` in a generated network).
#[derive(Clone, Debug, PartialEq)]
pub struct Residual<L> {
    /// The block `F`.
    pub inner: L,
}

impl<L> Residual<L> {
    /// `x + inner(x)`.
    pub fn new(inner: L) -> Self {
        Self { inner }
    }
}

/// What a [`Residual`] keeps between forward and backward.
pub struct ResidualCache<S: Shape, F: Float, C> {
    /// The block's own cache.
    inner: C,
    /// The block's output `F(x)`.
    inner_output: Batch<S, F>,
    /// dL/dx through the block.
    inner_grad: Batch<S, F>,
}

impl<S: Shape, F: Float, C: Default> Default for ResidualCache<S, F, C> {
    fn default() -> Self {
        Self {
            inner: C::default(),
            inner_output: Batch::new(),
            inner_grad: Batch::new(),
        }
    }
}

impl<F: Float, L: Parameters<F>> Parameters<F> for Residual<L> {
    type Grads = L::Grads;

    fn visit_params(&self, layer: &str, f: &mut VisitParams<'_, F>) {
        self.inner.visit_params(layer, f);
    }

    fn visit_params_mut(&mut self, layer: &str, f: &mut VisitParamsMut<'_, F>) {
        self.inner.visit_params_mut(layer, f);
    }

    fn update_params(&mut self, layer: &str, grads: &Self::Grads, f: &mut UpdateParams<'_, F>) {
        self.inner.update_params(layer, grads, f);
    }
}

/// `y = x + inner_output`, sample by sample.
fn add_skip<S: Shape, F: Float>(x: &Batch<S, F>, inner_output: &Batch<S, F>, y: &mut Batch<S, F>) {
    y.resize(x.len());
    let values = y.as_mut_slice().iter_mut();
    for ((y, &x), &f) in values.zip(x.as_slice()).zip(inner_output.as_slice()) {
        *y = x + f;
    }
}

impl<S: Shape, F: Float, L: Layer<S, F, Output = S>> Layer<S, F> for Residual<L> {
    type Output = S;
    type Cache = ResidualCache<S, F, L::Cache>;

    fn forward(&self, x: &Batch<S, F>, y: &mut Batch<S, F>) {
        self.forward_cached(x, y, &mut ResidualCache::default());
    }

    // x: [B, ...S] -> F(x): [B, ...S] -> y = x + F(x)
    fn forward_cached(&self, x: &Batch<S, F>, y: &mut Batch<S, F>, cache: &mut Self::Cache) {
        let out = &mut cache.inner_output;
        self.inner.forward_cached(x, out, &mut cache.inner);
        add_skip(x, out, y);
    }

    fn forward_train(
        &self,
        x: &Batch<S, F>,
        y: &mut Batch<S, F>,
        cache: &mut Self::Cache,
        ctx: &mut TrainContext,
    ) {
        let out = &mut cache.inner_output;
        self.inner.forward_train(x, out, &mut cache.inner, ctx);
        add_skip(x, out, y);
    }

    // dy -> dF(x) = dy through the block, dx = dy + dL/dx through the block
    fn backward(
        &self,
        x: &Batch<S, F>,
        _y: &Batch<S, F>,
        cache: &mut Self::Cache,
        dy: &mut Batch<S, F>,
        dx: Option<&mut Batch<S, F>>,
        grads: &mut Self::Grads,
    ) {
        let ResidualCache {
            inner,
            inner_output,
            inner_grad,
        } = cache;
        let Some(dx) = dx else {
            return self.inner.backward(x, inner_output, inner, dy, None, grads);
        };
        // The skip's share first: the block may overwrite `dy`.
        dx.copy_from(dy);
        let through = Some(&mut *inner_grad);
        self.inner
            .backward(x, inner_output, inner, dy, through, grads);
        for (dx, &d) in dx.as_mut_slice().iter_mut().zip(inner_grad.as_slice()) {
            *dx += d;
        }
    }
}
