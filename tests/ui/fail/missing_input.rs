use keelnet::network;

network! {
    struct Mlp: Dense<128, ReLU> -> Dense<10, Softmax>;
}

fn main() {}
