//! The code a declaration expands into: the network struct, its gradients
//! and cache, and flat forward and backward passes, one statement a layer.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::activation::Activation;
use crate::infer::{Item, Network};
use crate::summary::{param_count, summary};

/// One layer as the generated code names it.
struct Names {
    field: Ident,
    ty: TokenStream,
    /// The sample shape of its input.
    input: TokenStream,
    output_buffer: Ident,
    grad_buffer: Ident,
    cache: Ident,
}

pub fn expand(item: &Item, net: &Network) -> TokenStream {
    let Item { attrs, vis, name } = item;
    let definitions = net.layers.iter().map(|l| l.plan.definitions());
    let grads_name = format_ident!("{name}Grads");
    let cache_name = format_ident!("{name}Cache");
    let input_ty = net.input.ty();
    let output_ty = net.output().ty();
    let summary_text = summary(&name.to_string(), net);
    let param_count = param_count(net);

    let names: Vec<Names> = net
        .layers
        .iter()
        .map(|l| Names {
            field: l.field.clone(),
            ty: l.plan.ty(&l.input, &l.output),
            input: l.input.ty(),
            output_buffer: format_ident!("{}_output", l.field),
            grad_buffer: format_ident!("{}_grad", l.field),
            cache: format_ident!("{}_cache", l.field),
        })
        .collect();
    let (hidden, last) = names.split_at(names.len() - 1);
    let last = &last[0];

    let fields = names.iter().map(|n| &n.field);
    let field_names: Vec<String> = names.iter().map(|n| n.field.to_string()).collect();
    let tys = names.iter().map(|n| &n.ty);
    let inits = net.layers.iter().map(|l| l.plan.init());
    let field_docs = net
        .layers
        .iter()
        .map(|l| format!("`{}`: {} -> {}", l.kind, l.input, l.output));

    // The cache: every hidden layer's output and its gradient, every layer's own cache.
    let hidden_shapes: Vec<TokenStream> = net.layers[..hidden.len()]
        .iter()
        .map(|l| l.output.ty())
        .collect();
    let output_buffers: Vec<&Ident> = hidden.iter().map(|n| &n.output_buffer).collect();
    let grad_buffers: Vec<&Ident> = hidden.iter().map(|n| &n.grad_buffer).collect();
    let caches: Vec<&Ident> = names.iter().map(|n| &n.cache).collect();
    let cache_tys = names.iter().map(|n| {
        let (ty, input) = (&n.ty, &n.input);
        quote!(<#ty as ::keelnet::Layer<#input, F>>::Cache)
    });

    let (last_field, last_ty, last_input, last_cache) =
        (&last.field, &last.ty, &last.input, &last.cache);

    let moved = derivatives_after_pooling(net);
    // A layer that runs the max pooling after it with its own, both
    // passes (in the pooling's place).
    let through_pooling: Vec<bool> = (0..net.layers.len())
        .map(|i| moved[i].is_some() && net.layers[i].plan.runs_max_pooling())
        .collect();

    // Inference and training forward: each layer into its buffer in the
    // cache (a convolution and the max pooling after it in one call).
    let forward_pass = |train: bool| {
        let mut statements = Vec::new();
        let mut current = quote!(x);
        for (i, n) in hidden.iter().enumerate() {
            let (field, ty, input, out, cache) =
                (&n.field, &n.ty, &n.input, &n.output_buffer, &n.cache);
            if i > 0 && through_pooling[i - 1] {
                current = quote!(&cache.#out);
                continue;
            }
            if through_pooling[i] {
                let pool = &hidden[i + 1];
                let (pool_field, pooled, argmax) = (&pool.field, &pool.output_buffer, &pool.cache);
                statements.push(quote! {
                    self.#field.forward_through_max_pool(
                        #current, &self.#pool_field, (&mut cache.#pooled, &mut cache.#argmax),
                        &mut cache.#cache, &mut cache.#out,
                    );
                });
                continue;
            }
            statements.push(if train {
                quote! {
                    <#ty as ::keelnet::Layer<#input, F>>::forward_train(
                        &self.#field, #current, &mut cache.#out, &mut cache.#cache, ctx,
                    );
                }
            } else {
                quote! {
                    <#ty as ::keelnet::Layer<#input, F>>::forward_cached(
                        &self.#field, #current, &mut cache.#out, &mut cache.#cache,
                    );
                }
            });
            current = quote!(&cache.#out);
        }
        (statements, current)
    };
    let (mut inference, current) = forward_pass(false);
    inference.push(quote! {
        <#last_ty as ::keelnet::Layer<#last_input, F>>::forward_cached(
            &self.#last_field, #current, y, &mut cache.#last_cache,
        );
    });
    let (mut training, current) = forward_pass(true);
    training.push(quote! {
        <#last_ty as ::keelnet::Layer<#last_input, F>>::forward_train(
            &self.#last_field, #current, y, &mut cache.#last_cache, ctx,
        );
    });

    // Backward: the last layer (from dL/dy or dL/dz), then the hidden layers in reverse.
    // A gradient at a layer's input is needed only if some layer before it
    // has parameters, or if the caller asked for dL/dx (`dx` given).
    let mut trainable_before = vec![false; net.layers.len()];
    for i in 1..net.layers.len() {
        let previous = &net.layers[i - 1];
        let params = previous.plan.param_count(&previous.input, &previous.output);
        trainable_before[i] = trainable_before[i - 1] || params > 0;
    }
    let input_grad = |i: usize, buffer: &Ident| {
        if trainable_before[i] {
            quote!(Some(&mut cache.#buffer))
        } else {
            quote!(if wanted { Some(&mut cache.#buffer) } else { None })
        }
    };
    let (last_x, last_dx) = match hidden.last() {
        Some(n) => {
            let out = &n.output_buffer;
            (
                quote!(&cache.#out),
                input_grad(hidden.len(), &n.grad_buffer),
            )
        }
        None => (quote!(x), quote!(dx)),
    };
    let last_backward = |method: Ident| {
        quote! {
            <#last_ty as ::keelnet::Layer<#last_input, F>>::#method(
                &self.#last_field, #last_x, y, &mut cache.#last_cache, dy, #last_dx, &mut grads.#last_field,
            );
        }
    };
    let backward_last = last_backward(format_ident!("backward"));
    let backward_last_pre = last_backward(format_ident!("backward_preactivation"));
    let hidden_backward: Vec<TokenStream> = (0..hidden.len())
        .rev()
        .map(|i| {
            // A pooling whose backward the layer before runs: nothing here.
            if i > 0 && through_pooling[i - 1] {
                return quote!();
            }
            let n = &hidden[i];
            let (field, ty, input, out, grad, cache) = (
                &n.field,
                &n.ty,
                &n.input,
                &n.output_buffer,
                &n.grad_buffer,
                &n.cache,
            );
            let (x, dx) = match i.checked_sub(1).map(|p| &hidden[p]) {
                Some(p) => {
                    let p_out = &p.output_buffer;
                    (quote!(&cache.#p_out), input_grad(i, &p.grad_buffer))
                }
                None => (quote!(x), quote!(dx)),
            };
            // A layer whose activation's derivative the pooling after it
            // takes skips it; the pooling takes it at its own outputs.
            let method = match moved[i] {
                Some(_) => format_ident!("backward_preactivation"),
                None => format_ident!("backward"),
            };
            let call = if through_pooling[i] {
                let pool = &hidden[i + 1];
                let (pooled, argmax, pooled_grad) =
                    (&pool.output_buffer, &pool.cache, &pool.grad_buffer);
                quote! {
                    self.#field.backward_through_max_pool(
                        #x,
                        ::keelnet::MaxPoolGrad {
                            y: &cache.#pooled,
                            argmax: &cache.#argmax,
                            dy: &mut cache.#pooled_grad,
                        },
                        &mut cache.#cache, &mut cache.#grad, #dx, &mut grads.#field,
                    );
                }
            } else if let Some(activation) = i.checked_sub(1).and_then(|p| moved[p]) {
                let activation = activation.ty();
                quote! {
                    self.#field.backward_through(
                        #activation, &cache.#out, &mut cache.#cache, &mut cache.#grad, #dx,
                    );
                }
            } else {
                quote! {
                    <#ty as ::keelnet::Layer<#input, F>>::#method(
                        &self.#field, #x, &cache.#out, &mut cache.#cache, &mut cache.#grad, #dx, &mut grads.#field,
                    );
                }
            };
            // Its output gradient exists only if the layer after it was asked for one.
            if trainable_before[i + 1] {
                call
            } else {
                quote!(if wanted { #call })
            }
        })
        .collect();
    // With one layer only, the last layer is also the first and takes `dx` itself.
    let (backward_hidden, call_backward_hidden) = if hidden.is_empty() {
        (quote!(), quote!())
    } else {
        (
            quote! {
                /// Backward through every layer but the last, from the gradient at its input.
                fn backward_hidden(
                    &self,
                    x: &::keelnet::Batch<#input_ty, F>,
                    cache: &mut #cache_name<F>,
                    dx: ::core::option::Option<&mut ::keelnet::Batch<#input_ty, F>>,
                    grads: &mut #grads_name<F>,
                ) {
                    #[allow(unused_variables)]
                    let wanted = dx.is_some();
                    #( #hidden_backward )*
                }
            },
            quote!(self.backward_hidden(x, cache, dx, grads);),
        )
    };

    let all_tys: Vec<&TokenStream> = names.iter().map(|n| &n.ty).collect();
    let all_fields: Vec<&Ident> = names.iter().map(|n| &n.field).collect();
    let struct_doc = format!(" ```text\n{summary_text}\n ```");
    let grads_doc = format!(" The gradients of every parameter of [`{name}`], layer by layer.");
    let cache_doc = format!(
        " What a training forward pass of [`{name}`] keeps for backward: each layer's output and its gradient, and each layer's own cache. Reused from step to step."
    );
    let new_doc = format!(" A `{name}` with Keras' default initialisation, drawn from `seed`.");

    quote! {
        #(#definitions)*

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

        #[doc = #grads_doc]
        #vis struct #grads_name<F: ::keelnet::Float = f32> {
            #(
                #[allow(missing_docs)]
                pub #all_fields: <#all_tys as ::keelnet::Parameters<F>>::Grads,
            )*
        }

        impl<F: ::keelnet::Float> ::core::default::Default for #grads_name<F> {
            fn default() -> Self {
                Self { #( #all_fields: ::core::default::Default::default(), )* }
            }
        }

        #[doc = #cache_doc]
        #[allow(missing_docs)]
        #vis struct #cache_name<F: ::keelnet::Float = f32> {
            #( pub #output_buffers: ::keelnet::Batch<#hidden_shapes, F>, )*
            #( pub #grad_buffers: ::keelnet::Batch<#hidden_shapes, F>, )*
            #( pub #caches: #cache_tys, )*
        }

        impl<F: ::keelnet::Float> ::core::default::Default for #cache_name<F> {
            fn default() -> Self {
                Self {
                    #( #output_buffers: ::keelnet::Batch::new(), )*
                    #( #grad_buffers: ::keelnet::Batch::new(), )*
                    #( #caches: ::core::default::Default::default(), )*
                }
            }
        }

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
                    #( #all_fields: #inits, )*
                    float: ::core::marker::PhantomData,
                }
            }

            /// The model summary (see [`Self::SUMMARY`]).
            pub fn summary(&self) -> &'static str {
                Self::SUMMARY
            }

            #backward_hidden
        }

        impl<F: ::keelnet::Float> ::core::fmt::Display for #name<F> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(Self::SUMMARY)
            }
        }

        impl<F: ::keelnet::Float> ::keelnet::Parameters<F> for #name<F> {
            type Grads = #grads_name<F>;

            fn visit_params(&self, layer: &str, f: &mut ::keelnet::VisitParams<'_, F>) {
                #(
                    <#all_tys as ::keelnet::Parameters<F>>::visit_params(
                        &self.#all_fields, &::keelnet::param_path(layer, #field_names), f,
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
                    <#all_tys as ::keelnet::Parameters<F>>::update_params(
                        &mut self.#all_fields, &::keelnet::param_path(layer, #field_names), &grads.#all_fields, f,
                    );
                )*
            }
        }

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
                #( #inference )*
            }

            fn forward_train(
                &self,
                x: &::keelnet::Batch<#input_ty, F>,
                y: &mut ::keelnet::Batch<#output_ty, F>,
                cache: &mut Self::Cache,
                ctx: &mut ::keelnet::TrainContext,
            ) {
                #( #training )*
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
                #[allow(unused_variables)]
                let wanted = dx.is_some();
                #backward_last
                #call_backward_hidden
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
                let dy = dz;
                #[allow(unused_variables)]
                let wanted = dx.is_some();
                #backward_last_pre
                #call_backward_hidden
            }
        }
    }
}

/// For each layer, the activation whose derivative backward takes after
/// the max pooling that follows it (both hidden layers), if any.
///
/// Such an activation's derivative depends on the output alone, and
/// each pooled output is a copy of one of the layer's outputs, the others
/// getting no gradient: the derivative at the pooled outputs, routed back,
/// is the derivative at the layer's outputs, value for value. Taken there,
/// it runs on a quarter of the values (2×2 windows), and the layer's
/// backward, from the gradient before its activation, no longer reads its
/// whole output for it.
fn derivatives_after_pooling(net: &Network) -> Vec<Option<Activation>> {
    let hidden = net.layers.len() - 1;
    (0..net.layers.len())
        .map(|i| {
            let activation = net.layers[i].plan.activation()?;
            let pooled = i + 1 < hidden && net.layers[i + 1].plan.pools_maxima();
            (pooled && activation.is_elementwise_from_output()).then_some(activation)
        })
        .collect()
}
