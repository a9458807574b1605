use keelnet::network;

network! {
    struct Cnn: Input<1, 28, 28>
        -> Conv2D<32, 3, ReLU, padding = full> -> Flatten -> Dense<10, Softmax>;
}

fn main() {}
