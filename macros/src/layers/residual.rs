//! `Residual(...)`: a chain with a skip connection around it, `x + F(x)`.

use proc_macro2::TokenStream;
use quote::quote;

use super::LayerPlan;
use crate::emit;
use crate::plan::{Item, Network};
use crate::shape::Shape;

/// A residual block: its chain, planned as a network of its own, which
/// the macro emits beside the network that holds it.
pub struct ResidualBlock {
    item: Item,
    net: Network,
}

impl ResidualBlock {
    pub fn new(item: Item, net: Network) -> Self {
        Self { item, net }
    }
}

impl LayerPlan for ResidualBlock {
    fn prefix(&self) -> String {
        "residual".into()
    }

    // [S] -> [S]: the chain must give back its input's shape
    fn output(&self, input: &Shape) -> Result<Shape, String> {
        let output = self.net.output();
        if output == input {
            return Ok(input.clone());
        }
        let last = &self.net.layers[self.net.layers.len() - 1];
        Err(format!(
            "`Residual(...)` adds its input to its chain's output, so they must have one shape, but the input is {input} and the chain ends in {output}; make its last layer (`{}`) give {input}",
            last.kind
        ))
    }

    fn ty(&self, _input: &Shape, _output: &Shape) -> TokenStream {
        let name = &self.item.name;
        quote!(::keelnet::Residual<#name<F>>)
    }

    fn init(&self) -> TokenStream {
        let name = &self.item.name;
        quote!(::keelnet::Residual::new(#name::from_rng(&mut *rng)))
    }

    fn nested(&self) -> Option<&Network> {
        Some(&self.net)
    }

    fn definitions(&self) -> TokenStream {
        emit::network(&self.item, &self.net)
    }
}
