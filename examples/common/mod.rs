//! What both MNIST examples share: their command line, the data, the report.

use std::path::PathBuf;

use keelnet::datasets::mnist::{Image, Mnist};
use keelnet::datasets::to_categorical;
use keelnet::train::{EpochLog, History};
use keelnet::train::{Fit, Model};
use keelnet::{Adam, CategoricalCrossentropy, Layer};
use keelnet::{Batch, Rank1};

/// The command line of an example.
pub struct Options {
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    pub data: Option<PathBuf>,
    pub json: bool,
    /// Train and test on at most this many samples each (for quick checks).
    pub limit: Option<usize>,
    /// The last this many epochs run at a tenth of the learning rate.
    pub fine_tune: usize,
}

const USAGE: &str = "options:
  --epochs N       passes over the training data
  --batch-size N   samples per step
  --seed N         seed of the weights, shuffling and dropout
  --data DIR       directory holding the MNIST files (default: $KEELNET_DATA/mnist, then data/mnist, then download)
  --limit N        train and test on at most N samples each (a quick run)
  --fine-tune N    run the last N epochs at a tenth of the learning rate
                   (none unless there are more epochs than N)
  --json           print one JSON line with the results at the end";

impl Options {
    /// Parses the command line over the reference program's defaults.
    pub fn parse(
        epochs: usize,
        batch_size: usize,
        fine_tune: usize,
    ) -> Result<Self, lexopt::Error> {
        use lexopt::prelude::*;
        let mut options = Options {
            epochs,
            batch_size,
            seed: 42,
            data: None,
            json: false,
            limit: None,
            fine_tune,
        };
        let mut parser = lexopt::Parser::from_env();
        while let Some(arg) = parser.next()? {
            match arg {
                Long("epochs") => options.epochs = parser.value()?.parse()?,
                Long("batch-size") => options.batch_size = parser.value()?.parse()?,
                Long("seed") => options.seed = parser.value()?.parse()?,
                Long("data") => options.data = Some(parser.value()?.into()),
                Long("limit") => options.limit = Some(parser.value()?.parse()?),
                Long("fine-tune") => options.fine_tune = parser.value()?.parse()?,
                Long("json") => options.json = true,
                Long("help") | Short('h') => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(options)
    }

    /// MNIST, cut to `--limit`, with one-hot training targets.
    pub fn load_mnist(&self) -> Result<(Mnist, Batch<Rank1<10>>), keelnet::Error> {
        let mut mnist: Mnist = Mnist::load(self.data.as_deref())?;
        if let Some(limit) = self.limit {
            let train = limit.min(mnist.train_labels.len());
            let test = limit.min(mnist.test_labels.len());
            mnist.train_images.resize(train);
            mnist.train_labels.truncate(train);
            mnist.test_images.resize(test);
            mnist.test_labels.truncate(test);
        }
        let one_hot = to_categorical(&mnist.train_labels)?;
        Ok((mnist, one_hot))
    }

    /// Prints the result: a sentence, and the JSON line if asked.
    pub fn report(
        &self,
        model: &str,
        params: usize,
        history: &History,
        test_loss: f64,
        test_accuracy: f64,
    ) {
        println!("Test loss: {test_loss:.4} - test accuracy: {test_accuracy:.4}");
        if self.json {
            let line = serde_json::json!({
                "model": model,
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "seed": self.seed,
                "params": params,
                "epoch_seconds": history.epoch_seconds(),
                "loss": history.loss(),
                "accuracy": history.accuracy(),
                "val_loss": history.val_loss(),
                "val_accuracy": history.val_accuracy(),
                "test_loss": test_loss,
                "test_accuracy": test_accuracy,
            });
            println!("{line}");
        }
    }
}

/// Trains `network` on MNIST as the Keras tutorials do (Adam, categorical
/// cross-entropy, validated after each epoch on the fraction
/// `validation_split` of the training data held out, the MLP tutorial's,
/// or on the test set if `None`, the CNN tutorial's), the last
/// `--fine-tune` epochs at a tenth of the learning rate (Keras'
/// `LearningRateScheduler` with a step), then evaluates it on the test set
/// and reports as `name`.
pub fn fit_and_report<N>(
    name: &str,
    network: N,
    params: usize,
    validation_split: Option<f64>,
    options: &Options,
) -> Result<(), Box<dyn std::error::Error>>
where
    N: Layer<Image, f32, Output = Rank1<10>> + std::fmt::Display + Send,
{
    let (mnist, y_train) = options.load_mnist()?;
    println!("{network}");
    let y_test = to_categorical(&mnist.test_labels)?;
    let mut model = Model::compile(network, Adam::default(), CategoricalCrossentropy);
    let fit = |epochs: usize, seed: u64| {
        let fit = Fit::epochs(epochs)
            .batch_size(options.batch_size)
            .seed(seed);
        match validation_split {
            Some(fraction) => fit.validation_split(fraction),
            None => fit.validation_data(&mnist.test_images, &y_test),
        }
    };
    // Fine-tuning follows at least one epoch at the full rate.
    let fine_tune = if options.epochs > options.fine_tune {
        options.fine_tune
    } else {
        0
    };
    let epochs = options.epochs - fine_tune;
    let mut history = model.fit(&mnist.train_images, &y_train, fit(epochs, options.seed))?;
    if fine_tune > 0 {
        model.optimizer.learning_rate /= 10.0;
        println!("Learning rate {}:", model.optimizer.learning_rate);
        let more = model.fit(
            &mnist.train_images,
            &y_train,
            fit(fine_tune, options.seed + 1),
        )?;
        let done = history.epochs.len();
        history
            .epochs
            .extend(more.epochs.into_iter().map(|e| EpochLog {
                epoch: e.epoch + done,
                ..e
            }));
    }
    let test = model.evaluate(&mnist.test_images, &y_test, options.batch_size)?;
    options.report(name, params, &history, test.loss, test.accuracy);
    Ok(())
}
