//! Errors of ONNX import and export. Every error names the file; errors about one node name
//! the node, its op type and the opset, and say why.

use std::fmt;
use thiserror::Error;

/// A node whose op the importer cannot map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedOp {
    /// Operator domain (empty for the default `ai.onnx` domain).
    pub domain: String,
    pub op_type: String,
    pub node: String,
    /// Version of the node's domain imported by the model.
    pub opset: i64,
}

impl fmt::Display for UnsupportedOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.domain.is_empty() || self.domain == "ai.onnx" {
            write!(f, "{}", self.op_type)?;
        } else {
            write!(f, "{}::{}", self.domain, self.op_type)?;
        }
        write!(f, " (node '{}', opset {})", self.node, self.opset)
    }
}

#[derive(Debug, Error)]
pub enum OnnxError {
    /// The file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not an ONNX model the importer can read (not protobuf, truncated, no
    /// graph, unsupported opset, malformed tensor, ...).
    #[error("{file}: not a valid ONNX model: {reason}")]
    Invalid { file: String, reason: String },
    /// Ops the importer cannot map, all of them at once.
    #[error("{file}: {} unsupported op{}: {}", ops.len(), if ops.len() == 1 { "" } else { "s" },
            ops.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", "))]
    Unsupported {
        file: String,
        ops: Vec<UnsupportedOp>,
    },
    /// A node cannot be imported as given (missing input, unsupported attribute value,
    /// inconsistent shapes, ...).
    #[error("{file}: node '{node}' ({op_type}, opset {opset}): {reason}")]
    Node {
        file: String,
        node: String,
        op_type: String,
        opset: i64,
        reason: String,
    },
    /// A graph input has a symbolic dim that no binding gives a value.
    #[error("{file}: input '{input}' has symbolic dim '{dim}' (axis {axis}) with no binding; bind it with `--dim {dim}=N`{}",
            if *axis == 0 { " or a batch size" } else { "" })]
    UnboundDim {
        file: String,
        input: String,
        dim: String,
        axis: usize,
    },
    /// The nodes cannot be ordered: some of them depend on each other's outputs.
    #[error("{file}: the graph has a cycle through node{} {}", if nodes.len() == 1 { "" } else { "s" },
            nodes.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", "))]
    Cycle { file: String, nodes: Vec<String> },
    /// A graph cannot be written as ONNX.
    #[error("export of graph '{graph}': {reason}")]
    Export { graph: String, reason: String },
}
