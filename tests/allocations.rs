//! A training step allocates nothing once its buffers are sized: counted
//! with a global allocator that tallies every allocation while enabled.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use keelnet::prelude::*;
use keelnet::train::Model;
use keelnet::{CategoricalCrossentropy, datasets::to_categorical};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

network! {
    struct Mlp: Input<1, 28, 28> -> Flatten -> Dense<128, ReLU> -> Dense<10, Softmax>;
    struct Cnn: Input<1, 28, 28>
        -> Conv2D<8, 3, ReLU> -> MaxPool<2> -> Conv2D<16, 3, ReLU> -> MaxPool<2>
        -> Flatten -> Dropout<0.2> -> Dense<10, Softmax>;
    struct Rnn: Input<16, 8>
        -> LSTM<32, return_sequences = true> -> SimpleRNN<16> -> Dense<10, Softmax>;
}

/// Allocations made by `steps` calls of `step` after four warm-up calls,
/// all on a thread of rayon's pool as `fit` runs them (calls from outside
/// the pool go through rayon's injection queue, which allocates a block now
/// and then).
fn allocations_in_steady_state(steps: usize, mut step: impl FnMut() + Send) -> usize {
    rayon::scope(|_| {
        for _ in 0..4 {
            step();
        }
        ALLOCATIONS.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        for _ in 0..steps {
            step();
        }
        COUNTING.store(false, Ordering::Relaxed);
        ALLOCATIONS.load(Ordering::Relaxed)
    })
}

fn images(len: usize) -> Batch<Rank3<1, 28, 28>> {
    Batch::from_vec(
        (0..len * 784)
            .map(|i| ((i * 31) % 256) as f32 / 255.0)
            .collect(),
    )
    .unwrap()
}

#[test]
fn training_steps_allocate_nothing_once_warm() {
    let labels: Vec<usize> = (0..64).map(|i| i % 10).collect();
    let targets: Batch<Rank1<10>> = to_categorical(&labels).unwrap();
    let x = images(64);
    let mut ctx = TrainContext::new(0);

    let mut mlp = Model::compile(Mlp::new(0), Adam::default(), CategoricalCrossentropy);
    let count = allocations_in_steady_state(10, || {
        mlp.train_on_batch::<Batch<Rank1<10>>>(&x, &targets, &mut ctx)
            .unwrap();
    });
    assert_eq!(count, 0, "the MLP's training step allocated");

    let mut cnn = Model::compile(Cnn::new(0), Adam::default(), CategoricalCrossentropy);
    let count = allocations_in_steady_state(10, || {
        cnn.train_on_batch::<Batch<Rank1<10>>>(&x, &targets, &mut ctx)
            .unwrap();
    });
    assert_eq!(count, 0, "the CNN's training step allocated");

    let sequences = Batch::<Rank2<16, 8>>::from_vec(x.as_slice()[..64 * 128].to_vec()).unwrap();
    let mut rnn = Model::compile(Rnn::new(0), Adam::default(), CategoricalCrossentropy);
    let count = allocations_in_steady_state(10, || {
        rnn.train_on_batch::<Batch<Rank1<10>>>(&sequences, &targets, &mut ctx)
            .unwrap();
    });
    assert_eq!(count, 0, "the recurrent network's training step allocated");
}
