//! What `fit` checks before its first step and between steps: the
//! targets against the loss, the parameters against divergence.

use std::borrow::Borrow;

use super::Targets;
use crate::{Error, Float, Loss, ParamKind, Parameters, Result, Shape};

/// The largest magnitude a parameter may reach before training counts as
/// diverged ([`Error::Diverged`]). Trained weights stay many orders of
/// magnitude below it; a clipped loss can hide a run whose weights have
/// grown past it.
///
/// ```
/// assert_eq!(keelnet::train::MAX_PARAMETER, 1e8);
/// ```
pub const MAX_PARAMETER: f64 = 1e8;

/// Steps between two checks of the parameters during `fit` (and one after
/// each epoch): often enough to stop a diverged run early, rarely enough to
/// cost nothing measurable.
pub const PARAMETER_CHECK_STEPS: usize = 64;

/// Every target of `y`, checked by `loss` at once, before any step.
pub(crate) fn check_targets<O, F, L, Y>(loss: &L, y: &Y) -> Result<()>
where
    O: Shape,
    F: Float,
    L: Loss<O, F>,
    Y: Targets<O, F> + ?Sized,
    Y::Batch: Borrow<L::Target>,
{
    let all: Vec<usize> = (0..y.count()).collect();
    let mut targets = Y::Batch::default();
    y.gather(&all, &mut targets);
    loss.check_targets(targets.borrow())
}

/// `Ok` unless a parameter of `network` is not finite or exceeds
/// [`MAX_PARAMETER`] in magnitude; `at` is the epoch and step reported.
pub(crate) fn check_parameters<F: Float, N: Parameters<F>>(
    network: &N,
    at: (usize, usize),
) -> Result<()> {
    let mut found = None;
    network.visit_params("", &mut |info, values| {
        if found.is_some() || info.kind == ParamKind::State {
            return;
        }
        let value = |v: &F| Float::to_f64(*v);
        let bad = values
            .iter()
            .find(|&v| !value(v).is_finite() || value(v).abs() > MAX_PARAMETER);
        if let Some(v) = bad {
            found = Some((info.to_string(), value(v)));
        }
    });
    match found {
        Some((parameter, value)) => Err(Error::Diverged {
            parameter,
            value,
            at,
        }),
        None => Ok(()),
    }
}
