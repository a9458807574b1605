use keelnet::network;

network! {
    struct Cnn: Input<1, 28, 28> -> Flatten -> Conv2D<32, 3, ReLU> -> Dense<10, Softmax>;
}

fn main() {}
