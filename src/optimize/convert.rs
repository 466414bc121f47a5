//! Graph <-> e-graph: a model graph enters as one e-node per graph node under an `outputs`
//! root; an extracted choice (one e-node per e-class) comes back as a valid IR graph.
//!
//! Back in the IR, a chosen e-node that is an original graph node (same op on the same
//! e-classes) keeps that node's name and module; a node a rule made is named after its op in
//! the module of the e-class it joined (the node it replaces), and reported with the rule. A
//! new node that stands for an original one (same op and attributes on the same first
//! operand, the original not in the result: a convolution whose weights absorbed a batch
//! norm, the merged layer of sibling layers) takes that node's name and module, and a new
//! node computing a graph output takes the original output node's name. Parameters keep
//! their stored values and the outputs their recorded file names.

use super::analysis::{node_op, EGraph, Home, SourceInfo, TensorAnalysis};
use super::language::{Attrs, Real, TensorNode, TensorOp};
use crate::graph::{
    ConstValue, ElemKind, Graph, GraphError, NodeId, Op, Phase, ValueInfo, Visibility,
};
use egg::{Id, Symbol};
use std::collections::{HashMap, HashSet};

/// A graph loaded into an e-graph.
pub struct Loaded {
    pub egraph: EGraph,
    /// The `outputs` e-class.
    pub root: Id,
    /// Every graph node's e-node, as added (children canonical at the time).
    pub originals: Vec<(TensorNode, NodeId)>,
}

/// Whether a source is a public real scalar, which enters as a [`TensorOp::Scalar`] leaf.
fn scalar_value(op: &Op, value: &ValueInfo) -> Option<f64> {
    if !value.shape.is_empty()
        || value.kind != ElemKind::Real
        || value.visibility != Visibility::Public
    {
        return None;
    }
    match op {
        Op::Constant {
            value: ConstValue::Fill(v),
        } => Some(*v),
        Op::Constant {
            value: ConstValue::Data(d),
        } if d.len() == 1 => Some(d[0]),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

/// Loads a graph (with its parameter visibilities already set) into a fresh e-graph.
pub fn load(graph: &Graph) -> Loaded {
    load_into(graph, false)
}

/// Like [`load`], with egg's explanations enabled (for proofs that name their rewrites).
pub fn load_explained(graph: &Graph) -> Loaded {
    load_into(graph, true)
}

fn load_into(graph: &Graph, explanations: bool) -> Loaded {
    let mut sources = HashMap::new();
    for id in graph.node_ids() {
        let n = graph.node(id);
        if n.op.is_source() && scalar_value(&n.op, &n.value).is_none() {
            sources.insert(
                Symbol::from(n.name.as_str()),
                SourceInfo {
                    op: n.op.clone(),
                    value: n.value.clone(),
                    module: n.module.clone(),
                    phase: n.phase,
                },
            );
        }
    }
    let mut egraph = EGraph::new(TensorAnalysis::new(sources));
    if explanations {
        egraph = egraph.with_explanations_enabled();
    }
    let mut class_of: Vec<Id> = Vec::with_capacity(graph.len());
    let mut originals = Vec::with_capacity(graph.len());
    for id in graph.node_ids() {
        let n = graph.node(id);
        let enode = if let Some(v) = scalar_value(&n.op, &n.value) {
            TensorNode::leaf(TensorOp::Scalar(Real::new(v)))
        } else if n.op.is_source() {
            TensorNode::leaf(TensorOp::Source(Symbol::from(n.name.as_str())))
        } else {
            let mut children = Vec::new();
            if super::language::has_attributes(n.op.name()) {
                children
                    .push(egraph.add(TensorNode::leaf(TensorOp::Attr(Attrs::new(n.op.clone())))));
            }
            children.extend(graph.inputs(id).iter().map(|i| class_of[i.index()]));
            TensorNode::apply(n.op.name(), children)
        };
        let class = egraph.add(enode.clone());
        if egraph[class].data.home.is_none() {
            egraph[class].data.home = Some(Home {
                module: Symbol::from(n.module.as_str()),
                phase: n.phase,
            });
        }
        debug_assert_eq!(
            egraph[class].data.value.as_ref(),
            Some(&n.value),
            "node '{}' enters the e-graph with another value",
            n.name
        );
        class_of.push(class);
        originals.push((enode, id));
    }
    let outputs: Vec<Id> = graph
        .outputs()
        .iter()
        .map(|o| class_of[o.index()])
        .collect();
    let root = egraph.add(TensorNode {
        op: TensorOp::Outputs,
        children: outputs,
    });
    egraph.rebuild();
    Loaded {
        egraph,
        root,
        originals,
    }
}

/// A rewritten node of an extracted graph: which rule made it and where.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rewritten {
    pub node: String,
    pub op: &'static str,
    pub module: String,
    pub rule: String,
}

/// Builds the graph of an extraction: `choice` gives the chosen e-node of every e-class
/// reachable from `root` (acyclic).
pub fn rebuild_graph(
    egraph: &EGraph,
    root: Id,
    choice: &HashMap<Id, TensorNode>,
    original: &Graph,
    originals: &[(TensorNode, NodeId)],
    created: &[(TensorNode, Symbol)],
) -> Result<(Graph, Vec<Rewritten>), GraphError> {
    let canon = |n: &TensorNode| n.clone().map_children_canon(egraph);
    let original_of: HashMap<TensorNode, NodeId> = originals
        .iter()
        .rev()
        .map(|(n, id)| (canon(n), *id))
        .collect();
    let mut rule_of: HashMap<TensorNode, Symbol> = HashMap::new();
    for (n, rule) in created {
        rule_of.entry(canon(n)).or_insert(*rule);
    }
    let mut reserved: HashSet<String> = original
        .node_ids()
        .map(|id| original.node(id).name.clone())
        .collect();
    let mut g = Graph::new(original.name.clone());
    let mut built: HashMap<Id, NodeId> = HashMap::new();
    let mut rewritten = Vec::new();

    // Post-order over the chosen e-nodes (iterative: graphs are deep).
    let root_node = &choice[&egraph.find(root)];
    let mut output_name: HashMap<Id, String> = HashMap::new();
    for (&c, &o) in root_node.children.iter().zip(original.outputs()) {
        output_name
            .entry(egraph.find(c))
            .or_insert_with(|| original.node(o).name.clone());
    }
    let mut order: Vec<Id> = Vec::new();
    let mut state: HashMap<Id, bool> = HashMap::new();
    for &out in &root_node.children {
        let mut stack = vec![(egraph.find(out), false)];
        while let Some((c, expanded)) = stack.pop() {
            if expanded {
                state.insert(c, true);
                order.push(c);
                continue;
            }
            if state.contains_key(&c) {
                continue;
            }
            state.insert(c, false);
            stack.push((c, true));
            for &child in choice[&c].children.iter().rev() {
                let child = egraph.find(child);
                if egraph[child].data.value.is_some() && !state.contains_key(&child) {
                    stack.push((child, false));
                }
            }
        }
    }
    // Original nodes a new node can stand for: same op and attributes on the same first
    // operand (the layer whose weights a rewrite changed, as a folded batch norm changes a
    // convolution's), unless the original itself is in the result.
    let kept_names: HashSet<&str> = order
        .iter()
        .filter_map(|c| original_of.get(&canon(&choice[c])))
        .map(|&id| original.node(id).name.as_str())
        .collect();
    let mut counterparts: HashMap<(Id, &'static str), Vec<NodeId>> = HashMap::new();
    for (n, id) in originals {
        let on = original.node(*id);
        if let (Some(&first), false) = (
            n.operands().first(),
            on.op.is_source() || kept_names.contains(on.name.as_str()),
        ) {
            counterparts
                .entry((egraph.find(first), on.op.name()))
                .or_default()
                .push(*id);
        }
    }
    for class in order {
        let node = &choice[&class];
        let data = &egraph[class].data;
        let home = data.home.unwrap_or(Home {
            module: Symbol::from(""),
            phase: Phase::Forward,
        });
        let module = home.module.as_str().to_string();
        let kept = original_of.get(&canon(node)).map(|&id| original.node(id));
        let id = match &node.op {
            TensorOp::Source(name) => {
                let n = original.node(
                    original
                        .find(name.as_str())
                        .expect("sources come from the graph"),
                );
                g.set_phase(n.phase);
                if let Some(w) = original.weight(&n.name) {
                    g.set_weight(n.name.clone(), w.clone());
                }
                g.add_source(
                    n.name.clone(),
                    n.module.clone(),
                    n.op.clone(),
                    n.value.clone(),
                )?
            }
            TensorOp::Scalar(v) => {
                let (name, module, phase, op) = match kept {
                    Some(n) if !g_has(&g, &n.name) => {
                        (n.name.clone(), n.module.clone(), n.phase, n.op.clone())
                    }
                    _ => (
                        fresh(&mut reserved, &g, &join(&module, "const")),
                        module.clone(),
                        home.phase,
                        Op::Constant {
                            value: ConstValue::Fill(v.get()),
                        },
                    ),
                };
                g.set_phase(phase);
                g.add_source(
                    name,
                    module,
                    op,
                    ValueInfo::new(vec![], ElemKind::Real, Visibility::Public),
                )?
            }
            TensorOp::Apply(_) => {
                let op = node_op(egraph, node).expect("an application has its op");
                let inputs: Vec<NodeId> = node
                    .operands()
                    .iter()
                    .map(|c| built[&egraph.find(*c)])
                    .collect();
                match kept {
                    Some(n) if !g_has(&g, &n.name) => {
                        g.set_phase(n.phase);
                        g.add(n.name.clone(), n.module.clone(), op, &inputs)?
                    }
                    _ => {
                        // A new node computing an output takes the original output's name.
                        let counterpart = node.operands().first().and_then(|&first| {
                            counterparts
                                .get(&(egraph.find(first), op.name()))?
                                .iter()
                                .map(|&id| original.node(id))
                                .find(|n| n.op == op && !g_has(&g, &n.name))
                        });
                        let module = counterpart.map_or(module, |n| n.module.clone());
                        let name = match (output_name.get(&class), counterpart) {
                            (Some(n), _) if !g_has(&g, n) => n.clone(),
                            (_, Some(n)) => n.name.clone(),
                            _ => fresh(&mut reserved, &g, &join(&module, op.name())),
                        };
                        g.set_phase(home.phase);
                        let id = g.add(name.clone(), module.clone(), op.clone(), &inputs)?;
                        rewritten.push(Rewritten {
                            node: name,
                            op: op.name(),
                            module: module.clone(),
                            rule: rule_of
                                .get(&canon(node))
                                .map(|r| r.as_str().to_string())
                                .unwrap_or_else(|| "(congruence)".to_string()),
                        });
                        id
                    }
                }
            }
            TensorOp::Attr(_) | TensorOp::Outputs => unreachable!("not a tensor e-class"),
        };
        built.insert(class, id);
    }
    g.set_outputs(
        root_node
            .children
            .iter()
            .map(|c| built[&egraph.find(*c)])
            .collect(),
    );
    g.set_output_names(original.output_names().to_vec());
    g.set_phase(Phase::Forward);
    Ok((g, rewritten))
}

fn g_has(g: &Graph, name: &str) -> bool {
    g.find(name).is_some()
}

fn join(module: &str, leaf: &str) -> String {
    if module.is_empty() {
        leaf.to_string()
    } else {
        format!("{module}.{leaf}")
    }
}

/// A name used neither by the original graph nor by the new one.
fn fresh(reserved: &mut HashSet<String>, g: &Graph, base: &str) -> String {
    let name = std::iter::once(base.to_string())
        .chain((1..).map(|i| format!("{base}_{i}")))
        .find(|n| !reserved.contains(n) && g.find(n).is_none())
        .expect("unbounded");
    reserved.insert(name.clone());
    name
}

/// Canonical children.
trait Canon {
    fn map_children_canon(self, egraph: &EGraph) -> Self;
}

impl Canon for TensorNode {
    fn map_children_canon(self, egraph: &EGraph) -> TensorNode {
        use egg::Language;
        self.map_children(|c| egraph.find(c))
    }
}
