use keelnet::network;

network! {
    struct Mlp: Input<784> -> Dense<12.5> -> Dense<10, Softmax>;
}

fn main() {}
