//! Symbolic proof of equivalence with the optimizer's e-graph.
//!
//! [`prove_equivalent`] puts both graphs into one e-graph (inputs, and parameters with the same
//! name, op and value, are shared leaves), saturates it with the exact rewrite rules, and checks
//! that each pair of outputs lands in the same e-class. A proof names the rewrites that connect
//! the outputs, read from egg's explanations. Exact rules are identities over the reals, so a
//! `Proved` outcome means the two graphs compute the same real-valued function (numeric
//! differences are rounding only); `NotFound` is not a disproof.

use crate::graph::{Graph, NodeId};
use crate::optimize::{convert, runner, Limits, RuleSet};
use egg::{FlatTerm, Id, Symbol};
use std::collections::HashSet;

use crate::optimize::language::TensorNode;

/// What the symbolic check established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofOutcome {
    /// No proof was attempted, and why.
    NotAttempted { reason: String },
    /// Every output pair was shown equal; `explanation` names the rewrites used.
    Proved { explanation: String },
    /// Saturation stopped (node or time limit, or fixpoint) without joining every output pair.
    /// This is not a disproof.
    NotFound { reason: String },
}

/// Both graphs in one: the original's nodes as they are, then the variant's, sharing the
/// original's sources where name, op and value agree. Outputs: the original's, then the
/// variant's.
fn union(original: &Graph, variant: &Graph) -> Result<Graph, String> {
    let mut g = Graph::new(format!("{} = {}", original.name, variant.name));
    let copy = |from: &Graph, prefix: &str, g: &mut Graph| -> Result<Vec<NodeId>, String> {
        let mut ids: Vec<NodeId> = Vec::with_capacity(from.len());
        for id in from.node_ids() {
            let n = from.node(id);
            g.set_phase(n.phase);
            let shared = n.op.is_source()
                && g.find(&n.name)
                    .is_some_and(|s| g.node(s).op == n.op && g.node(s).value == n.value);
            let new = if shared {
                g.find(&n.name).expect("checked")
            } else {
                let name = g.fresh_name(&format!("{prefix}{}", n.name));
                if n.op.is_source() {
                    g.add_source(name, n.module.clone(), n.op.clone(), n.value.clone())
                } else {
                    let inputs: Vec<NodeId> =
                        from.inputs(id).iter().map(|i| ids[i.index()]).collect();
                    g.add(name, n.module.clone(), n.op.clone(), &inputs)
                }
                .map_err(|e| e.to_string())?
            };
            ids.push(new);
        }
        Ok(from.outputs().iter().map(|o| ids[o.index()]).collect())
    };
    let mut outputs = copy(original, "", &mut g)?;
    outputs.extend(copy(variant, "variant:", &mut g)?);
    g.set_outputs(outputs);
    Ok(g)
}

/// The rewrite rules a flat explanation applies, in order (each rule once).
fn rules_used(steps: &[FlatTerm<TensorNode>]) -> Vec<String> {
    fn walk(t: &FlatTerm<TensorNode>, seen: &mut HashSet<Symbol>, out: &mut Vec<String>) {
        for rule in [t.forward_rule, t.backward_rule].into_iter().flatten() {
            if seen.insert(rule) {
                out.push(rule.to_string());
            }
        }
        t.children.iter().for_each(|c| walk(c, seen, out));
    }
    let (mut seen, mut out) = (HashSet::new(), Vec::new());
    steps.iter().for_each(|s| walk(s, &mut seen, &mut out));
    out
}

/// Tries to prove that `variant` computes the same function as `original` with the exact rules
/// of `rules`, within `limits`. The graphs must have the same interface (checked before).
pub fn prove_equivalent(
    original: &Graph,
    variant: &Graph,
    rules: &RuleSet,
    limits: &Limits,
) -> ProofOutcome {
    let combined = match union(original, variant) {
        Ok(g) => g,
        Err(reason) => return ProofOutcome::NotAttempted { reason },
    };
    let loaded = convert::load_explained(&combined);
    let outputs: Vec<Id> = loaded.egraph[loaded.root].nodes[0].children.clone();
    let k = original.outputs().len();
    let (left, right) = outputs.split_at(k);
    let (mut egraph, saturation) = runner::saturate(
        loaded.egraph,
        &rules.rewrites(false),
        HashSet::new(),
        limits,
        None,
    );
    if !egraph.analysis.conflicts.is_empty() || !egraph.analysis.rule_errors.is_empty() {
        return ProofOutcome::NotAttempted {
            reason: "the e-graph met inconsistent rewrites; no proof is claimed".to_string(),
        };
    }
    let mut used: Vec<String> = Vec::new();
    for (i, (&a, &b)) in left.iter().zip(right).enumerate() {
        if egraph.find(a) != egraph.find(b) {
            return ProofOutcome::NotFound {
                reason: format!(
                    "output {i} of the two graphs was not joined by the exact rules \
                     ({} iterations, {} e-nodes, stopped: {})",
                    saturation.iterations, saturation.enodes, saturation.stop
                ),
            };
        }
        let (ea, eb) = (egraph.id_to_expr(a), egraph.id_to_expr(b));
        let mut explanation = egraph.explain_equivalence(&ea, &eb);
        for rule in rules_used(&explanation.make_flat_explanation().clone()) {
            if !used.contains(&rule) {
                used.push(rule);
            }
        }
    }
    ProofOutcome::Proved {
        explanation: if used.is_empty() {
            "the graphs are the same term".to_string()
        } else {
            format!("rewrites connecting the outputs: {}", used.join(" > "))
        },
    }
}
