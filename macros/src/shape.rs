//! Shapes as the macro computes them: the dimensions of one sample.

use proc_macro2::TokenStream;
use quote::quote;

/// The dimensions of one sample, outermost first (images: channels, rows, columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape(pub Vec<usize>);

impl Shape {
    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }

    /// The keelnet type of this shape: `::keelnet::Rank3<1, 28, 28>`.
    pub fn ty(&self) -> TokenStream {
        let dims = &self.0;
        match dims.len() {
            1 => quote!(::keelnet::Rank1<#(#dims),*>),
            2 => quote!(::keelnet::Rank2<#(#dims),*>),
            3 => quote!(::keelnet::Rank3<#(#dims),*>),
            _ => quote!(::keelnet::Rank4<#(#dims),*>),
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self.0.iter().map(usize::to_string).collect();
        write!(f, "[{}]", dims.join(", "))
    }
}
