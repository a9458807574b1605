use keelnet::{Batch, Dense, Layer, Rank1, ReLU, Softmax};
use rand::SeedableRng;

fn main() {
    let rng = &mut rand::rngs::StdRng::seed_from_u64(0);
    let hidden = Dense::<784, 128, ReLU>::new(rng);
    let output = Dense::<64, 10, Softmax>::new(rng);
    let h = hidden.predict(&Batch::<Rank1<784>>::zeros(1));
    let _ = output.predict(&h);
}
