//! Reading a layer's arguments, with an error for each one that is wrong.

use proc_macro2::Span;
use syn::Ident;

use crate::activation::Activation;
use crate::diagnostics::Diagnostics;
use crate::parse::{Arg, LayerCall, Value};

/// The arguments of one layer call, consumed by the layer's parser.
pub struct Args<'a> {
    call: &'a LayerCall,
    usage: &'static str,
    positional: std::collections::VecDeque<&'a Value>,
    named: Vec<(&'a Ident, &'a Value)>,
    pub diagnostics: Diagnostics,
}

impl<'a> Args<'a> {
    /// `usage` is shown when arguments are missing or extra, e.g.
    /// "`Dense<UNITS>` or `Dense<UNITS, Activation>`".
    pub fn new(call: &'a LayerCall, usage: &'static str) -> Self {
        let mut positional = std::collections::VecDeque::new();
        let mut named = Vec::new();
        for arg in &call.args {
            match arg {
                Arg::Positional(value) => positional.push_back(value),
                Arg::Named(key, value) => named.push((key, value)),
            }
        }
        Self {
            call,
            usage,
            positional,
            named,
            diagnostics: Diagnostics::default(),
        }
    }

    fn missing(&mut self, what: &str) {
        let message = format!(
            "`{}` is missing its {what}; write {}",
            self.call.name, self.usage
        );
        self.diagnostics.error(self.call.span, message);
    }

    /// The next positional argument: a whole number of at least 1.
    pub fn count(&mut self, what: &str) -> Option<usize> {
        let Some(value) = self.positional.pop_front() else {
            self.missing(what);
            return None;
        };
        self.check_count(value, what)
    }

    fn check_count(&mut self, value: &Value, what: &str) -> Option<usize> {
        let name = &self.call.name;
        match value {
            Value::Int(0, span) => {
                self.diagnostics.error(
                    *span,
                    format!("`{name}` needs at least 1 for its {what}, not 0"),
                );
                None
            }
            Value::Int(v, span) => match usize::try_from(*v) {
                Ok(v) => Some(v),
                Err(_) => {
                    self.diagnostics
                        .error(*span, format!("{what} {v} is too large"));
                    None
                }
            },
            other => {
                self.diagnostics.error(
                    other.span(),
                    format!("`{name}` expects a whole number for its {what}, not `{other}`"),
                );
                None
            }
        }
    }

    /// The next positional argument if it is a name: an activation.
    pub fn activation(&mut self) -> Option<Activation> {
        match self.positional.front() {
            Some(Value::Name(ident)) => {
                self.positional.pop_front();
                match Activation::from_ident(ident) {
                    Ok(activation) => Some(activation),
                    Err(message) => {
                        self.diagnostics.error(ident.span(), message);
                        None
                    }
                }
            }
            _ => None,
        }
    }

    /// The next positional argument: a number (a rate).
    pub fn number(&mut self, what: &str) -> Option<(f64, Span)> {
        match self.positional.pop_front() {
            Some(&Value::Float(v, span)) => Some((v, span)),
            Some(&Value::Int(v, span)) => Some((v as f64, span)),
            Some(other) => {
                let name = &self.call.name;
                self.diagnostics.error(
                    other.span(),
                    format!("`{name}` expects a number for its {what}, not `{other}`"),
                );
                None
            }
            None => {
                self.missing(what);
                None
            }
        }
    }

    /// The option `key = value`, if given.
    pub fn option(&mut self, key: &str) -> Option<&'a Value> {
        let index = self.named.iter().position(|(k, _)| *k == key)?;
        Some(self.named.remove(index).1)
    }

    /// The option `key = true | false`, if given; anything else is an error.
    pub fn bool_option(&mut self, key: &str) -> Option<bool> {
        match self.option(key)? {
            Value::Bool(v, _) => Some(*v),
            other => {
                let message = format!("`{key}` is `true` or `false`, not `{other}`");
                self.diagnostics.error(other.span(), message);
                None
            }
        }
    }

    /// The option `key = N`, a whole number of at least 1, if given.
    pub fn count_option(&mut self, key: &str) -> Option<usize> {
        let value = self.option(key)?;
        self.check_count(value, key)
    }

    /// Reports arguments no reader took, and returns every error found.
    pub fn finish(mut self) -> Diagnostics {
        let name = &self.call.name;
        for value in &self.positional {
            self.diagnostics.error(
                value.span(),
                format!("unexpected argument `{value}`: write {}", self.usage),
            );
        }
        for (key, _) in &self.named {
            self.diagnostics.error(
                key.span(),
                format!("`{name}` has no option `{key}`: write {}", self.usage),
            );
        }
        self.diagnostics
    }
}
