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

    // [IN] -> [UNITS]; a sequence [T, IN] -> [T, UNITS], step by step
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        if input.0.len() > 2 {
            let written = if self.activation.is_linear() {
                format!("Dense<{}>", self.units)
            } else {
                format!("Dense<{}, {}>", self.units, self.activation.0)
            };
            return Err(format!(
                "`{written}` needs a flat input (or a sequence [T, D]), but receives shape {input}; add `Flatten` before it"
            ));
        }
        let mut output = input.0.clone();
        *output.last_mut().expect("a shape has dimensions") = self.units;
        Ok(Shape(output))
    }

    fn output_without_input(&self) -> Option<Shape> {
        Some(Shape(vec![self.units]))
    }

    fn ty(&self, input: &Shape, _output: &Shape) -> TokenStream {
        let inputs = *input.0.last().expect("a shape has dimensions");
        let (units, activation) = (self.units, self.activation.ty());
        quote!(::keelnet::Dense<#inputs, #units, #activation, F>)
    }

    fn init(&self) -> TokenStream {
        quote!(::keelnet::Dense::new(&mut *rng))
    }

    fn param_count(&self, input: &Shape, _output: &Shape) -> usize {
        let inputs = input.0.last().copied().unwrap_or(0);
        inputs * self.units + self.units
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
}
