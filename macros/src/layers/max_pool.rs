//! `MaxPool<P>`: `P`×`P` windows, stride `P`.

use proc_macro2::TokenStream;
use quote::quote;

use super::LayerPlan;
use crate::args::Args;
use crate::diagnostics::Diagnostics;
use crate::parse::LayerCall;
use crate::shape::Shape;

struct MaxPool {
    pool: usize,
}

pub fn parse(call: &LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics> {
    let mut args = Args::new(call, "`MaxPool<P>` for P×P windows, such as `MaxPool<2>`");
    let pool = args.count("window size");
    let diagnostics = args.finish();
    match pool {
        Some(pool) if diagnostics.is_empty() => Ok(Box::new(MaxPool { pool })),
        _ => Err(diagnostics),
    }
}

impl LayerPlan for MaxPool {
    fn prefix(&self) -> String {
        "max_pool".into()
    }

    // [C, H, W] -> [C, H / P, W / P]
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let p = self.pool;
        let &[c, h, w] = input.0.as_slice() else {
            return Err(format!(
                "`MaxPool<{p}>` needs an image input [channels, rows, columns], but receives shape {input}; pool before `Flatten`"
            ));
        };
        if p > h || p > w {
            return Err(format!(
                "`MaxPool<{p}>`: the {p}x{p} window is larger than its {h}x{w} input (shape {input}); use a smaller window or remove a layer that shrinks the image before it"
            ));
        }
        Ok(Shape(vec![c, h / p, w / p]))
    }

    fn ty(&self, _input: &Shape, output: &Shape) -> TokenStream {
        let (p, h_out, w_out) = (self.pool, output.0[1], output.0[2]);
        quote!(::keelnet::MaxPool<#p, #h_out, #w_out>)
    }

    fn init(&self) -> TokenStream {
        quote!(::keelnet::MaxPool)
    }
}
