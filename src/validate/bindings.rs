//! The binding policy: which values the original and the variant are evaluated on.
//!
//! - Inputs are bound by name: the variant gets exactly the original's random values.
//! - A parameter whose values the graph's file stores (ONNX initializers,
//!   [`Graph::weight`]) is bound to them: a variant whose weights were re-derived (batch norm
//!   folded into a convolution, say) is checked with its own weights, which is the only way
//!   such a variant can be equivalent.
//! - An original parameter without stored values gets its deterministic placeholder
//!   ([`crate::interpret::random::placeholder`]): the values `hawkeye export` and `optimize -o`
//!   write for it and fold into the weights they compute, so a written variant of a model
//!   without weights is checked against the same values.
//! - Otherwise a parameter of the variant that the original also has, by name and with the
//!   same shape, gets the original's value (stored or placeholder).
//! - Any other variant parameter is drawn from the sample's seed ([`Bindings::random`]'s
//!   distributions). It has no counterpart in the original, so a mismatch may only mean the
//!   weights differ; the summary counts them.

use crate::graph::{Graph, NodeId, Op};
use crate::interpret::{random::random_tensor, Bindings, Tensor};
use std::collections::HashMap;

/// Where one graph's parameter values come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterSources {
    /// Bound to the values stored in the graph's file.
    pub stored: usize,
    /// Bound by name to the original's value (variant only).
    pub shared: usize,
    /// Bound to the parameter's placeholder (original only: the file stores no values).
    pub placeholder: usize,
    /// Drawn from the seed.
    pub drawn: usize,
}

/// How both graphs were bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindingSummary {
    /// Number of inputs (bound by name to the same values in both graphs).
    pub inputs: usize,
    pub original: ParameterSources,
    pub variant: ParameterSources,
    /// Names of the variant's parameters drawn from the seed (no stored values and no
    /// same-named, same-shaped parameter in the original).
    pub variant_drawn: Vec<String>,
}

/// Decoded stored values of every parameter of `graph` that has them.
fn stored_values(graph: &Graph, which: &str) -> Result<HashMap<String, Tensor>, String> {
    let mut out = HashMap::new();
    for id in graph.node_ids() {
        let node = graph.node(id);
        if !matches!(node.op, Op::Parameter { .. }) {
            continue;
        }
        if let Some(w) = graph.weight(&node.name) {
            let values = w
                .to_f64()
                .map_err(|e| format!("{which}: parameter '{}': {e}", node.name))?;
            let t = Tensor::new(&node.value.shape, values)
                .map_err(|e| format!("{which}: parameter '{}': {e}", node.name))?;
            out.insert(node.name.clone(), t);
        }
    }
    Ok(out)
}

/// Binds the original and the variant for every sample seed, following the module policy.
#[derive(Debug, Clone)]
pub struct Binder<'g> {
    original: &'g Graph,
    variant: &'g Graph,
    original_stored: HashMap<String, Tensor>,
    /// Placeholders of the original's parameters without stored values.
    original_placeholders: HashMap<String, Tensor>,
    variant_stored: HashMap<String, Tensor>,
}

impl<'g> Binder<'g> {
    /// Decodes the stored weights of both graphs (once, for all samples).
    pub fn new(original: &'g Graph, variant: &'g Graph) -> Result<Binder<'g>, String> {
        let original_stored = stored_values(original, "original")?;
        let mut original_placeholders = HashMap::new();
        for id in original.node_ids() {
            let n = original.node(id);
            if matches!(n.op, Op::Parameter { .. }) && !original_stored.contains_key(&n.name) {
                let t = crate::interpret::fold::parameter_tensor(original, id)
                    .map_err(|e| format!("original: {e}"))?;
                original_placeholders.insert(n.name.clone(), t);
            }
        }
        Ok(Binder {
            original,
            variant,
            original_stored,
            original_placeholders,
            variant_stored: stored_values(variant, "variant")?,
        })
    }

    fn shared_with_original(&self, id: NodeId) -> Option<NodeId> {
        let node = self.variant.node(id);
        let o = self.original.find(&node.name)?;
        let on = self.original.node(o);
        (matches!(on.op, Op::Input | Op::Parameter { .. }) && on.value.shape == node.value.shape)
            .then_some(o)
    }

    /// Where each graph's values come from (the same for every seed).
    pub fn summary(&self) -> BindingSummary {
        let mut s = BindingSummary::default();
        for id in self.original.node_ids() {
            let n = self.original.node(id);
            match n.op {
                Op::Input => s.inputs += 1,
                Op::Parameter { .. } if self.original_stored.contains_key(&n.name) => {
                    s.original.stored += 1
                }
                Op::Parameter { .. } => s.original.placeholder += 1,
                _ => {}
            }
        }
        for id in self.variant.node_ids() {
            let n = self.variant.node(id);
            if !matches!(n.op, Op::Parameter { .. }) {
                continue;
            }
            if self.variant_stored.contains_key(&n.name) {
                s.variant.stored += 1;
            } else if self.shared_with_original(id).is_some() {
                s.variant.shared += 1;
            } else {
                s.variant.drawn += 1;
                s.variant_drawn.push(n.name.clone());
            }
        }
        s
    }

    /// The bindings of the original and of the variant for one sample seed.
    pub fn bind(&self, seed: u64) -> (Bindings, Bindings) {
        let mut original = Bindings::new();
        for id in self.original.node_ids() {
            let n = self.original.node(id);
            let value = match n.op {
                Op::Input => random_tensor(self.original, id, seed),
                Op::Parameter { .. } => match self.original_stored.get(&n.name) {
                    Some(t) => t.clone(),
                    None => self.original_placeholders[&n.name].clone(),
                },
                _ => continue,
            };
            original.insert(n.name.clone(), value);
        }
        let mut variant = Bindings::new();
        for id in self.variant.node_ids() {
            let n = self.variant.node(id);
            if !matches!(n.op, Op::Input | Op::Parameter { .. }) {
                continue;
            }
            let stored = self.variant_stored.get(&n.name).cloned();
            let shared = || {
                self.shared_with_original(id)
                    .and_then(|o| original.get(&self.original.node(o).name).cloned())
            };
            let value = stored
                .or_else(shared)
                .unwrap_or_else(|| random_tensor(self.variant, id, seed));
            variant.insert(n.name.clone(), value);
        }
        (original, variant)
    }
}
