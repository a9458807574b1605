//! `GlobalAveragePooling1D` and `GlobalMaxPooling1D`: a sequence `[T, D]`
//! pooled over its steps to `[D]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::LayerPlan;
use crate::args::Args;
use crate::diagnostics::Diagnostics;
use crate::parse::LayerCall;
use crate::shape::Shape;

/// Either pooling, by the name written.
struct GlobalPooling1D {
    name: String,
}

pub fn parse(call: &LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics> {
    let name = call.name.to_string();
    let usage = if name.contains("Average") {
        "`GlobalAveragePooling1D` (it takes no arguments)"
    } else {
        "`GlobalMaxPooling1D` (it takes no arguments)"
    };
    let diagnostics = Args::new(call, usage).finish();
    if diagnostics.is_empty() {
        Ok(Box::new(GlobalPooling1D { name }))
    } else {
        Err(diagnostics)
    }
}

impl LayerPlan for GlobalPooling1D {
    // Keras' names: `global_average_pooling1d`, `global_max_pooling1d`.
    fn prefix(&self) -> String {
        let kind = if self.name.contains("Average") {
            "average"
        } else {
            "max"
        };
        format!("global_{kind}_pooling1d")
    }

    // [T, D] -> [D]
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        match input.0[..] {
            [_, features] => Ok(Shape(vec![features])),
            _ => Err(format!(
                "`{}` pools a sequence [T, D] over its steps, but receives shape {input}",
                self.name
            )),
        }
    }

    fn ty(&self, _input: &Shape, _output: &Shape) -> TokenStream {
        let name = format_ident!("{}", self.name);
        quote!(::keelnet::#name)
    }

    fn init(&self) -> TokenStream {
        let name = format_ident!("{}", self.name);
        quote!(::keelnet::#name)
    }
}
