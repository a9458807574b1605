keelnet::network! {
    struct Net: Input<16> -> Residual<2>(Dense<16, ReLU>) -> Dense<10, Softmax>;
}

fn main() {}
