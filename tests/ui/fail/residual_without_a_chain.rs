keelnet::network! {
    struct Net: Input<16> -> Residual -> Dense<10, Softmax>;
}

fn main() {}
