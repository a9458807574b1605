use keelnet::train::Model;
use keelnet::{Adam, CategoricalCrossentropy, Chain, Dense, Rank1, ReLU, Softmax};
use rand::SeedableRng;

fn main() {
    let rng = &mut rand::rngs::StdRng::seed_from_u64(0);
    // `Chain::new` takes any two layers; the mismatch shows where the chain
    // is used as a layer (build with `Input::then` to see it where the
    // layers are put together).
    let mlp = Chain::new(Dense::<784, 128, ReLU>::new(rng), Dense::<64, 10, Softmax>::new(rng));
    let _ = Model::<_, _, _, Rank1<784>>::compile(mlp, Adam::default(), CategoricalCrossentropy);
}
