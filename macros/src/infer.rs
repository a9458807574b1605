//! Shape inference: from the input shape through every layer, each error
//! reported at its layer, all errors of a declaration together.

use quote::format_ident;
use syn::Ident;

use crate::diagnostics::{Diagnostics, closest};
use crate::layers::{LAYERS, LayerPlan};
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
}

/// Computes every shape of `decl`, or every error in it.
pub fn plan(decl: &Declaration) -> Result<Network, Diagnostics> {
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

    let mut shape = input.clone();
    let mut layers = Vec::new();
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    let mut previous_activation = None;
    for call in &decl.layers {
        let Some(plan) = layer_plan(call, &mut diagnostics) else {
            shape = None;
            previous_activation = None;
            continue;
        };
        if let (Some(before), Some(now)) = (previous_activation, plan.activation())
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
                let field = field_name(&mut counts, plan.prefix());
                layers.push(PlannedLayer {
                    field,
                    kind: call.name.to_string(),
                    plan,
                    input,
                    output,
                });
            }
            None => shape = plan.output_without_input(),
        }
    }

    match input {
        Some(input) if diagnostics.is_empty() => Ok(Network { input, layers }),
        _ => Err(diagnostics),
    }
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

/// The layer named by `call`, or an error suggesting the closest known name.
fn layer_plan(call: &LayerCall, diagnostics: &mut Diagnostics) -> Option<Box<dyn LayerPlan>> {
    let name = call.name.to_string();
    let Some((_, parse)) = LAYERS.iter().find(|(known, _)| *known == name) else {
        let known = LAYERS.iter().map(|(known, _)| *known);
        let hint = match closest(&name, known.clone()) {
            Some(close) => format!("did you mean `{close}`? "),
            None => String::new(),
        };
        let list: Vec<&str> = known.collect();
        let message = if name == "Input" {
            "`Input` can only come first: a network has one input".to_string()
        } else {
            format!(
                "unknown layer `{name}`; {hint}the layers are {}",
                list.join(", ")
            )
        };
        diagnostics.error(call.name.span(), message);
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

/// `dense_1`, `dense_2`, ...: per-prefix counters, from 1.
fn field_name(counts: &mut Vec<(&'static str, usize)>, prefix: &'static str) -> Ident {
    let n = match counts.iter_mut().find(|(p, _)| *p == prefix) {
        Some((_, n)) => {
            *n += 1;
            *n
        }
        None => {
            counts.push((prefix, 1));
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
        match plan(&decl) {
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
                "`Dense<64>` needs a flat input, but receives shape [64, 3, 3]; add `Flatten` before it"
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
        plan(&decl)
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
