keelnet::network! {
    struct Net: Input<16> -> Residual(Dense<16, ReLU> Dense<16>) -> Dense<10, Softmax>;
}

fn main() {}
