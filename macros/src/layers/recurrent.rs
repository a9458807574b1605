//! The recurrent layers, `SimpleRNN<UNITS>` and `LSTM<UNITS>`, with the
//! option `return_sequences = true`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::LayerPlan;
use crate::args::Args;
use crate::diagnostics::Diagnostics;
use crate::parse::LayerCall;
use crate::shape::Shape;

const USAGE: &str = "`SimpleRNN<UNITS>` or `LSTM<UNITS>`, with the option `return_sequences = true` for the state at every step";

struct Recurrent {
    /// `SimpleRNN` or `LSTM`.
    name: String,
    units: usize,
    sequences: bool,
}

pub fn parse(call: &LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics> {
    let mut args = Args::new(call, USAGE);
    let units = args.count("number of units");
    let sequences = args.bool_option("return_sequences").unwrap_or(false);
    let diagnostics = args.finish();
    let name = call.name.to_string();
    match units {
        Some(units) if diagnostics.is_empty() => Ok(Box::new(Recurrent {
            name,
            units,
            sequences,
        })),
        _ => Err(diagnostics),
    }
}

impl Recurrent {
    /// The gates whose weights sit side by side: one, or LSTM's four.
    fn gates(&self) -> usize {
        if self.name == "LSTM" { 4 } else { 1 }
    }
}

impl LayerPlan for Recurrent {
    // Keras' names: `simple_rnn`, `lstm`.
    fn prefix(&self) -> String {
        if self.name == "LSTM" {
            "lstm".into()
        } else {
            "simple_rnn".into()
        }
    }

    // [T, D] -> [UNITS], or [T, UNITS] with return_sequences
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        match input.0[..] {
            [steps, _] if self.sequences => Ok(Shape(vec![steps, self.units])),
            [_, _] => Ok(Shape(vec![self.units])),
            _ => Err(format!(
                "`{}<{}>` takes a sequence [T, D], but receives shape {input}",
                self.name, self.units
            )),
        }
    }

    fn ty(&self, input: &Shape, _output: &Shape) -> TokenStream {
        let (features, units) = (input.0[1], self.units);
        let returns = if self.sequences {
            quote!(::keelnet::Sequences)
        } else {
            quote!(::keelnet::LastState)
        };
        let name = format_ident!("{}", self.name);
        quote!(::keelnet::#name<#features, #units, #returns, F>)
    }

    fn init(&self) -> TokenStream {
        let name = format_ident!("{}", self.name);
        quote!(::keelnet::#name::new(&mut *rng))
    }

    // kernel [D, G·UNITS], recurrent kernel [UNITS, G·UNITS], bias [G·UNITS]
    fn param_count(&self, input: &Shape, _output: &Shape) -> usize {
        let features = input.0.last().copied().unwrap_or(0);
        self.gates() * (features + self.units + 1) * self.units
    }
}
