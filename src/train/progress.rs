//! Training progress as Keras prints it: `Epoch 3/10`, then a bar (on a
//! terminal) or one line per epoch (in logs).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::EpochLog;

/// How much `fit` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Nothing.
    Silent,
    /// A live bar when standard output is a terminal, else one line per epoch.
    #[default]
    Auto,
    /// One line per epoch (Keras' `verbose=2`).
    Lines,
}

/// The display of one `fit`.
pub(crate) struct Progress {
    verbosity: Verbosity,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(verbosity: Verbosity) -> Self {
        let verbosity = match verbosity {
            Verbosity::Auto if !std::io::stdout().is_terminal() => Verbosity::Lines,
            other => other,
        };
        Self {
            verbosity,
            bar: None,
        }
    }

    pub fn start_epoch(&mut self, epoch: usize, epochs: usize, steps: usize) {
        if self.verbosity == Verbosity::Silent {
            return;
        }
        println!("Epoch {epoch}/{epochs}");
        if self.verbosity == Verbosity::Auto {
            let bar =
                ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stdout());
            bar.set_style(
                ProgressStyle::with_template("{pos}/{len} [{bar:30}] {elapsed} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            self.bar = Some(bar);
        }
    }

    /// After each step: the running loss and accuracy.
    pub fn step(&mut self, step: usize, elapsed: Duration, loss: f64, accuracy: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            if step.is_multiple_of(16) {
                bar.set_message(format!(
                    "- {} - loss: {loss:.4} - accuracy: {accuracy:.4}",
                    per_step(elapsed, step)
                ));
            }
        }
    }

    pub fn end_epoch(&mut self, log: &EpochLog, steps: usize) {
        let mut line = format!(
            "- {} - loss: {:.4} - accuracy: {:.4}",
            per_step(Duration::from_secs_f64(log.seconds), steps),
            log.loss,
            log.accuracy
        );
        if let (Some(loss), Some(accuracy)) = (log.val_loss, log.val_accuracy) {
            line += &format!(" - val_loss: {loss:.4} - val_accuracy: {accuracy:.4}");
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.verbosity != Verbosity::Silent {
            println!("{steps}/{steps} - {:.1}s {line}", log.seconds);
        }
    }
}

/// `1ms/step`, `250us/step`.
fn per_step(elapsed: Duration, steps: usize) -> String {
    let micros = elapsed.as_secs_f64() * 1e6 / steps.max(1) as f64;
    if micros >= 1000.0 {
        format!("{:.0}ms/step", micros / 1000.0)
    } else {
        format!("{micros:.0}us/step")
    }
}
