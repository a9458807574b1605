//! `BatchNormalization`: features or image channels normalized over the batch.

use proc_macro2::TokenStream;
use quote::quote;

use super::LayerPlan;
use crate::args::Args;
use crate::diagnostics::Diagnostics;
use crate::parse::LayerCall;
use crate::shape::Shape;

struct BatchNormalization;

pub fn parse(call: &LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics> {
    let diagnostics = Args::new(call, "`BatchNormalization` (it takes no arguments)").finish();
    if diagnostics.is_empty() {
        Ok(Box::new(BatchNormalization))
    } else {
        Err(diagnostics)
    }
}

impl LayerPlan for BatchNormalization {
    fn prefix(&self) -> String {
        "batch_normalization".into()
    }

    // [C] -> [C], [C, H, W] -> [C, H, W]
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        if !matches!(input.0.len(), 1 | 3) {
            return Err(format!(
                "`BatchNormalization` normalizes features ([N], after `Dense`) or image channels ([C, H, W], after `Conv2D`), but receives shape {input}"
            ));
        }
        Ok(input.clone())
    }

    fn ty(&self, input: &Shape, _output: &Shape) -> TokenStream {
        let channels = input.0[0];
        quote!(::keelnet::BatchNormalization<#channels, F>)
    }

    fn init(&self) -> TokenStream {
        quote!(::keelnet::BatchNormalization::new())
    }

    // γ and β
    fn param_count(&self, input: &Shape, _output: &Shape) -> usize {
        2 * input.0[0]
    }

    // the moving mean and variance
    fn state_count(&self, input: &Shape, _output: &Shape) -> usize {
        2 * input.0[0]
    }
}
