use keelnet::prelude::*;

network! {
    /// A pre-norm-style block without the norm: `x + MLP(x)`.
    pub struct FeedForward: Input<32> -> Residual(Dense<64, GELU> -> Dense<32>);

    /// Residual convolution blocks and a block used twice.
    pub struct ResNet: Input<1, 28, 28>
        -> Conv2D<8, 3, ReLU, padding = same>
        -> Residual(Conv2D<8, 3, ReLU, padding = same> -> Conv2D<8, 3, padding = same>)
        -> ReLU -> MaxPool<2> -> Flatten -> Dense<32, ReLU>
        -> FeedForward -> FeedForward -> Dense<10, Softmax>;
}

fn main() {
    let net = ResNet::<f32>::new(0);
    let y: Batch<Rank1<10>> = net.predict(&Batch::zeros(2));
    assert_eq!(y.len(), 2);
    let _: &FeedForward = &net.feed_forward_2;
}
