use keelnet::network;

network! {
    // A recurrent layer takes a sequence [T, D], not an image; and
    // `return_sequences` is `true` or `false`.
    struct Misused: Input<1, 28, 28> -> SimpleRNN<32> -> Dense<10, Softmax>;
    struct Unclear: Input<16, 8> -> SimpleRNN<32, return_sequences = yes> -> Dense<10, Softmax>;
}

fn main() {}
