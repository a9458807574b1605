use keelnet::{Batch, Flatten, Layer, Rank3};

fn main() {
    let images = Batch::<Rank3<1, 28, 28>>::zeros(1);
    let _ = <Flatten<748> as Layer<Rank3<1, 28, 28>, f32>>::predict(&Flatten, &images);
}
