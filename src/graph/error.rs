//! Errors of graph construction: always name the node (and its module path) and the reason.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum GraphError {
    /// A node cannot be added as given.
    #[error("node '{node}'{}: {reason}", if module.is_empty() { String::new() } else { format!(" (module {module})") })]
    Node {
        node: String,
        module: String,
        reason: String,
    },
}

impl GraphError {
    pub fn node(node: &str, module: &str, reason: String) -> Self {
        GraphError::Node {
            node: node.to_string(),
            module: module.to_string(),
            reason,
        }
    }
}
