use keelnet::{Batch, Rank1, Rank3};

fn main() {
    let images = Batch::<Rank3<1, 28, 28>>::zeros(32);
    let flat: Batch<Rank1<748>> = images.reshape();
    let _ = flat;
}
