//! The model summary, in the manner of Keras' `model.summary()`, computed
//! while the macro expands.

use crate::plan::Network;
use crate::shape::Shape;

/// `(None, 1, 28, 28)`: the batch dimension first, as Keras prints it.
fn keras_shape(shape: &Shape) -> String {
    let dims: Vec<String> = shape.0.iter().map(usize::to_string).collect();
    format!("(None, {})", dims.join(", "))
}

/// `101770` as `101,770`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The number of trainable parameters of the whole network.
pub fn param_count(net: &Network) -> usize {
    net.layers
        .iter()
        .map(|l| l.plan.param_count(&l.input, &l.output))
        .sum()
}

/// The number of non-trainable values of the whole network.
pub fn state_count(net: &Network) -> usize {
    net.layers
        .iter()
        .map(|l| l.plan.state_count(&l.input, &l.output))
        .sum()
}

/// One row a layer, `indent` before its name; a block's or a nested
/// network's layers follow it, indented further.
fn layer_rows(net: &Network, indent: &str, rows: &mut Vec<(String, String, String)>) {
    for layer in &net.layers {
        rows.push((
            format!("{indent}{} ({})", layer.field, layer.kind),
            keras_shape(&layer.output),
            thousands(
                layer.plan.param_count(&layer.input, &layer.output)
                    + layer.plan.state_count(&layer.input, &layer.output),
            ),
        ));
        if let Some(nested) = layer.plan.nested() {
            layer_rows(nested, &format!("{indent}  "), rows);
        }
    }
}

/// The summary table.
pub fn summary(name: &str, net: &Network) -> String {
    let mut rows = vec![(
        "input (Input)".to_string(),
        keras_shape(&net.input),
        "0".to_string(),
    )];
    layer_rows(net, "", &mut rows);
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(12) + 2;
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(12) + 2;
    let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0).max(7);
    let rule = |c: &str| c.repeat(w0 + w1 + w2);
    let mut out = format!("Model: \"{name}\"\n{}\n", rule("-"));
    out += &format!(
        "{:<w0$}{:<w1$}{:>w2$}\n{}\n",
        "Layer (type)",
        "Output Shape",
        "Param #",
        rule("=")
    );
    for (layer, shape, params) in rows {
        out += &format!("{layer:<w0$}{shape:<w1$}{params:>w2$}\n");
    }
    let (trainable, state) = (param_count(net), state_count(net));
    out += &format!(
        "{}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: {}",
        rule("="),
        thousands(trainable + state),
        thousands(trainable),
        thousands(state),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(101_770), "101,770");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn keras_mlp_summary() {
        let decl: crate::parse::Declaration = syn::parse_str(
            "struct Mlp: Input<1, 28, 28> -> Flatten -> Dense<128, ReLU> -> Dense<10, Softmax>;",
        )
        .unwrap();
        let net = crate::plan::plan(&decl, &Default::default()).ok().unwrap();
        assert_eq!(param_count(&net), 101_770);
        let text = summary("Mlp", &net);
        assert!(
            text.contains("dense_1 (Dense)      (None, 128)        100,480"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "Total params: 101,770\nTrainable params: 101,770\nNon-trainable params: 0"
            ),
            "{text}"
        );
    }

    #[test]
    fn batch_normalization_counts_its_moving_statistics_apart() {
        let decl: crate::parse::Declaration =
            syn::parse_str("struct M: Input<3> -> Dense<4> -> BatchNormalization -> Dense<2>;")
                .unwrap();
        let net = crate::plan::plan(&decl, &Default::default()).ok().unwrap();
        let text = summary("M", &net);
        assert!(
            text.contains("batch_normalization_1 (BatchNormalization)  (None, 4)          16"),
            "{text}"
        );
        assert!(
            text.ends_with("Total params: 42\nTrainable params: 34\nNon-trainable params: 8"),
            "{text}"
        );
    }
}
