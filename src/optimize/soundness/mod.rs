//! The rule soundness checker: every rule's left-hand side instantiated on random shapes and
//! values, its right-hand side built by the rule's own applier, and both sides evaluated with
//! the reference interpreter and compared.
//!
//! For each rule, instances of the left-hand side are drawn ([`instance`]) and loaded into an
//! e-graph the way the optimizer loads a model. The rule's compiled pattern searches it, and its
//! applier checks the conditions and plans the right-hand side exactly as during saturation
//! (attributes, computed scalars, shape inference, the value check against the matched
//! e-class), without adding it. Instances that the rule does not match at the roots, or whose
//! conditions or shape checks fail, are dropped. The right-hand side is appended to the graph
//! of each remaining instance, and both sides are evaluated in `f64` on several value draws.
//! Multi-pattern rules compare every root.
//!
//! - Exact rules must agree wherever the left-hand side is defined: element-wise
//!   `|lhs - rhs| <= 1e-9 * (1 + max(|lhs|, |rhs|))` ([`TOLERANCE`]). Inputs and parameters
//!   are drawn from U(-2, 2) and U(0.25, 2) on alternate draws ([`EXACT_RANGES`]; the
//!   positive draws are inside the domains of sqrt, log and reciprocal).
//! - Approximate rules report the distribution of `|lhs - rhs|` (max and mean over every
//!   element compared) for inputs and parameters drawn from U(-4, 4) ([`APPROX_RANGE`]).
//! - A draw on which the left-hand side is not finite is outside its domain and is skipped.
//!   Any rule fails if its right-hand side is not finite where the left-hand side is, if the
//!   rule builds a value of another shape, kind or visibility, or if the right-hand side
//!   cannot be evaluated.
//!
//! For a failing rule the checker searches for the smallest failing instance. It draws
//! instances again with the dim bound at 1, then 2, and so on until one fails, keeps the
//! failing instance with the fewest source elements, and rounds its values to a coarse grid
//! (1, 0.5, 0.25) if the rounded values still fail.

pub mod instance;

use super::convert;
use super::rules::{Planned, PlannedOp, RuleClass, RuleSet};
use crate::graph::{ConstValue, ElemKind, Graph, NodeId, Op, ValueInfo, Visibility};
use crate::interpret::{evaluate, Arithmetic, Bindings, Tensor};
use egg::Id;
use instance::Instance;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// Relative tolerance of exact rules: `|lhs - rhs| <= TOLERANCE * (1 + max(|lhs|, |rhs|))`.
pub const TOLERANCE: f64 = 1e-9;
/// Value ranges of exact-rule draws, used in turn.
pub const EXACT_RANGES: [(f64, f64); 2] = [(-2.0, 2.0), (0.25, 2.0)];
/// Value range of approximate-rule draws.
pub const APPROX_RANGE: (f64, f64) = (-4.0, 4.0);

/// How much checking to do.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CheckOptions {
    pub seed: u64,
    /// Instances (candidates the rule applies to) to check per rule.
    pub instances: usize,
    /// Candidates to draw per rule at most.
    pub attempts: usize,
    /// Value draws per instance.
    pub draws: usize,
    /// Largest dim of a drawn shape.
    pub max_dim: usize,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            seed: 0,
            instances: 24,
            attempts: 600,
            draws: 4,
            max_dim: 4,
        }
    }
}

/// A source of a counterexample with its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceValue {
    pub name: String,
    /// `input`, `parameter` or `constant`.
    pub op: &'static str,
    pub visibility: Visibility,
    pub shape: Vec<usize>,
    /// Row-major elements.
    pub values: Vec<f64>,
}

/// One root of a counterexample: both sides' values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RootValues {
    pub shape: Vec<usize>,
    pub lhs: Vec<f64>,
    pub rhs: Vec<f64>,
    /// The element that is furthest out of tolerance (row-major index), if one is.
    pub worst: Option<usize>,
}

/// A failing instance: what was built, on which values, and why it fails.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counterexample {
    pub reason: String,
    /// Left-hand-side roots as terms over the source names.
    pub lhs: Vec<String>,
    /// Right-hand-side roots (empty when the rule could not build them).
    pub rhs: Vec<String>,
    pub sources: Vec<SourceValue>,
    /// Values of each root pair (empty when nothing was evaluated).
    pub roots: Vec<RootValues>,
}

/// What checking one rule found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCheck {
    pub rule: String,
    pub class: RuleClass,
    pub file: String,
    pub line: usize,
    /// Candidates drawn.
    pub attempts: usize,
    /// Candidates the rule applies to, all checked.
    pub instances: usize,
    /// Value draws compared.
    pub draws: usize,
    /// Value draws skipped because the left-hand side was not finite.
    pub undefined: usize,
    /// Instances on which the rule fails.
    pub failures: usize,
    /// Largest and mean `|lhs - rhs|` over every element compared.
    pub max_abs_error: f64,
    pub mean_abs_error: f64,
    /// The smallest failing instance found.
    pub counterexample: Option<Counterexample>,
}

impl RuleCheck {
    /// Whether the rule failed: an exact rule that disagrees, or any rule that builds a wrong
    /// or undefined right-hand side.
    pub fn failed(&self) -> bool {
        self.failures > 0
    }

    /// Whether no instance the rule applies to was found.
    pub fn untested(&self) -> bool {
        self.instances == 0
    }
}

/// Checks every rule of `rules` (in parallel), in rule order.
pub fn check_rules(rules: &RuleSet, options: &CheckOptions) -> Vec<RuleCheck> {
    (0..rules.rules.len())
        .into_par_iter()
        .map(|i| check_rule(rules, i, options))
        .collect()
}

/// Checks rule `index` of `rules`.
pub fn check_rule(rules: &RuleSet, index: usize, options: &CheckOptions) -> RuleCheck {
    let info = &rules.rules[index];
    let mut rng = Pcg64::seed_from_u64(options.seed ^ fnv1a(&info.name));
    let mut check = RuleCheck {
        rule: info.name.clone(),
        class: info.class,
        file: info.file.clone(),
        line: info.line,
        attempts: 0,
        instances: 0,
        draws: 0,
        undefined: 0,
        failures: 0,
        max_abs_error: 0.0,
        mean_abs_error: 0.0,
        counterexample: None,
    };
    let (mut sum, mut count) = (0.0, 0usize);
    let mut first: Option<Failure> = None;
    while check.instances < options.instances && check.attempts < options.attempts {
        check.attempts += 1;
        let Some(inst) = instance::sample(rules.def(index), options.max_dim, &mut rng) else {
            continue;
        };
        let trial = Trial::run(rules, index, &inst, options.draws, rng.next_u64());
        let Some(trial) = trial else { continue };
        check.instances += 1;
        check.draws += trial.draws;
        check.undefined += trial.undefined;
        check.max_abs_error = check.max_abs_error.max(trial.max);
        sum += trial.sum;
        count += trial.count;
        if let Some(f) = trial.failure {
            check.failures += 1;
            first.get_or_insert(f);
        }
    }
    check.mean_abs_error = if count > 0 { sum / count as f64 } else { 0.0 };
    if let Some(first) = first {
        let best = minimal(rules, index, options, &mut rng).unwrap_or(first);
        check.counterexample = Some(best.counterexample());
    }
    check
}

/// The smallest failing instance: dims bounded by 1, 2, ... until one fails.
fn minimal(
    rules: &RuleSet,
    index: usize,
    options: &CheckOptions,
    rng: &mut Pcg64,
) -> Option<Failure> {
    for size in 1..=options.max_dim {
        let mut best: Option<Failure> = None;
        for _ in 0..options.attempts {
            let Some(inst) = instance::sample(rules.def(index), size, rng) else {
                continue;
            };
            let Some(trial) = Trial::run(rules, index, &inst, options.draws, rng.next_u64()) else {
                continue;
            };
            if let Some(f) = trial.failure {
                if best.as_ref().is_none_or(|b| f.size() < b.size()) {
                    best = Some(f);
                }
            }
        }
        if let Some(best) = best {
            return Some(best.simplified());
        }
    }
    None
}

/// An instance with its right-hand side appended: outputs are the left roots, then the right
/// roots in the same order.
#[derive(Debug, Clone)]
struct Prepared {
    graph: Graph,
    class: RuleClass,
}

/// Why an instance fails.
#[derive(Debug, Clone)]
struct Failure {
    /// The instance, with its right-hand side when it could be built.
    graph: Graph,
    /// Roots of the left-hand side (and of the right when built).
    lhs: Vec<NodeId>,
    rhs: Vec<NodeId>,
    class: RuleClass,
    reason: String,
    bindings: Option<Bindings>,
    outputs: Vec<Tensor>,
}

impl Failure {
    /// Size order of counterexamples: source elements, then ranks, then nodes.
    fn size(&self) -> (usize, usize, usize) {
        let g = &self.graph;
        let sources = g
            .node_ids()
            .map(|id| g.node(id))
            .filter(|n| n.op.is_source() && !n.name.starts_with('_'));
        let (mut elems, mut ranks) = (0, 0);
        for n in sources {
            elems += n.value.numel();
            ranks += n.value.shape.len();
        }
        (elems, ranks, g.len())
    }

    /// The same failure on values rounded to 1, 0.5 or 0.25, if one still fails.
    fn simplified(self) -> Failure {
        let Some(bindings) = &self.bindings else {
            return self;
        };
        let prepared = Prepared {
            graph: self.graph.clone(),
            class: self.class,
        };
        for grid in [1.0, 0.5, 0.25] {
            let mut rounded = Bindings::new();
            for (name, t) in bindings.iter() {
                let values = t
                    .to_vec()
                    .iter()
                    .map(|v| (v / grid).round() * grid)
                    .collect();
                rounded.insert(
                    name,
                    Tensor::new(t.shape(), values).expect("same number of values"),
                );
            }
            if let Draw::Compared {
                failure: Some(f), ..
            } = prepared.draw(&rounded)
            {
                return *f;
            }
        }
        self
    }

    fn counterexample(&self) -> Counterexample {
        let g = &self.graph;
        let mut sources = Vec::new();
        for id in g.node_ids() {
            let n = g.node(id);
            let value = match &n.op {
                Op::Input | Op::Parameter { .. } => self
                    .bindings
                    .as_ref()
                    .and_then(|b| b.get(&n.name))
                    .map(Tensor::to_vec)
                    .unwrap_or_default(),
                Op::Constant {
                    value: ConstValue::Fill(v),
                } if !n.value.shape.is_empty() => vec![*v; n.value.numel()],
                _ => continue,
            };
            sources.push(SourceValue {
                name: n.name.clone(),
                op: n.op.name(),
                visibility: n.value.visibility,
                shape: n.value.shape.clone(),
                values: value,
            });
        }
        let k = self.lhs.len();
        let roots = if self.outputs.len() == 2 * k {
            (0..k)
                .map(|i| {
                    let (l, r) = (&self.outputs[i], &self.outputs[k + i]);
                    RootValues {
                        shape: l.shape().to_vec(),
                        lhs: l.to_vec(),
                        rhs: r.to_vec(),
                        worst: worst(l, r, self.class),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        Counterexample {
            reason: self.reason.clone(),
            lhs: self.lhs.iter().map(|&id| term(g, id)).collect(),
            rhs: self.rhs.iter().map(|&id| term(g, id)).collect(),
            sources,
            roots,
        }
    }
}

/// The element of the largest tolerance-scaled difference, if any is out of tolerance (exact)
/// or differs at all (approximate, non-finite).
fn worst(l: &Tensor, r: &Tensor, class: RuleClass) -> Option<usize> {
    if l.shape() != r.shape() {
        return None;
    }
    let mut best: Option<(usize, f64)> = None;
    for (i, (a, b)) in l.array().iter().zip(r.array().iter()).enumerate() {
        let score = if !b.is_finite() {
            f64::INFINITY
        } else {
            (a - b).abs() / (1.0 + a.abs().max(b.abs()))
        };
        let out = match class {
            RuleClass::Exact => score > TOLERANCE,
            RuleClass::Approx => !b.is_finite(),
        };
        if out && best.is_none_or(|(_, s)| score > s) {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

/// The outcome of one value draw.
enum Draw {
    /// The left-hand side is not finite: outside its domain.
    Undefined,
    /// Max, sum and count of `|lhs - rhs|` over the elements compared, and the failure if
    /// the draw fails.
    Compared {
        max: f64,
        sum: f64,
        count: usize,
        failure: Option<Box<Failure>>,
    },
}

impl Prepared {
    fn roots(&self) -> (Vec<NodeId>, Vec<NodeId>) {
        let out = self.graph.outputs();
        let k = out.len() / 2;
        (out[..k].to_vec(), out[k..].to_vec())
    }

    fn failure(&self, reason: String, bindings: &Bindings, outputs: Vec<Tensor>) -> Failure {
        let (lhs, rhs) = self.roots();
        Failure {
            graph: self.graph.clone(),
            lhs,
            rhs,
            class: self.class,
            reason,
            bindings: Some(bindings.clone()),
            outputs,
        }
    }

    fn draw(&self, bindings: &Bindings) -> Draw {
        let outputs = match evaluate(&self.graph, bindings, Arithmetic::Float) {
            Ok(o) => o,
            Err(e) => {
                return Draw::Compared {
                    max: 0.0,
                    sum: 0.0,
                    count: 0,
                    failure: Some(Box::new(self.failure(
                        format!("the instance cannot be evaluated: {e}"),
                        bindings,
                        Vec::new(),
                    ))),
                }
            }
        };
        let k = outputs.len() / 2;
        if outputs[..k].iter().any(|t| !t.is_finite()) {
            return Draw::Undefined;
        }
        let (mut max, mut sum, mut count) = (0.0f64, 0.0, 0);
        let mut reason = None;
        for i in 0..k {
            let (l, r) = (&outputs[i], &outputs[k + i]);
            let root = if k > 1 {
                format!(" (root {})", i + 1)
            } else {
                String::new()
            };
            if l.shape() != r.shape() {
                reason = Some(format!("the sides have different shapes{root}"));
                break;
            }
            if !r.is_finite() {
                reason = Some(format!(
                    "the right-hand side is not finite where the left-hand side is{root}"
                ));
                break;
            }
            for (a, b) in l.array().iter().zip(r.array().iter()) {
                let d = (a - b).abs();
                max = max.max(d);
                sum += d;
                count += 1;
                if self.class == RuleClass::Exact
                    && d > TOLERANCE * (1.0 + a.abs().max(b.abs()))
                    && reason.is_none()
                {
                    reason = Some(format!(
                        "the sides differ beyond the tolerance (|lhs - rhs| <= {TOLERANCE:e} (1 + |value|)){root}"
                    ));
                }
            }
        }
        Draw::Compared {
            max,
            sum,
            count,
            failure: reason.map(|r| Box::new(self.failure(r, bindings, outputs))),
        }
    }
}

/// One instance checked on several draws.
struct Trial {
    draws: usize,
    undefined: usize,
    max: f64,
    sum: f64,
    count: usize,
    failure: Option<Failure>,
}

impl Trial {
    /// Checks `inst` on `draws` value draws; `None` when the rule does not apply to it.
    fn run(
        rules: &RuleSet,
        index: usize,
        inst: &Instance,
        draws: usize,
        seed: u64,
    ) -> Option<Trial> {
        let class = rules.rules[index].class;
        let mut trial = Trial {
            draws: 0,
            undefined: 0,
            max: 0.0,
            sum: 0.0,
            count: 0,
            failure: None,
        };
        let prepared = match prepare(rules, index, inst)? {
            Ok(p) => p,
            Err(reason) => {
                trial.failure = Some(Failure {
                    graph: inst.graph.clone(),
                    lhs: inst.roots.clone(),
                    rhs: Vec::new(),
                    class,
                    reason,
                    bindings: None,
                    outputs: Vec::new(),
                });
                return Some(trial);
            }
        };
        let mut rng = Pcg64::seed_from_u64(seed);
        for d in 0..draws {
            let range = match class {
                RuleClass::Exact => EXACT_RANGES[d % EXACT_RANGES.len()],
                RuleClass::Approx => APPROX_RANGE,
            };
            let bindings = random_bindings(&prepared.graph, range, &mut rng);
            match prepared.draw(&bindings) {
                Draw::Undefined => trial.undefined += 1,
                Draw::Compared {
                    max,
                    sum,
                    count,
                    failure,
                } => {
                    trial.draws += 1;
                    trial.max = trial.max.max(max);
                    trial.sum += sum;
                    trial.count += count;
                    if let Some(f) = failure {
                        trial.failure = Some(*f);
                        break;
                    }
                }
            }
        }
        Some(trial)
    }
}

/// The instance with the rule's right-hand side appended: `None` when the rule does not apply
/// at the roots, `Some(Err)` when it builds something wrong (anywhere in the instance).
fn prepare(rules: &RuleSet, index: usize, inst: &Instance) -> Option<Result<Prepared, String>> {
    let loaded = convert::load(&inst.graph);
    let eg = &loaded.egraph;
    let mut node_of: HashMap<Id, NodeId> = HashMap::new();
    let mut class_of: HashMap<NodeId, Id> = HashMap::new();
    for (n, id) in &loaded.originals {
        let c = eg
            .lookup(n.clone())
            .expect("every graph node is in the e-graph");
        node_of.entry(c).or_insert(*id);
        class_of.insert(*id, c);
    }
    let mut roots: Vec<Id> = inst.roots.iter().map(|r| class_of[r]).collect();
    roots.sort();
    let mut found = None;
    for (_, planned) in rules.plan_matches(index, eg) {
        match planned {
            Err(reason) => {
                return Some(Err(format!(
                    "the rule builds a wrong right-hand side: {reason}"
                )))
            }
            Ok(None) => {}
            Ok(Some(plans)) => {
                let mut targets: Vec<Id> = plans.iter().map(|(t, _)| eg.find(*t)).collect();
                targets.sort();
                if targets == roots && found.is_none() {
                    found = Some(plans);
                }
            }
        }
    }
    let plans = found?;
    let mut graph = inst.graph.clone();
    let (mut lhs, mut rhs) = (Vec::new(), Vec::new());
    for (target, planned) in &plans {
        lhs.push(node_of[&eg.find(*target)]);
        match add_planned(&mut graph, planned, eg, &node_of) {
            Ok(id) => rhs.push(id),
            Err(reason) => return Some(Err(reason)),
        }
    }
    lhs.extend(rhs);
    graph.set_outputs(lhs);
    Some(Ok(Prepared {
        graph,
        class: rules.rules[index].class,
    }))
}

/// Adds a planned right-hand side to the instance graph.
fn add_planned(
    g: &mut Graph,
    p: &Planned,
    eg: &super::EGraph,
    node_of: &HashMap<Id, NodeId>,
) -> Result<NodeId, String> {
    match p {
        Planned::Class(id) => node_of.get(&eg.find(*id)).copied().ok_or_else(|| {
            "the right-hand side reads an e-class that is not in the instance".to_string()
        }),
        Planned::Node {
            op,
            children,
            value,
        } => {
            let kids = children
                .iter()
                .map(|c| add_planned(g, c, eg, node_of))
                .collect::<Result<Vec<_>, _>>()?;
            let id = match op {
                PlannedOp::Scalar(v) => {
                    let name = g.fresh_name("_const");
                    g.add_source(
                        name,
                        "",
                        Op::Constant {
                            value: ConstValue::Fill(*v),
                        },
                        ValueInfo::new(vec![], ElemKind::Real, Visibility::Public),
                    )
                }
                PlannedOp::Source(name) => {
                    return g
                        .find(name.as_str())
                        .ok_or_else(|| format!("unknown source '{name}'"))
                }
                PlannedOp::Apply(ir) => {
                    let name = g.fresh_name(&format!("_{}", ir.name()));
                    g.add(name, "", ir.clone(), &kids)
                }
            }
            .map_err(|e| format!("the right-hand side does not fit the graph: {e}"))?;
            if &g.node(id).value != value {
                return Err(format!(
                    "the planned value of '{}' differs from the graph's",
                    g.node(id).name
                ));
            }
            Ok(id)
        }
    }
}

/// Values for every input and parameter of `graph`, uniform in `range`.
fn random_bindings(graph: &Graph, range: (f64, f64), rng: &mut Pcg64) -> Bindings {
    let mut b = Bindings::new();
    for id in graph.node_ids() {
        let n = graph.node(id);
        if matches!(n.op, Op::Input | Op::Parameter { .. }) {
            let values = (0..n.value.numel())
                .map(|_| {
                    let u = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                    range.0 + (range.1 - range.0) * u
                })
                .collect();
            b.insert(
                n.name.clone(),
                Tensor::new(&n.value.shape, values).expect("numel matches"),
            );
        }
    }
    b
}

/// A node as a term over source names, in the rule syntax
/// (`(max_pool2d[kernel=[2, 2], stride=[2, 2]] (relu x))`).
pub fn term(g: &Graph, id: NodeId) -> String {
    let n = g.node(id);
    match &n.op {
        Op::Constant {
            value: ConstValue::Fill(v),
        } if n.value.shape.is_empty() => format!("{v}"),
        op if op.is_source() => n.name.clone(),
        op => {
            let mut s = format!("({}{}", op.name(), attributes(op));
            for i in g.inputs(id) {
                s.push(' ');
                s.push_str(&term(g, i));
            }
            s.push(')');
            s
        }
    }
}

/// The non-default attributes of an op in brackets (`[kernel=[2, 2], stride=[2, 2]]`).
fn attributes(op: &Op) -> String {
    fn show(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Array(items) => {
                format!(
                    "[{}]",
                    items.iter().map(show).collect::<Vec<_>>().join(", ")
                )
            }
            other => other.to_string(),
        }
    }
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(op) else {
        return String::new();
    };
    let fields: Vec<String> = map
        .iter()
        .filter(|(k, _)| k.as_str() != "op")
        .map(|(k, v)| format!("{k}={}", show(v)))
        .collect();
    if fields.is_empty() {
        String::new()
    } else {
        format!("[{}]", fields.join(", "))
    }
}

/// FNV-1a hash of a name (stable seeds per rule).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
