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
//! An op whose value holds more elements than its operands together stays an op (an `expand`
//! of a class token to the batch would only make the file bigger), unless it composes weights
//! (a product, a convolution or a transposed convolution of parameters: the kernel of two
//! composed layers, which may have no ONNX form): that is folded while its value holds at most
//! [`COMPOSE_GROWTH`] times the elements of the sources it is computed from and at most
//! [`COMPOSE_LIMIT`] elements, so a file cannot make the fold allocate without bound.
//!
//! A folded value consumed as the weight or bias of a convolution, linear layer or matrix
//! product is named like a PyTorch parameter of that layer's module (`layer1.0.conv1.weight`);
//! it takes that name only if no tensor of the input has it, or if it is the input's parameter
//! of that name updated in place (computed from it, same shape: a batch norm folded into the
//! weight). Otherwise (a composed weight of a new shape) it gets a fresh name, `NAME_1`, that no
//! node of the input or the result holds; a value read by no layer keeps the name of the node
//! that computed it. Inputs, outputs (with their recorded file names) and every other node keep
//! their names, order and modules.

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
    /// A composed weight that has no ONNX form would exceed the fold's bound.
    #[error(
        "folding node '{node}': the composed weight it computes holds {numel} elements, more \
         than the fold allows ({COMPOSE_GROWTH} times the {sources} elements it is computed \
         from, at most {COMPOSE_LIMIT}), and '{op}' has no ONNX form to leave it as; exclude \
         the rule that composed it (`--exclude-rules NAME`, `hawkeye rules` lists them)"
    )]
    TooLarge {
        node: String,
        op: &'static str,
        numel: usize,
        sources: usize,
    },
    #[error("rebuilding the folded graph: {0}")]
    Graph(#[from] GraphError),
}

/// A composed weight is folded while it holds at most this many times the elements of the
/// sources it is computed from.
pub const COMPOSE_GROWTH: usize = 64;

/// A composed weight is folded while it holds at most this many elements (512 MiB as `f64`).
pub const COMPOSE_LIMIT: usize = 1 << 26;

/// Whether the op composes weights when its operands are parameters: products and
/// convolutions (the kernel of two composed layers).
fn composes_weights(op: &Op) -> bool {
    matches!(
        op,
        Op::Conv2d { .. } | Op::Linear | Op::MatMul | Op::Conv2dGradInput { .. }
    )
}

/// Whether each node is folded: sources other than inputs, and ops over folded nodes that
/// do not hold more elements than their operands together (an `expand` of a class token to
/// the batch, a gather of embedding rows by constant ids, stay ops: folding them would only
/// make the file bigger), or that compose weights within the bound of [`COMPOSE_GROWTH`] and
/// [`COMPOSE_LIMIT`]. A composition over the bound whose op has no ONNX form is an error.
fn parameter_only(graph: &Graph) -> Result<Vec<bool>, FoldError> {
    let mut only = vec![false; graph.len()];
    // Elements of the sources each folded node is computed from, counted once per path
    // (an upper bound of the distinct ones).
    let mut source_elements = vec![0usize; graph.len()];
    for id in graph.node_ids() {
        let n = graph.node(id);
        only[id.index()] = match n.op {
            Op::Input => false,
            Op::Parameter { .. } | Op::Constant { .. } => {
                source_elements[id.index()] = n.value.numel();
                true
            }
            _ => {
                let inputs = graph.inputs(id);
                if !inputs.iter().all(|i| only[i.index()]) {
                    false
                } else {
                    let operands: usize = inputs.iter().map(|&i| graph.node(i).value.numel()).sum();
                    let sources = inputs
                        .iter()
                        .fold(0usize, |s, i| s.saturating_add(source_elements[i.index()]));
                    source_elements[id.index()] = sources;
                    let numel = n.value.numel();
                    let within =
                        numel <= sources.saturating_mul(COMPOSE_GROWTH) && numel <= COMPOSE_LIMIT;
                    if numel <= operands || (composes_weights(&n.op) && within) {
                        true
                    } else if n.op.is_backward() {
                        return Err(FoldError::TooLarge {
                            node: n.name.clone(),
                            op: n.op.name(),
                            numel,
                            sources,
                        });
                    } else {
                        false
                    }
                }
            }
        };
    }
    Ok(only)
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

/// Whether `graph` has an op that depends only on parameters and constants and would be
/// folded (or is a composed weight over the fold's bound, which folding refuses).
pub fn has_parameter_only_ops(graph: &Graph) -> bool {
    parameter_only(graph).map_or(true, |only| folds_an_op(graph, &only))
}

/// Whether an op (not a source) is among the parameter-only nodes `only`.
fn folds_an_op(graph: &Graph, only: &[bool]) -> bool {
    graph
        .node_ids()
        .any(|id| only[id.index()] && !graph.node(id).op.is_source())
}

/// `graph` with every parameter-only subgraph folded (borrowed unchanged when it has none).
pub fn fold_parameters(graph: &Graph) -> Result<Cow<'_, Graph>, FoldError> {
    let only = parameter_only(graph)?;
    if !folds_an_op(graph, &only) {
        return Ok(Cow::Borrowed(graph));
    }
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

    // Names: every kept node's and the outputs' file names, then the folded values'.
    let mut taken: HashSet<String> = graph
        .node_ids()
        .filter(|&id| !only[id.index()] || kept_sources.contains(&id))
        .map(|id| graph.node(id).name.clone())
        .chain(graph.output_names().iter().cloned())
        .collect();
    let mut folded_names: HashMap<NodeId, String> = HashMap::new();
    for &(id, reader) in &boundary {
        let base = folded_name(graph, id, reader);
        let name = std::iter::once(base.clone())
            .chain((1..).map(|i| format!("{base}_{i}")))
            .find(|n| {
                !taken.contains(n)
                    && graph
                        .find(n)
                        .is_none_or(|holder| may_take_name(graph, id, holder))
            })
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

/// Whether folded node `id` may be written under the name of the input's node `holder`: it is
/// that node, or `holder` is a parameter of the same shape that `id` is computed from (the
/// same weight updated in place, as a batch norm folded into it). A composed weight of another
/// shape under an old weight's name would be two different tensors under one name.
fn may_take_name(graph: &Graph, id: NodeId, holder: NodeId) -> bool {
    id == holder
        || (matches!(graph.node(holder).op, Op::Parameter { .. })
            && graph.node(holder).value.shape == graph.node(id).value.shape
            && computed_from(graph, id, |n| n == holder))
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
    computed_from(graph, id, |n| {
        matches!(graph.node(n).op, Op::Parameter { .. })
    })
}

/// Whether `id` or a node it is computed from satisfies `found`.
fn computed_from(graph: &Graph, id: NodeId, found: impl Fn(NodeId) -> bool) -> bool {
    let mut stack = vec![id];
    let mut seen = HashSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        if found(n) {
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

    /// The names of the graph's nodes, in order.
    fn node_names(g: &Graph) -> Vec<&str> {
        g.node_ids().map(|id| g.node(id).name.as_str()).collect()
    }

    #[test]
    fn weight_arithmetic_becomes_stored_parameters() {
        let g = weight_arithmetic();
        let folded = fold_parameters(&g).unwrap().into_owned();
        assert_eq!(node_names(&folded), ["x", "c.weight", "c.bias", "c"]);
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

    /// `y = linear(x, a b)`: the weight is the outer product of parameters `fc.weight` (6x1)
    /// and `other.weight` (1x6), 36 elements from 12.
    fn outer_product_weight() -> Graph {
        let mut g = Graph::new("g");
        let real = |shape: Vec<usize>, v| ValueInfo::new(shape, ElemKind::Real, v);
        let x = g
            .add_source("x", "", Op::Input, real(vec![1, 6], Visibility::Secret))
            .unwrap();
        let weight = Op::Parameter {
            role: ParamRole::Weight,
        };
        let a = g
            .add_source(
                "fc.weight",
                "fc",
                weight.clone(),
                real(vec![6, 1], Visibility::Public),
            )
            .unwrap();
        let b = g
            .add_source(
                "other.weight",
                "other",
                weight,
                real(vec![1, 6], Visibility::Public),
            )
            .unwrap();
        let ab = g.add("fc.compose", "fc", Op::MatMul, &[a, b]).unwrap();
        let y = g.add("fc", "fc", Op::Linear, &[x, ab]).unwrap();
        g.set_outputs(vec![y]);
        g.set_weight(
            "fc.weight",
            WeightData::from_f32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        );
        g.set_weight(
            "other.weight",
            WeightData::from_f32(&[1.0, 0.0, -1.0, 0.5, 2.0, 3.0]),
        );
        g
    }

    #[test]
    fn a_composed_weight_of_a_new_shape_is_folded_under_a_fresh_name() {
        let g = outer_product_weight();
        let folded = fold_parameters(&g).unwrap().into_owned();
        // Not `fc.weight`: that is the input's 6x1 factor, another tensor.
        assert_eq!(node_names(&folded), ["x", "fc.weight_1", "fc"]);
        let w = folded.node(folded.find("fc.weight_1").unwrap());
        assert_eq!(w.value.shape, [6, 6]);
        assert_eq!(w.module, "fc");
        let values = folded.weight("fc.weight_1").unwrap().to_f64().unwrap();
        assert_eq!(values[..6], [1.0, 0.0, -1.0, 0.5, 2.0, 3.0]);
        assert_eq!(values[30..], [6.0, 0.0, -6.0, 3.0, 12.0, 18.0]);
        // Nor the file name of an output, which the writer gives to the output's value.
        let mut g = outer_product_weight();
        g.set_output_names(vec!["fc.weight_1".to_string()]);
        let folded = fold_parameters(&g).unwrap().into_owned();
        assert!(folded.find("fc.weight_2").is_some());
        assert!(folded.find("fc.weight_1").is_none());
    }

    #[test]
    fn an_expand_of_parameters_stays_an_op() {
        let mut g = outer_product_weight();
        let a = g.find("fc.weight").unwrap();
        let e = g
            .add("fc.expand", "fc", Op::Expand { shape: vec![6, 6] }, &[a])
            .unwrap();
        g.set_outputs(vec![g.outputs()[0], e]);
        let folded = fold_parameters(&g).unwrap().into_owned();
        let expand = folded.find("fc.expand").unwrap();
        assert_eq!(folded.node(expand).op, Op::Expand { shape: vec![6, 6] });
        // The expand keeps reading the input's `fc.weight`; the composed weight is named apart.
        let read: Vec<&str> = folded
            .inputs(expand)
            .iter()
            .map(|&i| folded.node(i).name.as_str())
            .collect();
        assert_eq!(read, ["fc.weight"]);
        assert!(folded.find("fc.weight_1").is_some());
    }

    #[test]
    fn a_composition_over_the_bound_with_no_onnx_form_is_an_error() {
        // A 1x1 gradient spread by stride 100 over a 100x100 input: 10,000 elements from 2.
        let mut g = outer_product_weight();
        let real = |shape: Vec<usize>| ValueInfo::new(shape, ElemKind::Real, Visibility::Public);
        let weight = Op::Parameter {
            role: ParamRole::Weight,
        };
        let d = g
            .add_source("d", "k", weight.clone(), real(vec![1, 1, 1, 1]))
            .unwrap();
        let k = g
            .add_source("k", "k", weight, real(vec![1, 1, 1, 1]))
            .unwrap();
        let spread = Op::Conv2dGradInput {
            stride: [100, 100],
            padding: [0; 4],
            dilation: [1, 1],
            groups: 1,
            input: [100, 100],
        };
        let big = g.add("k.spread", "k", spread, &[d, k]).unwrap();
        g.set_outputs(vec![g.outputs()[0], big]);
        let err = fold_parameters(&g).unwrap_err().to_string();
        assert_eq!(
            err,
            "folding node 'k.spread': the composed weight it computes holds 10000 elements, more \
             than the fold allows (64 times the 2 elements it is computed from, at most \
             67108864), and 'conv2d_grad_input' has no ONNX form to leave it as; exclude the \
             rule that composed it (`--exclude-rules NAME`, `hawkeye rules` lists them)"
        );
        assert!(has_parameter_only_ops(&g));
    }
}
