use keelnet::network;

network! {
    struct Mlp: Input<784> -> Dense<128, ReLU> -> Dropout<50> -> Dense<10, Softmax>;
}

fn main() {}
