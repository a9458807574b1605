//! The activations a layer may name.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::diagnostics::closest;

/// The activation types of keelnet, by the name written in a declaration.
pub const ACTIVATIONS: &[&str] = &[
    "Linear",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "GELU",
    "GELUTanh",
    "SiLU",
    "Swish",
    "ELU",
    "Softplus",
];

/// One of [`ACTIVATIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Activation(pub &'static str);

impl Activation {
    /// The activation named by `ident`, or a message suggesting the closest one.
    pub fn from_ident(ident: &Ident) -> Result<Self, String> {
        let name = ident.to_string();
        if let Some(&known) = ACTIVATIONS.iter().find(|&&a| a == name) {
            return Ok(Activation(known));
        }
        let hint = match closest(&name, ACTIVATIONS.iter().copied()) {
            Some(close) => format!("did you mean `{close}`? "),
            None => String::new(),
        };
        Err(format!(
            "unknown activation `{name}`; {hint}the activations are {}",
            ACTIVATIONS.join(", ")
        ))
    }

    /// The keelnet type: `::keelnet::ReLU`.
    pub fn ty(self) -> TokenStream {
        let ident = format_ident!("{}", self.0);
        quote!(::keelnet::#ident)
    }

    pub fn is_linear(self) -> bool {
        self.0 == "Linear"
    }
}
