use keelnet::network;

network! {
    struct Cnn: Input<1, 6, 6>
        -> Conv2D<8, 3, ReLU> -> MaxPool<2> -> MaxPool<4>
        -> Flatten -> Dense<10, Softmax>;
}

fn main() {}
