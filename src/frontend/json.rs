//! The native JSON graph format: a lossless, hand-writable serialisation of the IR.
//!
//! ```json
//! {
//!   "format": "hawkeye-graph", "version": 1, "name": "tiny",
//!   "nodes": [
//!     {"name": "x", "op": "input", "shape": [1, 4]},
//!     {"name": "fc.weight", "op": "parameter", "shape": [2, 4], "module": "fc"},
//!     {"name": "fc", "op": "linear", "inputs": ["x", "fc.weight"], "module": "fc"},
//!     {"name": "act", "op": "relu", "inputs": ["fc"]}
//!   ],
//!   "outputs": ["act"]
//! }
//! ```
//!
//! Source nodes (`input`, `parameter`, `constant`) declare `shape` (and optionally `kind`:
//! `real`|`int`, `visibility`: `secret`|`public`|`server`; inputs and parameters default to
//! secret, constants are public). Other nodes list `inputs` by name and their attributes
//! inline; shapes are inferred (a `shape` written on them is checked). Nodes may appear in any
//! order. `phase` (`forward`, `loss`, `backward`, `update`) defaults to `forward`. A parameter
//! may carry its values (`"values": [...]`, row-major; written for stored and folded weights).

use super::json_parse::{FileIn, NodeIn, Text};
use crate::graph::{
    ElemKind, Graph, GraphError, NodeId, Op, Phase, Shape, ValueInfo, Visibility, WeightData,
};
use rustc_hash::FxHashMap;
use serde::Serialize;
use smallvec::SmallVec;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use thiserror::Error;

const FORMAT: &str = "hawkeye-graph";
const VERSION: u32 = 1;

/// Why a JSON graph could not be read or written. Always names the file.
#[derive(Debug, Error)]
pub enum JsonError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: malformed JSON: {source}")]
    Syntax {
        file: String,
        source: serde_json::Error,
    },
    #[error("{file}: {reason}")]
    Format { file: String, reason: String },
    #[error("{file}: {source}")]
    Graph { file: String, source: GraphError },
}

/// A graph file as written ([`to_json`]).
#[derive(Serialize)]
struct GraphFile {
    format: String,
    version: u32,
    name: String,
    nodes: Vec<NodeEntry>,
    outputs: Vec<String>,
}

/// A node as written.
#[derive(Serialize)]
struct NodeEntry {
    name: String,
    op: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    inputs: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    module: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<Shape>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<ElemKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    visibility: Option<Visibility>,
    #[serde(skip_serializing_if = "Phase::is_forward")]
    phase: Phase,
    /// A parameter's stored values, row-major.
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<Vec<f64>>,
    /// The op's attributes, inline.
    #[serde(flatten)]
    attrs: serde_json::Map<String, serde_json::Value>,
}

/// Serialises a graph's structure to the native JSON format (no parameter values).
pub fn to_json(graph: &Graph) -> String {
    document(graph, &HashMap::new())
}

/// Serialises a graph to the native JSON format with the values of its parameters: every
/// stored value (imported weights, folded weights), and placeholders that the graph as
/// written would not give again (their parameter is used differently now). Fails when stored
/// values cannot be read.
pub fn to_json_with_values(graph: &Graph) -> Result<String, String> {
    let mut values = HashMap::new();
    for id in graph.node_ids() {
        let node = graph.node(id);
        let stored = match graph.weight(&node.name) {
            Some(w @ WeightData::Placeholder { .. })
                if *w == crate::interpret::random::placeholder(graph, id) =>
            {
                continue
            }
            Some(w) => w,
            None => continue,
        };
        let v = stored
            .to_f64()
            .map_err(|e| format!("parameter '{}': {e}", node.name))?;
        values.insert(node.name.clone(), v);
    }
    Ok(document(graph, &values))
}

fn document(graph: &Graph, values: &HashMap<String, Vec<f64>>) -> String {
    let nodes = graph
        .node_ids()
        .map(|id| {
            let node = graph.node(id);
            let mut attrs = match serde_json::to_value(&node.op).expect("ops serialise") {
                serde_json::Value::Object(map) => map,
                _ => unreachable!("ops serialise to objects"),
            };
            attrs.remove("op");
            let source = node.op.is_source();
            let default_vis = match node.op {
                Op::Constant { .. } => Visibility::Public,
                _ => Visibility::Secret,
            };
            NodeEntry {
                name: node.name.clone(),
                op: node.op.name().to_string(),
                inputs: graph
                    .inputs(id)
                    .into_iter()
                    .map(|i| graph.node(i).name.clone())
                    .collect(),
                module: node.module.clone(),
                shape: source.then(|| node.value.shape.clone()),
                kind: (source && node.value.kind != ElemKind::Real).then_some(node.value.kind),
                visibility: (source && node.value.visibility != default_vis)
                    .then_some(node.value.visibility),
                phase: node.phase,
                values: values.get(&node.name).cloned(),
                attrs,
            }
        })
        .collect();
    let file = GraphFile {
        format: FORMAT.to_string(),
        version: VERSION,
        name: graph.name.clone(),
        nodes,
        outputs: graph
            .outputs()
            .iter()
            .map(|&o| graph.node(o).name.clone())
            .collect(),
    };
    serde_json::to_string_pretty(&file).expect("graph files serialise")
}

/// Parses a graph from JSON text; `file` names the source in errors.
pub fn from_json(text: &str, file: &str) -> Result<Graph, JsonError> {
    build(parse(text, file)?, file)
}

fn parse<'a>(text: &'a str, file: &str) -> Result<FileIn<'a>, JsonError> {
    serde_json::from_str(text).map_err(|source| JsonError::Syntax {
        file: file.to_string(),
        source,
    })
}

/// Who reads each node's value, as one flat list (`users[start[i]..start[i + 1]]` for node
/// `i`), and how many inputs of each node are not yet ordered.
struct Users {
    start: Vec<usize>,
    users: Vec<usize>,
    pending: Vec<usize>,
}

impl Users {
    /// The readers of each node given each node's inputs.
    fn of(inputs: &Inputs) -> Users {
        let mut start = vec![0; inputs.len() + 1];
        for &j in &inputs.flat {
            start[j + 1] += 1;
        }
        for i in 0..inputs.len() {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut users = vec![0; start[inputs.len()]];
        for i in 0..inputs.len() {
            for &j in inputs.of(i) {
                users[next[j]] = i;
                next[j] += 1;
            }
        }
        let pending = (0..inputs.len()).map(|i| inputs.of(i).len()).collect();
        Users {
            start,
            users,
            pending,
        }
    }
}

/// Each node's inputs as node indices, in file order, as one flat list (no vector per node).
struct Inputs {
    /// `flat[start[i]..start[i + 1]]` are node `i`'s inputs.
    start: Vec<usize>,
    flat: Vec<usize>,
}

impl Inputs {
    /// The number of nodes.
    fn len(&self) -> usize {
        self.start.len() - 1
    }

    /// The inputs of node `i`.
    fn of(&self, i: usize) -> &[usize] {
        &self.flat[self.start[i]..self.start[i + 1]]
    }
}

/// The graph of a parsed file.
fn build(parsed: FileIn, file: &str) -> Result<Graph, JsonError> {
    let fail = |reason: String| JsonError::Format {
        file: file.to_string(),
        reason,
    };
    if &*parsed.format != FORMAT {
        return Err(fail(format!(
            "\"format\" is \"{}\", expected \"{FORMAT}\"",
            &*parsed.format
        )));
    }
    if parsed.version != VERSION {
        return Err(fail(format!(
            "format version {} is not supported (this build reads version {VERSION})",
            parsed.version
        )));
    }

    // Most files list every node after its inputs (this tool's writer does): such a file is
    // built in its own order, each input found by the graph's own name index, without first
    // indexing and ordering the nodes. Anything else (an input named before its node, or any
    // error) takes the general way below, which reports the file's first error.
    if let Some(graph) = build_in_file_order(&parsed, file) {
        return Ok(graph);
    }

    // Resolve names and order the nodes so that inputs come first.
    let mut index: FxHashMap<&str, usize> =
        FxHashMap::with_capacity_and_hasher(parsed.nodes.len(), Default::default());
    for (i, n) in parsed.nodes.iter().enumerate() {
        if index.insert(&n.name, i).is_some() {
            return Err(fail(node_reason(n, "a node with this name already exists")));
        }
    }
    let mut inputs = Inputs {
        start: Vec::with_capacity(parsed.nodes.len() + 1),
        flat: Vec::with_capacity(parsed.nodes.iter().map(|n| n.inputs.len()).sum()),
    };
    inputs.start.push(0);
    for n in &parsed.nodes {
        for input in &n.inputs {
            let j = index.get(&**input).copied().ok_or_else(|| {
                fail(node_reason(
                    n,
                    &format!("input '{}' is not a node of the graph", &**input),
                ))
            })?;
            inputs.flat.push(j);
        }
        inputs.start.push(inputs.flat.len());
    }
    let mut users = Users::of(&inputs);
    let order = file_order_topological(&mut users).map_err(|stuck| {
        // Walk back through unresolved inputs until a node repeats: it lies on the cycle.
        let mut seen = vec![false; inputs.len()];
        let mut i = stuck;
        while !seen[i] {
            seen[i] = true;
            i = inputs
                .of(i)
                .iter()
                .copied()
                .find(|&j| users.pending[j] > 0)
                .expect("a stuck node has a stuck input");
        }
        fail(node_reason(
            &parsed.nodes[i],
            "is part of a cycle (a node depends on its own output)",
        ))
    })?;
    drop(users);

    let mut ops = OpReader::default();
    let mut graph = Graph::new(parsed.name.to_string());
    graph.reserve(inputs.len(), inputs.flat.len());
    let mut built = vec![None; parsed.nodes.len()];
    for i in order {
        let inputs: SmallVec<[_; 4]> = inputs
            .of(i)
            .iter()
            .map(|&j| built[j].expect("inputs are built first"))
            .collect();
        built[i] = Some(add_node(
            &mut graph,
            &mut ops,
            &parsed.nodes[i],
            &inputs,
            file,
        )?);
    }
    let outputs = parsed
        .outputs
        .iter()
        .map(|name| {
            index
                .get(&**name)
                .and_then(|&i| built[i])
                .ok_or_else(|| fail(format!("output '{}' is not a node of the graph", &**name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    with_outputs(graph, outputs, file)
}

/// The graph of a file whose nodes all come after their inputs, built in file order; `None`
/// for any other file, or on any error (see [`build`]).
fn build_in_file_order(parsed: &FileIn, file: &str) -> Option<Graph> {
    let mut ops = OpReader::default();
    let mut graph = Graph::new(parsed.name.to_string());
    let edges = parsed.nodes.iter().map(|n| n.inputs.len()).sum();
    graph.reserve(parsed.nodes.len(), edges);
    let mut inputs: SmallVec<[NodeId; 4]> = SmallVec::new();
    for n in &parsed.nodes {
        inputs.clear();
        for name in &n.inputs {
            inputs.push(graph.find(name)?);
        }
        add_node(&mut graph, &mut ops, n, &inputs, file).ok()?;
    }
    let outputs = parsed.outputs.iter().map(|name| graph.find(name));
    let outputs = outputs.collect::<Option<Vec<_>>>()?;
    with_outputs(graph, outputs, file).ok()
}

/// Adds node `n` of the file with its `inputs` (already in the graph).
fn add_node<'a>(
    graph: &mut Graph,
    ops: &mut OpReader<'a>,
    n: &'a NodeIn,
    inputs: &[NodeId],
    file: &str,
) -> Result<NodeId, JsonError> {
    let fail = |reason: String| JsonError::Format {
        file: file.to_string(),
        reason,
    };
    let op = ops.read(n).map_err(&fail)?;
    graph.set_phase(n.phase);
    let id = if op.is_source() {
        if !n.inputs.is_empty() {
            return Err(fail(node_reason(n, "a source node takes no inputs")));
        }
        let shape = n
            .shape
            .clone()
            .ok_or_else(|| fail(node_reason(n, "a source node needs \"shape\"")))?;
        let default_vis = if matches!(op, Op::Constant { .. }) {
            Visibility::Public
        } else {
            Visibility::Secret
        };
        let value = ValueInfo::new(
            shape,
            n.kind.unwrap_or_default(),
            n.visibility.unwrap_or(default_vis),
        );
        if let Some(values) = &n.values {
            if !matches!(op, Op::Parameter { .. }) {
                return Err(fail(node_reason(n, "only a parameter has \"values\"")));
            }
            if values.len() != crate::graph::numel(&value.shape) {
                return Err(fail(node_reason(
                    n,
                    &format!(
                        "has {} values, its shape {} holds {}",
                        values.len(),
                        crate::graph::shape_string(&value.shape),
                        crate::graph::numel(&value.shape)
                    ),
                )));
            }
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            graph.set_weight(
                n.name.to_string(),
                WeightData::Inline {
                    data_type: 11,
                    bytes: bytes.into(),
                },
            );
        }
        graph.add_source(n.name.to_string(), n.module.to_string(), op, value)
    } else {
        if n.kind.is_some() || n.visibility.is_some() {
            return Err(fail(node_reason(
                n,
                "\"kind\" and \"visibility\" are inferred for op nodes; declare them on sources only",
            )));
        }
        graph.add(n.name.to_string(), n.module.to_string(), op, inputs)
    }
    .map_err(|source| JsonError::Graph {
        file: file.to_string(),
        source,
    })?;
    if let (Some(declared), false) = (&n.shape, graph.node(id).op.is_source()) {
        let inferred = &graph.node(id).value.shape;
        if declared != inferred {
            return Err(fail(node_reason(
                n,
                &format!(
                    "declared shape {:?} differs from the inferred shape {:?}",
                    declared, inferred
                ),
            )));
        }
    }
    Ok(id)
}

/// The graph with its outputs (at least one); its phase back to forward.
fn with_outputs(mut graph: Graph, outputs: Vec<NodeId>, file: &str) -> Result<Graph, JsonError> {
    if outputs.is_empty() {
        return Err(JsonError::Format {
            file: file.to_string(),
            reason: "the graph has no outputs".to_string(),
        });
    }
    graph.set_phase(Phase::Forward);
    graph.set_outputs(outputs);
    Ok(graph)
}

/// A topological order that keeps the file's order wherever the dependencies allow (Kahn's
/// algorithm taking the earliest ready node), or a node on a cycle.
fn file_order_topological(users: &mut Users) -> Result<Vec<usize>, usize> {
    let mut ready: BinaryHeap<Reverse<usize>> = (0..users.pending.len())
        .filter(|&i| users.pending[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(users.pending.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for k in users.start[i]..users.start[i + 1] {
            let u = users.users[k];
            users.pending[u] -= 1;
            if users.pending[u] == 0 {
                ready.push(Reverse(u));
            }
        }
    }
    match users.pending.iter().position(|&p| p > 0) {
        Some(stuck) => Err(stuck),
        None => Ok(order),
    }
}

fn node_reason(n: &NodeIn, reason: &str) -> String {
    if n.module.is_empty() {
        format!("node '{}': {reason}", &*n.name)
    } else {
        format!("node '{}' (module {}): {reason}", &*n.name, &*n.module)
    }
}

/// Builds the typed ops of node entries from their op names and inline attributes. A node
/// without attributes (most nodes of a large graph) takes a copy of the first op read by its
/// name; one with attributes, a copy of an op read from the same attributes, among the last
/// [`KEPT_PER_OP`] read by its name (a model's layers repeat a few attribute sets).
#[derive(Default)]
struct OpReader<'a> {
    plain: FxHashMap<&'a str, Op>,
    /// Whether an op name accepts no attributes at all, by op name.
    attributeless: FxHashMap<&'a str, bool>,
    /// Ops read from attributes (as written, in file order), by op name.
    with_attributes: FxHashMap<&'a str, Vec<(&'a [Attribute<'a>], Op)>>,
}

/// Attribute sets kept per op name.
const KEPT_PER_OP: usize = 16;

/// An attribute of a node as written: its key and value.
type Attribute<'a> = (Text<'a>, serde_json::Value);

impl<'a> OpReader<'a> {
    fn read(&mut self, n: &'a NodeIn) -> Result<Op, String> {
        if n.attrs.is_empty() {
            if let Some(op) = self.plain.get(&*n.op) {
                return Ok(op.clone());
            }
            let op = Self::with_attrs(n, serde_json::Map::new())?;
            self.plain.insert(&n.op, op.clone());
            return Ok(op);
        }
        // serde ignores unknown fields of attribute-less ops: a probe field tells them apart.
        let attributeless = *self.attributeless.entry(&n.op).or_insert_with(|| {
            let probe =
                serde_json::Map::from_iter([("__probe".to_string(), serde_json::Value::Null)]);
            Self::with_attrs(n, probe).is_ok()
        });
        if attributeless {
            let first = n.attrs.iter().map(|(k, _)| &**k).min().unwrap_or_default();
            return Err(node_reason(
                n,
                &format!("op '{}' takes no attributes, got '{first}'", &*n.op),
            ));
        }
        let kept = self.with_attributes.entry(&n.op).or_default();
        let same = |(attrs, _): &&(&[Attribute], Op)| {
            attrs.len() == n.attrs.len()
                && attrs
                    .iter()
                    .zip(&n.attrs)
                    .all(|((ka, va), (kb, vb))| **ka == **kb && va == vb)
        };
        if let Some((_, op)) = kept.iter().find(same) {
            return Ok(op.clone());
        }
        let attrs = n
            .attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let op = Self::with_attrs(n, attrs)?;
        if kept.len() == KEPT_PER_OP {
            kept.remove(0);
        }
        kept.push((&n.attrs, op.clone()));
        Ok(op)
    }

    fn with_attrs(
        n: &NodeIn,
        mut attrs: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Op, String> {
        attrs.insert(
            "op".to_string(),
            serde_json::Value::String(n.op.to_string()),
        );
        serde_json::from_value::<Op>(serde_json::Value::Object(attrs)).map_err(|e| {
            let msg = e.to_string();
            let msg = if msg.starts_with("unknown variant") {
                format!("unknown op '{}'", &*n.op)
            } else {
                format!("op '{}': {msg}", &*n.op)
            };
            node_reason(n, &msg)
        })
    }
}

/// Reads a graph from a JSON file.
pub fn read_file(path: &Path) -> Result<Graph, JsonError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| JsonError::Io {
        file: file.clone(),
        source,
    })?;
    build(parse(&text, &file)?, &file)
}

/// Writes a graph to a JSON file with its parameters' values ([`to_json_with_values`]),
/// atomically: a failed write leaves the previous file.
pub fn write_file(graph: &Graph, path: &Path) -> Result<(), JsonError> {
    let file = path.display().to_string();
    let text = to_json_with_values(graph).map_err(|reason| JsonError::Format {
        file: file.clone(),
        reason,
    })?;
    crate::output::write(path, text).map_err(|source| JsonError::Io {
        file: file.clone(),
        source,
    })
}
