use keelnet::network;

network! {
    struct Mlp: Input<784> -> Dense<0, ReLU> -> Dense<10, Softmax>;
}

fn main() {}
