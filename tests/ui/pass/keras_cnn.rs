use keelnet::{Batch, Layer, Rank1, Rank3, network};

network! {
    /// The CNN of the Keras MNIST tutorial.
    pub struct MnistCnn: Input<1, 28, 28>
        -> Conv2D<32, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU>
        -> Flatten -> Dense<64, ReLU> -> Dense<10, Softmax>;

    /// Padding, stride and a colour input.
    pub struct Strided: Input<3, 32, 32>
        -> Conv2D<16, 3, ReLU, padding = same> -> MaxPool<2>
        -> Conv2D<32, 3, ReLU, stride = 2, padding = same> -> Dropout<0.25>
        -> Flatten -> Dense<10, Softmax>;
}

fn main() {
    let y: Batch<Rank1<10>> = MnistCnn::<f32>::new(0).predict(&Batch::<Rank3<1, 28, 28>>::zeros(1));
    assert_eq!(y.len(), 1);
    assert_eq!(Strided::<f32>::new(0).dense_1.weight.len(), 32 * 8 * 8 * 10);
}
