//! Which e-nodes the framework's model loader would refuse in a written result, so that the
//! extractor never chooses them: an optimized model must load wherever its input does (e.g.
//! CrypTen's `from_onnx` has no `ReduceMax` or `Reciprocal`, which an explicit softmax needs).
//!
//! An e-node is probed by writing it alone as ONNX (its operands as graph inputs, or as
//! initializers when not secret) and giving the written nodes to the cost model's
//! `[frontend]` check. The input's own e-nodes stay allowed (the input is what the user has),
//! and so do e-nodes of parameter-only e-classes: the writer folds weight arithmetic into
//! stored parameters ([`crate::interpret::fold`]), so it is never written as ops.

use super::analysis::{node_op, operand_values, EGraph};
use super::cost::NodeCosts;
use super::language::{TensorNode, TensorOp};
use crate::cost::loadability::FrontendSpec;
use crate::frontend::onnx;
use crate::graph::{Graph, Op, ValueInfo, Visibility};
use egg::Id;
use rustc_hash::{FxHashMap, FxHashSet};

/// E-classes whose value depends only on parameters and constants (a fixpoint over e-nodes).
fn parameter_only(egraph: &EGraph) -> FxHashSet<Id> {
    let mut only: FxHashSet<Id> = FxHashSet::default();
    loop {
        let before = only.len();
        for class in egraph.classes() {
            if only.contains(&class.id) {
                continue;
            }
            let constant =
                class.nodes.iter().any(|n| match &n.op {
                    TensorOp::Source(name) => egraph.analysis.sources.get(name).is_some_and(|s| {
                        matches!(s.op, Op::Parameter { .. } | Op::Constant { .. })
                    }),
                    TensorOp::Scalar(_) => true,
                    TensorOp::Apply(_) => n.operands().iter().all(|c| only.contains(c)),
                    TensorOp::Attr(_) | TensorOp::Outputs => false,
                });
            if constant {
                only.insert(class.id);
            }
        }
        if only.len() == before {
            return only;
        }
    }
}

/// Whether `frontend` refuses the ONNX nodes that `op` over operands `inputs` is written as.
fn refused(frontend: &FrontendSpec, op: &Op, inputs: &[&ValueInfo]) -> bool {
    let mut g = Graph::new("probe");
    let mut ids = Vec::with_capacity(inputs.len());
    for (i, v) in inputs.iter().enumerate() {
        let source = if v.visibility == Visibility::Secret {
            Op::Input
        } else {
            Op::Parameter {
                role: Default::default(),
            }
        };
        match g.add_source(format!("x{i}"), "", source, (*v).clone()) {
            Ok(id) => ids.push(id),
            Err(_) => return false,
        }
    }
    let Ok(y) = g.add("y", "", op.clone(), &ids) else {
        return false;
    };
    g.set_outputs(vec![y]);
    let Ok(bytes) = onnx::export_structure(&g) else {
        return false;
    };
    onnx::source_nodes(&bytes, "probe").is_ok_and(|nodes| !frontend.refusals(&nodes).is_empty())
}

/// Sets the cost of every e-node that `frontend` would refuse in a written result to infinity,
/// except the input's own e-nodes (`original`, canonical) and parameter-only e-classes.
/// Returns how many e-nodes were excluded.
pub fn exclude_refused(
    egraph: &EGraph,
    frontend: &FrontendSpec,
    original: &FxHashSet<TensorNode>,
    costs: &mut NodeCosts,
) -> usize {
    let constant = parameter_only(egraph);
    let mut memo: FxHashMap<String, bool> = FxHashMap::default();
    let mut excluded = 0;
    for class in egraph.classes() {
        if constant.contains(&class.id) {
            continue;
        }
        for (i, n) in class.nodes.iter().enumerate() {
            if !matches!(n.op, TensorOp::Apply(_)) || original.contains(n) {
                continue;
            }
            let (Some(op), Some(inputs)) = (node_op(egraph, n), operand_values(egraph, n)) else {
                continue;
            };
            let secret: Vec<bool> = inputs
                .iter()
                .map(|v| v.visibility == Visibility::Secret)
                .collect();
            let key = format!("{op:?}|{secret:?}|{}", inputs.len());
            let refuse = *memo
                .entry(key)
                .or_insert_with(|| refused(frontend, &op, &inputs));
            if refuse && costs.of(class.id)[i].is_finite() {
                costs.exclude(class.id, i);
                excluded += 1;
            }
        }
    }
    excluded
}
