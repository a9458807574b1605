use keelnet::{Conv2D, Dense, Input, Rank3, ReLU, Softmax};
use rand::SeedableRng;

fn main() {
    let rng = &mut rand::rngs::StdRng::seed_from_u64(0);
    // A Dense takes flat samples: a Flatten<5408> is missing.
    let _ = Input::<Rank3<1, 28, 28>>::new()
        .then(Conv2D::<1, 8, 3, 1, 26, 26, ReLU>::new(rng))
        .then(Dense::<5408, 10, Softmax>::new(rng));
}
