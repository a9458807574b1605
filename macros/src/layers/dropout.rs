//! `Dropout<RATE>`: any shape, unchanged.

use proc_macro2::TokenStream;
use quote::quote;

use super::LayerPlan;
use crate::args::Args;
use crate::diagnostics::Diagnostics;
use crate::parse::LayerCall;
use crate::shape::Shape;

struct Dropout {
    rate: f64,
}

pub fn parse(call: &LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics> {
    let mut args = Args::new(
        call,
        "`Dropout<RATE>` with a rate from 0 up to (not including) 1, such as `Dropout<0.5>`",
    );
    let rate = args.number("rate");
    let mut diagnostics = args.finish();
    if let Some((rate, span)) = rate {
        if !(0.0..1.0).contains(&rate) {
            diagnostics.error(
                span,
                format!(
                    "the rate of `Dropout` is the fraction of values dropped, from 0 up to (not including) 1, such as `Dropout<0.5>`; {rate} is not"
                ),
            );
        } else if diagnostics.is_empty() {
            return Ok(Box::new(Dropout { rate }));
        }
    }
    Err(diagnostics)
}

impl LayerPlan for Dropout {
    fn prefix(&self) -> String {
        "dropout".into()
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        Ok(input.clone())
    }

    fn ty(&self, _input: &Shape, _output: &Shape) -> TokenStream {
        quote!(::keelnet::Dropout)
    }

    fn init(&self) -> TokenStream {
        let rate = self.rate;
        quote!(::keelnet::Dropout::new(#rate))
    }
}
