use keelnet::{Batch, Layer, Rank1, network};

network! {
    struct Encoder: Input<784> -> Dense<32, ReLU>;
    struct Classifier: Input<64> -> Dense<10, Softmax>;
}

fn main() {
    let (encoder, classifier) = (Encoder::<f32>::new(0), Classifier::<f32>::new(1));
    let codes = encoder.predict(&Batch::<Rank1<784>>::zeros(1));
    let _ = classifier.predict(&codes);
}
