keelnet::network! {
    struct Net: Input<16> -> Residual(Dense<32, ReLU>) -> Dense<10, Softmax>;
}

fn main() {}
