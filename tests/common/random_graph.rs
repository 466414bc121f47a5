//! Random well-shaped graphs for property tests.
//!
//! [`random_graph`] is a proptest strategy. It draws a [`Recipe`] (input shapes and a list of
//! [`Step`]s, each an op proposal with its attributes and operand picks) and builds it with
//! `Graph::add`: a proposal that the IR rejects (shapes that do not fit, an attribute out of
//! range, a value over [`MAX_NUMEL`] elements) is discarded and leaves the graph as it was,
//! so every generated graph is well-shaped by construction. Operands are picked among all the
//! values built so far (inputs and op results), so values are shared by several nodes and
//! the graph branches and joins. Parameters are secret or public; constants are public.
//! Module paths are drawn from a small set of nested names (`a`, `a.0`, `b`, ...) that recur
//! non-contiguously. Outputs are all op results no other node reads.
//!
//! Shrinking removes steps and simplifies their attributes, and picks stay valid as the graph
//! shrinks (they are `proptest::sample::Index`es, resolved against the values that exist).
//! A failing case prints the graph in the native JSON format, ready to load with
//! `hawkeye show`.
//!
//! Ops whose domain is restricted (`log`, `sqrt`, `rsqrt`, `reciprocal`, fractional `pow`) are
//! applied to `x * x + 0.5`; `div` divides by such a value, so random bindings keep every
//! value finite unless an `exp` chain overflows.
//!
//! ```ignore
//! mod common;
//! use common::random_graph::random_graph;
//! proptest! {
//!     #[test]
//!     fn my_property(rg in random_graph()) { let g = &rg.graph; /* ... */ }
//! }
//! ```

use hawkeye_mpc::frontend::json::to_json;
use hawkeye_mpc::graph::{
    numel, ConstValue, ElemKind, Graph, GraphError, NodeId, Op, ParamRole, ValueInfo, Visibility,
};
use proptest::prelude::*;
use proptest::sample::Index;
use std::fmt;

/// Largest number of elements of any generated value (keeps interpretation fast).
pub const MAX_NUMEL: usize = 2048;

/// Module paths nodes are put in.
const MODULES: &[&str] = &["", "a", "a.0", "a.1", "b", "b.0", "c"];

/// A second operand of an element-wise binary op.
#[derive(Debug, Clone)]
pub enum Operand {
    /// An existing value (the op is discarded when the shapes do not broadcast).
    Value(Index),
    /// A new parameter whose shape is the other operand's, with its first `drop` dims dropped
    /// and the dims whose bit in `keep` is clear set to 1 (numpy broadcasting).
    Param { public: bool, keep: u8, drop: usize },
    /// A public scalar constant.
    Scalar(f64),
    /// A public constant of explicit values with the other operand's last dim.
    Data(i32),
}

/// One op proposal. `x`, `a`, `b` pick operands among the values built so far.
#[derive(Debug, Clone)]
pub enum Step {
    /// A total unary op (`relu`, `sigmoid`, `gelu`, `exp`, `square`, `neg`, ...).
    Unary {
        x: Index,
        op: Op,
    },
    /// An op with a restricted domain, applied to `x * x + 0.5`.
    Positive {
        x: Index,
        op: Op,
    },
    /// `add`, `sub`, `mul`, `max`, `min`; `swap` puts the second operand first. `div` divides
    /// by `b * b + 0.5`.
    Binary {
        op: Op,
        a: Index,
        b: Operand,
        swap: bool,
    },
    Linear {
        x: Index,
        out: usize,
        bias: bool,
        public: bool,
    },
    /// `a @ b` with `b` an existing value, or a new `(k, n)` parameter.
    MatMul {
        a: Index,
        b: Option<Index>,
        n: usize,
        public: bool,
    },
    Conv {
        x: Index,
        per_group: usize,
        kernel: usize,
        stride: usize,
        pad: usize,
        dilation: usize,
        groups: Index,
        bias: bool,
        public: bool,
    },
    /// `kind`: 0 max, 1 average, 2 global average, 3 adaptive average.
    Pool {
        x: Index,
        kind: u8,
        kernel: usize,
        stride: usize,
        pad: usize,
        ceil: bool,
        count_include_pad: bool,
    },
    BatchNorm {
        x: Index,
        public: bool,
    },
    LayerNorm {
        x: Index,
        affine: bool,
        public: bool,
    },
    /// `kind`: 0 flatten, 1 reshape `[0, -1]`, 2 merge two adjacent dims, 3 split a dim,
    /// 4 insert a unit dim; `at` picks the position.
    Reshape {
        x: Index,
        kind: u8,
        at: Index,
    },
    /// A permutation decoded from `perm`.
    Transpose {
        x: Index,
        perm: u32,
    },
    /// `concat(a, b)`, or `concat(a, a)` without `b`.
    Concat {
        a: Index,
        b: Option<Index>,
        axis: Index,
    },
    Slice {
        x: Index,
        axis: Index,
        start: i64,
        end: i64,
        step: i64,
    },
    /// Broadcasts unit dims to `factor` and optionally prepends a dim of `factor`.
    Expand {
        x: Index,
        factor: usize,
        prepend: bool,
    },
    /// `kind`: 0 sum, 1 mean, 2 max; `axes` is a bit set of dims (empty: all).
    Reduce {
        x: Index,
        kind: u8,
        axes: u8,
        keepdims: bool,
    },
    Softmax {
        x: Index,
        axis: Index,
        log: bool,
    },
    ArgMax {
        x: Index,
        axis: Index,
        keepdims: bool,
    },
    /// A new integer input of `len` token ids looked up in a new `(vocab, dim)` table.
    Embedding {
        vocab: usize,
        dim: usize,
        len: usize,
    },
    /// `identity`, or `dropout` (the identity at inference).
    Identity {
        x: Index,
        dropout: bool,
    },
}

/// Input shapes and op proposals, with the module of each step.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub inputs: Vec<Vec<usize>>,
    pub steps: Vec<(usize, Step)>,
}

/// A generated graph and the recipe it was built from.
#[derive(Clone)]
pub struct RandomGraph {
    pub graph: Graph,
    pub recipe: Recipe,
}

impl fmt::Debug for RandomGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", to_json(&self.graph))
    }
}

/// Random well-shaped graphs of up to 24 op proposals over one or two secret inputs.
pub fn random_graph() -> impl Strategy<Value = RandomGraph> {
    random_graph_with(24)
}

/// Random well-shaped graphs of up to `max_steps` op proposals.
pub fn random_graph_with(max_steps: usize) -> impl Strategy<Value = RandomGraph> {
    (
        prop::collection::vec(input_shape(), 1..=2),
        prop::collection::vec((0..MODULES.len(), step()), 1..=max_steps.max(1)),
    )
        .prop_map(|(inputs, steps)| {
            let recipe = Recipe { inputs, steps };
            RandomGraph {
                graph: recipe.build(),
                recipe,
            }
        })
}

fn input_shape() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        (1..=2usize, 1..=4usize, 3..=6usize, 3..=6usize).prop_map(|(n, c, h, w)| vec![n, c, h, w]),
        (1..=2usize, 2..=8usize).prop_map(|(n, d)| vec![n, d]),
        (1..=2usize, 2..=4usize, 2..=6usize).prop_map(|(n, s, d)| vec![n, s, d]),
    ]
}

fn unary_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Relu),
        (-0.5f64..0.5).prop_map(|alpha| Op::LeakyRelu { alpha }),
        Just(Op::Sigmoid),
        Just(Op::Tanh),
        any::<bool>().prop_map(|approximate| Op::Gelu { approximate }),
        Just(Op::Exp),
        Just(Op::Neg),
        Just(Op::Abs),
        Just(Op::Square),
        prop_oneof![Just(2.0), Just(3.0)].prop_map(|exponent| Op::Pow { exponent }),
    ]
}

fn positive_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Log),
        Just(Op::Sqrt),
        Just(Op::Rsqrt),
        Just(Op::Reciprocal),
        (-1.5f64..1.5).prop_map(|exponent| Op::Pow { exponent }),
    ]
}

fn binary_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Add),
        Just(Op::Sub),
        Just(Op::Mul),
        Just(Op::Div),
        Just(Op::Max),
        Just(Op::Min),
    ]
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        any::<Index>().prop_map(Operand::Value),
        (any::<bool>(), any::<u8>(), 0..3usize).prop_map(|(public, keep, drop)| Operand::Param {
            public,
            keep,
            drop
        }),
        (-2.0f64..2.0).prop_map(Operand::Scalar),
        any::<i32>().prop_map(Operand::Data),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let x = any::<Index>;
    prop_oneof![
        4 => (x(), unary_op()).prop_map(|(x, op)| Step::Unary { x, op }),
        1 => (x(), positive_op()).prop_map(|(x, op)| Step::Positive { x, op }),
        4 => (binary_op(), x(), operand(), any::<bool>())
            .prop_map(|(op, a, b, swap)| Step::Binary { op, a, b, swap }),
        2 => (x(), 1..=6usize, any::<bool>(), any::<bool>())
            .prop_map(|(x, out, bias, public)| Step::Linear { x, out, bias, public }),
        1 => (x(), prop::option::of(x()), 1..=5usize, any::<bool>())
            .prop_map(|(a, b, n, public)| Step::MatMul { a, b, n, public }),
        2 => (
            x(),
            1..=3usize,
            1..=3usize,
            1..=2usize,
            0..=1usize,
            prop_oneof![3 => Just(1usize), 1 => Just(2usize)],
            x(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(x, per_group, kernel, stride, pad, dilation, groups, bias, public)| Step::Conv {
                    x,
                    per_group,
                    kernel,
                    stride,
                    pad,
                    dilation,
                    groups,
                    bias,
                    public,
                }
            ),
        2 => (x(), 0..4u8, 1..=3usize, 1..=2usize, 0..=1usize, any::<bool>(), any::<bool>())
            .prop_map(|(x, kind, kernel, stride, pad, ceil, count_include_pad)| Step::Pool {
                x,
                kind,
                kernel,
                stride,
                pad,
                ceil,
                count_include_pad,
            }),
        1 => (x(), any::<bool>()).prop_map(|(x, public)| Step::BatchNorm { x, public }),
        1 => (x(), any::<bool>(), any::<bool>())
            .prop_map(|(x, affine, public)| Step::LayerNorm { x, affine, public }),
        2 => (x(), 0..5u8, x()).prop_map(|(x, kind, at)| Step::Reshape { x, kind, at }),
        1 => (x(), any::<u32>()).prop_map(|(x, perm)| Step::Transpose { x, perm }),
        1 => (x(), prop::option::of(x()), x()).prop_map(|(a, b, axis)| Step::Concat { a, b, axis }),
        1 => (x(), x(), -4i64..4, -3i64..8, 1i64..=2)
            .prop_map(|(x, axis, start, end, step)| Step::Slice { x, axis, start, end, step }),
        1 => (x(), 2..=3usize, any::<bool>())
            .prop_map(|(x, factor, prepend)| Step::Expand { x, factor, prepend }),
        2 => (x(), 0..3u8, any::<u8>(), any::<bool>())
            .prop_map(|(x, kind, axes, keepdims)| Step::Reduce { x, kind, axes, keepdims }),
        1 => (x(), x(), any::<bool>()).prop_map(|(x, axis, log)| Step::Softmax { x, axis, log }),
        1 => (x(), x(), any::<bool>())
            .prop_map(|(x, axis, keepdims)| Step::ArgMax { x, axis, keepdims }),
        1 => (2..=6usize, 1..=4usize, 1..=4usize)
            .prop_map(|(vocab, dim, len)| Step::Embedding { vocab, dim, len }),
        1 => (x(), any::<bool>()).prop_map(|(x, dropout)| Step::Identity { x, dropout }),
    ]
}

/// Adds nodes for one step to a graph: every node name is prefixed by the step's prefix.
struct Builder<'g> {
    g: &'g mut Graph,
    prefix: String,
    module: String,
    helpers: usize,
}

type R<T> = Result<T, GraphError>;

impl Builder<'_> {
    fn shape(&self, id: NodeId) -> Vec<usize> {
        self.g.node(id).value.shape.clone()
    }

    fn op(&mut self, op: Op, inputs: &[NodeId]) -> R<NodeId> {
        self.helpers += 1;
        let name = format!("{}_{}", self.prefix, self.helpers);
        self.g.add(name, self.module.clone(), op, inputs)
    }

    fn param(
        &mut self,
        suffix: &str,
        role: ParamRole,
        shape: Vec<usize>,
        public: bool,
    ) -> R<NodeId> {
        let scope = if self.module.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}.{}", self.module, self.prefix)
        };
        let vis = if public {
            Visibility::Public
        } else {
            Visibility::Secret
        };
        self.g.add_source(
            format!("{scope}.{suffix}"),
            self.module.clone(),
            Op::Parameter { role },
            ValueInfo::new(shape, ElemKind::Real, vis),
        )
    }

    fn constant(&mut self, value: ConstValue, shape: Vec<usize>) -> R<NodeId> {
        self.helpers += 1;
        self.g.add_source(
            format!("{}_c{}", self.prefix, self.helpers),
            self.module.clone(),
            Op::Constant { value },
            ValueInfo::new(shape, ElemKind::Real, Visibility::Public),
        )
    }

    /// `x * x + 0.5`: positive wherever `x` is finite.
    fn positive(&mut self, x: NodeId) -> R<NodeId> {
        let sq = self.op(Op::Mul, &[x, x])?;
        let half = self.constant(ConstValue::Fill(0.5), vec![])?;
        self.op(Op::Add, &[sq, half])
    }

    fn operand(&mut self, a: NodeId, b: &Operand, values: &[NodeId]) -> R<NodeId> {
        let shape = self.shape(a);
        match b {
            Operand::Value(i) => Ok(values[i.index(values.len())]),
            Operand::Param { public, keep, drop } => {
                let tail: Vec<usize> = shape[(*drop).min(shape.len())..]
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| if keep >> i & 1 == 1 { d } else { 1 })
                    .collect();
                self.param("weight", ParamRole::Weight, tail, *public)
            }
            Operand::Scalar(v) => self.constant(ConstValue::Fill(*v), vec![]),
            Operand::Data(seed) => {
                let n = *shape.last().unwrap_or(&1);
                let data = (0..n)
                    .map(|i| ((*seed as i64 + 37 * i as i64).rem_euclid(97)) as f64 / 48.0 - 1.0)
                    .collect();
                self.constant(ConstValue::Data(data), vec![n])
            }
        }
    }

    fn apply(&mut self, step: &Step, values: &[NodeId]) -> R<NodeId> {
        let pick = |i: &Index| values[i.index(values.len())];
        match step {
            Step::Unary { x, op } => self.op(op.clone(), &[pick(x)]),
            Step::Positive { x, op } => {
                let p = self.positive(pick(x))?;
                self.op(op.clone(), &[p])
            }
            Step::Binary { op, a, b, swap } => {
                let a = pick(a);
                let mut b = self.operand(a, b, values)?;
                if *op == Op::Div {
                    b = self.positive(b)?;
                }
                let ins = if *swap && *op != Op::Div {
                    [b, a]
                } else {
                    [a, b]
                };
                self.op(op.clone(), &ins)
            }
            Step::Linear {
                x,
                out,
                bias,
                public,
            } => {
                let x = pick(x);
                let inf = *self.shape(x).last().unwrap_or(&1);
                let w = self.param("weight", ParamRole::Weight, vec![*out, inf], *public)?;
                let mut ins = vec![x, w];
                if *bias {
                    ins.push(self.param("bias", ParamRole::Bias, vec![*out], *public)?);
                }
                self.op(Op::Linear, &ins)
            }
            Step::MatMul { a, b, n, public } => {
                let a = pick(a);
                let b = match b {
                    Some(b) => pick(b),
                    None => {
                        let k = *self.shape(a).last().unwrap_or(&1);
                        self.param("weight", ParamRole::Weight, vec![k, *n], *public)?
                    }
                };
                self.op(Op::MatMul, &[a, b])
            }
            Step::Conv {
                x,
                per_group,
                kernel,
                stride,
                pad,
                dilation,
                groups,
                bias,
                public,
            } => {
                let x = pick(x);
                let s = self.shape(x);
                let cin = if s.len() == 4 { s[1] } else { 1 };
                let divisors: Vec<usize> = (1..=cin).filter(|d| cin % d == 0).collect();
                let groups = divisors[groups.index(divisors.len())];
                let cout = groups * per_group;
                let w = self.param(
                    "weight",
                    ParamRole::Weight,
                    vec![cout, cin / groups, *kernel, *kernel],
                    *public,
                )?;
                let mut ins = vec![x, w];
                if *bias {
                    ins.push(self.param("bias", ParamRole::Bias, vec![cout], *public)?);
                }
                let op = Op::Conv2d {
                    stride: [*stride, *stride],
                    padding: [*pad; 4],
                    dilation: [*dilation, *dilation],
                    groups,
                };
                self.op(op, &ins)
            }
            Step::Pool {
                x,
                kind,
                kernel,
                stride,
                pad,
                ceil,
                count_include_pad,
            } => {
                let op = match kind {
                    0 => Op::MaxPool2d {
                        kernel: [*kernel; 2],
                        stride: [*stride; 2],
                        padding: [*pad; 4],
                        dilation: [1, 1],
                        ceil_mode: *ceil,
                        argmax: false,
                    },
                    1 => Op::AvgPool2d {
                        kernel: [*kernel; 2],
                        stride: [*stride; 2],
                        padding: [*pad; 4],
                        ceil_mode: *ceil,
                        count_include_pad: *count_include_pad,
                    },
                    2 => Op::GlobalAvgPool,
                    _ => Op::AdaptiveAvgPool2d {
                        output: [*kernel, *stride],
                    },
                };
                self.op(op, &[pick(x)])
            }
            Step::BatchNorm { x, public } => {
                let x = pick(x);
                let c = *self.shape(x).get(1).unwrap_or(&1);
                let mut ins = vec![x];
                for (suffix, role) in [
                    ("weight", ParamRole::Weight),
                    ("bias", ParamRole::Bias),
                    ("running_mean", ParamRole::RunningMean),
                    ("running_var", ParamRole::RunningVar),
                ] {
                    ins.push(self.param(suffix, role, vec![c], *public)?);
                }
                self.op(Op::BatchNorm { eps: 1e-5 }, &ins)
            }
            Step::LayerNorm { x, affine, public } => {
                let x = pick(x);
                let d = *self.shape(x).last().unwrap_or(&1);
                let mut ins = vec![x];
                if *affine {
                    ins.push(self.param("weight", ParamRole::Weight, vec![d], *public)?);
                    ins.push(self.param("bias", ParamRole::Bias, vec![d], *public)?);
                }
                self.op(
                    Op::LayerNorm {
                        axis: -1,
                        eps: 1e-5,
                        form: hawkeye_mpc::graph::NormForm::Fused,
                    },
                    &ins,
                )
            }
            Step::Reshape { x, kind, at } => {
                let x = pick(x);
                let s = self.shape(x);
                let r = s.len();
                let at = at.index(r.max(1));
                let dims = |v: Vec<usize>| v.into_iter().map(|d| d as i64).collect();
                let op = match kind {
                    0 => Op::Flatten { axis: at as i64 },
                    1 => Op::Reshape { shape: vec![0, -1] },
                    2 if at + 1 < r => {
                        let mut t = s.clone();
                        let merged = t[at] * t[at + 1];
                        t.splice(at..at + 2, [merged]);
                        Op::Reshape { shape: dims(t) }
                    }
                    3 if r > 0 => {
                        let d = s[at];
                        let f = (2..=d).find(|f| d % f == 0).unwrap_or(1);
                        let mut t = s.clone();
                        t.splice(at..at + 1, [d / f, f]);
                        Op::Reshape { shape: dims(t) }
                    }
                    _ => {
                        let mut t = s.clone();
                        t.insert(at.min(r), 1);
                        Op::Reshape { shape: dims(t) }
                    }
                };
                self.op(op, &[x])
            }
            Step::Transpose { x, perm } => {
                let x = pick(x);
                let r = self.shape(x).len();
                let mut p: Vec<usize> = (0..r).collect();
                let mut seed = *perm as usize;
                for i in (1..r).rev() {
                    p.swap(i, seed % (i + 1));
                    seed /= i + 1;
                }
                self.op(Op::Transpose { perm: p }, &[x])
            }
            Step::Concat { a, b, axis } => {
                let a = pick(a);
                let b = b.as_ref().map_or(a, pick);
                let r = self.shape(a).len().max(1);
                self.op(
                    Op::Concat {
                        axis: axis.index(r) as i64,
                    },
                    &[a, b],
                )
            }
            Step::Slice {
                x,
                axis,
                start,
                end,
                step,
            } => {
                let x = pick(x);
                let r = self.shape(x).len().max(1);
                self.op(
                    Op::Slice {
                        axis: axis.index(r) as i64,
                        start: *start,
                        end: *end,
                        step: *step,
                    },
                    &[x],
                )
            }
            Step::Expand { x, factor, prepend } => {
                let x = pick(x);
                let mut to: Vec<usize> = self
                    .shape(x)
                    .iter()
                    .map(|&d| if d == 1 { *factor } else { d })
                    .collect();
                if *prepend {
                    to.insert(0, *factor);
                }
                self.op(Op::Expand { shape: to }, &[x])
            }
            Step::Reduce {
                x,
                kind,
                axes,
                keepdims,
            } => {
                let x = pick(x);
                let r = self.shape(x).len();
                let axes: Vec<i64> = (0..r)
                    .filter(|i| axes >> i & 1 == 1)
                    .map(|i| i as i64)
                    .collect();
                let keepdims = *keepdims;
                let op = match kind {
                    0 => Op::ReduceSum { axes, keepdims },
                    1 => Op::ReduceMean { axes, keepdims },
                    _ => Op::ReduceMax { axes, keepdims },
                };
                self.op(op, &[x])
            }
            Step::Softmax { x, axis, log } => {
                let x = pick(x);
                let r = self.shape(x).len().max(1);
                let axis = axis.index(r) as i64 - r as i64;
                let op = if *log {
                    Op::LogSoftmax { axis }
                } else {
                    Op::Softmax { axis }
                };
                self.op(op, &[x])
            }
            Step::ArgMax { x, axis, keepdims } => {
                let x = pick(x);
                let r = self.shape(x).len().max(1);
                self.op(
                    Op::ArgMax {
                        axis: axis.index(r) as i64,
                        keepdims: *keepdims,
                    },
                    &[x],
                )
            }
            Step::Embedding { vocab, dim, len } => {
                let ids = self.g.add_source(
                    format!("{}_ids", self.prefix),
                    "",
                    Op::Input,
                    ValueInfo::new(vec![1, *len], ElemKind::Int, Visibility::Secret),
                )?;
                let table = self.param("weight", ParamRole::Weight, vec![*vocab, *dim], false)?;
                self.op(Op::Gather { axis: 0 }, &[table, ids])
            }
            Step::Identity { x, dropout } => {
                let op = if *dropout {
                    Op::Dropout { p: 0.1 }
                } else {
                    Op::Identity
                };
                self.op(op, &[pick(x)])
            }
        }
    }
}

impl Recipe {
    /// Builds the graph: steps the IR rejects are skipped.
    pub fn build(&self) -> Graph {
        let mut g = Graph::new("random");
        let mut values: Vec<NodeId> = Vec::new();
        for (i, shape) in self.inputs.iter().enumerate() {
            let info = ValueInfo::new(shape.clone(), ElemKind::Real, Visibility::Secret);
            values.push(
                g.add_source(format!("x{i}"), "", Op::Input, info)
                    .expect("input shapes are valid"),
            );
        }
        for (i, (module, step)) in self.steps.iter().enumerate() {
            let mut trial = g.clone();
            let mut b = Builder {
                g: &mut trial,
                prefix: format!("n{i}"),
                module: MODULES[*module].to_string(),
                helpers: 0,
            };
            let Ok(id) = b.apply(step, &values) else {
                continue;
            };
            let fits = trial
                .node_ids()
                .all(|n| numel(&trial.node(n).value.shape) <= MAX_NUMEL);
            if fits {
                g = trial;
                values.push(id);
            }
        }
        let outputs: Vec<NodeId> = g
            .node_ids()
            .filter(|&n| !g.node(n).op.is_source() && g.users(n).is_empty())
            .collect();
        if outputs.is_empty() {
            let y = g
                .add("y", "", Op::Identity, &[values[0]])
                .expect("identity applies to any value");
            g.set_outputs(vec![y]);
        } else {
            g.set_outputs(outputs);
        }
        g
    }
}

/// A value-level comparison for semantics tests: same shape, and every element equal or both
/// NaN.
pub fn same_values(a: &hawkeye_mpc::interpret::Tensor, b: &hawkeye_mpc::interpret::Tensor) -> bool {
    a.shape() == b.shape()
        && a.array()
            .iter()
            .zip(b.array().iter())
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}
