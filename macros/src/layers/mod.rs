//! The layers `network!` knows. Each file parses one layer's arguments and
//! says what it does to a shape; adding a layer is a file and a line in
//! [`LAYERS`].

mod activation;
mod batch_norm;
mod conv2d;
mod dense;
mod dropout;
mod flatten;
mod global_pooling_1d;
mod max_pool;
mod network;
mod recurrent;
mod residual;

use proc_macro2::TokenStream;

pub use network::NetworkLayer;
pub use residual::ResidualBlock;

use crate::activation::Activation;
use crate::diagnostics::Diagnostics;
use crate::parse::LayerCall;
use crate::plan::Network;
use crate::shape::Shape;

/// A layer whose arguments have been read.
pub trait LayerPlan {
    /// The field-name prefix: `dense` gives fields `dense_1`, `dense_2`, ...
    fn prefix(&self) -> String;

    /// The output shape for `input`, or a message saying what is wrong and
    /// how to fix it. The message is shown at the layer.
    fn output(&self, input: &Shape) -> Result<Shape, String>;

    /// The output shape whatever the input, if the layer determines it on its
    /// own (a `Dense` always gives `[UNITS]`): checking goes on after an error.
    fn output_without_input(&self) -> Option<Shape> {
        None
    }

    /// The keelnet type of the layer, with `F` the element type.
    fn ty(&self, input: &Shape, output: &Shape) -> TokenStream;

    /// The expression that constructs the layer, with `rng: &mut R` in scope
    /// (reborrow it: `&mut *rng`).
    fn init(&self) -> TokenStream;

    /// The number of trainable parameters: the nested network's, if any.
    fn param_count(&self, _input: &Shape, _output: &Shape) -> usize {
        self.nested().map_or(0, crate::summary::param_count)
    }

    /// The number of non-trainable values (BatchNormalization's moving
    /// statistics), which Keras' summary counts apart: the nested
    /// network's, if any.
    fn state_count(&self, _input: &Shape, _output: &Shape) -> usize {
        self.nested().map_or(0, crate::summary::state_count)
    }

    /// The activation the layer ends in, if any.
    fn activation(&self) -> Option<Activation> {
        None
    }

    /// Whether the layer is an activation on its own.
    fn is_activation_layer(&self) -> bool {
        false
    }

    /// The network inside the layer (a block, or a network used as a
    /// layer), which the summary shows nested.
    fn nested(&self) -> Option<&Network> {
        None
    }

    /// Items to emit beside the network that holds the layer (a block's
    /// own generated network).
    fn definitions(&self) -> TokenStream {
        TokenStream::new()
    }
}

/// Reads a layer call's arguments into its plan.
pub type Parser = fn(&LayerCall) -> Result<Box<dyn LayerPlan>, Diagnostics>;

/// Every layer, by the name written in a declaration.
pub const LAYERS: &[(&str, Parser)] = &[
    ("Dense", dense::parse),
    ("Conv2D", conv2d::parse),
    ("MaxPool", max_pool::parse),
    ("BatchNormalization", batch_norm::parse),
    ("Flatten", flatten::parse),
    ("GlobalAveragePooling1D", global_pooling_1d::parse),
    ("GlobalMaxPooling1D", global_pooling_1d::parse),
    ("Dropout", dropout::parse),
    ("SimpleRNN", recurrent::parse),
    ("LSTM", recurrent::parse),
    ("Linear", activation::parse),
    ("ReLU", activation::parse),
    ("LeakyReLU", activation::parse),
    ("Sigmoid", activation::parse),
    ("Tanh", activation::parse),
    ("Softmax", activation::parse),
    ("GELU", activation::parse),
    ("GELUTanh", activation::parse),
    ("SiLU", activation::parse),
    ("Swish", activation::parse),
    ("ELU", activation::parse),
    ("Softplus", activation::parse),
];
