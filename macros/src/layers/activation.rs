//! An activation as a layer of its own: `ReLU`, `Softmax`, ...

use proc_macro2::TokenStream;
use quote::quote;

use super::LayerPlan;
use crate::activation::Activation;
use crate::args::Args;
use crate::diagnostics::Diagnostics;
use crate::parse::LayerCall;
use crate::shape::Shape;

struct ActivationLayer(Activation);

pub fn parse(call: &LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics> {
    let activation = Activation::from_ident(&call.name).map_err(|message| {
        let mut diagnostics = Diagnostics::default();
        diagnostics.error(call.span, message);
        diagnostics
    })?;
    let diagnostics = Args::new(call, "an activation without arguments, such as `ReLU`").finish();
    if diagnostics.is_empty() {
        Ok(Box::new(ActivationLayer(activation)))
    } else {
        Err(diagnostics)
    }
}

impl LayerPlan for ActivationLayer {
    fn prefix(&self) -> String {
        let prefix = match self.0.0 {
            "Linear" => "linear",
            "ReLU" => "relu",
            "LeakyReLU" => "leaky_relu",
            "Sigmoid" => "sigmoid",
            "Tanh" => "tanh",
            "GELU" => "gelu",
            "GELUTanh" => "gelu_tanh",
            "SiLU" => "silu",
            "Swish" => "swish",
            "ELU" => "elu",
            "Softplus" => "softplus",
            _ => "softmax",
        };
        prefix.into()
    }

    fn output(&self, input: &Shape) -> Result<Shape, String> {
        Ok(input.clone())
    }

    fn ty(&self, _input: &Shape, _output: &Shape) -> TokenStream {
        self.0.ty()
    }

    fn init(&self) -> TokenStream {
        let ty = self.0.ty();
        quote!(<#ty as ::core::default::Default>::default())
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.0)
    }

    fn is_activation_layer(&self) -> bool {
        true
    }
}
