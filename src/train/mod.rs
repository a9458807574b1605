//! The Keras workflow: compile a network with an optimizer and a loss, then
//! `fit`, `evaluate` and `predict`.

mod batches;
mod checks;
mod fit;
mod history;
mod model;
mod progress;
mod targets;
mod threads;

pub use batches::Batches;
pub use checks::{MAX_PARAMETER, PARAMETER_CHECK_STEPS};
pub use fit::{Fit, Validation};
pub use history::{EpochLog, History};
pub use model::{Evaluation, Model};
pub use progress::Verbosity;
pub use targets::{Targets, gather_samples};
