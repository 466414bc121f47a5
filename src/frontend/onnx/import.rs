//! ONNX model → IR graph.
//!
//! Steps: decode the protobuf; check the opset and list every unsupported op at once; order the
//! nodes topologically (a cycle or a value nobody produces is an error); fuse multi-node
//! patterns ([`super::fuse`]); then convert node by node. Constants (Constant nodes, small
//! initializers, and everything computed from them and from static shapes) are evaluated at
//! import time and become IR `constant` nodes only where model data reads them. Initializers
//! holding model parameters become `parameter` nodes when first read, and keep a reference to
//! their stored values (never read here).

use super::error::{OnnxError, UnsupportedOp};
use super::external;
use super::fuse::{fuse, FusedOp, Index, ONode};
use super::naming::{module_of_node, module_of_param, role_of_param, Marker};
use super::proto::{type_proto, ModelProto, TensorProto, ValueInfoProto};
use super::tensor::{
    axes_operand, axis, checked_numel, elem_size, fold, from_proto, is_float_type, is_foldable,
    is_int_type, reshape_dims, split_sizes, squeeze_dims, tensor_dims, type_name, unsqueeze_dims,
    Attrs, Tensor, MAX_NUMEL,
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

impl<'m> Importer<'m> {
    fn node_error(&self, n: &ONode, reason: String) -> OnnxError {
        OnnxError::Node {
            file: self.file.clone(),
            node: n.name.clone(),
            op_type: n.op_type.clone(),
            opset: if n.domain == HAWKEYE_DOMAIN {
                1
            } else {
                self.opset
            },
            reason,
        }
    }

    /// Decides which initializers are parameters and which are constants, and the module,
    /// role and visibility of each parameter.
    fn classify_initializers(&mut self, inits: &'m [TensorProto], nodes: &[ONode]) {
        let mut uses: HashMap<&str, Vec<(&ONode, usize)>> = HashMap::new();
        for n in nodes {
            for (slot, v) in n.inputs.iter().enumerate() {
                uses.entry(v.as_str()).or_default().push((n, slot));
            }
        }
        for t in inits {
            let Some(name) = t.name.as_deref() else {
                continue;
            };
            let marker = Marker::parse(t.doc_string.as_deref());
            let dt = t.data_type.unwrap_or(0);
            let empty = Vec::new();
            let used = uses.get(name).unwrap_or(&empty);
            let numel = tensor_dims(t)
                .ok()
                .and_then(|d| checked_numel(&d))
                .unwrap_or(usize::MAX);
            let is_param = marker.is_some()
                || (is_float_type(dt)
                    && (t.data_location == Some(1)
                        || role_of_param(name).is_some()
                        || (numel > 1
                            && !used.iter().all(|(n, s)| is_operand_slot(&n.op_type, *s)))));
            if !is_param {
                let origin = Origin {
                    name: name.to_string(),
                    module: module_of_param(name).unwrap_or_default(),
                    phase: Phase::Forward,
                    visibility: Visibility::Public,
                };
                match from_proto(t) {
                    Ok(v) => {
                        self.vals
                            .insert(name.to_string(), Val::Const(Rc::new(v), Rc::new(origin)));
                    }
                    Err(_) => {
                        // Unreadable: reported if something reads it as a parameter.
                        self.vals
                            .insert(name.to_string(), Val::Param(name.to_string()));
                    }
                }
                continue;
            }
            let first = used.first();
            let consumer_module = first.map(|(n, _)| {
                n.marker
                    .as_ref()
                    .and_then(|m| m.module.clone())
                    .unwrap_or_else(|| module_of_node(&n.name))
            });
            let slot_role = first.and_then(|(n, s)| match (n.op_type.as_str(), *s) {
                ("Conv" | "Gemm" | "LayerNormalization", 2) => Some(ParamRole::Bias),
                ("BatchNormalization", 2) => Some(ParamRole::Bias),
                ("BatchNormalization", 3) => Some(ParamRole::RunningMean),
                ("BatchNormalization", 4) => Some(ParamRole::RunningVar),
                _ => None,
            });
            let m = marker.unwrap_or_default();
            let meta = ParamMeta {
                name: m.name.clone().unwrap_or_else(|| name.to_string()),
                module: m
                    .module
                    .clone()
                    .or_else(|| module_of_param(name))
                    .or(consumer_module)
                    .unwrap_or_default(),
                role: m
                    .role
                    .or_else(|| role_of_param(name))
                    .or(slot_role)
                    .unwrap_or_default(),
                visibility: m.visibility.unwrap_or(Visibility::Secret),
                phase: m.phase.unwrap_or_default(),
            };
            self.params.insert(name.to_string(), meta);
            self.vals
                .insert(name.to_string(), Val::Param(name.to_string()));
        }
    }

    fn create_inputs(
        &mut self,
        inputs: &[&ValueInfoProto],
        b: &DimBindings,
    ) -> Result<(), OnnxError> {
        for vi in inputs {
            let name = vi.name.clone().unwrap_or_default();
            let invalid = |reason: String| OnnxError::Invalid {
                file: self.file.clone(),
                reason: format!("input '{name}': {reason}"),
            };
            let (elem, dims) = tensor_type(vi).map_err(invalid)?;
            let kind = if is_float_type(elem) {
                ElemKind::Real
            } else if is_int_type(elem) {
                ElemKind::Int
            } else {
                return Err(invalid(format!(
                    "element type {} is not supported",
                    type_name(elem)
                )));
            };
            let mut shape = Vec::with_capacity(dims.len());
            for (axis, d) in dims.iter().enumerate() {
                let v = match d {
                    Dim::Value(v) => *v,
                    Dim::Param(p) => {
                        match b
                            .dims
                            .get(p)
                            .copied()
                            .or(if axis == 0 { b.batch } else { None })
                        {
                            Some(v) => v,
                            None => {
                                return Err(OnnxError::UnboundDim {
                                    file: self.file.clone(),
                                    input: name.clone(),
                                    dim: p.clone(),
                                    axis,
                                })
                            }
                        }
                    }
                    Dim::Unknown => match (axis, b.batch) {
                        (0, Some(v)) => v,
                        _ => {
                            return Err(OnnxError::UnboundDim {
                                file: self.file.clone(),
                                input: name.clone(),
                                dim: "?".to_string(),
                                axis,
                            })
                        }
                    },
                };
                shape.push(v);
            }
            if checked_numel(&shape).is_none() {
                return Err(invalid(format!("shape {shape:?} is too large")));
            }
            let m = Marker::parse(vi.doc_string.as_deref()).unwrap_or_default();
            self.g.set_phase(m.phase.unwrap_or_default());
            let id = self
                .g
                .add_source(
                    m.name.unwrap_or_else(|| name.clone()),
                    m.module.unwrap_or_default(),
                    Op::Input,
                    ValueInfo::new(shape, kind, m.visibility.unwrap_or(Visibility::Secret)),
                )
                .map_err(|e| invalid(graph_reason(e)))?;
            self.g.set_phase(Phase::Forward);
            self.vals.insert(name, Val::Node(id));
        }
        Ok(())
    }

    /// Checks declared shapes of graph outputs and intermediate values against inferred ones.
    fn check_declared(
        &self,
        outputs: &[ValueInfoProto],
        value_info: &[ValueInfoProto],
        nodes: &[ONode],
        b: &DimBindings,
    ) -> Result<(), OnnxError> {
        for vi in outputs.iter().chain(value_info) {
            let name = vi.name.as_deref().unwrap_or("");
            let Some(Val::Node(id)) = self.vals.get(name) else {
                continue;
            };
            let Ok((_, dims)) = tensor_type(vi) else {
                continue;
            };
            if dims.is_empty() && vi.r#type.as_ref().is_some_and(|t| !has_shape(t)) {
                continue;
            }
            let got = &self.g.node(*id).value.shape;
            let fits = dims.len() == got.len()
                && dims.iter().zip(got).all(|(d, &g)| match d {
                    Dim::Value(v) => *v == g,
                    Dim::Param(p) => b.dims.get(p).is_none_or(|&v| v == g),
                    Dim::Unknown => true,
                });
            if !fits {
                let declared: Vec<String> = dims
                    .iter()
                    .map(|d| match d {
                        Dim::Value(v) => v.to_string(),
                        Dim::Param(p) => p.clone(),
                        Dim::Unknown => "?".to_string(),
                    })
                    .collect();
                let reason = format!(
                    "inconsistent shapes: value '{name}' is declared {} but computes to {}",
                    if declared.is_empty() {
                        "scalar".to_string()
                    } else {
                        declared.join("x")
                    },
                    shape_string(got)
                );
                return Err(
                    match nodes.iter().find(|n| n.outputs.iter().any(|o| o == name)) {
                        Some(n) => self.node_error(n, reason),
                        None => OnnxError::Invalid {
                            file: self.file.clone(),
                            reason,
                        },
                    },
                );
            }
        }
        Ok(())
    }

    fn cur(&self, n: &ONode) -> Cur {
        let m = n.marker.clone().unwrap_or_default();
        Cur {
            base: m.name.unwrap_or_else(|| n.name.clone()),
            module: m.module.unwrap_or_else(|| module_of_node(&n.name)),
            phase: m.phase.unwrap_or_default(),
            visibility: m.visibility.unwrap_or(Visibility::Public),
        }
    }

    /// Adds an op node for the current ONNX node (`suffix` names a helper node).
    fn add(&mut self, c: &Cur, suffix: Option<&str>, op: Op, inputs: &[NodeId]) -> R<NodeId> {
        let base = match suffix {
            None => c.base.clone(),
            Some(s) => format!("{}:{s}", c.base),
        };
        let name = self.g.fresh_name(&base);
        self.g.set_phase(c.phase);
        let r = self.g.add(name, c.module.clone(), op, inputs);
        self.g.set_phase(Phase::Forward);
        let id = r.map_err(graph_reason)?;
        if checked_numel(&self.g.node(id).value.shape).is_none() {
            return Err(format!(
                "result of shape {} is too large",
                shape_string(&self.g.node(id).value.shape)
            ));
        }
        Ok(id)
    }

    /// A scalar IR constant for the current node.
    fn scalar(&mut self, c: &Cur, suffix: &str, v: f64) -> R<NodeId> {
        let name = self.g.fresh_name(&format!("{}:{suffix}", c.base));
        self.g
            .add_source(
                name,
                c.module.clone(),
                Op::Constant {
                    value: crate::graph::ConstValue::Fill(v),
                },
                ValueInfo::new(vec![], ElemKind::Real, Visibility::Public),
            )
            .map_err(graph_reason)
    }

    fn val(&self, v: &str) -> R<&Val> {
        self.vals
            .get(v)
            .ok_or_else(|| format!("value '{v}' is not available (its producer was not converted)"))
    }

    /// The IR node holding value `v` (creating constant and parameter nodes on first read).
    fn data(&mut self, v: &str) -> R<NodeId> {
        match self.val(v)?.clone() {
            Val::Node(id) => Ok(id),
            Val::Param(init) => self.param(&init),
            Val::Const(t, origin) => {
                if let Some(&id) = self.const_nodes.get(v) {
                    return Ok(id);
                }
                let id = self.materialize(&t, &origin)?;
                self.const_nodes.insert(v.to_string(), id);
                Ok(id)
            }
        }
    }

    fn materialize(&mut self, t: &Tensor, o: &Origin) -> R<NodeId> {
        let name = self.g.fresh_name(&o.name);
        let kind = if t.is_int() {
            ElemKind::Int
        } else {
            ElemKind::Real
        };
        self.g.set_phase(o.phase);
        let r = self.g.add_source(
            name,
            o.module.clone(),
            Op::Constant {
                value: t.const_value(),
            },
            ValueInfo::new(t.dims.clone(), kind, o.visibility),
        );
        self.g.set_phase(Phase::Forward);
        r.map_err(graph_reason)
    }

    fn param(&mut self, init: &str) -> R<NodeId> {
        if let Some(&id) = self.param_nodes.get(init) {
            return Ok(id);
        }
        let t = *self
            .inits
            .get(init)
            .ok_or_else(|| format!("initializer '{init}' is missing"))?;
        let meta = self
            .params
            .get(init)
            .ok_or_else(|| format!("initializer '{init}' cannot be read as a parameter"))?;
        let dt = t.data_type.unwrap_or(0);
        if !is_float_type(dt) {
            return Err(format!(
                "parameter '{init}' has element type {}",
                type_name(dt)
            ));
        }
        let dims = tensor_dims(t)?;
        let weight = self.weight_data(t, &dims)?;
        let (name, module, role, vis, phase) = (
            meta.name.clone(),
            meta.module.clone(),
            meta.role,
            meta.visibility,
            meta.phase,
        );
        self.g.set_phase(phase);
        let r = self.g.add_source(
            name.clone(),
            module,
            Op::Parameter { role },
            ValueInfo::new(dims, ElemKind::Real, vis),
        );
        self.g.set_phase(Phase::Forward);
        let id = r.map_err(graph_reason)?;
        if let Some(w) = weight {
            self.g.set_weight(name, w);
        }
        self.param_nodes.insert(init.to_string(), id);
        Ok(id)
    }

    /// Where a parameter's values are, without reading them. `None` for stripped tensors (no
    /// data, or external data whose file is absent or too short).
    fn weight_data(&self, t: &TensorProto, dims: &[usize]) -> R<Option<WeightData>> {
        let name = t.name.as_deref().unwrap_or("");
        let dt = t.data_type.unwrap_or(0);
        let size = elem_size(dt)
            .ok_or_else(|| format!("parameter '{name}' has element type {}", type_name(dt)))?;
        let bytes = (checked_numel(dims).ok_or("too large")? as u64)
            .checked_mul(size as u64)
            .ok_or_else(|| format!("parameter '{name}' of shape {dims:?} is too large"))?;
        if t.data_location == Some(1) {
            let entry = |k: &str| {
                t.external_data
                    .iter()
                    .find(|e| e.key.as_deref() == Some(k))
                    .and_then(|e| e.value.clone())
            };
            let location = entry("location").ok_or_else(|| {
                format!("initializer '{name}' has external data without a location")
            })?;
            let num = |k: &str| -> R<u64> {
                entry(k)
                    .map(|v| {
                        v.parse().map_err(|_| {
                            format!("initializer '{name}': external data {k} '{v}' is not a number")
                        })
                    })
                    .transpose()
                    .map(|v| v.unwrap_or(0))
            };
            let offset = num("offset")?;
            let length = match num("length")? {
                0 => bytes,
                l => l,
            };
            if length != bytes {
                return Err(format!(
                    "initializer '{name}': external data has {length} bytes, shape needs {bytes}"
                ));
            }
            let escape = |e: external::Escape| {
                format!(
                    "initializer '{name}': external data location '{location}' {}; external \
                     data is read only from inside the model's folder: move the data file \
                     there and give its location relative to the model file",
                    e.reason()
                )
            };
            // Checked as text before any file system access: a refused location reveals
            // nothing about this machine's files.
            external::check_text(&location).map_err(escape)?;
            let Some(dir) = &self.base_dir else {
                return Ok(None);
            };
            let Some(path) = external::resolve(dir, &location).map_err(escape)? else {
                return Ok(None);
            };
            let present = std::fs::metadata(&path)
                .is_ok_and(|m| m.is_file() && m.len() >= offset.saturating_add(length));
            return Ok(present.then_some(WeightData::External {
                data_type: dt,
                path,
                offset,
                length,
            }));
        }
        if let Some(raw) = t.raw_data.as_ref().filter(|r| !r.is_empty()) {
            if raw.len() as u64 != bytes {
                return Err(format!(
                    "initializer '{name}' of shape {dims:?} and type {} has {} bytes of raw data, expected {bytes}",
                    type_name(dt),
                    raw.len()
                ));
            }
            return Ok(Some(WeightData::Inline {
                data_type: dt,
                bytes: raw.clone(),
            }));
        }
        // Values in typed fields: re-encode as raw little-endian bytes.
        let n = bytes as usize / size;
        let mut out = Vec::with_capacity(bytes as usize);
        let filled = match dt {
            1 if t.float_data.len() == n => {
                t.float_data
                    .iter()
                    .for_each(|v| out.extend(v.to_le_bytes()));
                true
            }
            11 if t.double_data.len() == n => {
                t.double_data
                    .iter()
                    .for_each(|v| out.extend(v.to_le_bytes()));
                true
            }
            10 | 16 if t.int32_data.len() == n => {
                t.int32_data
                    .iter()
                    .for_each(|&v| out.extend((v as u16).to_le_bytes()));
                true
            }
            _ => false,
        };
        let any = !(t.float_data.is_empty() && t.double_data.is_empty() && t.int32_data.is_empty());
        if !filled && any {
            return Err(format!(
                "initializer '{name}' of shape {dims:?} holds the wrong number of values"
            ));
        }
        Ok(filled.then(|| WeightData::Inline {
            data_type: dt,
            bytes: Bytes::from(out),
        }))
    }

    fn konst(&self, v: &str) -> Option<Rc<Tensor>> {
        match self.vals.get(v)? {
            Val::Const(t, _) => Some(t.clone()),
            _ => None,
        }
    }

    /// A constant operand (shape, axes, exponent, ...).
    fn need_const(&self, n: &ONode, slot: usize, what: &str) -> R<Rc<Tensor>> {
        let v = n
            .inputs
            .get(slot)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("has no {what} input"))?;
        self.konst(v).ok_or_else(|| {
            format!("{what} '{v}' is not a constant (only static shapes are supported)")
        })
    }

    fn opt_const(&self, n: &ONode, slot: usize) -> Option<Rc<Tensor>> {
        n.inputs
            .get(slot)
            .filter(|v| !v.is_empty())
            .and_then(|v| self.konst(v))
    }

    fn shape_of(&self, v: &str) -> R<Vec<usize>> {
        match self.val(v)? {
            Val::Node(id) => Ok(self.g.node(*id).value.shape.clone()),
            Val::Const(t, _) => Ok(t.dims.clone()),
            Val::Param(init) => {
                let t = self
                    .inits
                    .get(init.as_str())
                    .ok_or_else(|| format!("initializer '{init}' is missing"))?;
                tensor_dims(t)
            }
        }
    }

    fn input_data(&mut self, n: &ONode, slot: usize) -> R<NodeId> {
        let v = n
            .inputs
            .get(slot)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("input {slot} is missing"))?
            .clone();
        self.data(&v)
    }

    fn opt_data(&mut self, n: &ONode, slot: usize) -> R<Option<NodeId>> {
        match n.inputs.get(slot).filter(|v| !v.is_empty()).cloned() {
            Some(v) => self.data(&v).map(Some),
            None => Ok(None),
        }
    }

    fn set_out(&mut self, n: &ONode, id: NodeId) {
        if let Some(o) = n.outputs.first().filter(|o| !o.is_empty()) {
            self.vals.insert(o.clone(), Val::Node(id));
        }
    }

    /// Extra outputs must not be read (Dropout mask, MaxPool indices, ...).
    fn single_output(&self, n: &ONode) -> R<()> {
        if let Some(o) = n
            .outputs
            .iter()
            .skip(1)
            .find(|o| !o.is_empty() && self.read.contains(*o))
        {
            return Err(format!(
                "output '{o}' is read, but only the first output is supported"
            ));
        }
        Ok(())
    }

    fn convert(&mut self, n: &ONode) -> R<()> {
        let c = self.cur(n);
        if let Some(f) = &n.fused {
            let mut ins = Vec::new();
            for v in &n.inputs {
                ins.push(self.data(v)?);
            }
            let op = match f {
                FusedOp::Ir(op) => op.clone(),
                FusedOp::LayerNorm { axes, eps, form } => {
                    let r = self.g.node(ins[0]).value.shape.len();
                    let mut ax: Vec<usize> = axes.iter().map(|&a| axis(a, r)).collect::<R<_>>()?;
                    ax.sort_unstable();
                    if ax.is_empty() || ax.iter().enumerate().any(|(i, &a)| a != r - ax.len() + i) {
                        return Err(format!(
                            "decomposed layer norm over axes {axes:?} is not over the last dims"
                        ));
                    }
                    let axis = if axes.iter().all(|&a| a < 0) {
                        -(ax.len() as i64)
                    } else {
                        ax[0] as i64
                    };
                    Op::LayerNorm {
                        axis,
                        eps: *eps,
                        form: *form,
                    }
                }
            };
            let id = self.add(&c, None, op, &ins)?;
            self.set_out(n, id);
            return Ok(());
        }
        if let Some(op) = n.marker.as_ref().and_then(|m| m.op.clone()) {
            let k = n
                .marker
                .as_ref()
                .and_then(|m| m.inputs)
                .unwrap_or(n.inputs.len());
            let mut ins = Vec::new();
            for slot in 0..k.min(n.inputs.len()) {
                if !op.is_source() {
                    ins.push(self.input_data(n, slot)?);
                }
            }
            let id = if op.is_source() {
                let t = self
                    .fold_node(n)?
                    .into_iter()
                    .next()
                    .ok_or("produces nothing")?;
                let kind = if t.is_int() {
                    ElemKind::Int
                } else {
                    ElemKind::Real
                };
                let name = self.g.fresh_name(&c.base);
                self.g.set_phase(c.phase);
                let r = self.g.add_source(
                    name,
                    c.module.clone(),
                    op,
                    ValueInfo::new(t.dims.clone(), kind, c.visibility),
                );
                self.g.set_phase(Phase::Forward);
                r.map_err(graph_reason)?
            } else {
                self.add(&c, None, op, &ins)?
            };
            self.set_out(n, id);
            return Ok(());
        }
        let primary = n.marker.is_some();
        let op = n.op_type.as_str();
        if n.domain == HAWKEYE_DOMAIN {
            let op = match op {
                "CrossEntropy" => Op::CrossEntropy,
                _ => Op::Mse,
            };
            let (a, b) = (self.input_data(n, 0)?, self.input_data(n, 1)?);
            let id = self.add(&c, None, op, &[a, b])?;
            self.set_out(n, id);
            return Ok(());
        }
        // Shapes are static: Shape and Size are constants.
        if op == "Shape" || op == "Size" {
            let dims = self.shape_of(n.inputs.first().ok_or("has no input")?)?;
            let t = if op == "Size" {
                Tensor::scalar_i(dims.iter().product::<usize>() as i64)
            } else {
                let r = dims.len() as i64;
                let clampi = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
                let s = clampi(Attrs(&n.attrs).int_or("start", 0));
                let e = clampi(Attrs(&n.attrs).int_or("end", r));
                Tensor::vec_i(dims[s..e.max(s)].iter().map(|&d| d as i64).collect())
            };
            self.set_consts(n, &c, vec![t], false)?;
            return Ok(());
        }
        if op == "Constant" {
            let t = constant_attr(Attrs(&n.attrs))?;
            self.set_consts(n, &c, vec![t], primary)?;
            return Ok(());
        }
        let present: Vec<&String> = n.inputs.iter().filter(|v| !v.is_empty()).collect();
        // Constants that are IR nodes of their own (exported IR constants) are not folded on.
        let all_const = !present.is_empty()
            && present.iter().all(|v| {
                matches!(self.vals.get(*v), Some(Val::Const(..))) && !self.eager.contains(*v)
            });
        let const_producer = matches!(op, "ConstantOfShape" | "Trilu" | "Range");
        if all_const && is_foldable(op) && (!primary || const_producer) {
            let ts = self.fold_node(n)?;
            self.set_consts(n, &c, ts, primary)?;
            return Ok(());
        }
        if op == "Cast" {
            // A no-op on the IR's element kinds (ints and reals are both ring elements).
            let input = n.inputs.first().ok_or("has no input")?;
            let v = match self.const_nodes.get(input) {
                Some(&id) if self.eager.contains(input) => Val::Node(id),
                _ => self.val(input)?.clone(),
            };
            if let Some(o) = n.outputs.first() {
                self.vals.insert(o.clone(), v);
            }
            return Ok(());
        }
        if op != "Split" {
            self.single_output(n)?;
        }
        let id = self.convert_op(n, &c)?;
        self.set_out(n, id);
        Ok(())
    }

    fn fold_node(&self, n: &ONode) -> R<Vec<Tensor>> {
        if n.op_type == "Constant" {
            return Ok(vec![constant_attr(Attrs(&n.attrs))?]);
        }
        let ts: Vec<Option<Rc<Tensor>>> = n
            .inputs
            .iter()
            .map(|v| if v.is_empty() { None } else { self.konst(v) })
            .collect();
        let refs: Vec<Option<&Tensor>> = ts.iter().map(|t| t.as_deref()).collect();
        fold(
            &n.op_type,
            Attrs(&n.attrs),
            &refs,
            n.outputs.len(),
            self.opset,
        )
    }

    fn set_consts(&mut self, n: &ONode, c: &Cur, ts: Vec<Tensor>, eager: bool) -> R<()> {
        for (i, (o, t)) in n.outputs.iter().zip(ts).enumerate() {
            if o.is_empty() {
                continue;
            }
            let origin = Origin {
                name: if i == 0 {
                    c.base.clone()
                } else {
                    format!("{}:{i}", c.base)
                },
                module: c.module.clone(),
                phase: c.phase,
                visibility: c.visibility,
            };
            self.vals
                .insert(o.clone(), Val::Const(Rc::new(t), Rc::new(origin)));
            if eager && i == 0 {
                self.data(o)?;
                self.eager.insert(o.clone());
            }
        }
        Ok(())
    }

    fn convert_op(&mut self, n: &ONode, c: &Cur) -> R<NodeId> {
        let a = Attrs(&n.attrs);
        let op = n.op_type.as_str();
        let opset = self.opset;
        let unary = |o: &str| -> Option<Op> {
            Some(match o {
                "Sqrt" => Op::Sqrt,
                "Reciprocal" => Op::Reciprocal,
                "Exp" => Op::Exp,
                "Log" => Op::Log,
                "Neg" => Op::Neg,
                "Abs" => Op::Abs,
                "Relu" => Op::Relu,
                "Sigmoid" => Op::Sigmoid,
                "Tanh" => Op::Tanh,
                "Identity" => Op::Identity,
                _ => return None,
            })
        };
        if let Some(u) = unary(op) {
            let x = self.input_data(n, 0)?;
            return self.add(c, None, u, &[x]);
        }
        match op {
            "Add" | "Sub" | "Mul" | "Div" => {
                let (x, y) = (self.input_data(n, 0)?, self.input_data(n, 1)?);
                let o = match op {
                    "Add" => Op::Add,
                    "Sub" => Op::Sub,
                    "Mul" => Op::Mul,
                    _ => Op::Div,
                };
                self.add(c, None, o, &[x, y])
            }
            "Max" | "Min" => {
                let ins: Vec<String> = n.inputs.iter().filter(|v| !v.is_empty()).cloned().collect();
                let mut acc = self.data(ins.first().ok_or("has no inputs")?)?;
                if ins.len() == 1 {
                    return self.add(c, None, Op::Identity, &[acc]);
                }
                for (k, v) in ins.iter().enumerate().skip(1) {
                    let y = self.data(v)?;
                    let o = if op == "Max" { Op::Max } else { Op::Min };
                    let suffix = (k + 1 < ins.len()).then(|| k.to_string());
                    acc = self.add(c, suffix.as_deref(), o, &[acc, y])?;
                }
                Ok(acc)
            }
            "Pow" => {
                let e = self.need_const(n, 1, "exponent")?;
                let e = e.scalar().ok_or("Pow with a non-scalar exponent is not supported")?;
                let x = self.input_data(n, 0)?;
                let o = if e == 2.0 { Op::Square } else { Op::Pow { exponent: e } };
                self.add(c, None, o, &[x])
            }
            "LeakyRelu" => {
                let x = self.input_data(n, 0)?;
                self.add(c, None, Op::LeakyRelu { alpha: a.float_or("alpha", 0.01) }, &[x])
            }
            "Gelu" => {
                let approximate = match a.string("approximate").as_deref() {
                    None | Some("none") => false,
                    Some("tanh") => true,
                    Some(s) => return Err(format!("unsupported attribute value approximate='{s}'")),
                };
                let x = self.input_data(n, 0)?;
                self.add(c, None, Op::Gelu { approximate }, &[x])
            }
            "Erf" => Err("Erf is supported only as part of the exact GELU pattern".to_string()),
            "Softmax" | "LogSoftmax" => {
                let x = self.input_data(n, 0)?;
                let dims = self.g.node(x).value.shape.clone();
                let r = dims.len();
                let make = |axis| if op == "Softmax" { Op::Softmax { axis } } else { Op::LogSoftmax { axis } };
                if opset >= 13 {
                    return self.add(c, None, make(a.int_or("axis", -1)), &[x]);
                }
                // Opsets < 13 normalise over all dims from `axis` on (as a 2-D flatten).
                let ax = a.int_or("axis", 1);
                let k = if ax < 0 { ax + r as i64 } else { ax };
                if k < 0 || k > r as i64 {
                    return Err(format!("axis {ax} is out of range for rank {r}"));
                }
                let k = k as usize;
                if k + 1 >= r {
                    return self.add(c, None, make(ax), &[x]);
                }
                let flat = vec![dims[..k].iter().product::<usize>() as i64, -1];
                let f = self.add(c, Some("flatten"), Op::Reshape { shape: flat }, &[x])?;
                let s = self.add(c, Some(&op.to_lowercase()), make(-1), &[f])?;
                let back = dims.iter().map(|&d| d as i64).collect();
                self.add(c, None, Op::Reshape { shape: back }, &[s])
            }
            "Conv" => {
                let x = self.input_data(n, 0)?;
                let w = self.input_data(n, 1)?;
                let b = self.opt_data(n, 2)?;
                let (xs, ws) = (self.g.node(x).value.shape.clone(), self.g.node(w).value.shape.clone());
                if xs.len() != 4 || ws.len() != 4 {
                    return Err(format!(
                        "only 2-D convolution is supported (input {}, weight {})",
                        shape_string(&xs),
                        shape_string(&ws)
                    ));
                }
                if let Some(k) = a.ints("kernel_shape") {
                    if k != [ws[2] as i64, ws[3] as i64] {
                        return Err(format!("kernel_shape {k:?} does not match weight {}", shape_string(&ws)));
                    }
                }
                let stride = pair(a.ints("strides"), "strides")?;
                let dilation = pair(a.ints("dilations"), "dilations")?;
                let kernel = [ws[2], ws[3]];
                let padding = pads(a, &xs[2..], kernel, stride, dilation)?;
                let groups = a.int_or("group", 1);
                if !(1..=1 << 24).contains(&groups) {
                    return Err(format!("unsupported attribute value group={groups}"));
                }
                let op = Op::Conv2d {
                    stride,
                    padding,
                    dilation,
                    groups: groups as usize,
                };
                let mut ins = vec![x, w];
                ins.extend(b);
                self.add(c, None, op, &ins)
            }
            "Gemm" => {
                let (ta, tb) = (a.int_or("transA", 0) != 0, a.int_or("transB", 0) != 0);
                let (alpha, beta) = (a.float_or("alpha", 1.0), a.float_or("beta", 1.0));
                let mut x = self.input_data(n, 0)?;
                let w = self.input_data(n, 1)?;
                let bias = self.opt_data(n, 2)?;
                if ta {
                    x = self.add(c, Some("transA"), Op::Transpose { perm: vec![1, 0] }, &[x])?;
                }
                let wshape = self.g.node(w).value.shape.clone();
                let bias_fits = bias.is_none_or(|b| wshape.len() == 2 && self.g.node(b).value.shape == [wshape[0]]);
                if tb && alpha == 1.0 && (bias.is_none() || beta == 1.0) && bias_fits {
                    let mut ins = vec![x, w];
                    ins.extend(bias);
                    return self.add(c, None, Op::Linear, &ins);
                }
                let w = if tb { self.add(c, Some("transB"), Op::Transpose { perm: vec![1, 0] }, &[w])? } else { w };
                let last_is_mm = bias.is_none() && alpha == 1.0;
                let mut y = self.add(c, if last_is_mm { None } else { Some("matmul") }, Op::MatMul, &[x, w])?;
                if alpha != 1.0 {
                    let k = self.scalar(c, "alpha", alpha)?;
                    y = self.add(c, if bias.is_none() { None } else { Some("scale") }, Op::Mul, &[y, k])?;
                }
                if let Some(mut b) = bias {
                    if beta != 1.0 {
                        let k = self.scalar(c, "beta", beta)?;
                        b = self.add(c, Some("scale_c"), Op::Mul, &[b, k])?;
                    }
                    y = self.add(c, None, Op::Add, &[y, b])?;
                }
                Ok(y)
            }
            "MatMul" => {
                let (x, y) = (self.input_data(n, 0)?, self.input_data(n, 1)?);
                self.add(c, None, Op::MatMul, &[x, y])
            }
            "MaxPool" | "AveragePool" => {
                let x = self.input_data(n, 0)?;
                let xs = self.g.node(x).value.shape.clone();
                let kernel = a.ints("kernel_shape").ok_or("has no kernel_shape")?;
                if kernel.len() != 2 || xs.len() != 4 {
                    return Err(format!(
                        "only 2-D pooling is supported (kernel {kernel:?}, input {})",
                        shape_string(&xs)
                    ));
                }
                let kernel = pair(Some(kernel), "kernel_shape")?;
                let stride = pair(a.ints("strides"), "strides")?;
                let dilation = pair(a.ints("dilations"), "dilations")?;
                let padding = pads(a, &xs[2..], kernel, stride, dilation)?;
                let ceil_mode = a.int_or("ceil_mode", 0) != 0;
                let o = if op == "MaxPool" {
                    Op::MaxPool2d {
                        kernel,
                        stride,
                        padding,
                        dilation,
                        ceil_mode,
                        argmax: false,
                    }
                } else {
                    if dilation != [1, 1] {
                        return Err(format!("unsupported attribute value dilations={dilation:?}"));
                    }
                    Op::AvgPool2d {
                        kernel,
                        stride,
                        padding,
                        ceil_mode,
                        count_include_pad: a.int_or("count_include_pad", 0) != 0,
                    }
                };
                self.add(c, None, o, &[x])
            }
            "GlobalAveragePool" | "GlobalMaxPool" => {
                let x = self.input_data(n, 0)?;
                let r = self.g.node(x).value.shape.len();
                if r < 3 {
                    return Err(format!("needs rank 3 or more, got rank {r}"));
                }
                let axes: Vec<i64> = (2..r as i64).collect();
                let o = match (op, r) {
                    ("GlobalAveragePool", 4) => Op::GlobalAvgPool,
                    ("GlobalAveragePool", _) => Op::ReduceMean { axes, keepdims: true },
                    _ => Op::ReduceMax { axes, keepdims: true },
                };
                self.add(c, None, o, &[x])
            }
            "BatchNormalization" => {
                if a.int_or("training_mode", 0) != 0 {
                    return Err("unsupported attribute value training_mode=1".to_string());
                }
                let mut ins = Vec::new();
                for s in 0..5 {
                    ins.push(self.input_data(n, s)?);
                }
                self.add(c, None, Op::BatchNorm { eps: a.float_or("epsilon", 1e-5) }, &ins)
            }
            "LayerNormalization" => {
                let x = self.input_data(n, 0)?;
                let scale_v = n.inputs.get(1).cloned().unwrap_or_default();
                let no_bias = n.inputs.get(2).is_none_or(|v| v.is_empty());
                let unit_scale = self.konst(&scale_v).is_some_and(|t| t.all_equal(1.0)) && !self.const_nodes.contains_key(&scale_v);
                let mut ins = vec![x];
                if !(unit_scale && no_bias) {
                    ins.push(self.input_data(n, 1)?);
                    ins.extend(self.opt_data(n, 2)?);
                }
                let o = Op::LayerNorm {
                    axis: a.int_or("axis", -1),
                    eps: a.float_or("epsilon", 1e-5),
                    form: NormForm::Fused,
                };
                self.add(c, None, o, &ins)
            }
            "Gather" => {
                let d = self.input_data(n, 0)?;
                let idx_v = n.inputs.get(1).cloned().unwrap_or_default();
                if let Some(t) = self.konst(&idx_v) {
                    if !t.is_int() {
                        return Err("gather indices must be integers".to_string());
                    }
                }
                let i = self.input_data(n, 1)?;
                self.add(c, None, Op::Gather { axis: a.int_or("axis", 0) }, &[d, i])
            }
            "Reshape" => {
                let x = self.input_data(n, 0)?;
                let target = self.need_const(n, 1, "shape")?.i64s()?;
                let allowzero = a.int_or("allowzero", 0) != 0;
                if allowzero && target.contains(&0) {
                    return Err("unsupported attribute value allowzero=1 with a 0 dim".to_string());
                }
                reshape_dims(&self.g.node(x).value.shape, &target, false)?;
                self.add(c, None, Op::Reshape { shape: target }, &[x])
            }
            "Flatten" => {
                let x = self.input_data(n, 0)?;
                let dims = self.g.node(x).value.shape.clone();
                let r = dims.len() as i64;
                let ax = a.int_or("axis", 1);
                let k = if ax < 0 { ax + r } else { ax };
                if k < 0 || k > r {
                    return Err(format!("axis {ax} is out of range for rank {r}"));
                }
                if k == 1 && r >= 1 {
                    return self.add(c, None, Op::Flatten { axis: 1 }, &[x]);
                }
                let k = k as usize;
                let shape = vec![dims[..k].iter().product::<usize>() as i64, dims[k..].iter().product::<usize>() as i64];
                self.add(c, None, Op::Reshape { shape }, &[x])
            }
            "Transpose" => {
                let x = self.input_data(n, 0)?;
                let r = self.g.node(x).value.shape.len();
                let perm = match a.ints("perm") {
                    Some(p) => p.iter().map(|&v| axis(v, r)).collect::<R<Vec<_>>>()?,
                    None => (0..r).rev().collect(),
                };
                self.add(c, None, Op::Transpose { perm }, &[x])
            }
            "Squeeze" | "Unsqueeze" => {
                let x = self.input_data(n, 0)?;
                let dims = self.g.node(x).value.shape.clone();
                let axes_t = self.opt_const(n, 1);
                if opset >= 13 && n.inputs.get(1).is_some_and(|v| !v.is_empty()) && axes_t.is_none() {
                    return Err("axes are not a constant".to_string());
                }
                let axes = axes_operand(a, &[None, axes_t.as_deref()], 1, opset, 13)?;
                let out = if op == "Squeeze" {
                    squeeze_dims(&dims, axes.as_deref())?
                } else {
                    let axes = axes.ok_or("has no axes")?;
                    let rank = dims.len() + axes.len();
                    let mut ax: Vec<usize> = axes.iter().map(|&v| axis(v, rank)).collect::<R<_>>()?;
                    ax.sort_unstable();
                    ax.dedup();
                    unsqueeze_dims(&dims, &ax)
                };
                self.add(c, None, Op::Reshape { shape: out.iter().map(|&d| d as i64).collect() }, &[x])
            }
            "Concat" => {
                let mut ins = Vec::new();
                for v in n.inputs.iter().filter(|v| !v.is_empty()).cloned().collect::<Vec<_>>() {
                    ins.push(self.data(&v)?);
                }
                self.add(c, None, Op::Concat { axis: a.int("axis").ok_or("has no axis")? }, &ins)
            }
            "Split" => {
                let x = self.input_data(n, 0)?;
                let dims = self.g.node(x).value.shape.clone();
                let ax = a.int_or("axis", 0);
                let k = axis(ax, dims.len())?;
                let split_t = self.opt_const(n, 1);
                if opset >= 13 && n.inputs.get(1).is_some_and(|v| !v.is_empty()) && split_t.is_none() {
                    return Err("split sizes are not a constant".to_string());
                }
                let sizes = split_sizes(a, split_t.as_deref(), dims[k], n.outputs.len(), opset)?;
                let mut start = 0i64;
                let mut first = None;
                for (i, (o, s)) in n.outputs.iter().zip(sizes).enumerate() {
                    let end = start + s as i64;
                    if !o.is_empty() {
                        let suffix = (i > 0).then(|| i.to_string());
                        let id = self.add(c, suffix.as_deref(), Op::Slice { axis: ax, start, end, step: 1 }, &[x])?;
                        self.vals.insert(o.clone(), Val::Node(id));
                        first.get_or_insert(id);
                    }
                    start = end;
                }
                first.ok_or_else(|| "has no outputs".to_string())
            }
            "Slice" => {
                let mut x = self.input_data(n, 0)?;
                let starts = self.need_const(n, 1, "starts")?.i64s()?;
                let ends = self.need_const(n, 2, "ends")?.i64s()?;
                let axes = match n.inputs.get(3).filter(|v| !v.is_empty()) {
                    Some(_) => self.need_const(n, 3, "axes")?.i64s()?,
                    None => (0..starts.len() as i64).collect(),
                };
                let steps = match n.inputs.get(4).filter(|v| !v.is_empty()) {
                    Some(_) => self.need_const(n, 4, "steps")?.i64s()?,
                    None => vec![1; starts.len()],
                };
                if starts.is_empty() || [ends.len(), axes.len(), steps.len()].iter().any(|&l| l != starts.len()) {
                    return Err("starts, ends, axes and steps differ in length or are empty".to_string());
                }
                if let Some(s) = steps.iter().find(|&&s| s <= 0) {
                    return Err(format!("unsupported slice step {s} (only positive steps)"));
                }
                for k in 0..starts.len() {
                    let suffix = (k + 1 < starts.len()).then(|| format!("axis{k}"));
                    let o = Op::Slice {
                        axis: axes[k],
                        start: starts[k],
                        end: ends[k],
                        step: steps[k],
                    };
                    x = self.add(c, suffix.as_deref(), o, &[x])?;
                }
                Ok(x)
            }
            "Expand" => {
                let x = self.input_data(n, 0)?;
                let shape: Vec<usize> = self
                    .need_const(n, 1, "shape")?
                    .i64s()?
                    .into_iter()
                    .map(|d| usize::try_from(d).map_err(|_| format!("shape dim {d} is negative")))
                    .collect::<R<_>>()?;
                let out = broadcast(&self.g.node(x).value.shape, &shape)?;
                if checked_numel(&out).is_none() {
                    return Err(format!("expanded shape {out:?} is too large"));
                }
                self.add(c, None, Op::Expand { shape: out }, &[x])
            }
            "ReduceSum" | "ReduceMean" | "ReduceMax" => {
                let x = self.input_data(n, 0)?;
                let from = if op == "ReduceSum" { 13 } else { 18 };
                let axes_t = self.opt_const(n, 1);
                if opset >= from && n.inputs.get(1).is_some_and(|v| !v.is_empty()) && axes_t.is_none() {
                    return Err("axes are not a constant".to_string());
                }
                let axes = axes_operand(a, &[None, axes_t.as_deref()], 1, opset, from)?.unwrap_or_default();
                if axes.is_empty() && a.int_or("noop_with_empty_axes", 0) != 0 {
                    return self.add(c, None, Op::Identity, &[x]);
                }
                let keepdims = a.int_or("keepdims", 1) != 0;
                let o = match op {
                    "ReduceSum" => Op::ReduceSum { axes, keepdims },
                    "ReduceMean" => Op::ReduceMean { axes, keepdims },
                    _ => Op::ReduceMax { axes, keepdims },
                };
                self.add(c, None, o, &[x])
            }
            "ArgMax" => {
                if a.int_or("select_last_index", 0) != 0 {
                    return Err("unsupported attribute value select_last_index=1".to_string());
                }
                let x = self.input_data(n, 0)?;
                let o = Op::ArgMax {
                    axis: a.int_or("axis", 0),
                    keepdims: a.int_or("keepdims", 1) != 0,
                };
                self.add(c, None, o, &[x])
            }
            "Dropout" => {
                let x = self.input_data(n, 0)?;
                let p = if opset >= 12 {
                    match n.inputs.get(1).filter(|v| !v.is_empty()) {
                        Some(_) => self.need_const(n, 1, "ratio")?.scalar().ok_or("ratio is not a scalar")?,
                        None => 0.5,
                    }
                } else {
                    a.float_or("ratio", 0.5)
                };
                self.add(c, None, Op::Dropout { p }, &[x])
            }
            "Where" => {
                let cond_v = n.inputs.first().cloned().unwrap_or_default();
                let (cond_t, y_t) = (self.konst(&cond_v), self.opt_const(n, 2));
                if let (Some(ct), Some(yt)) = (cond_t, y_t) {
                    // c·x + (1-c)·y with a constant mask: one product and one sum.
                    let mask = Tensor::floats(ct.dims.clone(), ct.f64s()?.into_iter().map(|v| (v != 0.0) as i64 as f64).collect());
                    let inv = Tensor::floats(mask.dims.clone(), mask.f64s()?.into_iter().map(|v| 1.0 - v).collect());
                    let fill = fold("Mul", a, &[Some(&inv), Some(&yt)], 1, opset)?.remove(0);
                    let x = self.input_data(n, 1)?;
                    let m = self.materialize(&mask, &self.origin(c, "mask"))?;
                    let f = self.materialize(&fill, &self.origin(c, "fill"))?;
                    let kept = self.add(c, Some("select"), Op::Mul, &[x, m])?;
                    return self.add(c, None, Op::Add, &[kept, f]);
                }
                // y + c·(x - y)
                let cond = self.input_data(n, 0)?;
                let (x, y) = (self.input_data(n, 1)?, self.input_data(n, 2)?);
                let d = self.add(c, Some("diff"), Op::Sub, &[x, y])?;
                let s = self.add(c, Some("select"), Op::Mul, &[cond, d])?;
                self.add(c, None, Op::Add, &[y, s])
            }
            "HardSigmoid" | "HardSwish" => {
                let x = self.input_data(n, 0)?;
                let (alpha, beta) = if op == "HardSwish" {
                    (1.0 / 6.0, 0.5)
                } else {
                    (a.float_or("alpha", 0.2), a.float_or("beta", 0.5))
                };
                let ka = self.scalar(c, "alpha", alpha)?;
                let kb = self.scalar(c, "beta", beta)?;
                let one = self.scalar(c, "one", 1.0)?;
                let s = self.add(c, Some("scale"), Op::Mul, &[x, ka])?;
                let t = self.add(c, Some("shift"), Op::Add, &[s, kb])?;
                let r = self.add(c, Some("relu"), Op::Relu, &[t])?;
                if op == "HardSigmoid" {
                    return self.add(c, None, Op::Min, &[r, one]);
                }
                let h = self.add(c, Some("hardsigmoid"), Op::Min, &[r, one])?;
                self.add(c, None, Op::Mul, &[x, h])
            }
            "Clip" => {
                let x = self.input_data(n, 0)?;
                let bound = |slot: usize, attr: &str| -> R<Option<f64>> {
                    if opset >= 11 {
                        match n.inputs.get(slot).filter(|v| !v.is_empty()) {
                            Some(_) => Ok(Some(self.need_const(n, slot, attr)?.scalar().ok_or("bound is not a scalar")?)),
                            None => Ok(None),
                        }
                    } else {
                        Ok(a.float(attr))
                    }
                };
                let (lo, hi) = (bound(1, "min")?, bound(2, "max")?);
                // Both bounds: one clip (frameworks evaluate the two comparisons together).
                if let (Some(min), Some(max)) = (lo, hi) {
                    return self.add(c, None, Op::Clip { min, max }, &[x]);
                }
                let mut y = x;
                match lo {
                    Some(0.0) => y = self.add(c, hi.map(|_| "relu"), Op::Relu, &[y])?,
                    Some(l) => {
                        let k = self.scalar(c, "min", l)?;
                        y = self.add(c, hi.map(|_| "max"), Op::Max, &[y, k])?;
                    }
                    None => {}
                }
                if let Some(h) = hi {
                    let k = self.scalar(c, "max", h)?;
                    y = self.add(c, None, Op::Min, &[y, k])?;
                }
                if lo.is_none() && hi.is_none() {
                    y = self.add(c, None, Op::Identity, &[y])?;
                }
                Ok(y)
            }
            "Pad" => Err("Pad is supported only as zero padding directly before AveragePool or Conv".to_string()),
            _ => Err(format!(
                "{op} needs constant inputs here (the importer evaluates it only on constants and static shapes)"
            )),
        }
    }

    fn origin(&self, c: &Cur, suffix: &str) -> Origin {
        Origin {
            name: format!("{}:{suffix}", c.base),
            module: c.module.clone(),
            phase: c.phase,
            visibility: Visibility::Public,
        }
    }
}

/// Two non-negative ints (default `[1, 1]`).
fn pair(v: Option<Vec<i64>>, what: &str) -> R<[usize; 2]> {
    match v {
        None => Ok([1, 1]),
        Some(v) if v.len() == 2 && v.iter().all(|&x| (1..=1 << 24).contains(&x)) => {
            Ok([v[0] as usize, v[1] as usize])
        }
        Some(v) => Err(format!("unsupported attribute value {what}={v:?}")),
    }
}

/// `[top, left, bottom, right]` padding from `pads` / `auto_pad`.
fn pads(
    a: Attrs,
    spatial: &[usize],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
) -> R<[usize; 4]> {
    let auto = a.string("auto_pad").unwrap_or_default();
    match auto.as_str() {
        "" | "NOTSET" => match a.ints("pads") {
            None => Ok([0; 4]),
            Some(p) if p.len() == 4 && p.iter().all(|&x| (0..=1 << 24).contains(&x)) => {
                Ok([p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize])
            }
            Some(p) => Err(format!("unsupported attribute value pads={p:?}")),
        },
        "VALID" => Ok([0; 4]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut out = [0; 4];
            for i in 0..2 {
                let o = spatial[i].div_ceil(stride[i]);
                let span = dilation[i] * (kernel[i] - 1) + 1;
                let total = ((o - 1) * stride[i] + span).saturating_sub(spatial[i]);
                let (small, big) = (total / 2, total - total / 2);
                if auto == "SAME_UPPER" {
                    out[i] = small;
                    out[i + 2] = big;
                } else {
                    out[i] = big;
                    out[i + 2] = small;
                }
            }
            Ok(out)
        }
        s => Err(format!("unsupported attribute value auto_pad={s}")),
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
