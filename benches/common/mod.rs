//! What the benches share.

use std::time::{Duration, Instant};

/// Times `iters` calls of `f` on a thread of rayon's pool, where `fit`
/// runs its steps: the kernels' parallel parts are then shared out from
/// inside the pool, not handed to it from outside (and waited for asleep)
/// at every call.
pub fn timed_on_pool(iters: u64, mut f: impl FnMut() + Send) -> Duration {
    rayon::scope(|_| {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed()
    })
}
