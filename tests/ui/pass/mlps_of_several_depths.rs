use keelnet::{Batch, Layer, Rank1, Rank3, network};

network! {
    struct Linear1: Input<784> -> Dense<10, Softmax>;
    struct Mlp2: Input<1, 28, 28> -> Flatten -> Dense<128, ReLU> -> Dense<10, Softmax>;
    struct Mlp4: Input<1, 28, 28>
        -> Flatten -> Dense<256, ReLU> -> Dense<128, Tanh> -> Dense<64, LeakyReLU>
        -> Dense<10, Softmax>;
    struct Regressor: Input<13> -> Dense<32, Sigmoid> -> Dense<1>;
}

fn main() {
    assert_eq!(Linear1::<f32>::new(0).predict(&Batch::<Rank1<784>>::zeros(2)).len(), 2);
    let images = Batch::<Rank3<1, 28, 28>>::zeros(3);
    let _: Batch<Rank1<10>> = Mlp2::<f32>::new(0).predict(&images);
    let _: Batch<Rank1<10>> = Mlp4::<f32>::new(0).predict(&images);
    let _: Batch<Rank1<1>, f64> = Regressor::<f64>::new(0).predict(&Batch::zeros(1));
}
