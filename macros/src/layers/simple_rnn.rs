//! `SimpleRNN<UNITS>`, with the option `return_sequences = true`.

use proc_macro2::TokenStream;
use quote::quote;

use super::LayerPlan;
use crate::args::Args;
use crate::diagnostics::Diagnostics;
use crate::parse::LayerCall;
use crate::shape::Shape;

const USAGE: &str =
    "`SimpleRNN<UNITS>`, with the option `return_sequences = true` for the state at every step";

struct SimpleRnn {
    units: usize,
    sequences: bool,
}

pub fn parse(call: &LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics> {
    let mut args = Args::new(call, USAGE);
    let units = args.count("number of units");
    let sequences = args.bool_option("return_sequences").unwrap_or(false);
    let diagnostics = args.finish();
    match units {
        Some(units) if diagnostics.is_empty() => Ok(Box::new(SimpleRnn { units, sequences })),
        _ => Err(diagnostics),
    }
}

impl LayerPlan for SimpleRnn {
    fn prefix(&self) -> String {
        "simple_rnn".into()
    }

    // [T, D] -> [UNITS], or [T, UNITS] with return_sequences
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        match input.0[..] {
            [steps, _] if self.sequences => Ok(Shape(vec![steps, self.units])),
            [_, _] => Ok(Shape(vec![self.units])),
            _ => Err(format!(
                "`SimpleRNN<{}>` takes a sequence [T, D], but receives shape {input}",
                self.units
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
        quote!(::keelnet::SimpleRNN<#features, #units, #returns, F>)
    }

    fn init(&self) -> TokenStream {
        quote!(::keelnet::SimpleRNN::new(&mut *rng))
    }

    // kernel [D, UNITS], recurrent kernel [UNITS, UNITS], bias [UNITS]
    fn param_count(&self, input: &Shape, _output: &Shape) -> usize {
        let features = input.0.last().copied().unwrap_or(0);
        (features + self.units + 1) * self.units
    }
}
