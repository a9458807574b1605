use keelnet::network;

network! {
    struct Mlp: Input<784> -> Dense -> Dense<10, Softmax>;
}

fn main() {}
