//! The e-graph language: IR op applications over tensor e-classes, with attributes as leaves.
//!
//! An e-node is a [`TensorNode`]: a [`TensorOp`] and its child e-classes.
//! - Graph sources (inputs, parameters, non-scalar constants) are leaves named like their graph
//!   node, [`TensorOp::Source`]; the analysis knows their values.
//! - Public real scalars (graph scalar constants and the literals rules introduce) are leaves
//!   carrying their value, [`TensorOp::Scalar`], compared by bit pattern.
//! - An op with attributes (`conv2d`, `max_pool2d`, `reshape` ...) takes its attributes as its
//!   first child: an e-class holding one [`TensorOp::Attr`] leaf, the whole IR [`Op`]. Patterns
//!   can then bind attributes to a variable (`(max_pool2d ?p ?x)`) and copy them to the
//!   right-hand side, as Tensat does with its `Num` leaves.
//! - [`TensorOp::Outputs`] glues the graph outputs into one root.
//!
//! Attributes hold `f64`s (eps, exponents, constant fills); [`Attrs`] compares them through a
//! canonical text key in which every float is printed by its exact bit pattern, so distinct
//! values never share an e-node and equal ones always do.

use crate::graph::Op;
use egg::{Id, Language, Symbol};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The attributes of an op application: the IR op itself, compared by a canonical key.
#[derive(Clone)]
pub struct Attrs {
    op: Arc<Op>,
    key: Arc<str>,
}

impl Attrs {
    pub fn new(op: Op) -> Attrs {
        let key = canonical_key(&op);
        Attrs {
            op: Arc::new(op),
            key: key.into(),
        }
    }

    /// The IR op these attributes belong to.
    pub fn op(&self) -> &Op {
        &self.op
    }
}

/// The op's JSON form with every number written as its `f64` bit pattern (integers as
/// themselves), so that the key is injective on attribute values.
fn canonical_key(op: &Op) -> String {
    fn write(v: &serde_json::Value, out: &mut String) {
        use serde_json::Value;
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => out.push_str(&i.to_string()),
                (_, Some(u), _) => out.push_str(&u.to_string()),
                (_, _, Some(f)) => out.push_str(&format!("f{:016x}", f.to_bits())),
                _ => out.push_str(&n.to_string()),
            },
            Value::String(s) => {
                out.push('"');
                out.push_str(s);
                out.push('"');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (k, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    out.push(':');
                    write(item, out);
                }
                out.push('}');
            }
        }
    }
    // NaN and infinities are not JSON numbers; they only occur in constants, which are leaves
    // named after their graph node, so the Debug form (exact for floats) is a safe fallback.
    match serde_json::to_value(op) {
        Ok(v) => {
            let mut out = String::new();
            write(&v, &mut out);
            out
        }
        Err(_) => format!("{op:?}"),
    }
}

impl PartialEq for Attrs {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Attrs {}
impl Hash for Attrs {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state)
    }
}
impl PartialOrd for Attrs {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Attrs {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}
impl fmt::Debug for Attrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.op)
    }
}

/// A real number compared by bit pattern (so it can live in a hash-consed e-node).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Real(u64);

impl Real {
    pub fn new(v: f64) -> Real {
        // One zero: -0.0 and 0.0 are the same scalar for every op of the IR.
        Real(if v == 0.0 { 0.0f64 } else { v }.to_bits())
    }
    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

impl fmt::Debug for Real {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// The operator of an e-node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TensorOp {
    /// A graph source (input, parameter, constant) by node name.
    Source(Symbol),
    /// A public real scalar.
    Scalar(Real),
    /// The attributes of an op application (the first child of ops with attributes).
    Attr(Attrs),
    /// An IR op application, by op name ([`Op::name`]).
    Apply(&'static str),
    /// The graph outputs, in order: the root of a graph's e-graph.
    Outputs,
}

/// An e-node: an operator and its child e-classes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TensorNode {
    pub op: TensorOp,
    pub children: Vec<Id>,
}

impl TensorNode {
    pub fn leaf(op: TensorOp) -> TensorNode {
        TensorNode {
            op,
            children: Vec::new(),
        }
    }

    /// An application of `name` (a static op name) to `children` (attributes first if any).
    pub fn apply(name: &'static str, children: Vec<Id>) -> TensorNode {
        TensorNode {
            op: TensorOp::Apply(name),
            children,
        }
    }

    /// The tensor operands (the children after the attribute child, if any).
    pub fn operands(&self) -> &[Id] {
        match self.op {
            TensorOp::Apply(name) if has_attributes(name) => &self.children[1..],
            _ => &self.children,
        }
    }

    /// The attribute child of an application of an op with attributes.
    pub fn attr_child(&self) -> Option<Id> {
        match self.op {
            TensorOp::Apply(name) if has_attributes(name) => self.children.first().copied(),
            _ => None,
        }
    }
}

impl Language for TensorNode {
    type Discriminant = TensorOp;

    fn discriminant(&self) -> TensorOp {
        self.op.clone()
    }

    fn matches(&self, other: &Self) -> bool {
        self.op == other.op && self.children.len() == other.children.len()
    }

    fn children(&self) -> &[Id] {
        &self.children
    }

    fn children_mut(&mut self) -> &mut [Id] {
        &mut self.children
    }
}

impl fmt::Display for TensorNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            TensorOp::Source(name) => write!(f, "{name}"),
            TensorOp::Scalar(v) => write!(f, "{v:?}"),
            TensorOp::Attr(a) => write!(f, "{}{}", a.op().name(), attr_suffix(a)),
            TensorOp::Apply(name) => write!(f, "{name}"),
            TensorOp::Outputs => write!(f, "outputs"),
        }
    }
}

fn attr_suffix(a: &Attrs) -> String {
    let fields: Vec<String> = super::rules::attr_fields(a.op())
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("[{}]", fields.join(", "))
}

/// Parses e-nodes in egg's s-expression syntax (tests and debugging): op names are
/// applications, `outputs` the root, numbers scalars, anything else a source name. Attribute
/// leaves cannot be written this way.
impl egg::FromOp for TensorNode {
    type Error = String;

    fn from_op(op: &str, children: Vec<Id>) -> Result<Self, Self::Error> {
        if op == "outputs" {
            return Ok(TensorNode {
                op: TensorOp::Outputs,
                children,
            });
        }
        if let Some(name) = Op::NAMES.iter().find(|n| **n == op) {
            return Ok(TensorNode::apply(name, children));
        }
        if !children.is_empty() {
            return Err(format!("'{op}' is not an op"));
        }
        if let Ok(v) = op.parse::<f64>() {
            return Ok(TensorNode::leaf(TensorOp::Scalar(Real::new(v))));
        }
        Ok(TensorNode::leaf(TensorOp::Source(Symbol::from(op))))
    }
}

/// The IR op of an op name whose variant has no attributes (`relu`, `linear` ...).
pub fn plain_op(name: &str) -> Option<Op> {
    Some(match name {
        "linear" => Op::Linear,
        "mat_mul" => Op::MatMul,
        "add" => Op::Add,
        "sub" => Op::Sub,
        "mul" => Op::Mul,
        "div" => Op::Div,
        "max" => Op::Max,
        "min" => Op::Min,
        "neg" => Op::Neg,
        "relu" => Op::Relu,
        "sigmoid" => Op::Sigmoid,
        "tanh" => Op::Tanh,
        "exp" => Op::Exp,
        "log" => Op::Log,
        "reciprocal" => Op::Reciprocal,
        "sqrt" => Op::Sqrt,
        "rsqrt" => Op::Rsqrt,
        "square" => Op::Square,
        "abs" => Op::Abs,
        "global_avg_pool" => Op::GlobalAvgPool,
        "identity" => Op::Identity,
        "cross_entropy" => Op::CrossEntropy,
        "mse" => Op::Mse,
        "cross_entropy_grad" => Op::CrossEntropyGrad,
        "rsqrt_grad" => Op::RsqrtGrad,
        _ => return None,
    })
}

/// Whether applications of the (non-source) op `name` carry an attribute child.
pub fn has_attributes(name: &str) -> bool {
    plain_op(name).is_none()
}

/// The static name of an op name, if it is one.
pub fn op_name(name: &str) -> Option<&'static str> {
    Op::NAMES.iter().find(|n| **n == name).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ops_are_exactly_the_variants_without_fields() {
        for name in Op::NAMES {
            let parsed: Result<Op, _> = serde_json::from_value(serde_json::json!({ "op": name }));
            match plain_op(name) {
                Some(op) => {
                    assert_eq!(op.name(), *name);
                    assert_eq!(parsed.as_ref().ok(), Some(&op), "{name}");
                    // A plain op serializes to its name alone.
                    assert_eq!(
                        serde_json::to_value(&op).unwrap(),
                        serde_json::json!({ "op": name })
                    );
                }
                None => {
                    // Ops with fields: either a field is required, or defaults exist but the
                    // variant has fields (checked through the field list).
                    let fields = crate::optimize::rules::attr_fields(&match parsed {
                        Ok(op) => op,
                        Err(_) => continue,
                    });
                    assert!(
                        !fields.is_empty() || ["input", "parameter", "constant"].contains(name),
                        "{name} has no fields but is not a plain op"
                    );
                }
            }
        }
    }

    #[test]
    fn attributes_compare_by_exact_value() {
        let a = Attrs::new(Op::BatchNorm { eps: 1e-5 });
        let b = Attrs::new(Op::BatchNorm { eps: 1e-5 });
        let c = Attrs::new(Op::BatchNorm {
            eps: f64::from_bits(1e-5f64.to_bits() + 1),
        });
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(
            Attrs::new(Op::Softmax { axis: -1 }),
            Attrs::new(Op::LogSoftmax { axis: -1 })
        );
        assert_eq!(Real::new(-0.0), Real::new(0.0));
        assert_ne!(Real::new(0.5), Real::new(0.25));
    }
}
