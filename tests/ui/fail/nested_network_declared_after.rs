keelnet::network! {
    struct Net: Input<16> -> Block -> Dense<10, Softmax>;
    struct Block: Input<16> -> Dense<16, ReLU>;
}

fn main() {}
