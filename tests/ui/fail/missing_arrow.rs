use keelnet::network;

network! {
    struct Mlp: Input<784> -> Dense<128, ReLU> Dense<10, Softmax>;
}

fn main() {}
