keelnet::network! {
    struct Net: Input<4, 6, 6>
        -> Residual(Conv2D<4, 3, ReLU, padding = same> -> Dense<4>)
        -> Flatten -> Dense<10, Softmax>;
}

fn main() {}
