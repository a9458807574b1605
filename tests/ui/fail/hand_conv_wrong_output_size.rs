use keelnet::{Batch, Conv2D, Layer, Rank3, ReLU};
use rand::SeedableRng;

fn main() {
    let rng = &mut rand::rngs::StdRng::seed_from_u64(0);
    // 3x3 'valid' over 28x28 gives 26x26, not 28x27.
    let conv = Conv2D::<1, 8, 3, 1, 28, 27, ReLU>::new(rng);
    let _ = conv.predict(&Batch::<Rank3<1, 28, 28>>::zeros(1));
}
