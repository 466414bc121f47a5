//! Provenance of approximations: which e-nodes may compute something other than the original
//! model, and which approximate rule is at their origin.
//!
//! An e-node is *approximate* when its own application, on its e-classes' values, can differ
//! from the value the e-class had in the input graph. That is the case for
//! - the root of an approximate rule's right-hand side (`relu-to-square` puts `square(x)` into
//!   the e-class of `relu(x)`);
//! - the root of any rule's right-hand side whose left-hand side matched only through
//!   approximate e-nodes (`square-as-product` rewriting that `square(x)` into `mul(x, x)`
//!   inherits `relu-to-square`); a match that can be made of exact e-nodes alone gives an
//!   exact e-node;
//! - every e-node of two e-classes that existed before and that such a rewrite joins (the
//!   right-hand side was already in the e-graph elsewhere): after the union either e-class may
//!   be extracted as the other's e-nodes, so all of them are marked.
//!
//! Inner e-nodes of a right-hand side compute exactly what they say on their own operands,
//! so they are not marked; an e-node computed on approximated operands is exact itself (the
//! operand is reported where it was approximated). The marks are kept as e-nodes as added and
//! compared canonically, so they survive unions and rebuilds; an e-node marked from several
//! origins reports the first.

use super::analysis::{node_op, EGraph};
use super::language::{TensorNode, TensorOp};
use super::rules::{AttrSpec, Pat};
use egg::{Id, Language, Subst, Symbol, Var};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// Marks `node` (as added) approximate with `rule` at its origin.
pub fn mark(egraph: &mut EGraph, node: TensorNode, rule: Symbol) {
    egraph.analysis.approximate.push((node, rule));
}

/// Marks every e-node of the e-classes `a` and `b` approximate with `rule` at the origin.
pub fn mark_classes(egraph: &mut EGraph, a: Id, b: Id, rule: Symbol) {
    let mut nodes: Vec<TensorNode> = egraph[a].nodes.clone();
    if egraph.find(a) != egraph.find(b) {
        nodes.extend(egraph[b].nodes.iter().cloned());
    }
    for n in nodes {
        mark(egraph, n, rule);
    }
}

/// The approximate e-nodes, canonical now, with the rule at their origin (first mark wins).
pub fn marked(egraph: &EGraph) -> FxHashMap<TensorNode, Symbol> {
    let mut out = FxHashMap::default();
    for (n, rule) in &egraph.analysis.approximate {
        out.entry(n.clone().map_children(|c| egraph.find(c)))
            .or_insert(*rule);
    }
    out
}

/// The approximate rule a match of `pat` in e-class `class` inherits: `Some(None)` when the
/// match can be made of exact e-nodes, `Some(Some(rule))` when only through approximate ones,
/// `None` when the pattern does not match there (under `subst`).
pub fn inherited(
    egraph: &EGraph,
    marks: &FxHashMap<TensorNode, Symbol>,
    pat: &Pat,
    class: Id,
    subst: &Subst,
    vars: &HashMap<String, Var>,
) -> Option<Option<Symbol>> {
    let class = egraph.find(class);
    let bound = |v: &str| {
        vars.get(v)
            .and_then(|var| subst.get(*var))
            .map(|&id| egraph.find(id))
    };
    match pat {
        Pat::Var(v) => match bound(v) {
            Some(id) if id != class => None,
            _ => Some(None),
        },
        Pat::Scalar(_) | Pat::Computed(_) | Pat::Source(_) => Some(None),
        Pat::Apply {
            op, attrs, args, ..
        } => {
            let attr_var = match attrs {
                AttrSpec::Bind(b) | AttrSpec::Build { base: Some(b), .. } => bound(b),
                _ => None,
            };
            let mut best: Option<Option<Symbol>> = None;
            for node in &egraph[class].nodes {
                if node.op != TensorOp::Apply(op) || node.operands().len() != args.len() {
                    continue;
                }
                if let (Some(want), Some(have)) = (attr_var, node.attr_child()) {
                    if egraph.find(have) != want {
                        continue;
                    }
                }
                let own = marks.get(node).copied();
                let mut origin = Some(own);
                for (arg, &child) in args.iter().zip(node.operands()) {
                    match (
                        inherited(egraph, marks, arg, child, subst, vars),
                        &mut origin,
                    ) {
                        (None, _) => {
                            origin = None;
                            break;
                        }
                        (Some(Some(r)), Some(o @ None)) => *o = Some(r),
                        _ => {}
                    }
                }
                match (origin, best) {
                    (Some(None), _) => return Some(None),
                    (Some(o), None) => best = Some(o),
                    _ => {}
                }
            }
            best
        }
    }
}

/// An approximated node of an extracted graph: the approximate rule at its origin, the op
/// computed there and the module it is in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Approximation {
    pub rule: String,
    pub module: String,
    pub op: String,
}

/// The approximate e-nodes of an extraction (`chosen`: e-class -> e-node), ordered by rule,
/// module and op.
pub fn in_choice(egraph: &EGraph, chosen: &HashMap<Id, TensorNode>) -> Vec<Approximation> {
    if egraph.analysis.approximate.is_empty() {
        return Vec::new();
    }
    let marks = marked(egraph);
    let mut out: Vec<Approximation> = chosen
        .iter()
        .filter_map(|(&class, node)| {
            let rule = marks.get(&node.clone().map_children(|c| egraph.find(c)))?;
            let module = egraph[class]
                .data
                .home
                .map(|h| h.module.as_str().to_string())
                .unwrap_or_default();
            let op = node_op(egraph, node).map_or("source", |o| o.name());
            Some(Approximation {
                rule: rule.as_str().to_string(),
                module,
                op: op.to_string(),
            })
        })
        .collect();
    out.sort();
    out
}
