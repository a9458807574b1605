//! The plan, the macro's second stage: from the parsed declaration to pure
//! data, every layer with its shapes and field name. Shapes are inferred
//! from the input through every layer, each error reported at its layer,
//! all errors of a declaration together. Blocks (`Residual(...)`) and
//! networks declared earlier are planned here too. Which adjacent layers
//! run fused is not the macro's choice: the generated code asks each
//! layer's type (`Layer::fuses_with`).

use std::rc::Rc;

use quote::format_ident;
use syn::{Attribute, Ident, Visibility};

use crate::diagnostics::{Diagnostics, closest};
use crate::layers::{LAYERS, LayerPlan, NetworkLayer, ResidualBlock};
use crate::parse::{Arg, Declaration, LayerCall, Value};
use crate::shape::Shape;

/// A declaration with every shape computed.
pub struct Network {
    pub input: Shape,
    pub layers: Vec<PlannedLayer>,
}

/// One layer with its shapes and field name.
pub struct PlannedLayer {
    /// `dense_1`.
    pub field: Ident,
    /// The name as written: `Dense`.
    pub kind: String,
    pub plan: Box<dyn LayerPlan>,
    pub input: Shape,
    pub output: Shape,
}

impl Network {
    pub fn output(&self) -> &Shape {
        &self
            .layers
            .last()
            .expect("a planned network has layers")
            .output
    }

    /// For each layer, whether backward needs the gradient at its input
    /// whatever the caller asks: some layer before it has parameters.
    pub fn input_gradient_needed(&self) -> Vec<bool> {
        let mut needed = vec![false; self.layers.len()];
        for i in 1..self.layers.len() {
            let previous = &self.layers[i - 1];
            let params = previous.plan.param_count(&previous.input, &previous.output);
            needed[i] = needed[i - 1] || params > 0;
        }
        needed
    }
}

/// The item a network expands into: its attributes, visibility and name.
pub struct Item {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
}

/// The networks of one `network!`: those declared so far, by name, each
/// usable as a layer in the declarations after it, and the names of all.
#[derive(Default)]
pub struct Known {
    pub planned: Vec<(String, Rc<Network>)>,
    pub declared: Vec<String>,
}

/// What planning a chain needs beside its layers.
struct Context<'a> {
    /// The struct the chain belongs to (blocks inside it are named after it).
    item: &'a Item,
    known: &'a Known,
}

/// Computes every shape of `decl`, or every error in it.
pub fn plan(decl: &Declaration, known: &Known) -> Result<Network, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let input = input_shape(&decl.input, &mut diagnostics);
    if decl.layers.is_empty() {
        diagnostics.error(
            decl.input.span,
            format!(
                "network `{}` has no layers: add some after its input, such as `{} -> Dense<10, Softmax>`",
                decl.name, decl.input
            ),
        );
    }
    let item = decl.item();
    let cx = Context { item: &item, known };
    let layers = plan_chain(&cx, input.clone(), &decl.layers, &mut diagnostics);
    match input {
        Some(input) if diagnostics.is_empty() => Ok(Network { input, layers }),
        _ => Err(diagnostics),
    }
}

/// Plans `calls` from `input` (`None` after an error): each layer's
/// shapes, field name and plan; every error goes to `diagnostics`.
fn plan_chain(
    cx: &Context<'_>,
    input: Option<Shape>,
    calls: &[LayerCall],
    diagnostics: &mut Diagnostics,
) -> Vec<PlannedLayer> {
    let mut shape = input;
    let mut layers = Vec::new();
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut previous_activation = None;
    for call in calls {
        let plan = match &call.body {
            Some(body) => {
                let count = counts
                    .iter()
                    .find(|(p, _)| p == "residual")
                    .map_or(0, |c| c.1);
                residual_plan(cx, call, body, shape.clone(), count + 1, diagnostics)
            }
            None => layer_plan(cx, call, diagnostics),
        };
        let Some(plan) = plan else {
            shape = None;
            previous_activation = None;
            continue;
        };
        check_activation_twice(call, plan.as_ref(), previous_activation, diagnostics);
        previous_activation = plan.activation();
        let output = match &shape {
            Some(input) => match plan.output(input) {
                Ok(output) => Some((input.clone(), output)),
                Err(message) => {
                    diagnostics.error(call.span, message);
                    None
                }
            },
            None => None,
        };
        match output {
            Some((input, output)) => {
                shape = Some(output.clone());
                layers.push(PlannedLayer {
                    field: field_name(&mut counts, plan.prefix()),
                    kind: call.name.to_string(),
                    plan,
                    input,
                    output,
                });
            }
            None => shape = plan.output_without_input(),
        }
    }
    layers
}

/// An activation layer right after a layer that ends in the same one.
fn check_activation_twice(
    call: &LayerCall,
    plan: &dyn LayerPlan,
    before: Option<crate::activation::Activation>,
    diagnostics: &mut Diagnostics,
) {
    if let (Some(before), Some(now)) = (before, plan.activation())
        && plan.is_activation_layer()
        && before == now
        && !now.is_linear()
    {
        diagnostics.error(
            call.span,
            format!(
                "`{}` directly after a layer that already ends in {}: it would be applied twice; remove this `{}`",
                call, now.0, call.name
            ),
        );
    }
}

/// `Residual(...)`: its chain planned from the shape at this point, as a
/// network of its own named after the struct it is in (`NetResidual1`).
fn residual_plan(
    cx: &Context<'_>,
    call: &LayerCall,
    body: &[LayerCall],
    input: Option<Shape>,
    number: usize,
    diagnostics: &mut Diagnostics,
) -> Option<Box<dyn LayerPlan>> {
    if call.name != "Residual" {
        diagnostics.error(
            call.name.span(),
            format!(
                "only `Residual(...)` takes a chain of layers in parentheses, not `{}`",
                call.name
            ),
        );
        return None;
    }
    if !call.args.is_empty() {
        diagnostics.error(
            call.span,
            "`Residual` takes no arguments in angle brackets: write `Residual(layer -> layer)`",
        );
    }
    let name = format_ident!("{}Residual{number}", cx.item.name);
    let doc = format!(
        " The block inside residual_{number} of [`{}`], generated by `network!`.",
        cx.item.name
    );
    let item = Item {
        attrs: vec![syn::parse_quote!(#[doc = #doc])],
        vis: cx.item.vis.clone(),
        name,
    };
    let inner = Context {
        item: &item,
        known: cx.known,
    };
    let errors_before = diagnostics.len();
    let layers = plan_chain(&inner, input.clone(), body, diagnostics);
    let input = input?;
    if diagnostics.len() > errors_before {
        return None;
    }
    let net = Network { input, layers };
    Some(Box::new(ResidualBlock::new(item, net)))
}

/// `Input<D1, ...>`: one to four dimensions of at least 1.
fn input_shape(call: &LayerCall, diagnostics: &mut Diagnostics) -> Option<Shape> {
    if call.name != "Input" {
        diagnostics.error(
            call.span,
            format!(
                "a network starts with the shape of one sample, such as `Input<784>` or `Input<1, 28, 28>` (channels, rows, columns), not `{call}`"
            ),
        );
        return None;
    }
    let mut dims = Vec::new();
    let mut ok = true;
    for arg in &call.args {
        match arg {
            Arg::Positional(Value::Int(v, span)) if *v == 0 => {
                diagnostics.error(*span, "an input dimension must be at least 1, not 0");
                ok = false;
            }
            Arg::Positional(Value::Int(v, span)) => match usize::try_from(*v) {
                Ok(v) => dims.push(v),
                Err(_) => {
                    diagnostics.error(*span, format!("input dimension {v} is too large"));
                    ok = false;
                }
            },
            Arg::Positional(other) => {
                diagnostics.error(
                    other.span(),
                    format!("an input dimension is a whole number, not `{other}`"),
                );
                ok = false;
            }
            Arg::Named(key, _) => {
                diagnostics.error(key.span(), format!("`Input` has no option `{key}`"));
                ok = false;
            }
        }
    }
    if call.args.is_empty() || call.args.len() > 4 {
        diagnostics.error(
            call.span,
            format!(
                "`Input` takes one to four dimensions, such as `Input<784>` or `Input<1, 28, 28>` (channels, rows, columns); this one has {}",
                call.args.len()
            ),
        );
        ok = false;
    }
    ok.then_some(Shape(dims))
}

/// The layer named by `call` (one of keelnet's, or a network declared
/// earlier), or an error suggesting the closest known name.
fn layer_plan(
    cx: &Context<'_>,
    call: &LayerCall,
    diagnostics: &mut Diagnostics,
) -> Option<Box<dyn LayerPlan>> {
    let name = call.name.to_string();
    if let Some((_, net)) = cx.known.planned.iter().find(|(known, _)| *known == name) {
        if !call.args.is_empty() {
            diagnostics.error(
                call.span,
                format!("`{name}` is a network declared above: write `{name}`, without arguments"),
            );
            return None;
        }
        return Some(Box::new(NetworkLayer::new(
            call.name.clone(),
            Rc::clone(net),
        )));
    }
    let Some((_, parse)) = LAYERS.iter().find(|(known, _)| *known == name) else {
        unknown_layer(cx, call, diagnostics);
        return None;
    };
    match parse(call) {
        Ok(plan) => Some(plan),
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    }
}

/// The error for a name that is no layer, with the closest known one.
fn unknown_layer(cx: &Context<'_>, call: &LayerCall, diagnostics: &mut Diagnostics) {
    let name = call.name.to_string();
    let networks = cx.known.planned.iter().map(|(known, _)| known.as_str());
    let known = LAYERS.iter().map(|(known, _)| *known).chain(["Residual"]);
    let hint = match closest(&name, known.clone().chain(networks.clone())) {
        Some(close) => format!("did you mean `{close}`? "),
        None => String::new(),
    };
    let list: Vec<&str> = known.collect();
    let message = if name == "Input" {
        "`Input` can only come first: a network has one input".to_string()
    } else if cx.known.declared.contains(&name) {
        format!(
            "network `{name}` is used before it is declared: move its declaration above the one that uses it"
        )
    } else if name == "Residual" {
        "`Residual` holds a chain of layers in parentheses: `Residual(Dense<64, ReLU> -> Dense<64>)`"
            .to_string()
    } else {
        format!(
            "unknown layer `{name}`; {hint}the layers are {}, and the networks declared above it in the same `network!`",
            list.join(", ")
        )
    };
    diagnostics.error(call.name.span(), message);
}

/// `dense_1`, `dense_2`, ...: per-prefix counters, from 1.
fn field_name(counts: &mut Vec<(String, usize)>, prefix: String) -> Ident {
    let n = match counts.iter_mut().find(|(p, _)| *p == prefix) {
        Some((_, n)) => {
            *n += 1;
            *n
        }
        None => {
            counts.push((prefix.clone(), 1));
            1
        }
    };
    format_ident!("{prefix}_{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes(source: &str) -> Result<Vec<(String, Vec<usize>)>, Vec<String>> {
        let decl: Declaration = syn::parse_str(source).expect("parses");
        match plan(&decl, &Known::default()) {
            Ok(net) => Ok(net
                .layers
                .iter()
                .map(|l| (l.field.to_string(), l.output.0.clone()))
                .collect()),
            Err(d) => Err(d.messages()),
        }
    }

    fn errors(source: &str) -> Vec<String> {
        shapes(source).expect_err("errors")
    }

    #[test]
    fn mlp_shapes_and_names() {
        let got = shapes(
            "struct M: Input<1, 28, 28> -> Flatten -> Dense<128, ReLU> -> Dropout<0.2> -> Dense<10, Softmax>;",
        )
        .unwrap();
        let want = [
            ("flatten_1", vec![784]),
            ("dense_1", vec![128]),
            ("dropout_1", vec![128]),
            ("dense_2", vec![10]),
        ];
        assert_eq!(got, want.map(|(n, s)| (n.to_string(), s)));
    }

    #[test]
    fn input_gradients_are_needed_after_the_first_layer_with_parameters() {
        let decl: Declaration = syn::parse_str(
            "struct M: Input<1, 8, 8> -> Flatten -> ReLU -> Dense<4> -> Dropout<0.5> -> Dense<2>;",
        )
        .unwrap();
        let Ok(net) = plan(&decl, &Known::default()) else {
            panic!("plans")
        };
        assert_eq!(
            net.input_gradient_needed(),
            [false, false, false, true, true]
        );
    }

    #[test]
    fn activation_layers_keep_the_shape() {
        let got = shapes("struct M: Input<3, 4> -> ReLU -> Flatten -> Dense<5> -> Tanh;").unwrap();
        assert_eq!(got[0], ("relu_1".to_string(), vec![3, 4]));
        assert_eq!(got[3], ("tanh_1".to_string(), vec![5]));
    }

    #[test]
    fn dense_needs_a_flat_input() {
        let e = errors("struct M: Input<64, 3, 3> -> Dense<64>;");
        assert_eq!(
            e,
            [
                "`Dense<64>` needs a flat input (or a sequence [T, D]), but receives shape [64, 3, 3]; add `Flatten` before it"
            ]
        );
    }

    #[test]
    fn every_error_is_reported_and_checking_goes_on_after_a_dense() {
        let e = errors(
            "struct M: Input<1, 28, 28> -> Dense<64> -> Dence<10> -> Dropout<2.0> -> Dense<0>;",
        );
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e[0].contains("add `Flatten`"));
        assert!(e[1].contains("did you mean `Dense`"));
        assert!(e[2].contains("2 is not"));
        assert!(e[3].contains("at least 1"));
    }

    #[test]
    fn input_errors() {
        assert!(errors("struct M: Input<0, 28> -> Flatten;")[0].contains("at least 1"));
        assert!(errors("struct M: Input<1, 2, 3, 4, 5> -> Flatten;")[0].contains("one to four"));
        assert!(errors("struct M: Input -> Flatten;")[0].contains("one to four"));
        assert!(errors("struct M: Dense<10> -> Flatten;")[0].contains("starts with the shape"));
        assert!(errors("struct M: Input<10>;")[0].contains("has no layers"));
        assert!(errors("struct M: Input<10> -> Input<5>;")[0].contains("only come first"));
    }

    #[test]
    fn argument_errors() {
        assert!(errors("struct M: Input<10> -> Dense;")[0].contains("missing its number of units"));
        assert!(errors("struct M: Input<10> -> Dense<10.5>;")[0].contains("whole number"));
        assert!(
            errors("struct M: Input<10> -> Dense<10, Relu>;")[0].contains("did you mean `ReLU`")
        );
        assert!(
            errors("struct M: Input<10> -> Dense<10, ReLU, 3>;")[0]
                .contains("unexpected argument `3`")
        );
        assert!(
            errors("struct M: Input<10> -> Dense<10, padding = same>;")[0]
                .contains("no option `padding`")
        );
        assert!(errors("struct M: Input<10> -> Flatten<3>;")[0].contains("takes no arguments"));
        assert!(errors("struct M: Input<10> -> Dropout;")[0].contains("missing its rate"));
    }

    #[test]
    fn an_activation_applied_twice() {
        let e = errors("struct M: Input<10> -> Dense<10, Softmax> -> Softmax;");
        assert!(e[0].contains("applied twice"), "{e:?}");
        assert!(shapes("struct M: Input<10> -> Dense<10> -> Softmax;").is_ok());
    }
}

#[cfg(test)]
mod cnn_tests {
    use super::*;

    fn shapes(source: &str) -> Result<Vec<Vec<usize>>, Vec<String>> {
        let decl: Declaration = syn::parse_str(source).expect("parses");
        plan(&decl, &Known::default())
            .map(|net| net.layers.iter().map(|l| l.output.0.clone()).collect())
            .map_err(|d| d.messages())
    }

    #[test]
    fn keras_mnist_cnn() {
        let got = shapes(
            "struct Cnn: Input<1, 28, 28> -> Conv2D<32, 3, ReLU> -> MaxPool<2> -> Conv2D<64, 3, ReLU> -> MaxPool<2> -> Conv2D<64, 3, ReLU> -> Flatten -> Dense<64, ReLU> -> Dense<10, Softmax>;",
        )
        .unwrap();
        let want: Vec<Vec<usize>> = vec![
            vec![32, 26, 26],
            vec![32, 13, 13],
            vec![64, 11, 11],
            vec![64, 5, 5],
            vec![64, 3, 3],
            vec![576],
            vec![64],
            vec![10],
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn padding_and_stride() {
        let got = shapes("struct C: Input<3, 32, 32> -> Conv2D<8, 3, padding = same> -> Conv2D<8, 3, stride = 2> -> Conv2D<4, 5, ReLU, padding = same, stride = 2>;").unwrap();
        assert_eq!(got, vec![vec![8, 32, 32], vec![8, 15, 15], vec![4, 8, 8]]);
    }

    #[test]
    fn kernel_or_window_larger_than_the_input() {
        let e = shapes("struct C: Input<1, 28, 28> -> Conv2D<8, 3> -> MaxPool<2> -> MaxPool<2> -> MaxPool<2> -> Conv2D<8, 5>;").unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(
            e[0].contains("5x5 kernel is larger than its 3x3 input"),
            "{e:?}"
        );
        let e = shapes("struct C: Input<1, 4, 4> -> MaxPool<2> -> MaxPool<3>;").unwrap_err();
        assert!(
            e[0].contains("3x3 window is larger than its 2x2 input"),
            "{e:?}"
        );
    }

    #[test]
    fn images_only() {
        let e = shapes("struct C: Input<784> -> Conv2D<8, 3> -> MaxPool<2>;").unwrap_err();
        assert!(e[0].contains("needs an image input"), "{e:?}");
        let e = shapes("struct C: Input<1, 8, 8> -> Conv2D<8, 3, padding = full>;").unwrap_err();
        assert!(e[0].contains("not `full`"), "{e:?}");
    }
}

#[cfg(test)]
mod composition_tests {
    use super::*;

    /// Plans every declaration of `source` in order, as `network!` does.
    fn plan_all(source: &str) -> Result<Vec<Rc<Network>>, Vec<String>> {
        let decls: crate::parse::Declarations = syn::parse_str(source).expect("parses");
        let mut known = Known::default();
        let mut nets = Vec::new();
        for decl in &decls.0 {
            let net = plan(decl, &known).map_err(|d| d.messages())?;
            let net = Rc::new(net);
            known.planned.push((decl.name.to_string(), Rc::clone(&net)));
            nets.push(net);
        }
        Ok(nets)
    }

    fn errors(source: &str) -> Vec<String> {
        plan_all(source).err().expect("errors")
    }

    #[test]
    fn a_residual_block_is_planned_as_a_network_of_its_own() {
        let nets = plan_all(
            "struct R: Input<4, 8, 8> -> Residual(Conv2D<4, 3, ReLU, padding = same> -> Conv2D<4, 3, padding = same>) -> Flatten;",
        )
        .unwrap();
        let block = &nets[0].layers[0];
        assert_eq!(
            (block.field.to_string(), block.output.0.clone()),
            ("residual_1".into(), vec![4, 8, 8])
        );
        let inner = block.plan.nested().unwrap();
        let fields: Vec<String> = inner.layers.iter().map(|l| l.field.to_string()).collect();
        assert_eq!(fields, ["conv2d_1", "conv2d_2"]);
        assert_eq!(nets[0].layers[1].output.0, vec![256]);
    }

    #[test]
    fn a_residual_block_must_keep_the_shape() {
        let e = errors("struct R: Input<16> -> Residual(Dense<8>) -> Dense<2>;");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].contains("the input is [16] and the chain ends in [8]"),
            "{e:?}"
        );
    }

    #[test]
    fn errors_inside_a_block_are_reported_at_their_layer() {
        let e = errors("struct R: Input<2, 4, 4> -> Residual(Dense<8> -> Dence<2>);");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].contains("add `Flatten`") && e[1].contains("did you mean `Dense`"),
            "{e:?}"
        );
    }

    #[test]
    fn networks_declared_earlier_are_layers() {
        let nets = plan_all(
            "struct Block: Input<8> -> Dense<8, ReLU>; struct Net: Input<3> -> Dense<8> -> Block -> Residual(Block) -> Dense<2>;",
        )
        .unwrap();
        let fields: Vec<String> = nets[1].layers.iter().map(|l| l.field.to_string()).collect();
        assert_eq!(fields, ["dense_1", "block_1", "residual_1", "dense_2"]);
        let e = errors("struct Block: Input<8> -> Dense<8>; struct Net: Input<3> -> Block;");
        assert!(
            e[0].contains("takes samples of shape [8], but receives shape [3]"),
            "{e:?}"
        );
    }
}
