keelnet::network! {
    struct Net: Input<16> -> Sequential(Dense<16, ReLU>) -> Dense<10, Softmax>;
}

fn main() {}
