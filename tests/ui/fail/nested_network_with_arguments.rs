keelnet::network! {
    struct Block: Input<16> -> Dense<16, ReLU>;
    struct Net: Input<16> -> Block<2> -> Dense<10, Softmax>;
}

fn main() {}
