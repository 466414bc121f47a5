//! IR graph → ONNX model (IR version 8, opset 17).
//!
//! Each IR node becomes one "primary" ONNX node (or a graph input / initializer), preceded by
//! the helper nodes of its ONNX form (shape constants, the Erf GELU chain, ...). Primary nodes
//! are named PyTorch style from the module path (`/layer1/layer1.0/conv1/Conv`) unless the IR
//! name already is such a name, and carry a `hawkeye:` marker with whatever the importer could
//! not recover from the ONNX form, so that importing the file gives back the same graph.

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

    fn export_node(&mut self, id: NodeId) -> R<()> {
        let g = self.g;
        let n = g.node(id);
        let scope = node_scope(&n.module);
        let mut marker = Marker {
            phase: (n.phase != Phase::Forward).then_some(n.phase),
            ..Marker::default()
        };
        match &n.op {
            Op::Input => {
                marker.module = (!n.module.is_empty()).then(|| n.module.clone());
                marker.visibility =
                    (n.value.visibility != Visibility::Secret).then_some(n.value.visibility);
                let doc = (marker != Marker::default()).then(|| marker.to_doc());
                self.inputs
                    .push(value_info(&n.name, n.value.kind, &n.value.shape, doc));
                self.values.insert(id, n.name.clone());
                return Ok(());
            }
            Op::Parameter { role } => {
                marker.module = Some(n.module.clone());
                marker.role = Some(*role);
                marker.visibility =
                    (n.value.visibility != Visibility::Secret).then_some(n.value.visibility);
                if n.value.kind != ElemKind::Real {
                    return Err(format!(
                        "parameter '{}' has kind int; parameters are real",
                        n.name
                    ));
                }
                let t = self.initializer(id, marker.to_doc())?;
                self.inits.push(t);
                self.values.insert(id, n.name.clone());
                return Ok(());
            }
            _ => {}
        }
        let ins = g.inputs(id);
        let out_kind = n.value.kind;
        let mut vals = Vec::with_capacity(ins.len());
        for (slot, &i) in ins.iter().enumerate() {
            let keep_kind = matches!(
                (&n.op, slot),
                (Op::Gather { .. }, 1) | (Op::ArgMax { .. }, _)
            );
            let want = if keep_kind {
                g.node(i).value.kind
            } else {
                out_kind
            };
            vals.push(self.operand(&scope, i, want));
        }
        let shape = &n.value.shape;
        let in_shape = |k: usize| g.node(ins[k]).value.shape.clone();
        let lossy = |v: f64| !survives_f32(v);
        let mut exact_op = false;
        let mut op_inputs = None;
        let e: Emit = match &n.op {
            Op::Input | Op::Parameter { .. } => unreachable!("handled above"),
            Op::Constant { value } => {
                marker.visibility =
                    (n.value.visibility != Visibility::Public).then_some(n.value.visibility);
                let int = out_kind == ElemKind::Int;
                let fits = |v: f64| if int { v.fract() == 0.0 } else { !lossy(v) };
                let fill = |s: &mut Self, v: f64| {
                    let dims = s.const_i64(&scope, vec![shape.len() as i64], &us(shape));
                    let value = if int {
                        tensor_i64(vec![1], &[v as i64])
                    } else {
                        tensor_f32(vec![1], &[v])
                    };
                    (dims, value)
                };
                match value {
                    ConstValue::Fill(v) => {
                        exact_op = !fits(*v);
                        let (dims, value) = fill(self, *v);
                        emit(
                            "ConstantOfShape",
                            vec![dims],
                            vec![attr_tensor("value", value)],
                        )
                    }
                    ConstValue::Data(v) => {
                        exact_op = !v.iter().all(|&x| fits(x));
                        let t = if int {
                            tensor_i64(us(shape), &v.iter().map(|&x| x as i64).collect::<Vec<_>>())
                        } else {
                            tensor_f32(us(shape), v)
                        };
                        emit("Constant", vec![], vec![attr_tensor("value", t)])
                    }
                    ConstValue::CausalMask(v) => {
                        exact_op = !fits(*v) || int;
                        let (dims, value) = fill(self, *v);
                        let filled = self.helper(
                            &scope,
                            emit(
                                "ConstantOfShape",
                                vec![dims],
                                vec![attr_tensor("value", value)],
                            ),
                        );
                        let k = self.const_i64(&scope, vec![], &[1]);
                        emit("Trilu", vec![filled, k], vec![attr_int("upper", 1)])
                    }
                }
            }
            Op::Conv2d {
                stride,
                padding,
                dilation,
                groups,
            } => {
                let w = in_shape(1);
                emit(
                    "Conv",
                    vals,
                    vec![
                        attr_ints("dilations", us(dilation)),
                        attr_int("group", *groups as i64),
                        attr_ints("kernel_shape", us(&w[2..])),
                        attr_ints("pads", us(padding)),
                        attr_ints("strides", us(stride)),
                    ],
                )
            }
            Op::Linear => {
                if in_shape(0).len() == 2 {
                    emit(
                        "Gemm",
                        vals,
                        vec![
                            attr_float("alpha", 1.0),
                            attr_float("beta", 1.0),
                            attr_int("transB", 1),
                        ],
                    )
                } else {
                    let wt = self.helper(
                        &scope,
                        emit(
                            "Transpose",
                            vec![vals[1].clone()],
                            vec![attr_ints("perm", vec![1, 0])],
                        ),
                    );
                    let mm = emit("MatMul", vec![vals[0].clone(), wt], vec![]);
                    match vals.get(2) {
                        None => mm,
                        Some(b) => {
                            let y = self.helper(&scope, mm);
                            emit("Add", vec![b.clone(), y], vec![])
                        }
                    }
                }
            }
            Op::MatMul => emit("MatMul", vals, vec![]),
            Op::Add => emit("Add", vals, vec![]),
            Op::Sub => emit("Sub", vals, vec![]),
            Op::Mul => emit("Mul", vals, vec![]),
            Op::Div => emit("Div", vals, vec![]),
            Op::Max => emit("Max", vals, vec![]),
            Op::Min => emit("Min", vals, vec![]),
            Op::Neg => emit("Neg", vals, vec![]),
            Op::Relu => emit("Relu", vals, vec![]),
            Op::Sigmoid => emit("Sigmoid", vals, vec![]),
            Op::Tanh => emit("Tanh", vals, vec![]),
            Op::Exp => emit("Exp", vals, vec![]),
            Op::Log => emit("Log", vals, vec![]),
            Op::Reciprocal => emit("Reciprocal", vals, vec![]),
            Op::Sqrt => emit("Sqrt", vals, vec![]),
            Op::Abs => emit("Abs", vals, vec![]),
            Op::Identity => emit("Identity", vals, vec![]),
            Op::Clip { min, max } => {
                exact_op = lossy(*min) || lossy(*max);
                op_inputs = Some(1);
                let lo = self.const_f32(&scope, *min);
                let hi = self.const_f32(&scope, *max);
                emit("Clip", vec![vals[0].clone(), lo, hi], vec![])
            }
            Op::LeakyRelu { alpha } => {
                exact_op = lossy(*alpha);
                emit("LeakyRelu", vals, vec![attr_float("alpha", *alpha)])
            }
            Op::Gelu { approximate: false } => {
                let x = vals[0].clone();
                let sqrt2 = self.const_f32(&scope, std::f64::consts::SQRT_2);
                let d = self.helper(&scope, emit("Div", vec![x.clone(), sqrt2], vec![]));
                let erf = self.helper(&scope, emit("Erf", vec![d], vec![]));
                let one = self.const_f32(&scope, 1.0);
                let a = self.helper(&scope, emit("Add", vec![erf, one], vec![]));
                let m = self.helper(&scope, emit("Mul", vec![x, a], vec![]));
                let half = self.const_f32(&scope, 0.5);
                emit("Mul", vec![m, half], vec![])
            }
            Op::Gelu { approximate: true } => {
                let x = vals[0].clone();
                let sq = self.helper(&scope, emit("Mul", vec![x.clone(), x.clone()], vec![]));
                let cube = self.helper(&scope, emit("Mul", vec![x.clone(), sq], vec![]));
                let kappa = self.const_f32(&scope, 0.044715);
                let kc = self.helper(&scope, emit("Mul", vec![kappa, cube], vec![]));
                let inner = self.helper(&scope, emit("Add", vec![x.clone(), kc], vec![]));
                let beta = self.const_f32(&scope, (2.0 / std::f64::consts::PI).sqrt());
                let u = self.helper(&scope, emit("Mul", vec![beta, inner], vec![]));
                let t = self.helper(&scope, emit("Tanh", vec![u], vec![]));
                let one = self.const_f32(&scope, 1.0);
                let a = self.helper(&scope, emit("Add", vec![one, t], vec![]));
                let m = self.helper(&scope, emit("Mul", vec![x, a], vec![]));
                let half = self.const_f32(&scope, 0.5);
                emit("Mul", vec![half, m], vec![])
            }
            Op::Rsqrt => {
                let s = self.helper(&scope, emit("Sqrt", vals, vec![]));
                emit("Reciprocal", vec![s], vec![])
            }
            Op::Square => {
                let two = self.const_f32(&scope, 2.0);
                emit("Pow", vec![vals[0].clone(), two], vec![])
            }
            Op::Pow { exponent } => {
                exact_op = lossy(*exponent) || *exponent == 2.0;
                op_inputs = Some(1);
                let e = self.const_f32(&scope, *exponent);
                emit("Pow", vec![vals[0].clone(), e], vec![])
            }
            Op::Softmax { axis } => emit("Softmax", vals, vec![attr_int("axis", *axis)]),
            Op::LogSoftmax { axis } => emit("LogSoftmax", vals, vec![attr_int("axis", *axis)]),
            Op::MaxPool2d { .. } | Op::AvgPool2d { .. } | Op::AdaptiveAvgPool2d { .. }
                if in_shape(0).len() != 4 =>
            {
                // ONNX pools over every dim after N and C: on other ranks the same node would
                // pool over a different number of dims.
                return Err(format!(
                    "{} over a rank-{} input cannot be written as ONNX (pooling needs an NCHW input)",
                    n.op.name(),
                    in_shape(0).len()
                ));
            }
            Op::MaxPool2d {
                kernel,
                stride,
                padding,
                dilation,
                ceil_mode,
                ..
            } => emit(
                "MaxPool",
                vals,
                vec![
                    attr_int("ceil_mode", *ceil_mode as i64),
                    attr_ints("dilations", us(dilation)),
                    attr_ints("kernel_shape", us(kernel)),
                    attr_ints("pads", us(padding)),
                    attr_ints("strides", us(stride)),
                ],
            ),
            Op::AvgPool2d {
                kernel,
                stride,
                padding,
                ceil_mode,
                count_include_pad,
            } => emit(
                "AveragePool",
                vals,
                vec![
                    attr_int("ceil_mode", *ceil_mode as i64),
                    attr_int("count_include_pad", *count_include_pad as i64),
                    attr_ints("kernel_shape", us(kernel)),
                    attr_ints("pads", us(padding)),
                    attr_ints("strides", us(stride)),
                ],
            ),
            Op::GlobalAvgPool => {
                if in_shape(0).len() == 4 {
                    emit("GlobalAveragePool", vals, vec![])
                } else {
                    exact_op = true;
                    emit(
                        "ReduceMean",
                        vals,
                        vec![attr_ints("axes", vec![-2, -1]), attr_int("keepdims", 1)],
                    )
                }
            }
            Op::AdaptiveAvgPool2d { output } => {
                exact_op = true;
                let x = in_shape(0);
                if *output == [1, 1] {
                    emit("GlobalAveragePool", vals, vec![])
                } else {
                    // Exact when the input divides evenly (torch's own export needs that);
                    // otherwise a pool of the same output size.
                    let (h, w) = (x[2], x[3]);
                    let s = [(h / output[0]).max(1), (w / output[1]).max(1)];
                    let k = [
                        h.saturating_sub((output[0] - 1) * s[0]).max(1),
                        w.saturating_sub((output[1] - 1) * s[1]).max(1),
                    ];
                    emit(
                        "AveragePool",
                        vals,
                        vec![
                            attr_ints("kernel_shape", us(&k)),
                            attr_ints("strides", us(&s)),
                        ],
                    )
                }
            }
            Op::BatchNorm { eps } => {
                exact_op = lossy(*eps);
                emit(
                    "BatchNormalization",
                    vals,
                    vec![attr_float("epsilon", *eps)],
                )
            }
            Op::LayerNorm { axis, eps, form } if *form != NormForm::Fused => {
                // The decomposed form the input had (torch below opset 17), written out: loaders
                // without LayerNormalization (CrypTen's from_onnx) read it, and import fuses it
                // back into this op.
                let x = in_shape(0);
                let a = crate::graph::normalize_axis(*axis, x.len())?;
                // in the sign the op has, as the import reads it back (`axis -1` is `[-1]`)
                let rank = if *axis < 0 { x.len() as i64 } else { 0 };
                let axes: Vec<i64> = (a..x.len()).map(|d| d as i64 - rank).collect();
                let reduce =
                    |v: String| emit("ReduceMean", vec![v], vec![attr_ints("axes", axes.clone())]);
                let mean = self.helper(&scope, reduce(vals[0].clone()));
                let d = self.helper(&scope, emit("Sub", vec![vals[0].clone(), mean], vec![]));
                let square = if *form == NormForm::DecomposedMul {
                    emit("Mul", vec![d.clone(), d.clone()], vec![])
                } else {
                    let two = self.const_f32(&scope, 2.0);
                    emit("Pow", vec![d.clone(), two], vec![])
                };
                let square = self.helper(&scope, square);
                let var = self.helper(&scope, reduce(square));
                let e = self.const_f32(&scope, *eps);
                let var_eps = self.helper(&scope, emit("Add", vec![var, e], vec![]));
                let sd = self.helper(&scope, emit("Sqrt", vec![var_eps], vec![]));
                let div = emit("Div", vec![d, sd], vec![]);
                match vals.len() {
                    1 => div,
                    2 => {
                        let normed = self.helper(&scope, div);
                        emit("Mul", vec![normed, vals[1].clone()], vec![])
                    }
                    _ => {
                        let normed = self.helper(&scope, div);
                        let scaled =
                            self.helper(&scope, emit("Mul", vec![normed, vals[1].clone()], vec![]));
                        emit("Add", vec![scaled, vals[2].clone()], vec![])
                    }
                }
            }
            Op::LayerNorm { axis, eps, .. } => {
                exact_op = lossy(*eps);
                op_inputs = Some(ins.len());
                let mut vals = vals;
                if vals.len() == 1 {
                    let x = in_shape(0);
                    let a = crate::graph::normalize_axis(*axis, x.len())?;
                    let dims = self.const_i64(&scope, vec![(x.len() - a) as i64], &us(&x[a..]));
                    let ones = self.helper(
                        &scope,
                        emit(
                            "ConstantOfShape",
                            vec![dims],
                            vec![attr_tensor("value", tensor_f32(vec![1], &[1.0]))],
                        ),
                    );
                    vals.push(ones);
                }
                emit(
                    "LayerNormalization",
                    vals,
                    vec![attr_int("axis", *axis), attr_float("epsilon", *eps)],
                )
            }
            Op::Gather { axis } => emit("Gather", vals, vec![attr_int("axis", *axis)]),
            Op::Reshape { shape: target } => {
                let s = self.const_i64(&scope, vec![target.len() as i64], target);
                emit("Reshape", vec![vals[0].clone(), s], vec![])
            }
            Op::Flatten { axis } => {
                if *axis == 1 {
                    emit("Flatten", vals, vec![attr_int("axis", 1)])
                } else {
                    exact_op = true;
                    op_inputs = Some(1);
                    let s = self.const_i64(&scope, vec![shape.len() as i64], &us(shape));
                    emit("Reshape", vec![vals[0].clone(), s], vec![])
                }
            }
            Op::Transpose { perm } => emit("Transpose", vals, vec![attr_ints("perm", us(perm))]),
            Op::Concat { axis } => emit("Concat", vals, vec![attr_int("axis", *axis)]),
            Op::Slice {
                axis,
                start,
                end,
                step,
            } => {
                let s = self.const_i64(&scope, vec![1], &[*start]);
                let e = self.const_i64(&scope, vec![1], &[*end]);
                let a = self.const_i64(&scope, vec![1], &[*axis]);
                let st = self.const_i64(&scope, vec![1], &[*step]);
                emit("Slice", vec![vals[0].clone(), s, e, a, st], vec![])
            }
            Op::Expand { shape: target } => {
                let s = self.const_i64(&scope, vec![target.len() as i64], &us(target));
                emit("Expand", vec![vals[0].clone(), s], vec![])
            }
            Op::ReduceSum { axes, keepdims } => {
                let mut ins = vec![vals[0].clone()];
                if !axes.is_empty() {
                    ins.push(self.const_i64(&scope, vec![axes.len() as i64], axes));
                }
                emit(
                    "ReduceSum",
                    ins,
                    vec![attr_int("keepdims", *keepdims as i64)],
                )
            }
            Op::ReduceMean { axes, keepdims } | Op::ReduceMax { axes, keepdims } => {
                let mut attrs = vec![attr_int("keepdims", *keepdims as i64)];
                if !axes.is_empty() {
                    attrs.push(attr_ints("axes", axes.clone()));
                }
                let t = if matches!(n.op, Op::ReduceMean { .. }) {
                    "ReduceMean"
                } else {
                    "ReduceMax"
                };
                emit(t, vals, attrs)
            }
            Op::ArgMax { axis, keepdims } => emit(
                "ArgMax",
                vals,
                vec![
                    attr_int("axis", *axis),
                    attr_int("keepdims", *keepdims as i64),
                ],
            ),
            Op::Dropout { p } => {
                exact_op = lossy(*p);
                op_inputs = Some(1);
                let r = self.const_f32(&scope, *p);
                emit("Dropout", vec![vals[0].clone(), r], vec![])
            }
            Op::CrossEntropy | Op::Mse => {
                let f = if matches!(n.op, Op::Mse) {
                    "Mse"
                } else {
                    "CrossEntropy"
                };
                if !self.functions.contains(&f) {
                    self.functions.push(f);
                }
                emit(f, vals, vec![])
            }
            // The training-step ops (backward ops, batch-statistics batch norm) have no ONNX form.
            op => {
                return Err(format!(
                    "node '{}': '{}' is a training-step op with no ONNX form; export the \
                     forward model",
                    n.name,
                    op.name()
                ))
            }
        };
        if exact_op {
            marker.op = Some(n.op.clone());
            marker.inputs = if n.op.is_source() { None } else { op_inputs };
        }
        // The primary node: the IR name when it already is a PyTorch-style name of its module
        // (`/a/b/Op`), else a generated one.
        let onnx_name = if n.name.starts_with('/') && module_of_node(&n.name) == n.module {
            n.name.clone()
        } else {
            self.fresh_node(&format!("{scope}{}", e.op_type))
        };
        if onnx_name != n.name {
            marker.name = Some(n.name.clone());
        }
        if module_of_node(&onnx_name) != n.module {
            marker.module = Some(n.module.clone());
        }
        let out = self.push(onnx_name, e, Some(marker.to_doc()));
        self.value_infos
            .push(value_info(&out, out_kind, shape, None));
        self.values.insert(id, out);
        Ok(())
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
