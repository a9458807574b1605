//! The layer interface that every layer, and every generated network, implements.

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::fusion::{self, OutputGrad, PairCache};
use crate::{ActivationKind, Batch, Float, Parameters, Shape};

/// Per-step state of a training forward pass: the random source of
/// Dropout and its kin, seeded so that a run is reproducible.
///
/// ```
/// use keelnet::TrainContext;
/// let mut ctx = TrainContext::new(42);
/// let _ = ctx.rng();
/// ```
#[derive(Clone, Debug)]
pub struct TrainContext {
    rng: StdRng,
}

impl TrainContext {
    /// A context whose random draws follow from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The random source.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }
}

/// A layer from samples of shape `I` to samples of shape [`Self::Output`], in
/// element type `F`.
///
/// The input shape is a type parameter, so a layer accepts only the shapes it
/// implements `Layer` for: feeding the output of a `Dense<784, 128>` into a
/// `Dense<64, 10>` does not compile. Shape-agnostic layers (activations,
/// Dropout) implement it for every shape.
///
/// All methods write into buffers the caller owns, so a training step that
/// reuses its buffers allocates nothing:
///
/// - [`forward`](Self::forward) for inference;
/// - [`forward_train`](Self::forward_train), which also fills the layer's
///   [`Cache`](Self::Cache) with what backward needs beyond the input and
///   output (Dropout's mask, pooling's argmax);
/// - [`backward`](Self::backward), given the input, output and cache of that
///   forward pass and dL/dy, writes the parameter gradients and, if asked,
///   dL/dx.
///
/// ```
/// use keelnet::{Batch, Dense, Layer, Rank1, ReLU, TrainContext};
/// use rand::SeedableRng;
/// let dense = Dense::<3, 2, ReLU>::new(&mut rand::rngs::StdRng::seed_from_u64(1));
/// let x = Batch::<Rank1<3>>::from_vec(vec![1.0, 2.0, 3.0])?;
/// let mut y = Batch::new();
/// let mut cache = Default::default();
/// dense.forward_train(&x, &mut y, &mut cache, &mut TrainContext::new(0));
///
/// let mut dy = Batch::<Rank1<2>>::from_vec(vec![1.0, -1.0])?;
/// let mut dx = Batch::new();
/// let mut grads = Default::default();
/// dense.backward(&x, &y, &mut cache, &mut dy, Some(&mut dx), &mut grads);
/// assert_eq!(dx.len(), 1);
/// # Ok::<(), keelnet::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not take samples of shape `{I}`",
    label = "expects another input shape",
    note = "each layer takes only the sample shape its type names: compare `{I}` with the input shape in the layer's type (for a generated network, its `Input<...>`)"
)]
pub trait Layer<I: Shape, F: Float>: Parameters<F> {
    /// The shape of one output sample.
    type Output: Shape;
    /// What the training forward pass keeps for backward, beyond input and output.
    type Cache: Default + Send + Sync;
    /// The activation the layer ends in; [`Linear`](crate::Linear) if none.
    const ACTIVATION: ActivationKind = ActivationKind::Linear;

    /// Inference: `y` is resized to `x.len()` samples and overwritten.
    fn forward(&self, x: &Batch<I, F>, y: &mut Batch<Self::Output, F>);

    /// Inference like [`forward`](Self::forward), using `cache` as its
    /// workspace, so that repeated calls allocate nothing once it is sized
    /// (evaluation loops use it). Layers whose inference needs scratch
    /// (convolutions, generated networks) override it.
    fn forward_cached(
        &self,
        x: &Batch<I, F>,
        y: &mut Batch<Self::Output, F>,
        cache: &mut Self::Cache,
    ) {
        let _ = cache;
        self.forward(x, y);
    }

    /// Training forward pass: like [`forward`](Self::forward), and fills `cache`.
    fn forward_train(
        &self,
        x: &Batch<I, F>,
        y: &mut Batch<Self::Output, F>,
        cache: &mut Self::Cache,
        ctx: &mut TrainContext,
    ) {
        let _ = (cache, ctx);
        self.forward(x, y);
    }

    /// Backward pass. `x`, `y` and `cache` are those of the training forward
    /// pass; `dy` holds dL/dy and may be overwritten. Writes dL/dparams into
    /// `grads` (overwriting) and, when `dx` is given, dL/dx into it.
    fn backward(
        &self,
        x: &Batch<I, F>,
        y: &Batch<Self::Output, F>,
        cache: &mut Self::Cache,
        dy: &mut Batch<Self::Output, F>,
        dx: Option<&mut Batch<I, F>>,
        grads: &mut Self::Grads,
    );

    /// Backward pass from dL/dz, the gradient *before* the layer's final
    /// activation (a loss fused with that activation, such as softmax with
    /// cross-entropy, produces it directly). Layers that end in an
    /// activation override this; for the others it is [`backward`](Self::backward).
    fn backward_preactivation(
        &self,
        x: &Batch<I, F>,
        y: &Batch<Self::Output, F>,
        cache: &mut Self::Cache,
        dz: &mut Batch<Self::Output, F>,
        dx: Option<&mut Batch<I, F>>,
        grads: &mut Self::Grads,
    ) {
        self.backward(x, y, cache, dz, dx, grads);
    }

    /// `Some(P)` for a max pooling: each output the maximum of its own
    /// `P`×`P` window of inputs (windows not overlapping), no parameters,
    /// no activation, and a training cache that keeps where each maximum
    /// came from ([`max_pool_argmax`](Self::max_pool_argmax)). A layer
    /// before it may then run both layers' passes in one
    /// ([`fuses_with`](Self::fuses_with)).
    ///
    /// ```
    /// use keelnet::{Dense, Layer, MaxPool, Rank1, Rank3, ReLU};
    /// assert_eq!(<MaxPool<2, 13, 13> as Layer<Rank3<32, 26, 26>, f32>>::MAX_POOL_WINDOW, Some(2));
    /// assert_eq!(<ReLU as Layer<Rank1<4>, f32>>::MAX_POOL_WINDOW, None);
    /// ```
    const MAX_POOL_WINDOW: Option<usize> = None;

    /// For a max pooling ([`MAX_POOL_WINDOW`](Self::MAX_POOL_WINDOW)), the
    /// buffer in its training cache that holds, per output, the index of
    /// its maximum in the input sample; `None` for other layers.
    ///
    /// ```
    /// use keelnet::{Layer, MaxPool, Rank3};
    /// let mut argmax = vec![3_u32];
    /// let found = <MaxPool<2, 1, 1> as Layer<Rank3<1, 2, 2>, f32>>::max_pool_argmax(&mut argmax);
    /// assert_eq!(found.map(|a| a[0]), Some(3));
    /// ```
    fn max_pool_argmax(cache: &mut Self::Cache) -> Option<&mut Vec<u32>> {
        let _ = cache;
        None
    }

    /// Whether this layer runs its passes together with `N`'s, the layer
    /// after it, in [`forward_then`](Self::forward_then) and
    /// [`backward_then`](Self::backward_then). A composition that asks
    /// calls those two for the pair instead of each layer's own passes.
    ///
    /// ```
    /// use keelnet::{Conv2D, Dense, Layer, MaxPool, Rank1, Rank3, ReLU};
    /// type Conv = Conv2D<1, 32, 3, 1, 26, 26, ReLU>;
    /// assert!(<Conv as Layer<Rank3<1, 28, 28>, f32>>::fuses_with::<MaxPool<2, 13, 13>>());
    /// assert!(!<Dense<4, 2> as Layer<Rank1<4>, f32>>::fuses_with::<ReLU>());
    /// ```
    fn fuses_with<N: Layer<Self::Output, F>>() -> bool {
        false
    }

    /// This layer then `next`, forward: inference if `ctx` is `None`,
    /// training otherwise; `y` receives `next`'s output. Unless the layer
    /// [fuses with](Self::fuses_with) `N`, the two run in turn
    /// ([`fusion::forward_in_turn`]).
    ///
    /// ```
    /// use keelnet::{Batch, Layer, PairCache, Rank1, ReLU, Sigmoid};
    /// let x = Batch::<Rank1<1>>::from_vec(vec![-3.0])?;
    /// let (mut mid, mut d_mid, mut y) = (Batch::new(), Batch::new(), Batch::new());
    /// let pair = PairCache { first: &mut (), second: &mut (), mid: &mut mid, d_mid: &mut d_mid };
    /// ReLU.forward_then(&Sigmoid, &x, &mut y, pair, None);
    /// assert_eq!(y.as_slice(), &[0.5]);
    /// # Ok::<(), keelnet::Error>(())
    /// ```
    fn forward_then<N: Layer<Self::Output, F>>(
        &self,
        next: &N,
        x: &Batch<I, F>,
        y: &mut Batch<N::Output, F>,
        cache: PairCache<'_, Self::Output, F, Self::Cache, N::Cache>,
        ctx: Option<&mut TrainContext>,
    ) {
        fusion::forward_in_turn(self, next, x, y, cache, ctx);
    }

    /// The backward pass of [`forward_then`](Self::forward_then), from the
    /// gradient at `next`'s output: writes both layers' parameter
    /// gradients and, when `dx` is given, dL/dx. Unless the layer
    /// [fuses with](Self::fuses_with) `N`, the two run in turn
    /// ([`fusion::backward_in_turn`]).
    ///
    /// ```
    /// use keelnet::{Batch, Layer, OutputGrad, PairCache, Rank1, ReLU, Sigmoid};
    /// let x = Batch::<Rank1<1>>::from_vec(vec![2.0])?;
    /// let (mut mid, mut d_mid, mut y) = (Batch::new(), Batch::new(), Batch::new());
    /// let pair = PairCache { first: &mut (), second: &mut (), mid: &mut mid, d_mid: &mut d_mid };
    /// ReLU.forward_then(&Sigmoid, &x, &mut y, pair, None);
    /// let (mut dy, mut dx) = (Batch::from_vec(vec![1.0])?, Batch::new());
    /// let pair = PairCache { first: &mut (), second: &mut (), mid: &mut mid, d_mid: &mut d_mid };
    /// let out = OutputGrad { y: &y, dy: &mut dy, before_activation: false };
    /// ReLU.backward_then(&Sigmoid, &x, pair, out, Some(&mut dx), (&mut (), &mut ()));
    /// assert!((dx.as_slice()[0] - 0.105).abs() < 1e-3); // sigmoid'(2)
    /// # Ok::<(), keelnet::Error>(())
    /// ```
    fn backward_then<N: Layer<Self::Output, F>>(
        &self,
        next: &N,
        x: &Batch<I, F>,
        cache: PairCache<'_, Self::Output, F, Self::Cache, N::Cache>,
        out: OutputGrad<'_, N::Output, F>,
        dx: Option<&mut Batch<I, F>>,
        grads: (&mut Self::Grads, &mut N::Grads),
    ) {
        fusion::backward_in_turn(self, next, x, cache, out, dx, grads);
    }

    /// Inference on a batch, into a new buffer (convenient; allocates).
    ///
    /// ```
    /// use keelnet::{Batch, Layer, Rank1, ReLU};
    /// let x = Batch::<Rank1<2>>::from_vec(vec![-1.0, 2.0])?;
    /// assert_eq!(ReLU.predict(&x).as_slice(), &[0.0, 2.0]);
    /// # Ok::<(), keelnet::Error>(())
    /// ```
    fn predict(&self, x: &Batch<I, F>) -> Batch<Self::Output, F> {
        let mut y = Batch::new();
        self.forward(x, &mut y);
        y
    }
}
