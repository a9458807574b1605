use keelnet::{Batch, Layer, Rank1, network};

network! {
    struct Mlp: Input<1, 28, 28> -> Flatten -> Dense<10, Softmax>;
}

fn main() {
    let net = Mlp::<f32>::new(0);
    let flat = Batch::<Rank1<784>>::zeros(32);
    let _ = net.predict(&flat);
}
