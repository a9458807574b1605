//! `Dense<UNITS>` and `Dense<UNITS, Activation>`.

use proc_macro2::TokenStream;
use quote::quote;

use super::LayerPlan;
use crate::activation::Activation;
use crate::args::Args;
use crate::diagnostics::Diagnostics;
use crate::parse::LayerCall;
use crate::shape::Shape;

struct Dense {
    units: usize,
    activation: Activation,
}

pub fn parse(call: &LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics> {
    let mut args = Args::new(call, "`Dense<UNITS>` or `Dense<UNITS, Activation>`");
    let units = args.count("number of units");
    let activation = args.activation().unwrap_or(Activation("Linear"));
    let diagnostics = args.finish();
    match units {
        Some(units) if diagnostics.is_empty() => Ok(Box::new(Dense { units, activation })),
        _ => Err(diagnostics),
    }
}

impl LayerPlan for Dense {
    fn prefix(&self) -> String {
        "dense".into()
    }

    // [IN] -> [UNITS]
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        if input.0.len() != 1 {
            let written = if self.activation.is_linear() {
                format!("Dense<{}>", self.units)
            } else {
                format!("Dense<{}, {}>", self.units, self.activation.0)
            };
            return Err(format!(
                "`{written}` needs a flat input, but receives shape {input}; add `Flatten` before it"
            ));
        }
        Ok(Shape(vec![self.units]))
    }

    fn output_without_input(&self) -> Option<Shape> {
        Some(Shape(vec![self.units]))
    }

    fn ty(&self, input: &Shape, _output: &Shape) -> TokenStream {
        let (inputs, units, activation) = (input.0[0], self.units, self.activation.ty());
        quote!(::keelnet::Dense<#inputs, #units, #activation, F>)
    }

    fn init(&self) -> TokenStream {
        quote!(::keelnet::Dense::new(&mut *rng))
    }

    fn param_count(&self, input: &Shape, _output: &Shape) -> usize {
        input.numel() * self.units + self.units
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
}
