//! The reverse-mode builder: walks a graph backwards from an output and appends, for every
//! node on a path from the differentiated nodes to the output, the nodes computing the
//! gradient of its inputs (the vector-Jacobian products of `rules`), summing the
//! contributions of nodes used more than once.

use super::emit::Emitter;
use super::rules;
use super::AutogradError;
use crate::graph::{ElemKind, Graph, NodeId, Op, Phase, Visibility};

/// How a framework's autograd decides which gradients it computes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackwardOptions {
    /// Compute the gradient of every non-public real operand of an op on the gradient path,
    /// needed or not: CrypTen's autograd functions return the gradients of all their inputs
    /// (so the gradient of a model's data input is computed, then dropped), public operands
    /// of a product included (`AutogradMul` turns a scalar into a tensor and returns
    /// `grad * input` summed to its shape for it). Without it only
    /// gradients that reach a differentiated node are built, which is what jax keeps after
    /// XLA's dead-code elimination.
    pub all_input_grads: bool,
    /// Fold products by public scalars into the broadcasts they feed and into each other
    /// (`c * expand(g)` becomes `expand(c * g)`), as a compiler does (XLA's algebraic
    /// simplifier); an eager framework runs every product as written.
    pub fold_scales: bool,
    /// Nodes whose value is used as a constant (jax's `stop_gradient`, e.g. the row max
    /// that `jax.nn.softmax` subtracts): no gradient flows into or through them.
    pub stop_gradient: Vec<NodeId>,
}

/// Appends to `graph`, in the backward phase, the nodes computing the gradient of `output`
/// with respect to each node of `wrt`. `seed` is the gradient of `output` itself; `None`
/// means the literal 1 of a scalar output (a public constant that frameworks fold away).
///
/// Gradient nodes take the module path of the forward node they differentiate and are
/// named `{forward node}.grad.{op}`. Returns, for each node of `wrt`, its gradient node, or
/// `None` when `output` does not depend on it.
pub fn backward(
    graph: &mut Graph,
    output: NodeId,
    seed: Option<NodeId>,
    wrt: &[NodeId],
    options: &BackwardOptions,
) -> Result<Vec<Option<NodeId>>, AutogradError> {
    let phase = graph.phase();
    graph.set_phase(Phase::Backward);
    let r = reverse(graph, output, seed, wrt, options);
    graph.set_phase(phase);
    r
}

/// The reverse pass in the graph's current phase (also used by composite-op rules, which
/// differentiate through a decomposition they emit).
pub(crate) fn reverse(
    graph: &mut Graph,
    output: NodeId,
    seed: Option<NodeId>,
    wrt: &[NodeId],
    options: &BackwardOptions,
) -> Result<Vec<Option<NodeId>>, AutogradError> {
    let n = output.index() + 1;
    // nodes that depend on a differentiated node ...
    let mut depends = vec![false; n];
    for &w in wrt {
        if w.index() < n {
            depends[w.index()] = true;
        }
    }
    let ids: Vec<NodeId> = graph.node_ids().take(n).collect();
    let inputs: Vec<Vec<NodeId>> = ids.iter().map(|&id| graph.inputs(id)).collect();
    for &id in &ids {
        if options.stop_gradient.contains(&id) {
            continue;
        }
        if inputs[id.index()].iter().any(|i| depends[i.index()]) {
            depends[id.index()] = true;
        }
    }
    // ... and that the output depends on: the nodes whose gradient is needed
    let mut active = vec![false; n];
    active[output.index()] = depends[output.index()];
    for &id in ids.iter().rev() {
        if active[id.index()] {
            for i in &inputs[id.index()] {
                if depends[i.index()] {
                    active[i.index()] = true;
                }
            }
        }
    }

    // gradient contributions per node; the output's is the seed
    let mut contributions: Vec<Vec<NodeId>> = vec![Vec::new(); n];
    let mut e = Emitter::new(graph);
    e.fold_scales = options.fold_scales;
    for &id in ids.iter().rev() {
        if !active[id.index()] || e.graph.node(id).op.is_source() {
            continue;
        }
        let g = if id == output {
            seed
        } else if contributions[id.index()].is_empty() {
            continue; // only zero gradients reach it (e.g. through an integer value)
        } else {
            e.for_node(id);
            let terms = std::mem::take(&mut contributions[id.index()]);
            Some(e.sum(&terms)?)
        };
        let want: Vec<bool> = inputs[id.index()]
            .iter()
            .map(|&i| {
                active[i.index()]
                    || (options.all_input_grads
                        && (differentiable(e.graph, i) || public_factor(e.graph, id, i)))
            })
            .collect();
        if !want.iter().any(|&w| w) {
            continue;
        }
        e.for_node(id);
        let grads = rules::vjp(&mut e, id, g, &want)?;
        for ((&i, grad), &w) in inputs[id.index()].iter().zip(grads).zip(&want) {
            if let (Some(grad), true, true) = (grad, w, active[i.index()]) {
                contributions[i.index()].push(grad);
            }
        }
    }

    let mut out = Vec::with_capacity(wrt.len());
    for &w in wrt {
        if w.index() >= n {
            out.push(None);
            continue;
        }
        let terms = std::mem::take(&mut contributions[w.index()]);
        if w == output {
            out.push(seed);
        } else if terms.is_empty() {
            out.push(None);
        } else {
            e.for_node(w);
            out.push(Some(e.sum(&terms)?));
            // a wrt node may be listed twice
            contributions[w.index()] = vec![*out.last().unwrap().as_ref().unwrap()];
        }
    }
    Ok(out)
}

/// Whether `i` is a public real operand of the product `id`, whose gradient an eager
/// framework computes all the same.
fn public_factor(graph: &Graph, id: NodeId, i: NodeId) -> bool {
    let v = &graph.node(i).value;
    matches!(graph.node(id).op, Op::Mul)
        && v.kind == ElemKind::Real
        && v.visibility == Visibility::Public
}

/// Whether a node's value can carry a gradient that a framework would compute: real, not
/// public, and not a buffer (running statistics, optimizer state).
fn differentiable(graph: &Graph, id: NodeId) -> bool {
    let node = graph.node(id);
    let v = &node.value;
    let buffer = matches!(node.op, Op::Parameter { role } if !role.is_trainable());
    v.kind == ElemKind::Real && v.visibility != Visibility::Public && !buffer
}
