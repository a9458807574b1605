use keelnet::network;

network! {
    struct Cnn: Input<64, 3, 3> -> Dense<64, ReLU> -> Dense<10, Softmax>;
}

fn main() {}
