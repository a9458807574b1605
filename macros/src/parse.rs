//! The grammar of `network!`.
//!
//! ```text
//! network! {
//!     /// docs
//!     pub struct Name: Input<D1, D2, ...> -> Layer -> Layer<ARG, ...> -> ...;
//!     ...more declarations...
//! }
//! ```
//!
//! A layer is a name with optional arguments in angle brackets: numbers,
//! names (activations, option values) and `key = value` options. A block
//! is a name followed by a chain in parentheses: `Residual(A -> B)`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, Lit, Token, Visibility};

/// Every declaration of one `network!` invocation.
pub struct Declarations(pub Vec<Declaration>);

/// `pub struct Name: Input<...> -> ... ;`
pub struct Declaration {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// The first element of the chain (meant to be `Input<...>`).
    pub input: LayerCall,
    pub layers: Vec<LayerCall>,
}

impl Declaration {
    /// The struct it declares.
    pub fn item(&self) -> crate::plan::Item {
        crate::plan::Item {
            attrs: self.attrs.clone(),
            vis: self.vis.clone(),
            name: self.name.clone(),
        }
    }
}

/// One element of the chain as written: `Dense<10, Softmax>`, or a block
/// `Residual(Dense<8, ReLU> -> Dense<4>)`.
pub struct LayerCall {
    pub name: Ident,
    pub args: Vec<Arg>,
    /// The chain inside a block's parentheses.
    pub body: Option<Vec<LayerCall>>,
    /// The whole call, for error messages.
    pub span: Span,
}

/// An argument inside the angle brackets.
pub enum Arg {
    Positional(Value),
    Named(Ident, Value),
}

/// A number or a name.
#[derive(Clone)]
pub enum Value {
    Int(u64, Span),
    Float(f64, Span),
    Bool(bool, Span),
    Name(Ident),
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Int(_, span) | Value::Float(_, span) | Value::Bool(_, span) => *span,
            Value::Name(ident) => ident.span(),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v, _) => write!(f, "{v}"),
            Value::Float(v, _) => write!(f, "{v:?}"),
            Value::Bool(v, _) => write!(f, "{v}"),
            Value::Name(ident) => write!(f, "{ident}"),
        }
    }
}

impl Parse for Declarations {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut declarations = Vec::new();
        while !input.is_empty() {
            declarations.push(input.parse()?);
        }
        Ok(Declarations(declarations))
    }
}

impl Parse for Declaration {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name = input.parse()?;
        input.parse::<Token![:]>()?;
        let first: LayerCall = input.parse()?;
        let layers = parse_chain_rest(input, "`;` at the end", |input| input.peek(Token![;]))?;
        input.parse::<Token![;]>()?;
        Ok(Declaration {
            attrs,
            vis,
            name,
            input: first,
            layers,
        })
    }
}

/// The layers after the first of a chain, each after `->`, up to where `end`
/// says the chain ends (`what` names that place in errors).
fn parse_chain_rest(
    input: ParseStream,
    what: &str,
    end: impl Fn(ParseStream) -> bool,
) -> syn::Result<Vec<LayerCall>> {
    let mut layers = Vec::new();
    while !end(input) {
        if input.is_empty() {
            return Err(input.error(format!("expected {what}")));
        }
        input.parse::<Token![->]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `->` between two layers, or {what}"),
            )
        })?;
        layers.push(input.parse()?);
    }
    Ok(layers)
}

impl Parse for LayerCall {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected a layer, such as `Dense<10>`"))?;
        let mut span = name.span();
        let mut args = Vec::new();
        if input.peek(Token![<]) {
            input.parse::<Token![<]>()?;
            while !input.peek(Token![>]) {
                args.push(input.parse()?);
                if input.peek(Token![,]) {
                    input.parse::<Token![,]>()?;
                } else if !input.peek(Token![>]) {
                    return Err(input.error("expected `,` or `>` in the layer's arguments"));
                }
            }
            let close = input.parse::<Token![>]>()?;
            span = span.join(close.span).unwrap_or(span);
        }
        let mut body = None;
        if input.peek(syn::token::Paren) {
            let content;
            let parens = syn::parenthesized!(content in input);
            if content.is_empty() {
                return Err(syn::Error::new(
                    parens.span.join(),
                    format!(
                        "`{name}(...)` holds a chain of layers, such as `{name}(Dense<64, ReLU> -> Dense<64>)`"
                    ),
                ));
            }
            let first: LayerCall = content.parse()?;
            let rest = parse_chain_rest(&content, "`)` at the end of the block", |c| c.is_empty())?;
            body = Some(std::iter::once(first).chain(rest).collect());
            span = span.join(parens.span.join()).unwrap_or(span);
        }
        Ok(LayerCall {
            name,
            args,
            body,
            span,
        })
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![=]) {
            let key = input.parse()?;
            input.parse::<Token![=]>()?;
            return Ok(Arg::Named(key, input.parse()?));
        }
        Ok(Arg::Positional(input.parse()?))
    }
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) {
            return Ok(Value::Name(input.parse()?));
        }
        match input.parse::<Lit>() {
            Ok(Lit::Int(lit)) => Ok(Value::Int(lit.base10_parse()?, lit.span())),
            Ok(Lit::Float(lit)) => Ok(Value::Float(lit.base10_parse()?, lit.span())),
            Ok(Lit::Bool(lit)) => Ok(Value::Bool(lit.value, lit.span)),
            Ok(other) => Err(syn::Error::new(
                other.span(),
                "expected a number, `true`, `false` or a name",
            )),
            Err(e) => Err(syn::Error::new(
                e.span(),
                "expected a number, `true`, `false` or a name",
            )),
        }
    }
}

impl std::fmt::Display for LayerCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)?;
        if !self.args.is_empty() {
            let args: Vec<String> = self
                .args
                .iter()
                .map(|arg| match arg {
                    Arg::Positional(v) => v.to_string(),
                    Arg::Named(k, v) => format!("{k} = {v}"),
                })
                .collect();
            write!(f, "<{}>", args.join(", "))?;
        }
        if let Some(body) = &self.body {
            let layers: Vec<String> = body.iter().map(ToString::to_string).collect();
            write!(f, "({})", layers.join(" -> "))?;
        }
        Ok(())
    }
}
