use keelnet::network;

network! {
    struct Mlp: Input<1, 0, 28> -> Flatten -> Dense<10, Softmax>;
}

fn main() {}
