//! Why a graph could not be evaluated: every error names the node (or binding) it is about.

use thiserror::Error;

/// An evaluation failure. User input (bindings, arithmetic settings, index values) never
/// panics the interpreter; it ends in one of these.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InterpretError {
    /// An input or parameter node has no value in the bindings.
    #[error("no value is bound to {kind} '{node}'")]
    MissingBinding {
        node: String,
        /// `input` or `parameter`.
        kind: &'static str,
    },
    /// A bound value does not have the shape the node declares.
    #[error("the value bound to '{node}' has shape {got}, but the node declares {expected}")]
    BindingShape {
        node: String,
        expected: String,
        got: String,
    },
    /// A value bound to an integer node (token ids, class indices) is not a whole number.
    #[error("the value bound to integer node '{node}' holds {value}, which is not an integer")]
    BindingNotInteger { node: String, value: f64 },
    /// A kernel rejected its operands at run time (an index out of range, ...).
    #[error("node '{node}' ({op}): {reason}")]
    Eval {
        node: String,
        op: &'static str,
        reason: String,
    },
    /// A setting the interpreter does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A value too large to allocate, refused before anything is allocated.
    #[error(
        "node '{node}' has shape {shape} ({elements} elements): the interpreter evaluates \
         values of at most {limit} elements ({} MiB as f64)",
        limit * 8 / (1 << 20)
    )]
    TooLarge {
        node: String,
        shape: String,
        elements: usize,
        limit: usize,
    },
    /// A tensor built from a shape and a value list whose lengths disagree.
    #[error("shape {shape} holds {expected} values, got {got}")]
    TensorData {
        shape: String,
        expected: usize,
        got: usize,
    },
}
