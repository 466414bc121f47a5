//! Random instances of a rule's left-hand side: a small graph whose sources stand for the
//! pattern's variables, with shapes, attributes and visibilities drawn so that the pattern
//! type-checks and, as often as possible, the rule's conditions hold.
//!
//! The pattern is built bottom-up, operands before their op. Each op proposes a shape for each
//! operand from what is known: the shapes of operands built or bound already, its attributes,
//! and the shape its parent wants from it. So a convolution's weight gets the input's channel
//! count, a batch norm's statistics its channel dim, the partner of an element-wise op a shape
//! that broadcasts (equal, a suffix, ones, a scalar). Attributes are drawn after the first
//! operand (pool windows that fit it, permutations and reshapes of its rank and size), or
//! before it when the parent fixes the result (a transpose, reshape or expand producing a wanted
//! shape). Dims are at most `max_dim`, the height and width of images `max_dim + 1` (room for
//! a window).
//!
//! The conditions are read for hints only: `secret(?x)`, `public(?w)`, `plain(?w)`,
//! `server(?w)`, `const(?c)`, `rank(?c) == 0`, `rank(?a) >= 2`, `numel(?c) == 1`,
//! `value(?c) >= 0`, `nonneg(?x)` (the source goes through relu, abs, square, sigmoid or exp)
//! and `?p.field == constant`, in `and` chains; one branch of an `or` is
//! followed at random. Variables without a hint are secret inputs, public or server-held
//! parameters or public constants at random. Whether the rule applies is never decided here:
//! an instance goes through the rule's own matcher and conditions, and the checker drops the
//! ones they reject. [`draw`] holds the attribute and operand-shape drawing per op.

use crate::graph::{
    normalize_axis, numel, ConstValue, ElemKind, Graph, NodeId, Op, ParamRole, ValueInfo,
    Visibility,
};
use crate::optimize::language::{has_attributes, plain_op};
use crate::optimize::rules::expr::{BinOp, Expr, Func, Scope};
use crate::optimize::rules::{AttrSpec, Pat, RuleDef};
use rand::{Rng, RngExt};
use rand_pcg::Pcg64;
use std::collections::HashMap;

mod draw;

/// A left-hand side instantiated as a graph.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Sources (one per pattern variable, named after it, and one per scalar literal), the
    /// pattern's ops, and the roots as outputs.
    pub graph: Graph,
    /// The left-hand-side roots, in the rule's order.
    pub roots: Vec<NodeId>,
}

/// What a variable's source is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Secret,
    Public,
    Server,
    Constant,
}

/// What the conditions ask of one tensor variable.
#[derive(Debug, Clone, Default)]
struct VarHint {
    role: Option<Role>,
    rank: Option<usize>,
    min_rank: Option<usize>,
    /// `numel(?v) == 1`.
    unit: bool,
    /// `value(?v) >= k`.
    min_value: Option<f64>,
    /// `nonneg(?v)`: the source goes through an op whose result is non-negative.
    nonneg: bool,
}

/// Hints read from a rule's conditions.
#[derive(Debug, Default)]
struct Hints {
    vars: HashMap<String, VarHint>,
    /// (attribute variable, field) -> required value.
    fields: HashMap<(String, String), serde_json::Value>,
}

/// Expressions evaluated without a match: only constants have values.
struct NoScope;

impl Scope for NoScope {
    fn tensor(&self, _: &str) -> Option<(&ValueInfo, Option<f64>, usize)> {
        None
    }
    fn attrs(&self, _: &str) -> Option<&Op> {
        None
    }
    fn nonneg(&self, _: &str) -> Option<bool> {
        None
    }
}

/// Uniform in [0, 1).
fn unit(rng: &mut Pcg64) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform in `lo..=hi`.
fn int(rng: &mut Pcg64, lo: usize, hi: usize) -> usize {
    rng.random_range(lo..=hi.max(lo))
}

fn shuffle<T>(items: &mut [T], rng: &mut Pcg64) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.random_range(0..=i));
    }
}

fn hints(conditions: &[Expr], rng: &mut Pcg64) -> Hints {
    let mut h = Hints::default();
    for c in conditions {
        walk(c, rng, &mut h);
    }
    h
}

fn walk(e: &Expr, rng: &mut Pcg64, h: &mut Hints) {
    let var = |e: &Expr| match e {
        Expr::Tensor(v) => Some(v.clone()),
        _ => None,
    };
    match e {
        Expr::Binary(BinOp::And, a, b) => {
            walk(a, rng, h);
            walk(b, rng, h);
        }
        Expr::Binary(BinOp::Or, a, b) => {
            if rng.random_bool(0.5) {
                walk(a, rng, h)
            } else {
                walk(b, rng, h)
            }
        }
        Expr::Call(f, args) if args.len() == 1 => {
            let Some(v) = var(&args[0]) else { return };
            if *f == Func::Nonneg {
                h.vars.entry(v).or_default().nonneg = true;
                return;
            }
            let role = match f {
                Func::Secret => Role::Secret,
                Func::Public => Role::Public,
                Func::Server => Role::Server,
                Func::Plain if rng.random_bool(0.9) => Role::Public,
                Func::Plain => Role::Server,
                Func::Const => Role::Constant,
                _ => return,
            };
            let hint = h.vars.entry(v).or_default();
            // A constant is public: it satisfies `plain` and `public` too.
            if hint.role != Some(Role::Constant) {
                hint.role = Some(role);
            }
        }
        Expr::Binary(op, a, b) => {
            let number = |e: &Expr| match e.eval(&NoScope) {
                Some(crate::optimize::rules::Value::Num(n)) => Some(n),
                _ => None,
            };
            match (a.as_ref(), op) {
                (Expr::Call(Func::Rank, args), _) => {
                    let (Some(v), Some(n)) = (var(&args[0]), number(b)) else {
                        return;
                    };
                    let hint = h.vars.entry(v).or_default();
                    match op {
                        BinOp::Eq => hint.rank = Some(n as usize),
                        BinOp::Ge => hint.min_rank = Some(n as usize),
                        BinOp::Gt => hint.min_rank = Some(n as usize + 1),
                        _ => {}
                    }
                }
                (Expr::Call(Func::Numel, args), BinOp::Eq) => {
                    if let (Some(v), Some(n)) = (var(&args[0]), number(b)) {
                        if n == 1.0 {
                            h.vars.entry(v).or_default().unit = true;
                        }
                    }
                }
                (Expr::Call(Func::ValueOf, args), BinOp::Ge | BinOp::Gt) => {
                    if let (Some(v), Some(n)) = (var(&args[0]), number(b)) {
                        h.vars.entry(v).or_default().min_value = Some(n);
                    }
                }
                (Expr::Field(p, field), BinOp::Eq) => {
                    if let Some(value) = b.eval(&NoScope) {
                        h.fields.insert((p.clone(), field.clone()), value.to_json());
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// Draws an instance of `def`'s left-hand side with dims of at most `max_dim`; `None` when the
/// draw does not type-check.
pub fn sample(def: &RuleDef, max_dim: usize, rng: &mut Pcg64) -> Option<Instance> {
    let hints = hints(&def.conditions, rng);
    let mut b = Builder {
        rng,
        max_dim: max_dim.max(1),
        graph: Graph::new(def.name.clone()),
        tensors: HashMap::new(),
        attrs: HashMap::new(),
        hints,
    };
    let mut roots = Vec::new();
    for (_, p) in &def.lhs {
        roots.push(b.build(p, None)?);
    }
    let mut graph = b.graph;
    graph.set_outputs(roots.clone());
    Some(Instance { graph, roots })
}

struct Builder<'a> {
    rng: &'a mut Pcg64,
    max_dim: usize,
    graph: Graph,
    tensors: HashMap<String, NodeId>,
    attrs: HashMap<String, Op>,
    hints: Hints,
}

const UNARY: &[&str] = &[
    "neg",
    "relu",
    "leaky_relu",
    "clip",
    "sigmoid",
    "tanh",
    "gelu",
    "exp",
    "log",
    "reciprocal",
    "sqrt",
    "rsqrt",
    "square",
    "pow",
    "abs",
    "identity",
    "dropout",
];
const BINARY: &[&str] = &["add", "sub", "mul", "div", "max", "min"];
const POOLS: &[&str] = &[
    "max_pool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "global_avg_pool",
];

impl Builder<'_> {
    fn dim(&mut self) -> usize {
        int(self.rng, 1, self.max_dim)
    }

    fn shape(&mut self, rank: usize) -> Vec<usize> {
        (0..rank).map(|_| self.dim()).collect()
    }

    /// A rank drawn between `lo` and `hi`, weighted towards 2 to 4.
    fn rank(&mut self, lo: usize, hi: usize) -> usize {
        let r = match unit(self.rng) {
            u if u < 0.05 => 0,
            u if u < 0.2 => 1,
            u if u < 0.5 => 2,
            u if u < 0.75 => 3,
            _ => 4,
        };
        r.clamp(lo, hi.max(lo))
    }

    fn random_shape(&mut self, lo: usize, hi: usize) -> Vec<usize> {
        let r = self.rank(lo, hi);
        self.shape(r)
    }

    /// An input of a pooling or convolution layer: N x C x H x W (sometimes C x H x W).
    fn image(&mut self) -> Vec<usize> {
        let mut s = vec![int(self.rng, 1, 2.min(self.max_dim)), self.dim()];
        s.push(int(self.rng, 1, self.max_dim + 1));
        s.push(int(self.rng, 1, self.max_dim + 1));
        if self.rng.random_bool(0.15) {
            s.remove(0);
        }
        s
    }

    /// `s` with each dim set to 1 with probability 1/2.
    fn ones_mask(&mut self, s: &[usize]) -> Vec<usize> {
        s.iter()
            .map(|&d| if self.rng.random_bool(0.5) { 1 } else { d })
            .collect()
    }

    /// A shape that broadcasts with `s` to `s`: equal, a scalar, a suffix, or with ones.
    fn partner(&mut self, s: &[usize]) -> Vec<usize> {
        match unit(self.rng) {
            u if u < 0.4 => s.to_vec(),
            u if u < 0.55 => vec![],
            u if u < 0.7 => s.last().map(|&d| vec![d]).unwrap_or_default(),
            u if u < 0.8 => {
                let k = int(self.rng, 0, s.len());
                s[k..].to_vec()
            }
            _ => self.ones_mask(s),
        }
    }

    /// A random factorisation of `n` into `rank` dims.
    fn factorise(&mut self, n: usize, rank: usize) -> Vec<usize> {
        let rank = rank.max(1);
        let mut dims = vec![1; rank];
        let mut m = n;
        let mut p = 2;
        while m > 1 {
            while m % p == 0 {
                let i = self.rng.random_range(0..rank);
                dims[i] *= p;
                m /= p;
            }
            p += 1;
        }
        dims
    }

    fn build(&mut self, pat: &Pat, want: Option<Vec<usize>>) -> Option<NodeId> {
        match pat {
            Pat::Var(v) => match self.tensors.get(v) {
                Some(&id) => Some(id),
                None => self.source(v, want),
            },
            Pat::Scalar(x) => self.constant(*x),
            Pat::Computed(_) | Pat::Source(_) => None,
            Pat::Apply {
                op, attrs, args, ..
            } => self.apply(op, attrs, args, want),
        }
    }

    fn constant(&mut self, value: f64) -> Option<NodeId> {
        let name = self.graph.fresh_name("_const");
        self.graph
            .add_source(
                name,
                "",
                Op::Constant {
                    value: ConstValue::Fill(value),
                },
                ValueInfo::new(vec![], ElemKind::Real, Visibility::Public),
            )
            .ok()
    }

    fn source(&mut self, name: &str, want: Option<Vec<usize>>) -> Option<NodeId> {
        let hint = self.hints.vars.get(name).cloned().unwrap_or_default();
        let mut shape = match want {
            Some(w) => w,
            None => {
                let lo = hint.rank.or(hint.min_rank).unwrap_or(0);
                let hi = hint.rank.unwrap_or(4).max(lo);
                self.random_shape(lo, hi)
            }
        };
        if let Some(r) = hint.rank {
            if shape.len() > r {
                shape = shape[shape.len() - r..].to_vec();
            }
            while shape.len() < r {
                shape.insert(0, 1);
            }
        }
        if let Some(r) = hint.min_rank {
            while shape.len() < r {
                let d = self.dim();
                shape.insert(0, d);
            }
        }
        if hint.unit {
            let r = hint
                .rank
                .unwrap_or_else(|| if self.rng.random_bool(0.7) { 0 } else { 1 });
            shape = vec![1; r];
        }
        let role = hint.role.unwrap_or_else(|| match unit(self.rng) {
            u if u < 0.5 => Role::Secret,
            u if u < 0.85 => Role::Public,
            u if u < 0.9 => Role::Server,
            _ => Role::Constant,
        });
        let (op, vis) = match role {
            Role::Secret => (Op::Input, Visibility::Secret),
            Role::Public | Role::Server => (
                Op::Parameter {
                    role: ParamRole::Weight,
                },
                if role == Role::Public {
                    Visibility::Public
                } else {
                    Visibility::Server
                },
            ),
            Role::Constant => {
                // Quarter steps keep printed counterexamples short.
                let v = match hint.min_value {
                    Some(lo) => lo.max(0.0) + (unit(self.rng) * 16.0).floor() / 4.0,
                    None => (unit(self.rng) * 32.0).floor() / 4.0 - 4.0,
                };
                (
                    Op::Constant {
                        value: ConstValue::Fill(v),
                    },
                    Visibility::Public,
                )
            }
        };
        let id = self
            .graph
            .add_source(name, "", op, ValueInfo::new(shape, ElemKind::Real, vis))
            .ok()?;
        let id = if hint.nonneg {
            // An op the sign analysis knows to make any input non-negative.
            let ops = [Op::Relu, Op::Abs, Op::Square, Op::Sigmoid, Op::Exp];
            let op = ops[self.rng.random_range(0..ops.len())].clone();
            let node = self.graph.fresh_name(&format!("_{}", op.name()));
            self.graph.add(node, "", op, &[id]).ok()?
        } else {
            id
        };
        self.tensors.insert(name.to_string(), id);
        Some(id)
    }

    fn apply(
        &mut self,
        op: &'static str,
        spec: &AttrSpec,
        args: &[Pat],
        want: Option<Vec<usize>>,
    ) -> Option<NodeId> {
        let with_attrs = has_attributes(op);
        let attr_var = match spec {
            AttrSpec::Bind(b) | AttrSpec::Build { base: Some(b), .. } if with_attrs => {
                Some(b.clone())
            }
            _ => None,
        };
        // Fields the pattern requires and the conditions ask for.
        let mut fixed: Vec<(String, serde_json::Value)> = Vec::new();
        if let Some(b) = &attr_var {
            for ((p, f), v) in &self.hints.fields {
                if p == b {
                    fixed.push((f.clone(), v.clone()));
                }
            }
        }
        if let AttrSpec::Build { fields, .. } = spec {
            for (k, e) in fields {
                if let Some(v) = e.eval(&NoScope) {
                    fixed.push((k.clone(), v.to_json()));
                }
            }
        }
        let mut attrs: Option<Op> = attr_var
            .as_ref()
            .and_then(|b| self.attrs.get(b).cloned())
            .filter(|o| o.name() == op);
        if attrs.is_none() && with_attrs {
            if let Some(w) = &want {
                attrs = self.attrs_for_result(op, w, &fixed);
            }
        }
        let mut shapes: Vec<Option<Vec<usize>>> = args
            .iter()
            .map(|a| match a {
                Pat::Var(v) => self
                    .tensors
                    .get(v)
                    .map(|&id| self.graph.node(id).value.shape.clone()),
                Pat::Scalar(_) => Some(vec![]),
                _ => None,
            })
            .collect();
        let mut ids = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            if i == 1 && attrs.is_none() && with_attrs {
                let x = shapes[0].clone().unwrap_or_default();
                attrs = Some(self.random_attrs(op, &x, &fixed)?);
            }
            let w = self.want(op, i, attrs.as_ref(), &shapes, want.as_deref());
            let id = self.build(arg, w)?;
            shapes[i] = Some(self.graph.node(id).value.shape.clone());
            ids.push(id);
        }
        let ir = match attrs {
            Some(a) => a,
            None if with_attrs => {
                let x = shapes.first().cloned().flatten().unwrap_or_default();
                self.random_attrs(op, &x, &fixed)?
            }
            None => plain_op(op)?,
        };
        let name = self.graph.fresh_name(&format!("_{op}"));
        let id = self.graph.add(name, "", ir.clone(), &ids).ok()?;
        if let Some(b) = attr_var {
            self.attrs.entry(b).or_insert(ir);
        }
        Some(id)
    }

    /// Attributes chosen before the operand, when the parent wants a result of shape `w`.
    fn attrs_for_result(
        &mut self,
        op: &str,
        w: &[usize],
        fixed: &[(String, serde_json::Value)],
    ) -> Option<Op> {
        let mut fields = serde_json::Map::new();
        match op {
            "transpose" => {
                let r = w.len();
                let mut perm: Vec<usize> = (0..r).collect();
                if r >= 2 && self.rng.random_bool(0.4) {
                    perm.swap(r - 2, r - 1);
                } else {
                    shuffle(&mut perm, self.rng);
                }
                fields.insert("perm".into(), serde_json::json!(perm));
            }
            "expand" => {
                fields.insert("to".into(), serde_json::json!(w));
            }
            "reshape" => {
                let mut to: Vec<i64> = w.iter().map(|&d| d as i64).collect();
                if !to.is_empty() && self.rng.random_bool(0.3) {
                    let i = self.rng.random_range(0..to.len());
                    to[i] = -1;
                }
                fields.insert("to".into(), serde_json::json!(to));
            }
            _ => return None,
        }
        finish(op, fields, fixed)
    }
}

/// The op named `op` with `fields`, the required ones put over the random ones.
fn finish(
    op: &str,
    mut fields: serde_json::Map<String, serde_json::Value>,
    fixed: &[(String, serde_json::Value)],
) -> Option<Op> {
    for (k, v) in fixed {
        fields.insert(k.clone(), v.clone());
    }
    fields.insert("op".into(), serde_json::Value::from(op));
    serde_json::from_value(serde_json::Value::Object(fields)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::RuleSet;
    use rand::SeedableRng;

    /// Every built-in rule's left-hand side can be instantiated.
    #[test]
    fn every_builtin_left_hand_side_instantiates() {
        let rules = RuleSet::builtin().unwrap();
        let mut rng = Pcg64::seed_from_u64(1);
        for (i, info) in rules.rules.iter().enumerate() {
            let def = rules.def(i);
            let ok = (0..200).filter_map(|_| sample(def, 3, &mut rng)).count();
            assert!(ok > 0, "{}: no instance type-checks", info.name);
        }
    }

    #[test]
    fn conditions_give_hints() {
        let rules = RuleSet::builtin().unwrap();
        let i = rules
            .rules
            .iter()
            .position(|r| r.name == "clip-via-relus")
            .unwrap();
        let mut rng = Pcg64::seed_from_u64(2);
        let h = hints(&rules.def(i).conditions, &mut rng);
        let c = &h.vars["c"];
        assert_eq!(c.role, Some(Role::Constant));
        assert!(c.unit);
        assert_eq!(c.min_value, Some(0.0));
    }
}
