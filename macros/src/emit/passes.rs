//! The generated forward and backward passes: flat, one statement a layer.
//!
//! Each pair of adjacent layers asks the first layer's type whether it
//! fuses with the second (`Layer::fuses_with`, a constant once compiled).
//! Where it does, the pair runs as one call (`Layer::forward_then`,
//! `Layer::backward_then`) and the second layer's own statement is
//! skipped; pairs are taken first come, first served.

use proc_macro2::TokenStream;
use quote::quote;

use super::Names;

/// The layers of a network as its passes read and write them.
pub struct Passes<'a> {
    names: &'a [Names],
    /// Per layer, whether the gradient at its input is always needed.
    needed: Vec<bool>,
}

impl<'a> Passes<'a> {
    pub fn new(names: &'a [Names], needed: Vec<bool>) -> Self {
        Self { names, needed }
    }

    fn is_last(&self, i: usize) -> bool {
        i + 1 == self.names.len()
    }

    /// The layer's input: the network's, or the output buffer before it.
    fn input(&self, i: usize) -> TokenStream {
        match i.checked_sub(1) {
            Some(p) => {
                let out = &self.names[p].output;
                quote!(&cache.#out)
            }
            None => quote!(x),
        }
    }

    /// The layer's output, to write (forward) or read (backward).
    fn output(&self, i: usize, write: bool) -> TokenStream {
        let out = &self.names[i].output;
        match (self.is_last(i), write) {
            (true, _) => quote!(y),
            (false, true) => quote!(&mut cache.#out),
            (false, false) => quote!(&cache.#out),
        }
    }

    /// The gradient at the layer's output.
    fn output_grad(&self, i: usize) -> TokenStream {
        let grad = &self.names[i].grad;
        if self.is_last(i) {
            quote!(dy)
        } else {
            quote!(&mut cache.#grad)
        }
    }

    /// The gradient at the layer's input, if it is computed.
    fn input_grad(&self, i: usize) -> TokenStream {
        let Some(p) = i.checked_sub(1) else {
            return quote!(dx);
        };
        let grad = &self.names[p].grad;
        if self.needed[i] {
            quote!(Some(&mut cache.#grad))
        } else {
            quote!(if wanted { Some(&mut cache.#grad) } else { None })
        }
    }

    /// `call`, run only if the gradient at layer `i`'s output exists.
    fn if_output_grad(&self, i: usize, call: TokenStream) -> TokenStream {
        if self.is_last(i) || self.needed[i + 1] {
            call
        } else {
            quote!(if wanted { #call })
        }
    }

    /// The pair of layers `i` and `i + 1`'s buffers.
    fn pair_cache(&self, i: usize) -> TokenStream {
        let (n, next) = (&self.names[i], &self.names[i + 1]);
        let (cache, next_cache, out, grad) = (&n.cache, &next.cache, &n.output, &n.grad);
        quote! {
            ::keelnet::PairCache {
                first: &mut cache.#cache,
                second: &mut cache.#next_cache,
                mid: &mut cache.#out,
                d_mid: &mut cache.#grad,
            }
        }
    }

    /// `statement` for layer `i`, or for the pair it starts: run unless
    /// the layer before took layer `i` into its pair.
    fn unless_taken(&self, i: usize, single: TokenStream, pair: TokenStream) -> TokenStream {
        let statement = if self.is_last(i) {
            single
        } else {
            quote!(if fused[#i] { #pair } else { #single })
        };
        match i.checked_sub(1) {
            Some(p) => quote!(if !fused[#p] { #statement }),
            None => statement,
        }
    }

    /// The generated `fusions()`: for each layer, whether it runs fused
    /// with the next; `None` for a single layer.
    pub fn fusions(&self) -> Option<TokenStream> {
        let count = self.names.len();
        if count == 1 {
            return None;
        }
        let asks = (0..count - 1).map(|i| {
            let (n, next_ty) = (&self.names[i], &self.names[i + 1].ty);
            let (ty, input) = (&n.ty, &n.input);
            let asked = quote!(<#ty as ::keelnet::Layer<#input, F>>::fuses_with::<#next_ty>());
            match i.checked_sub(1) {
                Some(p) => quote!(fused[#i] = !fused[#p] && #asked;),
                None => quote!(fused[#i] = #asked;),
            }
        });
        Some(quote! {
            /// For each layer, whether it runs fused with the layer after it.
            #[inline]
            fn fusions() -> [bool; #count] {
                let mut fused = [false; #count];
                #( #asks )*
                fused
            }
        })
    }

    /// `let fused = ...;` where the passes need it.
    fn fused(&self) -> TokenStream {
        if self.names.len() > 1 {
            quote!(let fused = Self::fusions();)
        } else {
            quote!()
        }
    }

    /// Inference (`train` false) or training forward: each layer, or
    /// fused pair, into its buffer in the cache; the last into `y`.
    pub fn forward(&self, train: bool) -> TokenStream {
        let statements = (0..self.names.len()).map(|i| {
            let n = &self.names[i];
            let (field, ty, input, cache) = (&n.field, &n.ty, &n.input, &n.cache);
            let (x, y) = (self.input(i), self.output(i, true));
            let single = if train {
                quote!(<#ty as ::keelnet::Layer<#input, F>>::forward_train(&self.#field, #x, #y, &mut cache.#cache, ctx);)
            } else {
                quote!(<#ty as ::keelnet::Layer<#input, F>>::forward_cached(&self.#field, #x, #y, &mut cache.#cache);)
            };
            let pair = (!self.is_last(i)).then(|| {
                let (next, next_y, pair) = (&self.names[i + 1].field, self.output(i + 1, true), self.pair_cache(i));
                let ctx = if train { quote!(Some(&mut *ctx)) } else { quote!(None) };
                quote!(<#ty as ::keelnet::Layer<#input, F>>::forward_then(&self.#field, &self.#next, #x, #next_y, #pair, #ctx);)
            });
            self.unless_taken(i, single, pair.unwrap_or_default())
        });
        let fused = self.fused();
        quote!(#fused #( #statements )*)
    }

    /// Backward through every layer, last first, from `dy` at the output
    /// (before the last activation if `before_activation`). A gradient at
    /// a layer's input is computed only if some layer before it has
    /// parameters, or if the caller asked for dL/dx (`dx` given).
    pub fn backward(&self) -> TokenStream {
        let statements = (0..self.names.len()).rev().map(|i| {
            let n = &self.names[i];
            let (field, ty, input, cache) = (&n.field, &n.ty, &n.input, &n.cache);
            let (x, dx) = (self.input(i), self.input_grad(i));
            let (y, dy) = (self.output(i, false), self.output_grad(i));
            let call = |method| quote!(<#ty as ::keelnet::Layer<#input, F>>::#method(&self.#field, #x, #y, &mut cache.#cache, #dy, #dx, &mut grads.#field););
            let single = if self.is_last(i) {
                let (plain, pre) = (call(quote!(backward)), call(quote!(backward_preactivation)));
                quote!(if before_activation { #pre } else { #plain })
            } else {
                call(quote!(backward))
            };
            let single = self.if_output_grad(i, single);
            let pair = (!self.is_last(i)).then(|| self.backward_pair(i));
            self.unless_taken(i, single, pair.unwrap_or_default())
        });
        let fused = self.fused();
        quote! {
            #[allow(unused_variables)]
            let wanted = dx.is_some();
            #fused
            #( #statements )*
        }
    }

    /// Backward through layers `i` and `i + 1` as a pair.
    fn backward_pair(&self, i: usize) -> TokenStream {
        let n = &self.names[i];
        let (field, ty, input) = (&n.field, &n.ty, &n.input);
        let next = &self.names[i + 1].field;
        let (x, dx, pair) = (self.input(i), self.input_grad(i), self.pair_cache(i));
        let (y, dy) = (self.output(i + 1, false), self.output_grad(i + 1));
        let before_activation = if self.is_last(i + 1) {
            quote!(before_activation)
        } else {
            quote!(false)
        };
        let call = quote! {
            <#ty as ::keelnet::Layer<#input, F>>::backward_then(
                &self.#field, &self.#next, #x, #pair,
                ::keelnet::OutputGrad { y: #y, dy: #dy, before_activation: #before_activation },
                #dx, (&mut grads.#field, &mut grads.#next),
            );
        };
        self.if_output_grad(i + 1, call)
    }
}
