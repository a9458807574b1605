use keelnet::{Dense, Input, Rank1, ReLU, Softmax};
use rand::SeedableRng;

fn main() {
    let rng = &mut rand::rngs::StdRng::seed_from_u64(0);
    // The second layer takes 64 features; the first gives 128.
    let _ = Input::<Rank1<784>>::new()
        .then(Dense::<784, 128, ReLU>::new(rng))
        .then(Dense::<64, 10, Softmax>::new(rng));
}
