use keelnet::{Batch, Rank1, Rank3};

fn main() {
    let images: Batch<Rank3<1, 28, 28>> = Batch::<Rank1<784>>::zeros(32);
    let _ = images;
}
