//! Extraction: choosing one e-node per e-class so that the graph reachable from the root is
//! acyclic and costs least, each e-class paid once however often it is used (DAG cost).
//!
//! egg's `Extractor` minimises tree cost, which pays a shared subgraph once per use: on a
//! residual network it overcounts by orders of magnitude and cannot see that a merged layer
//! read by three slices is paid once. Two DAG-cost extractors:
//! - [`greedy`]: bottom-up, each e-class keeping the set of costed e-classes of its best
//!   sub-DAG (extraction-gym's greedy-DAG idea), so shared e-classes are counted once; the
//!   sets are persistent tries ([`costset`]) that share structure between versions; its
//!   sharing pass changes a reference-counted solution ([`sharing`]) one e-class at a time;
//! - [`ilp`]: an exact 0-1 program (good_lp with the pure-Rust microlp solver), time-limited,
//!   warm-started from the greedy choice, with cycles cut lazily.
//!
//! Both end in [`resolve`], which turns per-e-class preferences into an acyclic choice.

pub mod costset;
pub mod greedy;
pub mod ilp;
pub mod sharing;

use super::analysis::EGraph;
use super::cost::NodeCosts;
use super::language::TensorNode;
use egg::Id;
use std::collections::{HashMap, HashSet};

/// An acyclic choice of e-nodes (by index in their e-class) for the e-classes reachable from
/// the root, and its DAG cost.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub choice: HashMap<Id, usize>,
    pub cost: f64,
}

/// How to extract.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Greedy DAG extraction.
    Greedy,
    /// Greedy, then an exact ILP within the time limit (seconds).
    Ilp { seconds: f64 },
}

/// The DAG cost of a choice: every reachable e-class's chosen e-node, paid once.
pub fn dag_cost(egraph: &EGraph, costs: &NodeCosts, root: Id, choice: &HashMap<Id, usize>) -> f64 {
    let mut seen = HashSet::new();
    let mut stack = vec![egraph.find(root)];
    let mut total = 0.0;
    while let Some(c) = stack.pop() {
        if !seen.insert(c) {
            continue;
        }
        let i = choice[&c];
        total += costs.of(c)[i];
        for &child in &egraph[c].nodes[i].children {
            stack.push(egraph.find(child));
        }
    }
    total
}

/// The chosen e-nodes of a choice (by index), for the e-classes reachable from the root.
pub fn chosen_nodes(
    egraph: &EGraph,
    root: Id,
    choice: &HashMap<Id, usize>,
) -> HashMap<Id, TensorNode> {
    let mut out = HashMap::new();
    let mut stack = vec![egraph.find(root)];
    while let Some(c) = stack.pop() {
        if out.contains_key(&c) {
            continue;
        }
        let node = egraph[c].nodes[choice[&c]].clone();
        for &child in &node.children {
            stack.push(egraph.find(child));
        }
        out.insert(c, node);
    }
    out
}

/// Turns preferences into an acyclic choice: a depth-first walk from the root that takes, in
/// each e-class, the first candidate (in `candidates` order, finite cost only) whose children
/// can all be chosen without reaching an e-class on the current path. `None` if no acyclic
/// choice was found within `limit` steps of `work` (each step counted there).
pub fn resolve(
    egraph: &EGraph,
    costs: &NodeCosts,
    root: Id,
    candidates: &dyn Fn(Id) -> Vec<usize>,
    work: &mut u64,
    limit: u64,
) -> Option<HashMap<Id, usize>> {
    struct Frame {
        class: Id,
        cands: Vec<usize>,
        cand: usize,
        child: usize,
    }
    let mut done: HashMap<Id, usize> = HashMap::new();
    let mut on_path: HashSet<Id> = HashSet::new();
    let frame = |c: Id| Frame {
        class: c,
        cands: candidates(c)
            .into_iter()
            .filter(|&i| costs.of(c)[i].is_finite())
            .collect(),
        cand: 0,
        child: 0,
    };
    let root = egraph.find(root);
    let mut stack = vec![frame(root)];
    on_path.insert(root);
    // Outcome of the frame just popped: Some(true) chosen, Some(false) failed.
    let mut outcome: Option<bool> = None;
    while let Some(top) = stack.last_mut() {
        *work += 1;
        if *work > limit {
            return None;
        }
        match outcome.take() {
            Some(true) => top.child += 1,
            Some(false) => {
                top.cand += 1;
                top.child = 0;
            }
            None => {}
        }
        let c = top.class;
        if top.cand >= top.cands.len() {
            on_path.remove(&c);
            stack.pop();
            outcome = Some(false);
            continue;
        }
        let node = &egraph[c].nodes[top.cands[top.cand]];
        if top.child >= node.children.len() {
            done.insert(c, top.cands[top.cand]);
            on_path.remove(&c);
            stack.pop();
            outcome = Some(true);
            continue;
        }
        let child = egraph.find(node.children[top.child]);
        if done.contains_key(&child) {
            top.child += 1;
        } else if on_path.contains(&child) {
            top.cand += 1;
            top.child = 0;
        } else {
            on_path.insert(child);
            stack.push(frame(child));
        }
    }
    match outcome {
        Some(true) => Some(done),
        _ => None,
    }
}
