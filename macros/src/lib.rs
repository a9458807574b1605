//! The `network!` macro of keelnet: a model declared as a chain of layers,
//! every shape computed and checked while the macro expands.
//!
//! Use it through `keelnet::network!`; the documentation is there.

mod activation;
mod args;
mod diagnostics;
mod emit;
mod layers;
mod parse;
mod plan;
mod shape;
mod summary;

use proc_macro::TokenStream;

/// Declares networks as chains of layers. See `keelnet::network!`.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let declarations = match syn::parse::<parse::Declarations>(input) {
        Ok(declarations) => declarations,
        Err(error) => return error.to_compile_error().into(),
    };
    let mut out = proc_macro2::TokenStream::new();
    // Each network can be used as a layer by the declarations after it.
    let mut known = plan::Known {
        planned: Vec::new(),
        declared: declarations.0.iter().map(|d| d.name.to_string()).collect(),
    };
    for decl in &declarations.0 {
        match plan::plan(decl, &known) {
            Ok(net) => {
                out.extend(emit::network(&decl.item(), &net));
                known
                    .planned
                    .push((decl.name.to_string(), std::rc::Rc::new(net)));
            }
            Err(diagnostics) => out.extend(diagnostics.to_compile_errors()),
        }
    }
    out.into()
}
