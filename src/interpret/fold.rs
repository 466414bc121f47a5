//! Folding of parameter-only subgraphs: every op whose operands depend only on parameters
//! and constants is evaluated once and replaced by its value, as a model file would store it.
//!
//! The optimizer's rewrites compute new weights as ops over the old ones (batch norm folded
//! into a convolution's weight and bias, concatenated weights of merged layers, scaled
//! weights). A framework's loader expects only the model's own ops over stored tensors, so
//! the optimizer folds those ops before it profiles and returns its result (which is what
//! `-o` writes): each maximal parameter-only subgraph is evaluated with the
//! reference interpreter on the parameters' values (stored, or their placeholders) and the
//! values it feeds to the rest of the graph become new parameters, stored as float32 like
//! the model's own weights (a value computed from constants alone becomes a constant).
//!
//! A folded value consumed as the weight or bias of a convolution, linear layer or matrix
//! product is named like a PyTorch parameter of that layer's module (`layer1.0.conv1.weight`,
//! the name of the weight it replaces when that one is gone); any other keeps the name of the
//! node that computed it. Inputs, outputs (with their recorded file names) and every other
//! node keep their names, order and modules.

use super::random::placeholder;
use super::{evaluate, Arithmetic, Bindings, Tensor};
use crate::graph::{
    ConstValue, ElemKind, Graph, GraphError, NodeId, Op, ParamRole, ValueInfo, WeightData,
};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use thiserror::Error;

/// Why a graph's parameter-only subgraphs could not be folded.
#[derive(Debug, Error)]
pub enum FoldError {
    /// A parameter's stored values cannot be read.
    #[error("parameter '{name}': {reason}")]
    Weight { name: String, reason: String },
    /// Evaluating the subgraph failed, or gave values a model file cannot hold.
    #[error("folding node '{node}': {reason}")]
    Evaluate { node: String, reason: String },
    #[error("rebuilding the folded graph: {0}")]
    Graph(#[from] GraphError),
}

/// Whether each node is folded: sources other than inputs, and ops over folded nodes that
/// do not hold more elements than their operands together (an `expand` of a class token to
/// the batch, a gather of embedding rows by constant ids, stay ops: folding them would only
/// make the file bigger).
fn parameter_only(graph: &Graph) -> Vec<bool> {
    let mut only = vec![false; graph.len()];
    for id in graph.node_ids() {
        let n = graph.node(id);
        only[id.index()] = match n.op {
            Op::Input => false,
            Op::Parameter { .. } | Op::Constant { .. } => true,
            _ => {
                let inputs = graph.inputs(id);
                inputs.iter().all(|i| only[i.index()])
                    && n.value.numel()
                        <= inputs
                            .iter()
                            .map(|&i| graph.node(i).value.numel())
                            .sum::<usize>()
            }
        };
    }
    only
}

/// The values of a parameter: stored, else its placeholder.
pub fn parameter_tensor(graph: &Graph, id: NodeId) -> Result<Tensor, FoldError> {
    let node = graph.node(id);
    let fail = |reason: String| FoldError::Weight {
        name: node.name.clone(),
        reason,
    };
    let values = match graph.weight(&node.name) {
        Some(w) => w.to_f64(),
        None => placeholder(graph, id).to_f64(),
    }
    .map_err(fail)?;
    Tensor::new(&node.value.shape, values).map_err(|e| fail(e.to_string()))
}

/// Every parameter of `graph` bound to its values (stored, else placeholder).
pub fn parameter_bindings(graph: &Graph) -> Result<Bindings, FoldError> {
    let mut b = Bindings::new();
    for id in graph.node_ids() {
        if matches!(graph.node(id).op, Op::Parameter { .. }) {
            b.insert(graph.node(id).name.clone(), parameter_tensor(graph, id)?);
        }
    }
    Ok(b)
}

/// Whether `graph` has an op that depends only on parameters and constants.
pub fn has_parameter_only_ops(graph: &Graph) -> bool {
    let only = parameter_only(graph);
    graph
        .node_ids()
        .any(|id| only[id.index()] && !graph.node(id).op.is_source())
}

/// `graph` with every parameter-only subgraph folded (borrowed unchanged when it has none).
pub fn fold_parameters(graph: &Graph) -> Result<Cow<'_, Graph>, FoldError> {
    if !has_parameter_only_ops(graph) {
        return Ok(Cow::Borrowed(graph));
    }
    let only = parameter_only(graph);
    let is_output: HashSet<NodeId> = graph.outputs().iter().copied().collect();
    // Folded ops whose values the rest of the graph reads, with their first reader and slot.
    let mut boundary: Vec<(NodeId, Option<(NodeId, usize)>)> = Vec::new();
    // Sources kept as they are: read by an op that is not folded, or outputs.
    let mut kept_sources: HashSet<NodeId> = HashSet::new();
    for id in graph.node_ids() {
        if !only[id.index()] {
            if matches!(graph.node(id).op, Op::Input) {
                kept_sources.insert(id);
            }
            continue;
        }
        let reader = graph.users(id).into_iter().find_map(|u| {
            (!only[u.index()]).then(|| {
                let slot = graph.inputs(u).iter().position(|&i| i == id);
                (u, slot.expect("a user reads its input"))
            })
        });
        if reader.is_none() && !is_output.contains(&id) {
            continue;
        }
        if graph.node(id).op.is_source() {
            kept_sources.insert(id);
        } else {
            boundary.push((id, reader));
        }
    }
    let values = evaluate_boundary(graph, &only, &boundary)?;

    // Names: every kept node's, then the folded values'.
    let mut taken: HashSet<String> = graph
        .node_ids()
        .filter(|&id| !only[id.index()] || kept_sources.contains(&id))
        .map(|id| graph.node(id).name.clone())
        .collect();
    let mut folded_names: HashMap<NodeId, String> = HashMap::new();
    for &(id, reader) in &boundary {
        let base = folded_name(graph, id, reader);
        let name = std::iter::once(base.clone())
            .chain((1..).map(|i| format!("{base}_{i}")))
            .find(|n| !taken.contains(n))
            .expect("unbounded");
        taken.insert(name.clone());
        folded_names.insert(id, name);
    }

    let mut g = Graph::new(graph.name.clone());
    let mut built: HashMap<NodeId, NodeId> = HashMap::new();
    let mut value_of: HashMap<NodeId, Tensor> = boundary.iter().map(|b| b.0).zip(values).collect();
    for id in graph.node_ids() {
        let n = graph.node(id);
        g.set_phase(n.phase);
        let new = if let Some(name) = folded_names.get(&id) {
            let t = value_of
                .remove(&id)
                .expect("every boundary node is evaluated");
            let reader = boundary.iter().find(|b| b.0 == id).and_then(|b| b.1);
            add_folded(&mut g, graph, (id, reader), name, t)?
        } else if kept_sources.contains(&id) {
            let new = g.add_source(
                n.name.clone(),
                n.module.clone(),
                n.op.clone(),
                n.value.clone(),
            )?;
            if let Some(w) = graph.weight(&n.name) {
                g.set_weight(n.name.clone(), w.clone());
            }
            new
        } else if only[id.index()] {
            continue;
        } else {
            let inputs: Vec<NodeId> = graph.inputs(id).iter().map(|i| built[i]).collect();
            g.add(n.name.clone(), n.module.clone(), n.op.clone(), &inputs)?
        };
        built.insert(id, new);
    }
    g.set_outputs(graph.outputs().iter().map(|o| built[o]).collect());
    g.set_output_names(graph.output_names().to_vec());
    g.set_phase(graph.phase());
    Ok(Cow::Owned(g))
}

/// The layer that reads a folded value as its weight or bias, with the parameter's leaf name.
fn layer_reading(
    graph: &Graph,
    reader: Option<(NodeId, usize)>,
) -> Option<(&crate::graph::Node, &'static str)> {
    let (u, slot) = reader?;
    let layer = graph.node(u);
    let leaf = match (&layer.op, slot) {
        (Op::Conv2d { .. } | Op::Linear | Op::MatMul, 1) => "weight",
        (Op::Conv2d { .. } | Op::Linear, 2) => "bias",
        _ => return None,
    };
    (!layer.module.is_empty()).then_some((layer, leaf))
}

/// The name of a folded value: `module.weight` / `module.bias` of the layer that reads it as
/// such, else the name of the node that computed it.
fn folded_name(graph: &Graph, id: NodeId, reader: Option<(NodeId, usize)>) -> String {
    match layer_reading(graph, reader) {
        Some((layer, leaf)) => format!("{}.{leaf}", layer.module),
        None => graph.node(id).name.clone(),
    }
}

/// Adds one folded value: a float32 parameter when it depends on a parameter, else a
/// constant.
fn add_folded(
    g: &mut Graph,
    graph: &Graph,
    (id, reader): (NodeId, Option<(NodeId, usize)>),
    name: &str,
    t: Tensor,
) -> Result<NodeId, FoldError> {
    let n = graph.node(id);
    let data: Vec<f64> = t.array().iter().copied().collect();
    if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
        return Err(FoldError::Evaluate {
            node: n.name.clone(),
            reason: format!("its value has a non-finite element ({bad}), which no model file can store as a weight"),
        });
    }
    let from_parameter = depends_on_parameter(graph, id);
    if from_parameter && n.value.kind == ElemKind::Real {
        let role = match reader.map(|(u, slot)| (&graph.node(u).op, slot)) {
            Some((Op::Conv2d { .. } | Op::Linear, 2)) => ParamRole::Bias,
            _ => ParamRole::Weight,
        };
        let module = layer_reading(graph, reader).map_or(&n.module, |(layer, _)| &layer.module);
        let id = g.add_source(
            name,
            module.clone(),
            Op::Parameter { role },
            n.value.clone(),
        )?;
        g.set_weight(name, WeightData::from_f32(&data));
        Ok(id)
    } else {
        let value = if data.iter().all(|&v| v == data[0]) {
            ConstValue::Fill(data[0])
        } else {
            ConstValue::Data(data)
        };
        let info = ValueInfo::new(n.value.shape.clone(), n.value.kind, n.value.visibility);
        Ok(g.add_source(name, n.module.clone(), Op::Constant { value }, info)?)
    }
}

fn depends_on_parameter(graph: &Graph, id: NodeId) -> bool {
    let mut stack = vec![id];
    let mut seen = HashSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        if matches!(graph.node(n).op, Op::Parameter { .. }) {
            return true;
        }
        stack.extend(graph.inputs(n));
    }
    false
}

/// Evaluates the folded ops of `boundary` (in order): the parameter-only subgraph they need,
/// copied into a graph of its own, run in `f64` on the parameters' values.
fn evaluate_boundary(
    graph: &Graph,
    only: &[bool],
    boundary: &[(NodeId, Option<(NodeId, usize)>)],
) -> Result<Vec<Tensor>, FoldError> {
    let mut needed = vec![false; graph.len()];
    let mut stack: Vec<NodeId> = boundary.iter().map(|b| b.0).collect();
    while let Some(n) = stack.pop() {
        if std::mem::replace(&mut needed[n.index()], true) {
            continue;
        }
        stack.extend(graph.inputs(n));
    }
    let mut sub = Graph::new(graph.name.clone());
    let mut bindings = Bindings::new();
    let mut map: HashMap<NodeId, NodeId> = HashMap::new();
    for id in graph.node_ids() {
        if !needed[id.index()] {
            continue;
        }
        debug_assert!(only[id.index()]);
        let n = graph.node(id);
        let new = if n.op.is_source() {
            if matches!(n.op, Op::Parameter { .. }) {
                bindings.insert(n.name.clone(), parameter_tensor(graph, id)?);
            }
            sub.add_source(
                n.name.clone(),
                n.module.clone(),
                n.op.clone(),
                n.value.clone(),
            )?
        } else {
            let inputs: Vec<NodeId> = graph.inputs(id).iter().map(|i| map[i]).collect();
            sub.add(n.name.clone(), n.module.clone(), n.op.clone(), &inputs)?
        };
        map.insert(id, new);
    }
    sub.set_outputs(boundary.iter().map(|b| map[&b.0]).collect());
    evaluate(&sub, &bindings, Arithmetic::Float).map_err(|e| FoldError::Evaluate {
        node: boundary
            .first()
            .map(|b| graph.node(b.0).name.clone())
            .unwrap_or_default(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Visibility;

    /// `y = conv(x, w * s, b - m)` with parameters w, b, m and a constant scale s.
    fn weight_arithmetic() -> Graph {
        let mut g = Graph::new("g");
        let real = |shape: Vec<usize>, v| ValueInfo::new(shape, ElemKind::Real, v);
        let x = g
            .add_source(
                "x",
                "",
                Op::Input,
                real(vec![1, 1, 3, 3], Visibility::Secret),
            )
            .unwrap();
        let param = |role| Op::Parameter { role };
        let w = g
            .add_source(
                "c.weight",
                "c",
                param(ParamRole::Weight),
                real(vec![2, 1, 1, 1], Visibility::Public),
            )
            .unwrap();
        let b = g
            .add_source(
                "c.bias",
                "c",
                param(ParamRole::Bias),
                real(vec![2], Visibility::Public),
            )
            .unwrap();
        let m = g
            .add_source(
                "bn.mean",
                "bn",
                param(ParamRole::RunningMean),
                real(vec![2], Visibility::Public),
            )
            .unwrap();
        let s = g
            .add_source(
                "s",
                "bn",
                Op::Constant {
                    value: ConstValue::Fill(3.0),
                },
                real(vec![], Visibility::Public),
            )
            .unwrap();
        let ws = g.add("c.mul", "c", Op::Mul, &[w, s]).unwrap();
        let bm = g.add("c.sub", "c", Op::Sub, &[b, m]).unwrap();
        let conv = Op::Conv2d {
            stride: [1, 1],
            padding: [0; 4],
            dilation: [1, 1],
            groups: 1,
        };
        let y = g.add("c", "c", conv, &[x, ws, bm]).unwrap();
        g.set_outputs(vec![y]);
        let f32s = |v: &[f64]| WeightData::from_f32(v);
        g.set_weight("c.weight", f32s(&[0.5, -1.0]));
        g.set_weight("c.bias", f32s(&[1.0, 2.0]));
        g.set_weight("bn.mean", f32s(&[0.25, 4.0]));
        g
    }

    #[test]
    fn weight_arithmetic_becomes_stored_parameters() {
        let g = weight_arithmetic();
        let folded = fold_parameters(&g).unwrap().into_owned();
        let names: Vec<&str> = folded
            .node_ids()
            .map(|id| folded.node(id).name.as_str())
            .collect();
        assert_eq!(names, ["x", "c.weight", "c.bias", "c"]);
        let w = folded.weight("c.weight").unwrap().to_f64().unwrap();
        assert_eq!(w, vec![1.5, -3.0]);
        let b = folded.weight("c.bias").unwrap().to_f64().unwrap();
        assert_eq!(b, vec![0.75, -2.0]);
        let bias = folded.node(folded.find("c.bias").unwrap());
        assert_eq!(
            bias.op,
            Op::Parameter {
                role: ParamRole::Bias
            }
        );
        assert_eq!(bias.value.visibility, Visibility::Public);
        // Folding is idempotent and the folded graph computes the same outputs.
        assert!(matches!(
            fold_parameters(&folded).unwrap(),
            Cow::Borrowed(_)
        ));
        let x = Tensor::new(&[1, 1, 3, 3], (0..9).map(|v| v as f64).collect()).unwrap();
        let mut inputs = parameter_bindings(&g).unwrap();
        inputs.insert("x", x.clone());
        let mut folded_inputs = parameter_bindings(&folded).unwrap();
        folded_inputs.insert("x", x);
        assert_eq!(
            evaluate(&g, &inputs, Arithmetic::Float).unwrap(),
            evaluate(&folded, &folded_inputs, Arithmetic::Float).unwrap()
        );
    }

    #[test]
    fn non_finite_folded_values_are_an_error() {
        let mut g = weight_arithmetic();
        g.set_weight("c.weight", WeightData::from_f32(&[f64::INFINITY, 1.0]));
        let err = fold_parameters(&g).unwrap_err().to_string();
        assert_eq!(
            err,
            "folding node 'c.mul': its value has a non-finite element (inf), which no model file can store as a weight"
        );
    }
}
