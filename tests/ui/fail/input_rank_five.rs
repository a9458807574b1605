use keelnet::network;

network! {
    struct Video: Input<3, 8, 32, 32, 2> -> Flatten -> Dense<10, Softmax>;
}

fn main() {}
