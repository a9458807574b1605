//! An optimizer's per-tensor state, keyed by the tensor's name.

use crate::{Float, ParamInfo};

/// One vector of optimizer state per parameter tensor (Adam's first
/// moments, a momentum), each keyed by its tensor's name
/// (`dense_1.weight`), so that it stays with its tensor and can be saved
/// and restored by name.
///
/// Entries are kept in walk order: after the first step a tensor's state
/// is found at its position in the walk, by comparing names, with no
/// allocation. A state whose tensor changed length starts again from zero.
///
/// ```
/// use keelnet::{Adam, Dense, DenseGrads, Linear, Optimizer};
/// use rand::SeedableRng;
/// let mut layer = Dense::<2, 1, Linear>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let mut adam: Adam = Adam::default();
/// adam.step(&mut layer, &DenseGrads::default());
/// let names: Vec<&str> = adam.m.iter().map(|(name, _)| name).collect();
/// assert_eq!(names, ["weight", "bias"]);
/// assert_eq!(adam.m.get("bias"), Some(&[0.0][..]));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ParamState<F: Float = f32> {
    entries: Vec<(String, Vec<F>)>,
}

impl<F: Float> Default for ParamState<F> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

/// Whether `name` is `info`'s tensor's name, without building that name.
fn is_named(name: &str, info: ParamInfo<'_>) -> bool {
    if info.layer.is_empty() {
        return name == info.name;
    }
    name.len() == info.layer.len() + 1 + info.name.len()
        && name.starts_with(info.layer)
        && name[info.layer.len()..].starts_with('.')
        && name.ends_with(info.name)
}

impl<F: Float> ParamState<F> {
    /// The state of `info`'s tensor, `len` values, zero on first use;
    /// `slot`, its position in the walk, is where it is looked for first.
    pub(crate) fn get_mut(&mut self, slot: usize, info: ParamInfo<'_>, len: usize) -> &mut [F] {
        let at_slot = self
            .entries
            .get(slot)
            .is_some_and(|(name, _)| is_named(name, info));
        let mut index = if at_slot {
            slot
        } else {
            match self
                .entries
                .iter()
                .position(|(name, _)| is_named(name, info))
            {
                Some(index) => index,
                None => {
                    self.entries.push((info.to_string(), Vec::new()));
                    self.entries.len() - 1
                }
            }
        };
        if index != slot && slot < self.entries.len() {
            self.entries.swap(index, slot);
            index = slot;
        }
        let state = &mut self.entries[index].1;
        if state.len() != len {
            *state = vec![F::zero(); len];
        }
        state
    }

    /// The state of the tensor named `name`, if it has any yet.
    ///
    /// ```
    /// use keelnet::optim::ParamState;
    /// assert_eq!(ParamState::<f32>::default().get("dense_1.weight"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&[F]> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, values)| &values[..])
    }

    /// Sets the state of the tensor named `name` (restoring a saved
    /// optimizer); the next step uses it if the lengths agree.
    ///
    /// ```
    /// use keelnet::optim::ParamState;
    /// let mut state = ParamState::<f32>::default();
    /// state.insert("dense_1.bias", vec![0.5, 0.25]);
    /// assert_eq!(state.get("dense_1.bias"), Some(&[0.5, 0.25][..]));
    /// ```
    pub fn insert(&mut self, name: impl Into<String>, values: Vec<F>) {
        let name = name.into();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = values,
            None => self.entries.push((name, values)),
        }
    }

    /// Every tensor's name and state, in walk order.
    ///
    /// ```
    /// use keelnet::optim::ParamState;
    /// let mut state = ParamState::<f64>::default();
    /// state.insert("w", vec![1.0]);
    /// assert_eq!(state.iter().count(), 1);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[F])> {
        self.entries.iter().map(|(n, v)| (n.as_str(), &v[..]))
    }
}
