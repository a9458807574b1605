use keelnet::network;

// Four mistakes, four errors, in one compile.
network! {
    struct Mlp: Input<1, 28, 28>
        -> Dense<128, ReLU>
        -> Dropot<0.5>
        -> Dense<64, Tanhh>
        -> Flatten<10>;
}

fn main() {}
