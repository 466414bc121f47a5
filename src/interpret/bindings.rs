//! Values for a graph's inputs and parameters, by node name.
//!
//! Constants are not bound: they take the value their [`ConstValue`](crate::graph::ConstValue)
//! gives. A binding for a name the graph does not have is ignored, so one set of bindings can
//! serve a graph and its rewritten variants.

use super::error::InterpretError;
use super::tensor::Tensor;
use crate::graph::{shape_string, ElemKind, Graph, NodeId, Op};
use std::collections::BTreeMap;

/// Tensors for input and parameter nodes, keyed by node name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bindings {
    values: BTreeMap<String, Tensor>,
}

impl Bindings {
    pub fn new() -> Bindings {
        Bindings::default()
    }

    /// Binds `name`, returning the value it replaces.
    pub fn insert(&mut self, name: impl Into<String>, value: Tensor) -> Option<Tensor> {
        self.values.insert(name.into(), value)
    }

    /// Builder form of [`Bindings::insert`].
    pub fn with(mut self, name: impl Into<String>, value: Tensor) -> Bindings {
        self.insert(name, value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.values.get(name)
    }

    pub fn remove(&mut self, name: &str) -> Option<Tensor> {
        self.values.remove(name)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Bindings in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The value bound to a source node, checked against the node's declared shape and
    /// element kind (integer nodes must hold whole numbers).
    pub fn value_for(&self, graph: &Graph, id: NodeId) -> Result<&Tensor, InterpretError> {
        let node = graph.node(id);
        let value = self
            .values
            .get(&node.name)
            .ok_or_else(|| InterpretError::MissingBinding {
                node: node.name.clone(),
                kind: match node.op {
                    Op::Parameter { .. } => "parameter",
                    _ => "input",
                },
            })?;
        if value.shape() != node.value.shape.as_slice() {
            return Err(InterpretError::BindingShape {
                node: node.name.clone(),
                expected: shape_string(&node.value.shape),
                got: shape_string(value.shape()),
            });
        }
        if node.value.kind == ElemKind::Int {
            if let Some(&bad) = value.array().iter().find(|v| v.fract() != 0.0) {
                return Err(InterpretError::BindingNotInteger {
                    node: node.name.clone(),
                    value: bad,
                });
            }
        }
        Ok(value)
    }
}
