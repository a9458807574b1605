//! The emit stage: the code a planned network expands into. The network
//! struct, its gradients and cache, its `Parameters` and `Layer` impls
//! (this file), and flat forward and backward passes ([`passes`]).

mod passes;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::plan::{Item, Network};
use crate::summary::{param_count, summary};
use passes::Passes;

/// One layer as the generated code names it.
pub struct Names {
    field: Ident,
    ty: TokenStream,
    /// The sample shape of its input.
    input: TokenStream,
    /// Its output buffer in the cache (the last layer writes `y` instead).
    output: Ident,
    /// The gradient at its output, in the cache (the last layer's is `dy`).
    grad: Ident,
    cache: Ident,
}

fn names(net: &Network) -> Vec<Names> {
    net.layers
        .iter()
        .map(|l| Names {
            field: l.field.clone(),
            ty: l.plan.ty(&l.input, &l.output),
            input: l.input.ty(),
            output: format_ident!("{}_output", l.field),
            grad: format_ident!("{}_grad", l.field),
            cache: format_ident!("{}_cache", l.field),
        })
        .collect()
}

/// Everything `item`'s declaration expands into.
pub fn network(item: &Item, net: &Network) -> TokenStream {
    let names = names(net);
    let passes = Passes::new(&names, net.input_gradient_needed());
    let definitions = net.layers.iter().map(|l| l.plan.definitions());
    let parts = [
        network_struct(item, net, &names),
        grads_struct(item, &names),
        cache_struct(item, net, &names),
        inherent_impl(item, net, &names, &passes),
        parameters_impl(item, &names),
        layer_impl(item, net, &names, &passes),
    ];
    quote!(#(#definitions)* #(#parts)*)
}

fn network_struct(item: &Item, net: &Network, names: &[Names]) -> TokenStream {
    let Item { attrs, vis, name } = item;
    let struct_doc = format!(" ```text\n{}\n ```", summary(&name.to_string(), net));
    let fields = names.iter().map(|n| &n.field);
    let tys = names.iter().map(|n| &n.ty);
    let field_docs = net
        .layers
        .iter()
        .map(|l| format!("`{}`: {} -> {}", l.kind, l.input, l.output));
    quote! {
        #(#attrs)*
        ///
        /// # Layers
        ///
        #[doc = #struct_doc]
        #[derive(Clone, Debug, PartialEq)]
        #vis struct #name<F: ::keelnet::Float = f32> {
            #(
                #[doc = #field_docs]
                pub #fields: #tys,
            )*
            float: ::core::marker::PhantomData<F>,
        }

        impl<F: ::keelnet::Float> ::core::fmt::Display for #name<F> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(Self::SUMMARY)
            }
        }
    }
}

fn grads_struct(item: &Item, names: &[Names]) -> TokenStream {
    let Item { vis, name, .. } = item;
    let grads_name = format_ident!("{name}Grads");
    let doc = format!(" The gradients of every parameter of [`{name}`], layer by layer.");
    let fields: Vec<&Ident> = names.iter().map(|n| &n.field).collect();
    let tys = names.iter().map(|n| &n.ty);
    quote! {
        #[doc = #doc]
        #vis struct #grads_name<F: ::keelnet::Float = f32> {
            #(
                #[allow(missing_docs)]
                pub #fields: <#tys as ::keelnet::Parameters<F>>::Grads,
            )*
        }

        impl<F: ::keelnet::Float> ::core::default::Default for #grads_name<F> {
            fn default() -> Self {
                Self { #( #fields: ::core::default::Default::default(), )* }
            }
        }
    }
}

/// The cache: every hidden layer's output and the gradient at it, every
/// layer's own cache.
fn cache_struct(item: &Item, net: &Network, names: &[Names]) -> TokenStream {
    let Item { vis, name, .. } = item;
    let cache_name = format_ident!("{name}Cache");
    let doc = format!(
        " What a training forward pass of [`{name}`] keeps for backward: each layer's output and its gradient, and each layer's own cache. Reused from step to step."
    );
    let hidden = &names[..names.len() - 1];
    let shapes: Vec<TokenStream> = net.layers[..hidden.len()]
        .iter()
        .map(|l| l.output.ty())
        .collect();
    let outputs = hidden.iter().map(|n| &n.output);
    let grads = hidden.iter().map(|n| &n.grad);
    let caches: Vec<&Ident> = names.iter().map(|n| &n.cache).collect();
    let cache_tys = names.iter().map(|n| {
        let (ty, input) = (&n.ty, &n.input);
        quote!(<#ty as ::keelnet::Layer<#input, F>>::Cache)
    });
    let buffers: Vec<&Ident> = hidden.iter().flat_map(|n| [&n.output, &n.grad]).collect();
    quote! {
        #[doc = #doc]
        #[allow(missing_docs)]
        #vis struct #cache_name<F: ::keelnet::Float = f32> {
            #( pub #outputs: ::keelnet::Batch<#shapes, F>, )*
            #( pub #grads: ::keelnet::Batch<#shapes, F>, )*
            #( pub #caches: #cache_tys, )*
        }

        impl<F: ::keelnet::Float> ::core::default::Default for #cache_name<F> {
            fn default() -> Self {
                Self {
                    #( #buffers: ::keelnet::Batch::new(), )*
                    #( #caches: ::core::default::Default::default(), )*
                }
            }
        }
    }
}

fn inherent_impl(item: &Item, net: &Network, names: &[Names], passes: &Passes) -> TokenStream {
    let name = &item.name;
    let (input_ty, output_ty) = (net.input.ty(), net.output().ty());
    let cache_name = format_ident!("{name}Cache");
    let grads_name = format_ident!("{name}Grads");
    let summary_text = summary(&name.to_string(), net);
    let param_count = param_count(net);
    let new_doc = format!(" A `{name}` with Keras' default initialisation, drawn from `seed`.");
    let fields = names.iter().map(|n| &n.field);
    let inits = net.layers.iter().map(|l| l.plan.init());
    let fusions = passes.fusions();
    let backward = passes.backward();
    quote! {
        impl<F: ::keelnet::Float> #name<F> {
            /// The model summary: each layer, its output shape and parameter count.
            pub const SUMMARY: &'static str = #summary_text;
            /// The number of trainable parameters.
            pub const PARAM_COUNT: usize = #param_count;

            #[doc = #new_doc]
            pub fn new(seed: u64) -> Self {
                Self::from_rng(&mut <::keelnet::rand::rngs::StdRng as ::keelnet::rand::SeedableRng>::seed_from_u64(seed))
            }

            /// Keras' default initialisation (Glorot-uniform weights, zero biases), drawn from `rng`.
            pub fn from_rng<R: ::keelnet::rand::Rng + ?Sized>(rng: &mut R) -> Self {
                Self {
                    #( #fields: #inits, )*
                    float: ::core::marker::PhantomData,
                }
            }

            /// The model summary (see [`Self::SUMMARY`]).
            pub fn summary(&self) -> &'static str {
                Self::SUMMARY
            }

            #fusions

            /// Backward through every layer, from `dy` at the output (before
            /// the last activation if `before_activation`).
            #[allow(clippy::too_many_arguments)]
            fn backward_layers(
                &self,
                x: &::keelnet::Batch<#input_ty, F>,
                y: &::keelnet::Batch<#output_ty, F>,
                cache: &mut #cache_name<F>,
                dy: &mut ::keelnet::Batch<#output_ty, F>,
                before_activation: bool,
                dx: ::core::option::Option<&mut ::keelnet::Batch<#input_ty, F>>,
                grads: &mut #grads_name<F>,
            ) {
                #backward
            }
        }
    }
}

fn parameters_impl(item: &Item, names: &[Names]) -> TokenStream {
    let name = &item.name;
    let grads_name = format_ident!("{name}Grads");
    let fields: Vec<&Ident> = names.iter().map(|n| &n.field).collect();
    let field_names: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    let tys: Vec<&TokenStream> = names.iter().map(|n| &n.ty).collect();
    quote! {
        impl<F: ::keelnet::Float> ::keelnet::Parameters<F> for #name<F> {
            type Grads = #grads_name<F>;

            fn visit_params(&self, layer: &str, f: &mut ::keelnet::VisitParams<'_, F>) {
                #(
                    <#tys as ::keelnet::Parameters<F>>::visit_params(
                        &self.#fields, &::keelnet::param_path(layer, #field_names), f,
                    );
                )*
            }

            fn visit_params_mut(&mut self, layer: &str, f: &mut ::keelnet::VisitParamsMut<'_, F>) {
                #(
                    <#tys as ::keelnet::Parameters<F>>::visit_params_mut(
                        &mut self.#fields, &::keelnet::param_path(layer, #field_names), f,
                    );
                )*
            }

            fn update_params(
                &mut self,
                layer: &str,
                grads: &Self::Grads,
                f: &mut ::keelnet::UpdateParams<'_, F>,
            ) {
                #(
                    <#tys as ::keelnet::Parameters<F>>::update_params(
                        &mut self.#fields, &::keelnet::param_path(layer, #field_names), &grads.#fields, f,
                    );
                )*
            }
        }
    }
}

fn layer_impl(item: &Item, net: &Network, names: &[Names], passes: &Passes) -> TokenStream {
    let name = &item.name;
    let (input_ty, output_ty) = (net.input.ty(), net.output().ty());
    let cache_name = format_ident!("{name}Cache");
    let last = names.last().expect("a planned network has layers");
    let (last_ty, last_input) = (&last.ty, &last.input);
    let (inference, training) = (passes.forward(false), passes.forward(true));
    quote! {
        impl<F: ::keelnet::Float> ::keelnet::Layer<#input_ty, F> for #name<F> {
            type Output = #output_ty;
            type Cache = #cache_name<F>;
            const ACTIVATION: ::keelnet::ActivationKind =
                <#last_ty as ::keelnet::Layer<#last_input, F>>::ACTIVATION;

            fn forward(&self, x: &::keelnet::Batch<#input_ty, F>, y: &mut ::keelnet::Batch<#output_ty, F>) {
                self.forward_cached(x, y, &mut ::core::default::Default::default());
            }

            fn forward_cached(
                &self,
                x: &::keelnet::Batch<#input_ty, F>,
                y: &mut ::keelnet::Batch<#output_ty, F>,
                cache: &mut Self::Cache,
            ) {
                #inference
            }

            fn forward_train(
                &self,
                x: &::keelnet::Batch<#input_ty, F>,
                y: &mut ::keelnet::Batch<#output_ty, F>,
                cache: &mut Self::Cache,
                ctx: &mut ::keelnet::TrainContext,
            ) {
                #training
            }

            fn backward(
                &self,
                x: &::keelnet::Batch<#input_ty, F>,
                y: &::keelnet::Batch<#output_ty, F>,
                cache: &mut Self::Cache,
                dy: &mut ::keelnet::Batch<#output_ty, F>,
                dx: ::core::option::Option<&mut ::keelnet::Batch<#input_ty, F>>,
                grads: &mut Self::Grads,
            ) {
                self.backward_layers(x, y, cache, dy, false, dx, grads);
            }

            fn backward_preactivation(
                &self,
                x: &::keelnet::Batch<#input_ty, F>,
                y: &::keelnet::Batch<#output_ty, F>,
                cache: &mut Self::Cache,
                dz: &mut ::keelnet::Batch<#output_ty, F>,
                dx: ::core::option::Option<&mut ::keelnet::Batch<#input_ty, F>>,
                grads: &mut Self::Grads,
            ) {
                self.backward_layers(x, y, cache, dz, true, dx, grads);
            }
        }
    }
}
