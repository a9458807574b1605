//! The Keras workflow: fit, evaluate, predict, history, reproducibility, divergence.

mod common;

use keelnet::datasets::mnist::Mnist;
use keelnet::datasets::to_categorical;
use keelnet::prelude::*;
use keelnet::train::{Fit, History, Model, Verbosity};
use keelnet::{CategoricalCrossentropy, Error, MeanSquaredError, SparseCategoricalCrossentropy};

network! {
    struct Blobs: Input<2> -> Dense<16, ReLU> -> Dropout<0.1> -> Dense<3, Softmax>;
    struct TinyCnn: Input<1, 8, 8> -> Conv2D<4, 3, ReLU> -> MaxPool<2> -> Flatten -> Dense<3, Softmax>;
    struct Regressor: Input<1> -> Dense<8, Tanh> -> Dense<1>;
    /// Big enough that its products are split over threads.
    struct SplitCnn: Input<1, 28, 28> -> Conv2D<8, 3, ReLU> -> MaxPool<2>
        -> Flatten -> Dense<64, ReLU> -> Dense<10, Softmax>;
    /// The reference CNN, whose second convolution runs by Winograd's
    /// tiles for a batch of 8 and by im2col for one image.
    struct ReferenceCnn: Input<1, 28, 28>
        -> Conv2D<32, 3, ReLU> -> MaxPool<2> -> Conv2D<64, 3, ReLU> -> MaxPool<2>
        -> Conv2D<64, 3, ReLU> -> Flatten -> Dense<64, ReLU> -> Dense<10, Softmax>;
}

/// Three separable clusters of 2-D points, labelled 0, 1, 2.
fn blobs(n: usize) -> (Batch<Rank1<2>>, Vec<usize>) {
    let centres = [(-2.0, 0.0), (2.0, 0.0), (0.0, 2.5)];
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let label = i % 3;
        let jitter = ((i * 7919) % 101) as f32 / 100.0 - 0.5;
        let jitter2 = ((i * 104_729) % 97) as f32 / 96.0 - 0.5;
        data.extend([centres[label].0 + jitter, centres[label].1 + jitter2]);
        labels.push(label);
    }
    (Batch::from_vec(data).unwrap(), labels)
}

fn quiet<'v, I: Shape, Y: ?Sized>(epochs: usize) -> Fit<'v, I, f32, Y> {
    Fit::epochs(epochs).verbosity(Verbosity::Silent)
}

#[test]
fn fit_learns_and_reports_per_epoch_figures() {
    let (x, y) = blobs(240);
    let mut model = Model::compile(
        Blobs::new(3),
        Adam::new(0.01),
        SparseCategoricalCrossentropy,
    );
    let history = model
        .fit(&x, &y[..], quiet(15).batch_size(16).validation_split(0.25))
        .unwrap();
    assert_eq!(history.epochs.len(), 15);
    assert_eq!(history.val_accuracy().len(), 15);
    assert!(
        history.loss()[14] < history.loss()[0] / 3.0,
        "{:?}",
        history.loss()
    );
    assert!(
        history.val_accuracy()[14] > 0.95,
        "{:?}",
        history.val_accuracy()
    );
    assert!(history.epochs.iter().all(|e| e.seconds > 0.0));
    let test = model.evaluate(&x, &y[..], 32).unwrap();
    assert!(test.accuracy > 0.95 && test.loss < 0.3, "{test:?}");
}

fn without_times(mut history: History) -> History {
    history.epochs.iter_mut().for_each(|e| e.seconds = 0.0);
    history
}

#[test]
fn the_same_seed_gives_the_same_history_bit_for_bit() {
    let (x, y) = blobs(90);
    let run = |seed: u64| {
        let mut model = Model::compile(
            Blobs::new(1),
            Adam::default(),
            SparseCategoricalCrossentropy,
        );
        without_times(
            model
                .fit(
                    &x,
                    &y[..],
                    quiet(3).batch_size(8).validation_split(0.2).seed(seed),
                )
                .unwrap(),
        )
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn a_cnn_on_one_thread_is_reproducible_too() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let x = keelnet::gradcheck::random_batch::<Rank3<1, 8, 8>>(64, 1);
    let x = Batch::<Rank3<1, 8, 8>>::from_vec(x.as_slice().iter().map(|&v| v as f32).collect())
        .unwrap();
    let y: Vec<usize> = (0..64).map(|i| i % 3).collect();
    let run = || {
        pool.install(|| {
            let mut model = Model::compile(
                TinyCnn::new(2),
                Adam::default(),
                SparseCategoricalCrossentropy,
            );
            without_times(
                model
                    .fit(&x, &y[..], quiet(2).batch_size(16).seed(3))
                    .unwrap(),
            )
        })
    };
    assert_eq!(run(), run());
}

#[test]
fn the_number_of_threads_does_not_change_a_bit() {
    let x = keelnet::gradcheck::random_batch::<Rank3<1, 28, 28>>(192, 4);
    let x = Batch::<Rank3<1, 28, 28>>::from_vec(x.as_slice().iter().map(|&v| v as f32).collect())
        .unwrap();
    let y: Vec<usize> = (0..192).map(|i| i % 10).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut model = Model::compile(
                SplitCnn::new(2),
                Adam::default(),
                SparseCategoricalCrossentropy,
            );
            let history = model
                .fit(&x, &y[..], quiet(2).batch_size(64).validation_split(0.25))
                .unwrap();
            (without_times(history), model.network)
        })
    };
    let (one, three) = (run(1), run(3));
    assert_eq!(one.0, three.0);
    assert!(one.1 == three.1, "the weights differ");
}

#[test]
fn validation_data_and_one_hot_targets() {
    let (x, labels) = blobs(120);
    let y: Batch<Rank1<3>> = to_categorical(&labels).unwrap();
    let (xv, lv) = blobs(30);
    let yv: Batch<Rank1<3>> = to_categorical(&lv).unwrap();
    let mut model = Model::compile(Blobs::new(2), Adam::new(0.01), CategoricalCrossentropy);
    let history = model
        .fit(&x, &y, quiet(10).batch_size(10).validation_data(&xv, &yv))
        .unwrap();
    let last = history.epochs.last().unwrap();
    let check = model.evaluate(&xv, &yv, 7).unwrap();
    assert_eq!(last.val_accuracy, Some(check.accuracy));
    assert!((last.val_loss.unwrap() - check.loss).abs() < 1e-6);
}

#[test]
fn predict_and_evaluate_do_not_depend_on_the_batch_size() {
    let (x, y) = blobs(50);
    let mut model = Model::compile(
        Blobs::new(4),
        Adam::default(),
        SparseCategoricalCrossentropy,
    );
    let whole = model.predict(&x, 64).unwrap();
    assert_eq!(whole.len(), 50);
    assert_eq!(model.predict(&x, 1).unwrap(), whole);
    assert_eq!(model.predict(&x, 7).unwrap(), whole);
    let (a, b) = (
        model.evaluate(&x, &y[..], 50).unwrap(),
        model.evaluate(&x, &y[..], 3).unwrap(),
    );
    assert_eq!(a.accuracy, b.accuracy);
    assert!((a.loss - b.loss).abs() < 1e-6);
}

/// The CNN's outputs at batch 1 and batch 8 agree to rounding, not to the
/// bit: a convolution may compute by Winograd's tiles for a larger batch
/// and by im2col for one image. The bound is 1e-6 on each probability
/// (seen: about 2e-8), and the predicted classes are the same.
#[test]
fn the_cnn_predicts_alike_at_batch_1_and_8() {
    let x = Batch::<Rank3<1, 28, 28>>::from_vec(
        (0..8 * 784)
            .map(|i| ((i * 37) % 251) as f32 / 250.0)
            .collect(),
    )
    .unwrap();
    let model = Model::compile(
        ReferenceCnn::new(3),
        Adam::default(),
        SparseCategoricalCrossentropy,
    );
    let (one, eight) = (model.predict(&x, 1).unwrap(), model.predict(&x, 8).unwrap());
    let worst = one
        .as_slice()
        .iter()
        .zip(eight.as_slice())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 1e-6, "batch 1 and batch 8 differ by {worst}");
    let class = |p: &[f32]| (0..10).max_by(|&i, &j| p[i].total_cmp(&p[j]));
    for i in 0..8 {
        assert_eq!(class(one.sample(i)), class(eight.sample(i)));
    }
}

#[test]
fn regression_with_mean_squared_error() {
    let x = Batch::<Rank1<1>>::from_vec((0..64).map(|i| i as f32 / 32.0 - 1.0).collect()).unwrap();
    let y = Batch::<Rank1<1>>::from_vec(x.as_slice().iter().map(|v| v * v).collect()).unwrap();
    let mut model = Model::compile(Regressor::new(0), Adam::new(0.02), MeanSquaredError);
    let history = model.fit(&x, &y, quiet(200).batch_size(16)).unwrap();
    assert!(history.loss()[199] < 0.01, "{:?}", &history.loss()[190..]);
}

#[test]
fn a_loss_that_stops_being_finite_stops_training() {
    let (mut x, y) = blobs(64);
    x.sample_mut(40)[0] = f32::NAN; // the third batch of 16, unshuffled
    let mut model = Model::compile(
        Blobs::new(0),
        Adam::default(),
        SparseCategoricalCrossentropy,
    );
    let before = model.network.clone();
    match model.fit(&x, &y[..], quiet(2).batch_size(16).shuffle(false)) {
        Err(Error::NonFiniteLoss { at, loss }) => {
            assert_eq!(at, Some((1, 3)));
            assert!(loss.is_nan());
        }
        other => panic!("expected NonFiniteLoss, got {other:?}"),
    }
    assert_ne!(model.network, before, "the first two steps trained");
    assert!(model.network.dense_1.weight.iter().all(|w| w.is_finite()));
}

#[test]
fn bad_arguments_are_errors() {
    let (x, y) = blobs(10);
    let mut model = Model::compile(
        Blobs::new(0),
        Adam::default(),
        SparseCategoricalCrossentropy,
    );
    let invalid = |r: Result<History, Error>| matches!(r, Err(Error::InvalidArgument { .. }));
    assert!(invalid(model.fit(&x, &y[..], quiet(1).batch_size(0))));
    assert!(invalid(model.fit(
        &x,
        &y[..],
        quiet(1).validation_split(1.0)
    )));
    assert!(invalid(model.fit(
        &x,
        &y[..],
        quiet(1).validation_split(-0.1)
    )));
    assert_eq!(
        model.fit(&x, &y[..3], quiet(1)).unwrap_err(),
        Error::BatchMismatch { left: 10, right: 3 }
    );
    let bad_labels = [7; 10];
    assert_eq!(
        model.fit(&x, &bad_labels[..], quiet(1)).unwrap_err(),
        Error::LabelOutOfRange {
            label: 7,
            classes: 3
        }
    );
}

/// Bad input is found before the first step: the weights are untouched.
#[test]
fn training_inputs_are_checked_before_the_first_step() {
    let (x, y) = blobs(40);
    let mut model = Model::compile(
        Blobs::new(0),
        Adam::default(),
        SparseCategoricalCrossentropy,
    );
    let before = model.network.clone();
    // The last label is out of range: reported before any step, not at
    // the batch that holds it.
    let mut labels = y.clone();
    labels[39] = 3;
    let error = model.fit(&x, &labels[..], quiet(1).batch_size(8).shuffle(false));
    assert!(
        matches!(error, Err(Error::LabelOutOfRange { label: 3, .. })),
        "{error:?}"
    );
    // Bad validation data: before the first epoch, not after it.
    let (xv, mut yv) = blobs(4);
    yv[2] = 9;
    let error = model.fit(&x, &y[..], quiet(1).validation_data(&xv, &yv[..]));
    assert!(
        matches!(error, Err(Error::LabelOutOfRange { label: 9, .. })),
        "{error:?}"
    );
    let empty = Batch::<Rank1<2>>::new();
    let error = model.fit(&x, &y[..], quiet(1).validation_data(&empty, &[][..]));
    assert!(
        matches!(error, Err(Error::InvalidArgument { .. })),
        "{error:?}"
    );
    // A split that holds out nothing.
    let error = model
        .fit(&x, &y[..], quiet(1).validation_split(0.01))
        .unwrap_err();
    assert!(error.to_string().contains("holds out none"), "{error}");
    assert_eq!(model.network, before);

    // Evaluating nothing, predicting in batches of 0.
    let error = model.evaluate(&empty, &[][..], 8).unwrap_err();
    assert!(error.to_string().contains("at least one sample"), "{error}");
    assert!(matches!(
        model.predict(&x, 0),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn optimizer_settings_are_checked_before_the_first_step() {
    let (x, y) = blobs(8);
    let settings: [(Sgd, &str); 3] = [
        (Sgd::new(-0.1), "learning_rate"),
        (Sgd::new(f64::INFINITY), "learning_rate"),
        (Sgd::new(0.1).momentum(1.0), "momentum"),
    ];
    for (sgd, name) in settings {
        let mut model = Model::compile(Blobs::new(0), sgd, SparseCategoricalCrossentropy);
        let error = model.fit(&x, &y[..], quiet(1)).unwrap_err();
        assert!(error.to_string().contains(name), "{error}");
    }
    let adam = Adam {
        epsilon: -1e-7,
        ..Adam::default()
    };
    let mut model = Model::compile(Blobs::new(0), adam, SparseCategoricalCrossentropy);
    let error = model.fit(&x, &y[..], quiet(1)).unwrap_err();
    assert!(error.to_string().contains("epsilon"), "{error}");
}

#[test]
fn target_rows_must_be_distributions_for_categorical_crossentropy() {
    let (x, y) = blobs(8);
    let mut rows = to_categorical::<3, f32>(&y).unwrap();
    rows.sample_mut(5).copy_from_slice(&[-1.0, 1.0, 1.0]);
    let mut model = Model::compile(Blobs::new(0), Adam::default(), CategoricalCrossentropy);
    match model.fit(&x, &rows, quiet(1)) {
        Err(Error::InvalidTarget { sample, reason }) => {
            assert_eq!(sample, 5);
            assert!(reason.contains("-1"), "{reason}");
        }
        other => panic!("expected InvalidTarget, got {other:?}"),
    }
}

/// SGD at a learning rate of a million: the clipped loss stays finite, the
/// weights explode; fit stops with `Diverged` instead of returning `Ok`.
#[test]
fn exploding_weights_stop_training() {
    let (x, y) = blobs(256);
    let mut model = Model::compile(Blobs::new(0), Sgd::new(1e6), SparseCategoricalCrossentropy);
    // Four steps an epoch: the loss stays finite, the check after the
    // epoch finds the weights.
    match model.fit(&x, &y[..], quiet(3).batch_size(64)) {
        Err(Error::Diverged {
            parameter,
            value,
            at,
        }) => {
            assert_eq!((parameter.as_str(), at), ("dense_1.weight", (1, 4)));
            assert!(value.abs() > 1e8, "{value}");
        }
        other => panic!("expected Diverged, got {other:?}"),
    }
}

network! {
    struct SmallMnistMlp: Input<1, 28, 28> -> Flatten -> Dense<32, ReLU> -> Dense<10, Softmax>;
}

#[test]
fn a_small_mlp_learns_mnist() {
    let mut mnist: Mnist = common::mnist();
    mnist.train_images.resize(3000);
    mnist.train_labels.truncate(3000);
    let mut model = Model::compile(
        SmallMnistMlp::new(0),
        Adam::default(),
        SparseCategoricalCrossentropy,
    );
    let history = model
        .fit(
            &mnist.train_images,
            &mnist.train_labels[..],
            quiet(3).validation_split(0.2),
        )
        .unwrap();
    assert!(history.val_accuracy()[2] > 0.85, "{history:?}");
    let test = model
        .evaluate(&mnist.test_images, &mnist.test_labels[..], 256)
        .unwrap();
    assert!(test.accuracy > 0.85, "{test:?}");
}

#[test]
fn batches_cover_each_sample_once_per_epoch_reshuffled_into_reused_buffers() {
    use keelnet::train::Batches;
    let x = Batch::<Rank1<2>>::from_vec((0..46).map(|v| v as f32).collect()).unwrap();
    let labels: Vec<usize> = (0..23).collect();
    let epoch = |batches: &mut Batches<'_, Rank1<2>, Rank1<23>, f32, [usize]>| {
        batches.start_epoch();
        let (mut order, mut sizes, mut buffers) = (Vec::new(), Vec::new(), Vec::new());
        while let Some((xb, yb)) = batches.next_batch() {
            // Each target travels with its sample.
            for (sample, &label) in xb.samples().zip(yb) {
                assert_eq!(sample, &[2.0 * label as f32, 2.0 * label as f32 + 1.0]);
            }
            order.extend(yb.iter().copied());
            sizes.push(yb.len());
            buffers.push(xb.as_slice().as_ptr());
        }
        (order, sizes, buffers)
    };
    // 20 of 23 samples, as with a validation split holding out the last 3.
    let mut batches = Batches::new(&x, &labels[..], 20, 6, Some(9));
    assert_eq!(batches.len(), 4);
    let (first, sizes, buffers) = epoch(&mut batches);
    let (second, _, _) = epoch(&mut batches);
    assert_eq!(sizes, [6, 6, 6, 2]);
    assert!(
        buffers.windows(2).all(|w| w[0] == w[1]),
        "the batch buffer was reallocated"
    );
    let mut sorted = first.clone();
    sorted.sort();
    assert_eq!(sorted, (0..20).collect::<Vec<_>>());
    assert_ne!(first, second, "each epoch is reshuffled");
    let mut again = Batches::new(&x, &labels[..], 20, 6, Some(9));
    assert_eq!(
        epoch(&mut again).0,
        first,
        "the same seed gives the same order"
    );
    let mut in_order = Batches::new(&x, &labels[..], 20, 6, None);
    assert_eq!(epoch(&mut in_order).0, (0..20).collect::<Vec<_>>());
}
