//! `Conv2D<FILTERS, KERNEL>`, with an optional activation and the options
//! `padding = valid | same` and `stride = N`.

use proc_macro2::TokenStream;
use quote::quote;

use super::LayerPlan;
use crate::activation::Activation;
use crate::args::Args;
use crate::diagnostics::Diagnostics;
use crate::parse::{LayerCall, Value};
use crate::shape::Shape;

const USAGE: &str = "`Conv2D<FILTERS, KERNEL>` or `Conv2D<FILTERS, KERNEL, Activation>`, with the options `padding = valid` (the default) or `padding = same`, and `stride = N`";

struct Conv2D {
    filters: usize,
    kernel: usize,
    activation: Activation,
    same: bool,
    stride: usize,
}

pub fn parse(call: &LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics> {
    let mut args = Args::new(call, USAGE);
    let filters = args.count("number of filters");
    let kernel = args.count("kernel size");
    let activation = args.activation().unwrap_or(Activation("Linear"));
    let stride = args.count_option("stride").unwrap_or(1);
    let padding = args.option("padding");
    let mut diagnostics = args.finish();
    let same = match padding {
        None => Some(false),
        Some(Value::Name(p)) if p == "valid" => Some(false),
        Some(Value::Name(p)) if p == "same" => Some(true),
        Some(other) => {
            diagnostics.error(
                other.span(),
                format!("`padding` is `valid` (no padding, the default) or `same` (zero padding that keeps the size), not `{other}`"),
            );
            None
        }
    };
    match (filters, kernel, same) {
        (Some(filters), Some(kernel), Some(same)) if diagnostics.is_empty() => {
            Ok(Box::new(Conv2D {
                filters,
                kernel,
                activation,
                same,
                stride,
            }))
        }
        _ => Err(diagnostics),
    }
}

impl Conv2D {
    fn written(&self) -> String {
        let mut text = format!("Conv2D<{}, {}", self.filters, self.kernel);
        if !self.activation.is_linear() {
            text += &format!(", {}", self.activation.0);
        }
        if self.same {
            text += ", padding = same";
        }
        if self.stride != 1 {
            text += &format!(", stride = {}", self.stride);
        }
        text + ">"
    }
}

impl LayerPlan for Conv2D {
    fn prefix(&self) -> String {
        "conv2d".into()
    }

    // [C, H, W] -> [FILTERS, H_OUT, W_OUT]
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let &[_, h, w] = input.0.as_slice() else {
            return Err(format!(
                "`{}` needs an image input [channels, rows, columns], but receives shape {input}; declare the input as an image, such as `Input<1, 28, 28>`",
                self.written()
            ));
        };
        let (k, s) = (self.kernel, self.stride);
        if self.same {
            return Ok(Shape(vec![self.filters, h.div_ceil(s), w.div_ceil(s)]));
        }
        if k > h || k > w {
            return Err(format!(
                "`{}`: the {k}x{k} kernel is larger than its {h}x{w} input (shape {input}); use a smaller kernel, `padding = same`, or less pooling before it",
                self.written()
            ));
        }
        Ok(Shape(vec![self.filters, (h - k) / s + 1, (w - k) / s + 1]))
    }

    fn ty(&self, input: &Shape, output: &Shape) -> TokenStream {
        let (c_in, c_out, k, s) = (input.0[0], self.filters, self.kernel, self.stride);
        let (h_out, w_out, activation) = (output.0[1], output.0[2], self.activation.ty());
        quote!(::keelnet::Conv2D<#c_in, #c_out, #k, #s, #h_out, #w_out, #activation, F>)
    }

    fn init(&self) -> TokenStream {
        quote!(::keelnet::Conv2D::new(&mut *rng))
    }

    fn param_count(&self, input: &Shape, _output: &Shape) -> usize {
        self.filters * input.0[0] * self.kernel * self.kernel + self.filters
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
}
