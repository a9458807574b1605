keelnet::network! {
    struct Encoder: Input<784> -> Dense<32, ReLU>;
    struct Classifier: Input<64> -> Dense<64, ReLU> -> Encoder -> Dense<10, Softmax>;
}

fn main() {}
