//! ONNX model → IR graph.
//!
//! Steps: decode the protobuf; check the opset and list every unsupported op at once; order the
//! nodes topologically (a cycle or a value nobody produces is an error); fuse multi-node
//! patterns ([`super::fuse`]); then convert node by node. Constants (Constant nodes, small
//! initializers, and everything computed from them and from static shapes) are evaluated at
//! import time and become IR `constant` nodes only where model data reads them. Initializers
//! holding model parameters become `parameter` nodes when first read, and keep a reference to
//! their stored values (never read here). [`values`] holds the value lookups and parameter
//! handling, [`convert`] the per-node conversion.

use super::error::{OnnxError, UnsupportedOp};
use super::external;
use super::fold::{axes_operand, fold, is_foldable};
use super::fuse::{fuse, FusedOp, Index, ONode};
use super::naming::{module_of_node, module_of_param, role_of_param, Marker};
use super::proto::{type_proto, ModelProto, TensorProto, ValueInfoProto};
use super::tensor::{
    axis, checked_numel, elem_size, from_proto, is_float_type, is_int_type, reshape_dims,
    split_sizes, squeeze_dims, tensor_dims, type_name, unsqueeze_dims, Attrs, Tensor, MAX_NUMEL,
};
use super::DimBindings;
use crate::graph::{
    broadcast, shape_string, ElemKind, Graph, GraphError, NodeId, NormForm, Op, ParamRole, Phase,
    ValueInfo, Visibility, WeightData,
};
use bytes::Bytes;
use prost::Message;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Lowest and highest default-domain opset the importer reads.
pub const OPSETS: (i64, i64) = (11, 21);

/// Domain of the ops only our exporter writes (defined as local functions in the file).
pub const HAWKEYE_DOMAIN: &str = "hawkeye";

/// Model metadata key holding the IR node order when creation order would not give it.
pub const ORDER_KEY: &str = "hawkeye.order";

mod convert;
mod values;

type R<T> = Result<T, String>;

/// Every op type (default domain) the importer maps or evaluates.
const SUPPORTED: &[&str] = &[
    "Conv",
    "Gemm",
    "MatMul",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Sqrt",
    "Reciprocal",
    "Exp",
    "Log",
    "Neg",
    "Abs",
    "Max",
    "Min",
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Gelu",
    "Erf",
    "Softmax",
    "LogSoftmax",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "BatchNormalization",
    "LayerNormalization",
    "Gather",
    "Reshape",
    "Flatten",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "Split",
    "Slice",
    "Expand",
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ArgMax",
    "Dropout",
    "Identity",
    "Constant",
    "Cast",
    "Shape",
    "Size",
    "ConstantOfShape",
    "Range",
    "Trilu",
    "Equal",
    "Less",
    "Greater",
    "LessOrEqual",
    "GreaterOrEqual",
    "And",
    "Or",
    "Not",
    "Where",
    "Floor",
    "Ceil",
    "Mod",
    "Pad",
    "HardSigmoid",
    "HardSwish",
    "Clip",
    "ReduceProd",
];

/// Ops of the hawkeye domain.
const HAWKEYE_OPS: &[&str] = &["CrossEntropy", "Mse"];

fn is_default_domain(d: &str) -> bool {
    d.is_empty() || d == "ai.onnx"
}

/// Where a constant came from: what it is called if it becomes an IR node.
#[derive(Debug)]
struct Origin {
    name: String,
    module: String,
    phase: Phase,
    visibility: Visibility,
}

/// What an ONNX value is during import.
#[derive(Debug, Clone)]
enum Val {
    /// Computed by an IR node.
    Node(NodeId),
    /// Known at import time; becomes an IR constant node when data reads it.
    Const(Rc<Tensor>, Rc<Origin>),
    /// A parameter initializer; becomes an IR parameter node when first read.
    Param(String),
}

/// IR facts of a parameter initializer.
struct ParamMeta {
    name: String,
    module: String,
    role: ParamRole,
    visibility: Visibility,
    phase: Phase,
}

/// The node being converted: its IR name base, module and phase.
struct Cur {
    base: String,
    module: String,
    phase: Phase,
    visibility: Visibility,
}

struct Importer<'m> {
    file: String,
    opset: i64,
    base_dir: Option<PathBuf>,
    g: Graph,
    vals: HashMap<String, Val>,
    inits: HashMap<&'m str, &'m TensorProto>,
    params: HashMap<String, ParamMeta>,
    param_nodes: HashMap<String, NodeId>,
    const_nodes: HashMap<String, NodeId>,
    /// Values some node or the graph output reads.
    read: HashSet<String>,
    /// Constant values made IR nodes where they are defined (constants of an exported graph).
    eager: HashSet<String>,
}

fn graph_reason(e: GraphError) -> String {
    match e {
        GraphError::Node { reason, .. } => reason,
    }
}

/// Decodes and imports a model. `base_dir` locates external data (none for in-memory bytes).
pub fn import_model(
    bytes: Bytes,
    file: &str,
    base_dir: Option<&Path>,
    bindings: &DimBindings,
) -> Result<Graph, OnnxError> {
    let invalid = |reason: String| OnnxError::Invalid {
        file: file.to_string(),
        reason,
    };
    let model =
        ModelProto::decode(bytes).map_err(|e| invalid(format!("protobuf decoding failed: {e}")))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| invalid("the model has no graph".to_string()))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| is_default_domain(o.domain.as_deref().unwrap_or("")))
        .and_then(|o| o.version)
        .ok_or_else(|| invalid("the model imports no default-domain opset".to_string()))?;
    if !(OPSETS.0..=OPSETS.1).contains(&opset) {
        return Err(invalid(format!(
            "opset {opset} is not supported (the importer reads opsets {} to {})",
            OPSETS.0, OPSETS.1
        )));
    }
    let opset_of = |domain: &str| -> i64 {
        model
            .opset_import
            .iter()
            .find(|o| o.domain.as_deref().unwrap_or("") == domain)
            .and_then(|o| o.version)
            .unwrap_or(if is_default_domain(domain) { opset } else { 0 })
    };

    // Nodes, with generated names where missing (unique among ONNX names).
    let mut seen = HashSet::new();
    let mut nodes: Vec<ONode> = Vec::with_capacity(graph.node.len());
    for (i, n) in graph.node.iter().enumerate() {
        let op_type = n.op_type.clone().unwrap_or_default();
        let mut name = n
            .name
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("{op_type}_{i}"));
        if !seen.insert(name.clone()) {
            name = (1..)
                .map(|k| format!("{name}_{k}"))
                .find(|c| seen.insert(c.clone()))
                .expect("unbounded");
        }
        nodes.push(ONode {
            name,
            op_type,
            domain: n.domain.clone().unwrap_or_default(),
            inputs: n.input.clone(),
            outputs: n.output.clone(),
            attrs: n.attribute.clone(),
            marker: Marker::parse(n.doc_string.as_deref()),
            fused: None,
            removed: false,
        });
    }

    // Every unsupported op at once.
    let unsupported: Vec<UnsupportedOp> = nodes
        .iter()
        .filter(|n| {
            let ok = if is_default_domain(&n.domain) {
                SUPPORTED.contains(&n.op_type.as_str())
            } else {
                n.domain == HAWKEYE_DOMAIN && HAWKEYE_OPS.contains(&n.op_type.as_str())
            };
            !ok
        })
        .map(|n| UnsupportedOp {
            domain: n.domain.clone(),
            op_type: n.op_type.clone(),
            node: n.name.clone(),
            opset: opset_of(&n.domain),
        })
        .collect();
    if !unsupported.is_empty() {
        return Err(OnnxError::Unsupported {
            file: file.to_string(),
            ops: unsupported,
        });
    }

    let mut inits: HashMap<&str, &TensorProto> = HashMap::new();
    for t in &graph.initializer {
        let Some(name) = t.name.as_deref() else {
            continue;
        };
        if inits.insert(name, t).is_some() {
            return Err(invalid(format!(
                "two initializers are named '{name}' (which values are meant is ambiguous); \
                 rename or remove one"
            )));
        }
    }
    let inputs: Vec<&ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !inits.contains_key(i.name.as_deref().unwrap_or("")))
        .collect();
    let nodes = topo_sort(nodes, &inits, &inputs, file, opset)?;

    // Fusion, with constants and ranks known before conversion.
    let const_producers: HashMap<String, Vec<super::proto::AttributeProto>> = nodes
        .iter()
        .filter(|n| n.op_type == "Constant")
        .filter_map(|n| n.outputs.first().map(|o| (o.clone(), n.attrs.clone())))
        .collect();
    let consts = |v: &str| -> Option<Tensor> {
        if let Some(t) = inits.get(v) {
            if t.data_location == Some(1) || checked_numel(&tensor_dims(t).ok()?)? > 64 {
                return None;
            }
            return from_proto(t).ok();
        }
        let attrs = const_producers.get(v)?;
        constant_attr(Attrs(attrs)).ok()
    };
    let declared_rank: HashMap<&str, usize> = graph
        .input
        .iter()
        .chain(&graph.output)
        .chain(&graph.value_info)
        .filter(|vi| vi.r#type.as_ref().is_some_and(has_shape))
        .filter_map(|vi| Some((vi.name.as_deref()?, tensor_type(vi).ok()?.1.len())))
        .collect();
    let ranks = |v: &str| -> Option<usize> {
        inits
            .get(v)
            .map(|t| t.dims.len())
            .or_else(|| consts(v).map(|t| t.dims.len()))
            .or_else(|| declared_rank.get(v).copied())
    };
    let graph_outputs: HashSet<String> =
        graph.output.iter().filter_map(|o| o.name.clone()).collect();
    let mut nodes = nodes;
    {
        let ix = Index::new(&nodes, graph_outputs.clone(), &consts, &ranks, opset);
        fuse(&mut nodes, &ix);
    }

    let mut im = Importer {
        file: file.to_string(),
        opset,
        base_dir: base_dir.map(Path::to_path_buf),
        g: Graph::new(graph.name.clone().unwrap_or_default()),
        vals: HashMap::new(),
        inits: inits.clone(),
        params: HashMap::new(),
        param_nodes: HashMap::new(),
        const_nodes: HashMap::new(),
        read: nodes
            .iter()
            .flat_map(|n| n.inputs.iter().cloned())
            .chain(graph_outputs.iter().cloned())
            .collect(),
        eager: HashSet::new(),
    };
    im.classify_initializers(&graph.initializer, &nodes);
    im.create_inputs(&inputs, bindings)?;
    for n in &nodes {
        im.convert(n).map_err(|reason| im.node_error(n, reason))?;
    }
    // Marked parameters nobody read (exported unused parameters).
    for t in &graph.initializer {
        let name = t.name.clone().unwrap_or_default();
        let marked = Marker::parse(t.doc_string.as_deref()).is_some();
        if marked && !im.param_nodes.contains_key(&name) && im.params.contains_key(&name) {
            im.param(&name).map_err(invalid)?;
        }
    }
    let mut outs = Vec::new();
    for o in &graph.output {
        let name = o.name.clone().unwrap_or_default();
        let id = im
            .data(&name)
            .map_err(|r| invalid(format!("graph output '{name}': {r}")))?;
        outs.push(id);
    }
    im.g.set_outputs(outs);
    im.g.set_output_names(
        graph
            .output
            .iter()
            .map(|o| o.name.clone().unwrap_or_default())
            .collect(),
    );
    im.check_declared(&graph.output, &graph.value_info, &nodes, bindings)?;
    let order = model
        .metadata_props
        .iter()
        .find(|p| p.key.as_deref() == Some(ORDER_KEY))
        .and_then(|p| p.value.as_deref());
    match order {
        Some(order) => {
            let names: Vec<String> = serde_json::from_str(order)
                .map_err(|e| invalid(format!("metadata {ORDER_KEY} is unreadable: {e}")))?;
            reorder(&im.g, &names).map_err(|r| invalid(format!("metadata {ORDER_KEY}: {r}")))
        }
        None => Ok(im.g),
    }
}

/// The value of a `Constant` node.
fn constant_attr(a: Attrs) -> R<Tensor> {
    if let Some(t) = a.tensor("value") {
        return from_proto(t);
    }
    if let Some(v) = a.float("value_float") {
        return Ok(Tensor::floats(vec![], vec![v]));
    }
    if let Some(v) = a.get("value_floats") {
        let v: Vec<f64> = v
            .floats
            .iter()
            .map(|&x| super::naming::f32_to_f64(x))
            .collect();
        return Ok(Tensor::floats(vec![v.len()], v));
    }
    if let Some(v) = a.int("value_int") {
        return Ok(Tensor::scalar_i(v));
    }
    if let Some(v) = a.ints("value_ints") {
        return Ok(Tensor::vec_i(v));
    }
    Err(
        "Constant has no value the importer reads (sparse and string values are not supported)"
            .to_string(),
    )
}

/// Orders nodes so that every node follows the producers of its inputs (stable: an already
/// sorted list stays as it is).
fn topo_sort(
    nodes: Vec<ONode>,
    inits: &HashMap<&str, &TensorProto>,
    inputs: &[&ValueInfoProto],
    file: &str,
    opset: i64,
) -> Result<Vec<ONode>, OnnxError> {
    let node_err = |n: &ONode, reason: String| OnnxError::Node {
        file: file.to_string(),
        node: n.name.clone(),
        op_type: n.op_type.clone(),
        opset,
        reason,
    };
    let given: HashSet<&str> = inits
        .keys()
        .copied()
        .chain(inputs.iter().filter_map(|i| i.name.as_deref()))
        .collect();
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for o in n.outputs.iter().filter(|o| !o.is_empty()) {
            if given.contains(o.as_str()) {
                return Err(node_err(
                    n,
                    format!("output '{o}' redefines a graph input or initializer"),
                ));
            }
            if let Some(&j) = producer.get(o.as_str()) {
                return Err(node_err(
                    n,
                    format!("output '{o}' is also produced by node '{}'", nodes[j].name),
                ));
            }
            producer.insert(o, i);
        }
    }
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut indegree = vec![0usize; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        let mut from: Vec<usize> = Vec::new();
        for v in n.inputs.iter().filter(|v| !v.is_empty()) {
            match producer.get(v.as_str()) {
                Some(&p) => from.push(p),
                None if given.contains(v.as_str()) => {}
                None => {
                    return Err(node_err(
                        n,
                        format!("input '{v}' is neither a graph input, an initializer nor a node output (missing initializer?)"),
                    ))
                }
            }
        }
        from.sort_unstable();
        from.dedup();
        indegree[i] = from.len();
        for p in from {
            deps[p].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..nodes.len())
        .filter(|&i| indegree[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &d in &deps[i] {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    if order.len() < nodes.len() {
        let done: HashSet<usize> = order.iter().copied().collect();
        return Err(OnnxError::Cycle {
            file: file.to_string(),
            nodes: (0..nodes.len())
                .filter(|i| !done.contains(i))
                .map(|i| nodes[i].name.clone())
                .collect(),
        });
    }
    let mut slots: Vec<Option<ONode>> = nodes.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .map(|i| slots[i].take().expect("each once"))
        .collect())
}

/// Rebuilds `g` with its nodes in the given order (names of all nodes).
fn reorder(g: &Graph, names: &[String]) -> R<Graph> {
    if names.len() != g.len() {
        let listed: HashSet<&str> = names.iter().map(String::as_str).collect();
        let extra: Vec<&str> = g
            .node_ids()
            .map(|i| g.node(i).name.as_str())
            .filter(|n| !listed.contains(n))
            .collect();
        return Err(format!(
            "lists {} nodes, the graph has {} (not listed: {})",
            names.len(),
            g.len(),
            extra.join(", ")
        ));
    }
    let mut out = Graph::new(g.name.clone());
    let mut map: HashMap<NodeId, NodeId> = HashMap::new();
    for name in names {
        let id = g.find(name).ok_or_else(|| format!("no node '{name}'"))?;
        let n = g.node(id);
        out.set_phase(n.phase);
        let new = if n.op.is_source() {
            out.add_source(
                n.name.clone(),
                n.module.clone(),
                n.op.clone(),
                n.value.clone(),
            )
        } else {
            let ins = g
                .inputs(id)
                .iter()
                .map(|i| {
                    map.get(i)
                        .copied()
                        .ok_or_else(|| format!("'{name}' is listed before its inputs"))
                })
                .collect::<R<Vec<_>>>()?;
            out.add(n.name.clone(), n.module.clone(), n.op.clone(), &ins)
        }
        .map_err(|e| e.to_string())?;
        map.insert(id, new);
    }
    out.set_phase(Phase::Forward);
    out.set_outputs(g.outputs().iter().map(|o| map[o]).collect());
    out.set_output_names(g.output_names().to_vec());
    for (k, v) in g.weights() {
        out.set_weight(k.clone(), v.clone());
    }
    Ok(out)
}

/// Slots of ops that read a tensor's values as a shape, axes, scalar or other attribute rather
/// than as model data.
fn is_operand_slot(op: &str, slot: usize) -> bool {
    match op {
        "Reshape" | "Expand" | "Unsqueeze" | "Squeeze" | "ReduceSum" | "ReduceMean"
        | "ReduceMax" | "ReduceProd" | "Split" | "Tile" | "Pow" | "Trilu" | "Dropout" => slot >= 1,
        "Slice" | "Pad" | "Clip" => slot >= 1,
        "ConstantOfShape" | "Range" | "Shape" | "Size" => true,
        _ => false,
    }
}

/// One dim of a declared tensor type.
enum Dim {
    Value(usize),
    Param(String),
    Unknown,
}

fn has_shape(t: &super::proto::TypeProto) -> bool {
    matches!(&t.value, Some(type_proto::Value::TensorType(tt)) if tt.shape.is_some())
}

/// Element type and dims of a tensor-typed value.
fn tensor_type(vi: &ValueInfoProto) -> R<(i32, Vec<Dim>)> {
    let Some(type_proto::Value::TensorType(t)) = vi.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err("is not a tensor".to_string());
    };
    let dims = t
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .enumerate()
                .map(|(axis, d)| match &d.value {
                    Some(super::proto::tensor_shape_proto::dimension::Value::DimValue(v))
                        if *v > 0 && (*v as u128) <= MAX_NUMEL =>
                    {
                        Ok(Dim::Value(*v as usize))
                    }
                    Some(super::proto::tensor_shape_proto::dimension::Value::DimValue(v))
                        if *v > 0 =>
                    {
                        Err(format!("dim {v} is too large"))
                    }
                    Some(super::proto::tensor_shape_proto::dimension::Value::DimValue(v)) => {
                        Err(format!(
                            "dim {v} at axis {axis} is not a positive size (a dim to be bound \
                             later needs a dim_param name)"
                        ))
                    }
                    Some(super::proto::tensor_shape_proto::dimension::Value::DimParam(p))
                        if !p.is_empty() =>
                    {
                        Ok(Dim::Param(p.clone()))
                    }
                    _ => Ok(Dim::Unknown),
                })
                .collect::<R<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok((t.elem_type.unwrap_or(0), dims))
}
