#![deny(missing_docs)]
//! A crate that documents everything: the generated items must be documented too.

use keelnet::network;

network! {
    /// The reference MLP, public.
    pub struct PublicMlp: Input<1, 28, 28> -> Flatten -> Dense<128, ReLU> -> Dense<10, Softmax>;

    /// Another one in the same invocation.
    pub struct Tiny: Input<2> -> Dense<2, Softmax>;
}

fn main() {
    assert_eq!(PublicMlp::<f32>::PARAM_COUNT, 101_770);
    assert!(Tiny::<f32>::SUMMARY.contains("Total params: 6"));
}
