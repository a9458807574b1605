//! Buffers of the wrong size and labels out of range give typed errors.

use keelnet::{
    ActivationKind, Batch, CategoricalCrossentropy, Error, Loss, MeanSquaredError, Rank1, Rank3,
    SparseCategoricalCrossentropy,
};

#[test]
fn wrong_length_buffers_are_typed_errors() {
    assert_eq!(
        Batch::<Rank3<1, 28, 28>>::from_vec(vec![0.0; 785]).unwrap_err(),
        Error::NotWholeSamples {
            len: 785,
            sample_len: 784
        }
    );
    assert_eq!(
        Batch::<Rank1<3>>::from_slice(&[1.0, 2.0]).unwrap_err(),
        Error::NotWholeSamples {
            len: 2,
            sample_len: 3
        }
    );
    assert_eq!(
        Batch::<Rank1<3>>::from_vec_with_len(vec![0.0; 9], 2).unwrap_err(),
        Error::LengthMismatch {
            expected: 6,
            actual: 9
        }
    );
    assert!(Batch::<Rank1<0>>::from_vec(vec![]).is_err());
}

#[test]
fn right_length_buffers_round_trip() {
    let data: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let x = Batch::<Rank3<1, 2, 3>>::from_vec(data.clone()).unwrap();
    assert_eq!(x.len(), 2);
    assert_eq!(x.sample(1), &data[6..]);
    assert_eq!(x.into_vec(), data);
    assert!(Batch::<Rank1<4>>::from_vec(vec![]).unwrap().is_empty());
}

#[test]
fn losses_refuse_mismatched_batches_and_bad_labels() {
    let pred = Batch::<Rank1<3>>::zeros(2);
    let mut grad = Batch::new();
    assert_eq!(
        MeanSquaredError.loss(&pred, &Batch::zeros(3)),
        Err(Error::BatchMismatch { left: 2, right: 3 })
    );
    assert_eq!(
        CategoricalCrossentropy.gradient(
            &pred,
            &Batch::zeros(1),
            ActivationKind::Softmax,
            &mut grad
        ),
        Err(Error::BatchMismatch { left: 2, right: 1 })
    );
    assert_eq!(
        SparseCategoricalCrossentropy.loss(&pred, &[0, 3]),
        Err(Error::LabelOutOfRange {
            label: 3,
            classes: 3
        })
    );
    assert_eq!(
        SparseCategoricalCrossentropy.gradient(&pred, &[0], ActivationKind::Softmax, &mut grad),
        Err(Error::BatchMismatch { left: 2, right: 1 })
    );
}
