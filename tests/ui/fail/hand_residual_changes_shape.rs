use keelnet::{Batch, Dense, Layer, Rank1, ReLU, Residual};
use rand::SeedableRng;

fn main() {
    let rng = &mut rand::rngs::StdRng::seed_from_u64(0);
    // A block from 4 to 8 features cannot be added to its 4-feature input.
    let block = Residual::new(Dense::<4, 8, ReLU>::new(rng));
    let _ = block.predict(&Batch::<Rank1<4>>::zeros(1));
}
