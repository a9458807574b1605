use keelnet::network;

network! {
    struct Cnn: Input<1, 28, 28>
        -> Conv2D<32, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 7, ReLU>
        -> Flatten -> Dense<10, Softmax>;
}

fn main() {}
