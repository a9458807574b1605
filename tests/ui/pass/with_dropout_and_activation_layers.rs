use keelnet::{Batch, Layer, Rank1, Rank3, TrainContext, network};

network! {
    struct Regularised: Input<1, 28, 28>
        -> Flatten -> Dense<128> -> ReLU -> Dropout<0.2> -> Dense<64, ReLU> -> Dropout<0.5>
        -> Dense<10> -> Softmax;
}

fn main() {
    let net = Regularised::<f32>::new(0);
    let x = Batch::<Rank3<1, 28, 28>>::zeros(4);
    let mut y = Batch::<Rank1<10>>::new();
    let mut cache = Default::default();
    net.forward_train(&x, &mut y, &mut cache, &mut TrainContext::new(1));
    assert_eq!(y.len(), 4);
}
