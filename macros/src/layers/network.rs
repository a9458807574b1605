//! A network declared earlier in the same `network!`, used as a layer.

use std::rc::Rc;

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

use super::LayerPlan;
use crate::plan::Network;
use crate::shape::Shape;

/// `-> EncoderBlock ->`: the network's own struct, its shapes as planned.
pub struct NetworkLayer {
    name: Ident,
    net: Rc<Network>,
}

impl NetworkLayer {
    pub fn new(name: Ident, net: Rc<Network>) -> Self {
        Self { name, net }
    }
}

/// `EncoderBlock` as `encoder_block`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl LayerPlan for NetworkLayer {
    fn prefix(&self) -> String {
        snake_case(&self.name.to_string())
    }

    // [its Input] -> [its output]
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        if *input != self.net.input {
            return Err(format!(
                "`{}` takes samples of shape {}, but receives shape {input}; change the layers before it, or its `Input<...>`",
                self.name, self.net.input
            ));
        }
        Ok(self.net.output().clone())
    }

    fn output_without_input(&self) -> Option<Shape> {
        Some(self.net.output().clone())
    }

    fn ty(&self, _input: &Shape, _output: &Shape) -> TokenStream {
        let name = &self.name;
        quote!(#name<F>)
    }

    fn init(&self) -> TokenStream {
        let name = &self.name;
        quote!(#name::from_rng(&mut *rng))
    }

    fn nested(&self) -> Option<&Network> {
        Some(&self.net)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_prefixes_in_snake_case() {
        assert_eq!(snake_case("EncoderBlock"), "encoder_block");
        assert_eq!(snake_case("Mlp"), "mlp");
    }
}
