//! IR graph → ONNX model (IR version 8, opset 17).
//!
//! Each IR node becomes one "primary" ONNX node (or a graph input / initializer), preceded by
//! the helper nodes of its ONNX form (shape constants, the Erf GELU chain, ...). Primary nodes
//! are named PyTorch style from the module path (`/layer1/layer1.0/conv1/Conv`) unless the IR
//! name already is such a name, and carry a `hawkeye:` marker with whatever the importer could
//! not recover from the ONNX form, so that importing the file gives back the same graph.
//! [`node`] writes one node; this module holds the exporter, initializers and the model.

use super::error::OnnxError;
use super::import::{HAWKEYE_DOMAIN, ORDER_KEY};
use super::naming::{module_of_node, node_scope, survives_f32, Marker};
use super::proto::{
    tensor_proto::DataLocation, tensor_shape_proto, type_proto, AttributeProto, FunctionProto,
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use super::tensor::{bf16_to_f64, f16_to_f64};
use crate::graph::{
    ConstValue, ElemKind, Graph, NodeId, NormForm, Op, Phase, Visibility, WeightData,
};
use bytes::Bytes;
use prost::Message;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Opset of exported models.
pub const EXPORT_OPSET: i64 = 17;

/// Weights above this many bytes go to an external data file in
/// [`export_file`](super::export_file).
pub const INLINE_LIMIT: u64 = 1 << 30;

mod node;

type R<T> = Result<T, String>;

const FLOAT: i32 = 1;
const INT64: i32 = 7;

fn onnx_type(kind: ElemKind) -> i32 {
    match kind {
        ElemKind::Real => FLOAT,
        ElemKind::Int => INT64,
    }
}

/// Where initializer values go.
enum Sink<'w> {
    /// In the model (`raw_data`).
    Inline,
    /// Nowhere: initializers keep their dims and point at a data file that is not written.
    Structure,
    /// Appended to a data file, referenced by its file name.
    External {
        out: &'w mut dyn Write,
        location: String,
        offset: u64,
    },
}

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(2),
        i: Some(v),
        ..Default::default()
    }
}
fn attr_ints(name: &str, v: Vec<i64>) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(7),
        ints: v,
        ..Default::default()
    }
}
fn attr_float(name: &str, v: f64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(1),
        f: Some(v as f32),
        ..Default::default()
    }
}
fn attr_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(4),
        t: Some(t),
        ..Default::default()
    }
}
fn us(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&d| d as i64).collect()
}

fn tensor_i64(dims: Vec<i64>, v: &[i64]) -> TensorProto {
    TensorProto {
        dims,
        data_type: Some(INT64),
        raw_data: Some(Bytes::from(
            v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>(),
        )),
        ..Default::default()
    }
}
fn tensor_f32(dims: Vec<i64>, v: &[f64]) -> TensorProto {
    TensorProto {
        dims,
        data_type: Some(FLOAT),
        raw_data: Some(Bytes::from(
            v.iter()
                .flat_map(|&x| (x as f32).to_le_bytes())
                .collect::<Vec<u8>>(),
        )),
        ..Default::default()
    }
}

fn value_info(name: &str, kind: ElemKind, shape: &[usize], doc: Option<String>) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(onnx_type(kind)),
                shape: Some(TensorShapeProto {
                    dim: shape
                        .iter()
                        .map(|&d| tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(d as i64)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        doc_string: doc,
        ..Default::default()
    }
}

/// Float32 little-endian bytes of stored weight values of another float type.
fn to_f32_bytes(data_type: i32, raw: &[u8]) -> R<Vec<u8>> {
    let conv = |size: usize, f: &dyn Fn(&[u8]) -> f64| -> Vec<u8> {
        raw.chunks_exact(size)
            .flat_map(|c| (f(c) as f32).to_le_bytes())
            .collect()
    };
    Ok(match data_type {
        FLOAT => raw.to_vec(),
        11 => conv(8, &|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))),
        10 => conv(2, &|c| {
            f16_to_f64(u16::from_le_bytes(c.try_into().expect("2 bytes")))
        }),
        16 => conv(2, &|c| {
            bf16_to_f64(u16::from_le_bytes(c.try_into().expect("2 bytes")))
        }),
        t => {
            return Err(format!(
                "stored weights of ONNX type {t} cannot be written as float32"
            ))
        }
    })
}

fn read_range(path: &Path, offset: u64, length: u64) -> R<Vec<u8>> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = Vec::with_capacity(length as usize);
    f.take(length)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if buf.len() as u64 != length {
        return Err(format!(
            "{}: expected {length} bytes at offset {offset}, found {}",
            path.display(),
            buf.len()
        ));
    }
    Ok(buf)
}

struct Exporter<'g, 'w> {
    g: &'g Graph,
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    inits: Vec<TensorProto>,
    value_infos: Vec<ValueInfoProto>,
    node_names: HashSet<String>,
    value_names: HashSet<String>,
    values: HashMap<NodeId, String>,
    functions: Vec<&'static str>,
    sink: Sink<'w>,
}

/// One ONNX node to emit.
struct Emit {
    op_type: &'static str,
    inputs: Vec<String>,
    attrs: Vec<AttributeProto>,
}

fn emit(op_type: &'static str, inputs: Vec<String>, attrs: Vec<AttributeProto>) -> Emit {
    Emit {
        op_type,
        inputs,
        attrs,
    }
}

impl<'g, 'w> Exporter<'g, 'w> {
    fn fresh_node(&mut self, base: &str) -> String {
        let name = if self.node_names.contains(base) {
            (1..)
                .map(|i| format!("{base}_{i}"))
                .find(|n| !self.node_names.contains(n))
                .expect("unbounded")
        } else {
            base.to_string()
        };
        self.node_names.insert(name.clone());
        name
    }

    fn fresh_value(&mut self, base: &str) -> String {
        let name = if self.value_names.contains(base) {
            (1..)
                .map(|i| format!("{base}_{i}"))
                .find(|n| !self.value_names.contains(n))
                .expect("unbounded")
        } else {
            base.to_string()
        };
        self.value_names.insert(name.clone());
        name
    }

    /// Emits a helper node (no marker) in `scope`; returns its output value.
    fn helper(&mut self, scope: &str, e: Emit) -> String {
        let name = self.fresh_node(&format!("{scope}{}", e.op_type));
        self.push(name, e, None)
    }

    fn push(&mut self, name: String, e: Emit, doc: Option<String>) -> String {
        let out = self.fresh_value(&format!("{name}_output_0"));
        let domain = if e.op_type == "CrossEntropy" || e.op_type == "Mse" {
            Some(HAWKEYE_DOMAIN.to_string())
        } else {
            None
        };
        self.nodes.push(NodeProto {
            input: e.inputs,
            output: vec![out.clone()],
            name: Some(name),
            op_type: Some(e.op_type.to_string()),
            domain,
            attribute: e.attrs,
            doc_string: doc,
            ..Default::default()
        });
        out
    }

    fn const_i64(&mut self, scope: &str, dims: Vec<i64>, v: &[i64]) -> String {
        self.helper(
            scope,
            emit(
                "Constant",
                vec![],
                vec![attr_tensor("value", tensor_i64(dims, v))],
            ),
        )
    }
    fn const_f32(&mut self, scope: &str, v: f64) -> String {
        self.helper(
            scope,
            emit(
                "Constant",
                vec![],
                vec![attr_tensor("value", tensor_f32(vec![], &[v]))],
            ),
        )
    }

    /// The value of an input node, cast to the element type `kind` wants.
    fn operand(&mut self, scope: &str, id: NodeId, kind: ElemKind) -> String {
        let v = self.values[&id].clone();
        if self.g.node(id).value.kind == kind {
            return v;
        }
        self.helper(
            scope,
            emit(
                "Cast",
                vec![v],
                vec![attr_int("to", onnx_type(kind) as i64)],
            ),
        )
    }

    /// Float32 bytes of a parameter's values: its stored values, else its placeholder
    /// ([`crate::interpret::random::placeholder`]).
    fn weight_bytes(&mut self, id: NodeId) -> R<Vec<u8>> {
        let n = self.g.node(id);
        let numel = n.value.numel();
        let drawn;
        let stored = match self.g.weight(&n.name) {
            Some(w) => w,
            None => {
                drawn = crate::interpret::random::placeholder(self.g, id);
                &drawn
            }
        };
        let bytes = match stored {
            WeightData::Inline { data_type, bytes } => to_f32_bytes(*data_type, bytes)?,
            WeightData::External {
                data_type,
                path,
                offset,
                length,
            } => to_f32_bytes(*data_type, &read_range(path, *offset, *length)?)?,
            WeightData::Placeholder { .. } => stored
                .to_f64()?
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect(),
        };
        if bytes.len() != numel * 4 {
            return Err(format!(
                "stored values of parameter '{}' have {} bytes, its shape needs {}",
                n.name,
                bytes.len(),
                numel * 4
            ));
        }
        Ok(bytes)
    }

    fn initializer(&mut self, id: NodeId, doc: String) -> R<TensorProto> {
        let n = self.g.node(id);
        let mut t = TensorProto {
            name: Some(n.name.clone()),
            dims: us(&n.value.shape),
            data_type: Some(FLOAT),
            doc_string: Some(doc),
            ..Default::default()
        };
        // Float32 values stored inline are shared, not copied.
        let shared = match self.g.weight(&n.name) {
            Some(WeightData::Inline {
                data_type: FLOAT,
                bytes,
            }) if bytes.len() == n.value.numel() * 4 => Some(bytes.clone()),
            _ => None,
        };
        match &mut self.sink {
            Sink::Structure => {
                t.data_location = Some(DataLocation::External as i32);
                t.external_data = vec![StringStringEntryProto {
                    key: Some("location".into()),
                    value: Some("structure-only.weights".into()),
                }];
            }
            Sink::Inline => {
                t.raw_data = Some(match shared {
                    Some(b) => b,
                    None => Bytes::from(self.weight_bytes(id)?),
                });
            }
            Sink::External { .. } => {
                let bytes = match (shared, self.g.weight(&n.name)) {
                    (Some(b), _) => b.to_vec(),
                    (
                        None,
                        Some(WeightData::External {
                            data_type: FLOAT,
                            path,
                            offset,
                            length,
                        }),
                    ) => read_range(path, *offset, *length)?,
                    _ => self.weight_bytes(id)?,
                };
                let Sink::External {
                    out,
                    location,
                    offset,
                } = &mut self.sink
                else {
                    unreachable!()
                };
                out.write_all(&bytes)
                    .map_err(|e| format!("writing {location}: {e}"))?;
                let entry = |k: &str, v: String| StringStringEntryProto {
                    key: Some(k.into()),
                    value: Some(v),
                };
                t.data_location = Some(DataLocation::External as i32);
                t.external_data = vec![
                    entry("location", location.clone()),
                    entry("offset", offset.to_string()),
                    entry("length", bytes.len().to_string()),
                ];
                *offset += bytes.len() as u64;
            }
        }
        Ok(t)
    }

    /// Gives the graph outputs the names the model's file gave them: the value of an op node
    /// is renamed, anything else (an input or parameter read as an output, a value that is
    /// two outputs) gets an `Identity` node of that name.
    fn name_outputs(&mut self, values: &mut [String], names: &[String]) {
        let mut renamed: HashSet<String> = HashSet::new();
        for (value, name) in values.iter_mut().zip(names) {
            if *value == *name || name.is_empty() {
                continue;
            }
            let producer = self
                .nodes
                .iter()
                .position(|n| n.output.first() == Some(value));
            match producer {
                Some(p) if renamed.insert(value.clone()) => {
                    let old = std::mem::replace(&mut self.nodes[p].output[0], name.clone());
                    for n in &mut self.nodes {
                        for i in &mut n.input {
                            if *i == old {
                                *i = name.clone();
                            }
                        }
                    }
                    for vi in &mut self.value_infos {
                        if vi.name.as_deref() == Some(old.as_str()) {
                            vi.name = Some(name.clone());
                        }
                    }
                }
                _ => {
                    let node = self.fresh_node(&format!("{name}/Identity"));
                    self.nodes.push(NodeProto {
                        input: vec![value.clone()],
                        output: vec![name.clone()],
                        name: Some(node),
                        op_type: Some("Identity".to_string()),
                        ..Default::default()
                    });
                }
            }
            *value = name.clone();
        }
    }
}

/// The order in which the importer would create the nodes of the exported graph: inputs
/// first, then op and constant nodes in order, each parameter just before its first reader.
fn import_order(g: &Graph) -> Vec<NodeId> {
    let mut order: Vec<NodeId> = g
        .node_ids()
        .filter(|&i| matches!(g.node(i).op, Op::Input))
        .collect();
    let mut placed: HashSet<NodeId> = order.iter().copied().collect();
    for id in g.node_ids() {
        match g.node(id).op {
            Op::Input | Op::Parameter { .. } => {}
            _ => {
                for i in g.inputs(id) {
                    if matches!(g.node(i).op, Op::Parameter { .. }) && placed.insert(i) {
                        order.push(i);
                    }
                }
                order.push(id);
                placed.insert(id);
            }
        }
    }
    for id in g.node_ids() {
        if !placed.contains(&id) {
            order.push(id);
        }
    }
    order
}

fn function(name: &'static str) -> FunctionProto {
    let node = |op: &str, ins: &[&str], out: &str, attrs: Vec<AttributeProto>| NodeProto {
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: vec![out.to_string()],
        op_type: Some(op.to_string()),
        attribute: attrs,
        ..Default::default()
    };
    let (inputs, nodes, doc) = match name {
        "CrossEntropy" => (
            vec!["logits", "target"],
            vec![
                node("LogSoftmax", &["logits"], "logp", vec![attr_int("axis", 1)]),
                node("Mul", &["target", "logp"], "prod", vec![]),
                node(
                    "Constant",
                    &[],
                    "axes",
                    vec![attr_tensor("value", tensor_i64(vec![1], &[1]))],
                ),
                node(
                    "ReduceSum",
                    &["prod", "axes"],
                    "sum",
                    vec![attr_int("keepdims", 0)],
                ),
                node("Neg", &["sum"], "nll", vec![]),
                node(
                    "ReduceMean",
                    &["nll"],
                    "loss",
                    vec![attr_int("keepdims", 0)],
                ),
            ],
            "Mean cross-entropy of logits (N, C) against soft or one-hot targets (N, C).",
        ),
        _ => (
            vec!["prediction", "target"],
            vec![
                node("Sub", &["prediction", "target"], "diff", vec![]),
                node("Mul", &["diff", "diff"], "sq", vec![]),
                node("ReduceMean", &["sq"], "loss", vec![attr_int("keepdims", 0)]),
            ],
            "Mean squared error.",
        ),
    };
    FunctionProto {
        name: Some(name.to_string()),
        domain: Some(HAWKEYE_DOMAIN.to_string()),
        input: inputs.into_iter().map(String::from).collect(),
        output: vec!["loss".to_string()],
        node: nodes,
        doc_string: Some(doc.to_string()),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(EXPORT_OPSET),
        }],
        ..Default::default()
    }
}

fn build(g: &Graph, sink: Sink) -> Result<ModelProto, OnnxError> {
    let fail = |reason: String| OnnxError::Export {
        graph: g.name.clone(),
        reason,
    };
    let mut ex = Exporter {
        g,
        nodes: Vec::new(),
        inputs: Vec::new(),
        inits: Vec::new(),
        value_infos: Vec::new(),
        node_names: HashSet::new(),
        value_names: HashSet::new(),
        values: HashMap::new(),
        functions: Vec::new(),
        sink,
    };
    // Names used verbatim: IR names of op/constant nodes that already are ONNX-style names of
    // their module, and input/parameter names as values.
    for id in g.node_ids() {
        let n = g.node(id);
        match n.op {
            Op::Input | Op::Parameter { .. } => {
                ex.value_names.insert(n.name.clone());
            }
            _ if n.name.starts_with('/') && module_of_node(&n.name) == n.module => {
                ex.node_names.insert(n.name.clone());
            }
            _ => {}
        }
    }
    let recorded = (g.output_names().len() == g.outputs().len()).then(|| g.output_names());
    for name in recorded.into_iter().flatten() {
        ex.value_names.insert(name.clone());
    }
    for id in g.node_ids() {
        ex.export_node(id)
            .map_err(|r| fail(format!("node '{}': {r}", g.node(id).name)))?;
    }
    let mut output_values: Vec<String> = g.outputs().iter().map(|o| ex.values[o].clone()).collect();
    if let Some(names) = recorded {
        ex.name_outputs(&mut output_values, names);
    }
    let outputs = g
        .outputs()
        .iter()
        .zip(&output_values)
        .map(|(&o, v)| {
            let n = g.node(o);
            value_info(v, n.value.kind, &n.value.shape, None)
        })
        .collect();
    let order = import_order(g);
    let mut metadata = Vec::new();
    if !order.iter().copied().eq(g.node_ids()) {
        let names: Vec<&str> = g.node_ids().map(|i| g.node(i).name.as_str()).collect();
        metadata.push(StringStringEntryProto {
            key: Some(ORDER_KEY.to_string()),
            value: Some(serde_json::to_string(&names).expect("names serialize")),
        });
    }
    let mut opsets = vec![OperatorSetIdProto {
        domain: Some(String::new()),
        version: Some(EXPORT_OPSET),
    }];
    if !ex.functions.is_empty() {
        opsets.push(OperatorSetIdProto {
            domain: Some(HAWKEYE_DOMAIN.to_string()),
            version: Some(1),
        });
    }
    Ok(ModelProto {
        ir_version: Some(8),
        opset_import: opsets,
        producer_name: Some("hawkeye-mpc".to_string()),
        producer_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        graph: Some(GraphProto {
            node: ex.nodes,
            name: Some(g.name.clone()),
            initializer: ex.inits,
            input: ex.inputs,
            output: outputs,
            value_info: ex.value_infos,
            ..Default::default()
        }),
        metadata_props: metadata,
        functions: ex.functions.iter().map(|f| function(f)).collect(),
        ..Default::default()
    })
}

/// Protobuf messages cannot exceed 2 GiB; bigger models need external data.
pub const PROTOBUF_LIMIT: u64 = (1 << 31) - (1 << 20);

fn weight_bytes(g: &Graph) -> u64 {
    g.node_ids()
        .filter(|&i| matches!(g.node(i).op, Op::Parameter { .. }))
        .map(|i| g.node(i).value.numel() as u64 * 4)
        .sum()
}

pub fn export_bytes(g: &Graph) -> Result<Vec<u8>, OnnxError> {
    let total = weight_bytes(g);
    if total > PROTOBUF_LIMIT {
        return Err(OnnxError::Export {
            graph: g.name.clone(),
            reason: format!(
                "{total} bytes of weights exceed the 2 GiB protobuf limit; export to a file, \
                 which puts them in external data"
            ),
        });
    }
    Ok(build(g, Sink::Inline)?.encode_to_vec())
}

/// The ONNX graph of `g` without weight values (initializers point at an external file that is
/// not written): what a frontend reads of the model's structure.
pub fn export_structure(g: &Graph) -> Result<Vec<u8>, OnnxError> {
    Ok(build(g, Sink::Structure)?.encode_to_vec())
}

pub fn export_file(g: &Graph, path: &Path) -> Result<(), OnnxError> {
    let file = path.display().to_string();
    let io = |source| OnnxError::Io {
        file: file.clone(),
        source,
    };
    let total = weight_bytes(g);
    let external = total > INLINE_LIMIT
        || g.weights()
            .values()
            .any(|w| matches!(w, WeightData::External { .. }));
    if !external {
        return crate::output::write(path, export_bytes(g)?).map_err(io);
    }
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model.onnx".into());
    let location = format!("{name}.data");
    let data_path = path.with_file_name(&location);
    let data_io = |source| OnnxError::Io {
        file: data_path.display().to_string(),
        source,
    };
    // Both files are complete before either replaces a previous one.
    let mut data = crate::output::AtomicFile::create(&data_path).map_err(data_io)?;
    let model = build(
        g,
        Sink::External {
            out: data.writer(),
            location,
            offset: 0,
        },
    )?;
    let mut model_file = crate::output::AtomicFile::create(path).map_err(io)?;
    model_file
        .writer()
        .write_all(&model.encode_to_vec())
        .map_err(io)?;
    data.commit().map_err(data_io)?;
    model_file.commit().map_err(io)
}
