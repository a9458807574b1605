//! `Flatten`: any shape to `[NUMEL]`.

use proc_macro2::TokenStream;
use quote::quote;

use super::LayerPlan;
use crate::args::Args;
use crate::diagnostics::Diagnostics;
use crate::parse::LayerCall;
use crate::shape::Shape;

struct Flatten;

pub fn parse(call: &LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics> {
    let diagnostics = Args::new(call, "`Flatten` (it takes no arguments)").finish();
    if diagnostics.is_empty() {
        Ok(Box::new(Flatten))
    } else {
        Err(diagnostics)
    }
}

impl LayerPlan for Flatten {
    fn prefix(&self) -> String {
        "flatten".into()
    }

    // [D1, D2, ...] -> [D1 * D2 * ...]
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        Ok(Shape(vec![input.numel()]))
    }

    fn ty(&self, _input: &Shape, output: &Shape) -> TokenStream {
        let n = output.0[0];
        quote!(::keelnet::Flatten<#n>)
    }

    fn init(&self) -> TokenStream {
        quote!(::keelnet::Flatten)
    }
}
