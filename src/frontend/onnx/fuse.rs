//! Pattern fusion: rewrites the multi-node forms in which exporters write some layers into the
//! one IR op they stand for, before the nodes are converted.
//!
//! - exact GELU, `Div(x, √2) → Erf → Add(1) → Mul(x) → Mul(0.5)` (and the `Mul(x, 0.5)`-first
//!   and `Mul(x, 1/√2)` variants) → `gelu`;
//! - tanh GELU, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` in torch's and HF's orders →
//!   `gelu {approximate}`;
//! - decomposed layer norm, `ReduceMean → Sub → Pow 2 → ReduceMean → Add ε → Sqrt → Div
//!   [→ Mul w → Add b]` → `layer_norm`;
//! - a linear layer on a rank ≠ 2 input, `Transpose(W) → MatMul [→ Add b]` → `linear`;
//! - `Sqrt → Reciprocal` → `rsqrt`;
//! - zero `Pad` before `AveragePool` (torch's `count_include_pad`) or `Conv` → padding of that op.
//!
//! Intermediate values must have no other consumer (and not be graph outputs), and no node but
//! the last may carry a marker of our exporter (a marked node is an IR node of its own).

use super::naming::Marker;
use super::proto::AttributeProto;
use super::tensor::{Attrs, Tensor};
use crate::graph::{NormForm, Op};
use std::collections::{HashMap, HashSet};

/// The IR op that replaces a fused group of nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum FusedOp {
    Ir(Op),
    /// Layer norm over `axes` (checked against the input rank at conversion).
    LayerNorm {
        axes: Vec<i64>,
        eps: f64,
        /// Which decomposition it was (kept: frameworks run it as written).
        form: NormForm,
    },
}

/// An ONNX node as the importer works on it.
#[derive(Debug, Clone)]
pub struct ONode {
    /// ONNX node name (generated from the op type when empty).
    pub name: String,
    pub op_type: String,
    pub domain: String,
    /// Input value names; empty for an absent optional input.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: Vec<AttributeProto>,
    pub marker: Option<Marker>,
    /// Set when this node stands for a fused group (its inputs are then the group's).
    pub fused: Option<FusedOp>,
    pub removed: bool,
}

impl ONode {
    fn attrs(&self) -> Attrs<'_> {
        Attrs(&self.attrs)
    }
    fn input(&self, i: usize) -> Option<&str> {
        self.inputs
            .get(i)
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
    }
    fn out(&self) -> &str {
        self.outputs.first().map(|s| s.as_str()).unwrap_or("")
    }
    /// Whether the node may be swallowed into a fused group as a non-final member.
    fn free(&self) -> bool {
        !self.removed && self.fused.is_none() && self.marker.is_none()
    }
    fn is(&self, op: &str) -> bool {
        self.op_type == op && (self.domain.is_empty() || self.domain == "ai.onnx")
    }
}

/// Producers and consumers of values.
pub struct Index<'c> {
    producer: HashMap<String, usize>,
    consumers: HashMap<String, Vec<usize>>,
    graph_outputs: HashSet<String>,
    consts: &'c dyn Fn(&str) -> Option<Tensor>,
    /// Ranks known before conversion (initializers).
    ranks: &'c dyn Fn(&str) -> Option<usize>,
    opset: i64,
}

impl<'c> Index<'c> {
    pub fn new(
        nodes: &[ONode],
        graph_outputs: HashSet<String>,
        consts: &'c dyn Fn(&str) -> Option<Tensor>,
        ranks: &'c dyn Fn(&str) -> Option<usize>,
        opset: i64,
    ) -> Self {
        let mut producer = HashMap::new();
        let mut consumers: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            for o in &n.outputs {
                producer.insert(o.clone(), i);
            }
            for v in n.inputs.iter().filter(|v| !v.is_empty()) {
                consumers.entry(v.clone()).or_default().push(i);
            }
        }
        Index {
            producer,
            consumers,
            graph_outputs,
            consts,
            ranks,
            opset,
        }
    }

    fn prod(&self, nodes: &[ONode], v: &str, op: &str) -> Option<usize> {
        let &i = self.producer.get(v)?;
        (nodes[i].is(op) && nodes[i].free()).then_some(i)
    }

    /// The single node consuming `v` (possibly in several slots), if `v` is not a graph output.
    fn sole_user(&self, v: &str) -> Option<usize> {
        if self.graph_outputs.contains(v) {
            return None;
        }
        let users = self.consumers.get(v)?;
        let first = *users.first()?;
        users.iter().all(|&u| u == first).then_some(first)
    }

    fn users(&self, v: &str) -> Vec<usize> {
        let mut u = self.consumers.get(v).cloned().unwrap_or_default();
        u.dedup();
        u
    }

    fn scalar(&self, v: &str) -> Option<f64> {
        (self.consts)(v).and_then(|t| t.scalar())
    }

    fn is_scalar(&self, v: &str, want: f64) -> bool {
        self.scalar(v)
            .is_some_and(|s| (s - want).abs() <= 1e-4 * want.abs().max(1e-6))
    }
}

/// Runs every fusion over `nodes` and drops the swallowed nodes.
pub fn fuse(nodes: &mut Vec<ONode>, ix: &Index) {
    for i in 0..nodes.len() {
        if nodes[i].removed || nodes[i].fused.is_some() {
            continue;
        }
        let _ = layer_norm(nodes, ix, i)
            .or_else(|| gelu_erf(nodes, ix, i))
            .or_else(|| gelu_tanh(nodes, ix, i))
            .or_else(|| linear(nodes, ix, i))
            .or_else(|| rsqrt(nodes, ix, i))
            .or_else(|| pad(nodes, ix, i));
    }
    nodes.retain(|n| !n.removed);
}

/// Replaces the group `members` (intermediates) + `last` by one fused node at `last`.
fn commit(nodes: &mut [ONode], members: &[usize], last: usize, op: FusedOp, inputs: Vec<String>) {
    for &m in members {
        if m != last {
            nodes[m].removed = true;
        }
    }
    let n = &mut nodes[last];
    n.fused = Some(op);
    n.inputs = inputs;
    n.outputs.truncate(1);
}

fn last_ok(n: &ONode) -> bool {
    !n.removed && n.fused.is_none()
}

/// The other operand of a binary node, given one of them.
fn other<'n>(n: &'n ONode, v: &str) -> Option<&'n str> {
    match (n.input(0), n.input(1)) {
        (Some(a), Some(b)) if a == v => Some(b),
        (Some(a), Some(b)) if b == v => Some(a),
        _ => None,
    }
}

/// `x · a · 0.5` ending the GELU forms, starting from `a`'s sole consumer: returns the nodes and
/// the last one.
fn half_product(nodes: &[ONode], ix: &Index, x: &str, a: &str) -> Option<(Vec<usize>, usize)> {
    let p = ix.sole_user(a)?;
    let pn = &nodes[p];
    if !pn.is("Mul") {
        return None;
    }
    let o = other(pn, a)?;
    if o == x || ix.is_scalar(o, 0.5) {
        // (x·a)·0.5 or (0.5·a)·x
        let f = ix.sole_user(pn.out())?;
        let fnode = &nodes[f];
        let want_ok = |v: &str| if o == x { ix.is_scalar(v, 0.5) } else { v == x };
        if !(pn.free()
            && fnode.is("Mul")
            && last_ok(fnode)
            && other(fnode, pn.out()).is_some_and(want_ok))
        {
            return None;
        }
        return Some((vec![p, f], f));
    }
    // (x·0.5)·a
    let h = ix.prod(nodes, o, "Mul")?;
    let hn = &nodes[h];
    if ix.sole_user(hn.out()) != Some(p)
        || !other(hn, x).is_some_and(|c| ix.is_scalar(c, 0.5))
        || !last_ok(pn)
    {
        return None;
    }
    Some((vec![h, p], p))
}

fn gelu_erf(nodes: &mut [ONode], ix: &Index, e: usize) -> Option<()> {
    let en = &nodes[e];
    if !en.is("Erf") || !en.free() {
        return None;
    }
    let d = ix
        .prod(nodes, en.input(0)?, "Div")
        .or_else(|| ix.prod(nodes, en.input(0)?, "Mul"))?;
    let dn = &nodes[d];
    let x = if dn.is("Div") {
        ix.is_scalar(dn.input(1)?, std::f64::consts::SQRT_2)
            .then(|| dn.input(0))??
    } else {
        let (a, b) = (dn.input(0)?, dn.input(1)?);
        if ix.is_scalar(b, std::f64::consts::FRAC_1_SQRT_2) {
            a
        } else if ix.is_scalar(a, std::f64::consts::FRAC_1_SQRT_2) {
            b
        } else {
            return None;
        }
    };
    if ix.sole_user(dn.out()) != Some(e) {
        return None;
    }
    let a = ix.sole_user(en.out())?;
    let an = &nodes[a];
    if !(an.is("Add") && an.free() && other(an, en.out()).is_some_and(|c| ix.is_scalar(c, 1.0))) {
        return None;
    }
    let (mut members, last) = half_product(nodes, ix, x, an.out())?;
    members.extend([d, e, a]);
    let x = x.to_string();
    commit(
        nodes,
        &members,
        last,
        FusedOp::Ir(Op::Gelu { approximate: false }),
        vec![x],
    );
    Some(())
}

fn gelu_tanh(nodes: &mut [ONode], ix: &Index, t: usize) -> Option<()> {
    let tn = &nodes[t];
    if !tn.is("Tanh") || !tn.free() {
        return None;
    }
    // u = beta * v
    let u = ix.prod(nodes, tn.input(0)?, "Mul")?;
    let un = &nodes[u];
    let beta = (2.0 / std::f64::consts::PI).sqrt();
    let v = [un.input(0)?, un.input(1)?]
        .into_iter()
        .find(|&c| !ix.is_scalar(c, beta))
        .filter(|&c| other(un, c).is_some_and(|o| ix.is_scalar(o, beta)))?;
    // v = x + w, w = kappa * cube
    let vi = ix.prod(nodes, v, "Add")?;
    let vn = &nodes[vi];
    let mut found = None;
    for (xv, wv) in [(vn.input(0)?, vn.input(1)?), (vn.input(1)?, vn.input(0)?)] {
        let Some(w) = ix.prod(nodes, wv, "Mul") else {
            continue;
        };
        let wn = &nodes[w];
        let Some(c) = [wn.input(0)?, wn.input(1)?]
            .into_iter()
            .find(|&c| other(wn, c).is_some_and(|o| ix.is_scalar(o, 0.044715)))
        else {
            continue;
        };
        if let Some(cube) = cube_of(nodes, ix, c, xv, w) {
            found = Some((xv.to_string(), w, cube));
            break;
        }
    }
    let (x, w, cube) = found?;
    let chain = [(u, t), (vi, u), (w, vi)];
    if chain
        .iter()
        .any(|&(from, to)| ix.sole_user(nodes[from].out()) != Some(to))
    {
        return None;
    }
    let a = ix.sole_user(tn.out())?;
    let an = &nodes[a];
    if !(an.is("Add") && an.free() && other(an, tn.out()).is_some_and(|c| ix.is_scalar(c, 1.0))) {
        return None;
    }
    let (mut members, last) = half_product(nodes, ix, &x, an.out())?;
    members.extend([u, vi, w, t, a]);
    members.extend(cube);
    commit(
        nodes,
        &members,
        last,
        FusedOp::Ir(Op::Gelu { approximate: true }),
        vec![x],
    );
    Some(())
}

/// The nodes computing `c = x³` (`Pow(x, 3)` or `x·(x·x)`), each used only on the way.
fn cube_of(nodes: &[ONode], ix: &Index, c: &str, x: &str, user: usize) -> Option<Vec<usize>> {
    if ix.sole_user(c)? != user {
        return None;
    }
    if let Some(p) = ix.prod(nodes, c, "Pow") {
        let pn = &nodes[p];
        return (pn.input(0)? == x && ix.is_scalar(pn.input(1)?, 3.0)).then(|| vec![p]);
    }
    let m = ix.prod(nodes, c, "Mul")?;
    let mn = &nodes[m];
    let sq = other(mn, x)?;
    let s = ix.prod(nodes, sq, "Mul")?;
    let sn = &nodes[s];
    let ok = sn.input(0)? == x && sn.input(1)? == x && ix.sole_user(sn.out()) == Some(m);
    ok.then(|| vec![m, s])
}

fn reduce_axes(n: &ONode, ix: &Index) -> Option<Vec<i64>> {
    if n.attrs().int_or("keepdims", 1) == 0 {
        return None;
    }
    if ix.opset >= 18 {
        (ix.consts)(n.input(1)?)?.i64s().ok()
    } else {
        n.attrs().ints("axes")
    }
}

fn layer_norm(nodes: &mut [ONode], ix: &Index, r1: usize) -> Option<()> {
    let r1n = &nodes[r1];
    if !r1n.is("ReduceMean") || !r1n.free() {
        return None;
    }
    let x = r1n.input(0)?;
    let axes = reduce_axes(r1n, ix)?;
    let s = ix.sole_user(r1n.out())?;
    let sn = &nodes[s];
    if !(sn.is("Sub") && sn.free() && sn.input(0)? == x && sn.input(1)? == r1n.out()) {
        return None;
    }
    let d = sn.out();
    let users = ix.users(d);
    if users.len() != 2 || ix.graph_outputs.contains(d) {
        return None;
    }
    let (p, dv) = if nodes[users[0]].is("Div") {
        (users[1], users[0])
    } else {
        (users[0], users[1])
    };
    let pn = &nodes[p];
    let form = if pn.is("Pow") && pn.input(0)? == d && ix.is_scalar(pn.input(1)?, 2.0) {
        NormForm::DecomposedPow
    } else if pn.is("Mul") && pn.input(0)? == d && pn.input(1)? == d {
        NormForm::DecomposedMul
    } else {
        return None;
    };
    if !pn.free() {
        return None;
    }
    let r2 = ix.sole_user(pn.out())?;
    let r2n = &nodes[r2];
    if !(r2n.is("ReduceMean") && r2n.free() && reduce_axes(r2n, ix)? == axes) {
        return None;
    }
    let e = ix.sole_user(r2n.out())?;
    let en = &nodes[e];
    let eps_v = other(en, r2n.out())?;
    let eps = ix.scalar(eps_v)?;
    if !(en.is("Add") && en.free()) {
        return None;
    }
    let q = ix.sole_user(en.out())?;
    let qn = &nodes[q];
    if !(qn.is("Sqrt") && qn.free()) {
        return None;
    }
    let dvn = &nodes[dv];
    if !(dvn.is("Div")
        && dvn.input(0)? == d
        && dvn.input(1)? == qn.out()
        && ix.sole_user(qn.out()) == Some(dv))
    {
        return None;
    }
    let mut members = vec![r1, s, p, r2, e, q, dv];
    let mut last = dv;
    let mut inputs = vec![x.to_string()];
    // Optional affine part: Mul by a weight, then Add a bias (not by constant scalars).
    let affine = |v: &str, op: &str| -> Option<(usize, String)> {
        let m = ix.sole_user(v)?;
        let mn = &nodes[m];
        let w = other(mn, v)?;
        (mn.is(op) && last_ok(mn) && ix.scalar(w).is_none()).then(|| (m, w.to_string()))
    };
    if nodes[dv].free() {
        if let Some((m, w)) = affine(nodes[dv].out(), "Mul") {
            members.push(m);
            last = m;
            inputs.push(w);
            if nodes[m].free() {
                if let Some((a, b)) = affine(nodes[m].out(), "Add") {
                    members.push(a);
                    last = a;
                    inputs.push(b);
                }
            }
        }
    }
    if !last_ok(&nodes[dv]) {
        return None;
    }
    commit(
        nodes,
        &members,
        last,
        FusedOp::LayerNorm { axes, eps, form },
        inputs,
    );
    Some(())
}

fn linear(nodes: &mut [ONode], ix: &Index, m: usize) -> Option<()> {
    let mn = &nodes[m];
    if !mn.is("MatMul") || !last_ok(mn) {
        return None;
    }
    let x = mn.input(0)?;
    let t = ix.prod(nodes, mn.input(1)?, "Transpose")?;
    let tn = &nodes[t];
    let w = tn.input(0)?;
    let perm_ok = match tn.attrs().ints("perm") {
        Some(p) => p == [1, 0],
        None => (ix.ranks)(w) == Some(2),
    };
    if !perm_ok || ix.sole_user(tn.out()) != Some(m) {
        return None;
    }
    let mut members = vec![t, m];
    let mut last = m;
    let mut inputs = vec![x.to_string(), w.to_string()];
    if mn.free() {
        if let Some(a) = ix.sole_user(mn.out()) {
            let an = &nodes[a];
            if let Some(b) = other(an, mn.out()) {
                if an.is("Add") && last_ok(an) && (ix.ranks)(b) == Some(1) && b != x {
                    members.push(a);
                    last = a;
                    inputs.push(b.to_string());
                }
            }
        }
    }
    commit(nodes, &members, last, FusedOp::Ir(Op::Linear), inputs);
    Some(())
}

fn rsqrt(nodes: &mut [ONode], ix: &Index, r: usize) -> Option<()> {
    let rn = &nodes[r];
    if !rn.is("Reciprocal") || !last_ok(rn) {
        return None;
    }
    let s = ix.prod(nodes, rn.input(0)?, "Sqrt")?;
    if ix.sole_user(nodes[s].out()) != Some(r) {
        return None;
    }
    let x = nodes[s].input(0)?.to_string();
    commit(nodes, &[s, r], r, FusedOp::Ir(Op::Rsqrt), vec![x]);
    Some(())
}

fn set_attr_ints(n: &mut ONode, name: &str, v: Vec<i64>) {
    n.attrs.retain(|a| a.name.as_deref() != Some(name));
    n.attrs.push(AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(7),
        ints: v,
        ..Default::default()
    });
}

fn set_attr_int(n: &mut ONode, name: &str, v: i64) {
    n.attrs.retain(|a| a.name.as_deref() != Some(name));
    n.attrs.push(AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(2),
        i: Some(v),
        ..Default::default()
    });
}

fn pad(nodes: &mut [ONode], ix: &Index, p: usize) -> Option<()> {
    let pn = &nodes[p];
    if !pn.is("Pad") || !pn.free() || pn.input(3).is_some() {
        return None;
    }
    let mode = pn
        .attrs()
        .string("mode")
        .unwrap_or_else(|| "constant".into());
    if mode != "constant" || pn.input(2).is_some_and(|v| !ix.is_scalar(v, 0.0)) {
        return None;
    }
    let pads = (ix.consts)(pn.input(1)?)?.i64s().ok()?;
    if pads.len() != 8
        || pads[0] != 0
        || pads[1] != 0
        || pads[4] != 0
        || pads[5] != 0
        || pads.iter().any(|&v| v < 0)
    {
        return None;
    }
    let c = ix.sole_user(pn.out())?;
    let cn = &nodes[c];
    let auto = cn.attrs().string("auto_pad").unwrap_or_default();
    if !(auto.is_empty() || auto == "NOTSET") || cn.input(0) != Some(pn.out()) || !last_ok(cn) {
        return None;
    }
    let own = cn.attrs().ints("pads").unwrap_or_else(|| vec![0; 4]);
    if own.len() != 4 {
        return None;
    }
    let avg = cn.is("AveragePool");
    if avg && own.iter().any(|&v| v != 0) {
        return None;
    }
    if !(avg || cn.is("Conv")) {
        return None;
    }
    let merged = vec![
        own[0] + pads[2],
        own[1] + pads[3],
        own[2] + pads[6],
        own[3] + pads[7],
    ];
    let x = pn.input(0)?.to_string();
    nodes[p].removed = true;
    let cn = &mut nodes[c];
    cn.inputs[0] = x;
    set_attr_ints(cn, "pads", merged);
    if avg {
        set_attr_int(cn, "count_include_pad", 1);
    }
    Some(())
}
