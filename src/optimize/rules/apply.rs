//! The applier of rules: checks a match against the rule's conditions, builds the right-hand
//! side with its attributes and shapes checked before anything enters the e-graph (Tensat's
//! `CheckApply`), and unions it with the matched e-classes.

use super::expr::{Expr, Scope, Value};
use super::{AttrSpec, Pat, RuleClass};
use crate::graph::{infer_value, ElemKind, Op, ValueInfo, Visibility};
use crate::optimize::analysis::{EGraph, Home, TensorAnalysis};
use crate::optimize::language::{has_attributes, plain_op, Attrs, Real, TensorNode, TensorOp};
use crate::optimize::places::Places;
use crate::optimize::provenance;
use egg::{Applier, Id, PatternAst, SearchMatches, Subst, Symbol, Var};
use std::collections::HashMap;
use std::sync::Arc;

/// The right-hand side of a compiled rule.
#[derive(Debug, Clone)]
pub struct RuleApplier {
    pub name: Symbol,
    pub class: RuleClass,
    /// Roots: the matched e-class (`None`) or a root variable of a multi-pattern.
    pub rhs: Vec<(Option<String>, Pat)>,
    /// The left-hand sides, by root as `rhs` (to trace approximations through a match).
    pub lhs: Vec<(Option<String>, Pat)>,
    pub conditions: Vec<Expr>,
    pub vars: HashMap<String, Var>,
    /// Where the rule may apply (`--modules`, the error budget's sites); everywhere if `None`.
    pub places: Option<Arc<Places>>,
}

/// One match seen by expressions.
struct MatchScope<'a> {
    egraph: &'a EGraph,
    subst: &'a Subst,
    vars: &'a HashMap<String, Var>,
}

impl MatchScope<'_> {
    fn class(&self, var: &str) -> Option<Id> {
        self.subst.get(*self.vars.get(var)?).copied()
    }
}

impl Scope for MatchScope<'_> {
    fn tensor(&self, var: &str) -> Option<(&ValueInfo, Option<f64>, usize)> {
        let id = self.egraph.find(self.class(var)?);
        let data = &self.egraph[id].data;
        Some((data.value.as_ref()?, data.fill, usize::from(id)))
    }
    fn attrs(&self, var: &str) -> Option<&Op> {
        self.egraph[self.class(var)?].data.attr.as_ref()
    }
    fn nonneg(&self, var: &str) -> Option<bool> {
        Some(self.egraph[self.class(var)?].data.nonneg)
    }
}

/// The right-hand side instantiated for one match, checked but not yet added.
#[derive(Debug)]
pub(crate) enum Planned {
    Class(Id),
    Node {
        op: PlannedOp,
        children: Vec<Planned>,
        value: ValueInfo,
    },
}

#[derive(Debug)]
pub(crate) enum PlannedOp {
    Scalar(f64),
    Source(Symbol),
    Apply(Op),
}

impl Planned {
    fn value<'a>(&'a self, egraph: &'a EGraph) -> Option<&'a ValueInfo> {
        match self {
            Planned::Class(id) => egraph[*id].data.value.as_ref(),
            Planned::Node { value, .. } => Some(value),
        }
    }
}

/// Why a right-hand side was not built.
pub(crate) enum Unbuilt {
    /// The operands do not fit (a shape condition the rule leaves to the check).
    Shapes,
    /// The rule is wrong (bad attributes, unbound variable): report it.
    Bug(String),
}

/// Builds the plan of a pattern under a match (`scope`: `None` for closed terms).
pub(crate) fn plan(
    pat: &Pat,
    egraph: &EGraph,
    subst: &Subst,
    vars: &HashMap<String, Var>,
) -> Result<Planned, Unbuilt> {
    let scope = MatchScope {
        egraph,
        subst,
        vars,
    };
    plan_in(pat, &scope)
}

fn plan_in(pat: &Pat, scope: &MatchScope) -> Result<Planned, Unbuilt> {
    let scalar = |v: f64| Planned::Node {
        op: PlannedOp::Scalar(v),
        children: Vec::new(),
        value: ValueInfo::new(vec![], ElemKind::Real, Visibility::Public),
    };
    match pat {
        Pat::Var(v) => scope
            .class(v)
            .map(|id| Planned::Class(scope.egraph.find(id)))
            .ok_or_else(|| Unbuilt::Bug(format!("?{v} is not bound"))),
        Pat::Scalar(v) => Ok(scalar(*v)),
        Pat::Computed(e) => match e.eval(scope) {
            Some(Value::Num(v)) => Ok(scalar(v)),
            other => Err(Unbuilt::Bug(format!(
                "computed scalar {e:?} is not a number ({other:?})"
            ))),
        },
        Pat::Source(name) => {
            let name = Symbol::from(name.as_str());
            let info = scope
                .egraph
                .analysis
                .sources
                .get(&name)
                .ok_or_else(|| Unbuilt::Bug(format!("unknown source '{name}'")))?;
            Ok(Planned::Node {
                op: PlannedOp::Source(name),
                children: Vec::new(),
                value: info.value.clone(),
            })
        }
        Pat::Apply {
            op, attrs, args, ..
        } => {
            let children = args
                .iter()
                .map(|a| plan_in(a, scope))
                .collect::<Result<Vec<_>, _>>()?;
            let ir = build_op(op, attrs, scope)?;
            let values: Vec<&ValueInfo> = children
                .iter()
                .map(|c| c.value(scope.egraph))
                .collect::<Option<_>>()
                .ok_or(Unbuilt::Shapes)?;
            let value = infer_value(&ir, &values).map_err(|_| Unbuilt::Shapes)?;
            Ok(Planned::Node {
                op: PlannedOp::Apply(ir),
                children,
                value,
            })
        }
    }
}

/// The IR op of an application on a right-hand side.
fn build_op(name: &'static str, attrs: &AttrSpec, scope: &MatchScope) -> Result<Op, Unbuilt> {
    if !has_attributes(name) {
        return Ok(plain_op(name).expect("plain"));
    }
    let mut object = serde_json::Map::new();
    let (base, fields): (Option<&String>, &[(String, Expr)]) = match attrs {
        AttrSpec::Any => (None, &[]),
        AttrSpec::Bind(b) => (Some(b), &[]),
        AttrSpec::Build { base, fields } => (base.as_ref(), fields),
    };
    if let Some(b) = base {
        let op = scope
            .attrs(b)
            .ok_or_else(|| Unbuilt::Bug(format!("?{b} is not bound to attributes")))?;
        if op.name() != name && fields.is_empty() {
            return Err(Unbuilt::Bug(format!(
                "?{b} holds attributes of {}, not {name}",
                op.name()
            )));
        }
        for (k, v) in super::expr::attr_fields(op) {
            object.insert(k.to_string(), v.to_json());
        }
    }
    for (k, e) in fields {
        let v = e
            .eval(scope)
            .ok_or_else(|| Unbuilt::Bug(format!("attribute {k} of {name} cannot be evaluated")))?;
        object.insert(k.clone(), v.to_json());
    }
    object.insert("op".to_string(), serde_json::Value::from(name));
    serde_json::from_value(serde_json::Value::Object(object.clone()))
        .map_err(|e| Unbuilt::Bug(format!("cannot build {name} attributes {object:?}: {e}")))
}

/// Adds a plan to the e-graph. New e-classes take `home`; new e-nodes are recorded as made by
/// `rule`.
pub(crate) fn add_planned(
    egraph: &mut EGraph,
    planned: &Planned,
    home: Option<Home>,
    rule: Option<Symbol>,
) -> Id {
    add_planned_root(egraph, planned, home, rule).0
}

/// Like [`add_planned`], also returning the root e-node when the plan made a new one.
fn add_planned_root(
    egraph: &mut EGraph,
    planned: &Planned,
    home: Option<Home>,
    rule: Option<Symbol>,
) -> (Id, Option<TensorNode>) {
    match planned {
        Planned::Class(id) => (*id, None),
        Planned::Node { op, children, .. } => {
            let ids: Vec<Id> = children
                .iter()
                .map(|c| add_planned(egraph, c, home, rule))
                .collect();
            let node = match op {
                PlannedOp::Scalar(v) => TensorNode::leaf(TensorOp::Scalar(Real::new(*v))),
                PlannedOp::Source(s) => TensorNode::leaf(TensorOp::Source(*s)),
                PlannedOp::Apply(ir) => {
                    let mut all = Vec::with_capacity(ids.len() + 1);
                    if has_attributes(ir.name()) {
                        all.push(
                            egraph.add(TensorNode::leaf(TensorOp::Attr(Attrs::new(ir.clone())))),
                        );
                    }
                    all.extend(ids);
                    TensorNode::apply(ir.name(), all)
                }
            };
            if let Some(id) = egraph.lookup(node.clone()) {
                return (id, None);
            }
            let id = egraph.add(node.clone());
            if egraph[id].data.home.is_none() {
                egraph[id].data.home = home;
            }
            if let Some(rule) = rule {
                egraph.analysis.created.push((node.clone(), rule));
            }
            (id, Some(node))
        }
    }
}

impl RuleApplier {
    /// Applies the rule to one match; returns the e-classes it changed.
    fn apply_match(&self, egraph: &mut EGraph, eclass: Id, subst: &Subst) -> Vec<Id> {
        if let Some(places) = &self.places {
            let home = egraph[egraph.find(eclass)].data.home;
            if !places.allows(self.name.as_str(), self.class == RuleClass::Approx, home) {
                return Vec::new();
            }
        }
        let plans = match self.plan_match(egraph, eclass, subst) {
            Ok(Some(plans)) => plans,
            Ok(None) => return Vec::new(),
            Err(reason) => return self.bug(egraph, reason),
        };
        let origins = self.origins(egraph, eclass, subst);
        let mut changed = Vec::new();
        for ((target, planned), origin) in plans.into_iter().zip(origins) {
            let home = egraph[target].data.home;
            let (id, new_root) = add_planned_root(egraph, &planned, home, Some(self.name));
            if let Some(rule) = origin {
                match new_root {
                    Some(node) => provenance::mark(egraph, node, rule),
                    None if egraph.find(id) != egraph.find(target) => {
                        provenance::mark_classes(egraph, id, target, rule)
                    }
                    None => {}
                }
            }
            // Justified by the rule, so that explanations (equivalence proofs) name it.
            if egraph.union_trusted(target, id, self.name) {
                changed.push(target);
            }
        }
        changed
    }

    /// Per right-hand-side root, the approximate rule its value comes from, if any: this rule
    /// when it is approximate, else what the match inherits (see [`provenance`]).
    fn origins(&self, egraph: &EGraph, eclass: Id, subst: &Subst) -> Vec<Option<Symbol>> {
        if self.class == RuleClass::Approx {
            return vec![Some(self.name); self.rhs.len()];
        }
        if egraph.analysis.approximate.is_empty() {
            return vec![None; self.rhs.len()];
        }
        let marks = provenance::marked(egraph);
        self.rhs
            .iter()
            .map(|(root, _)| {
                let (_, pat) = self.lhs.iter().find(|(r, _)| r == root)?;
                let class = match root {
                    None => eclass,
                    Some(v) => *subst.get(*self.vars.get(v)?)?,
                };
                provenance::inherited(egraph, &marks, pat, class, subst, &self.vars).flatten()
            })
            .collect()
    }

    /// The checked right-hand sides of one match with the e-classes they join; `None` when a
    /// condition or a shape check fails, an error when the rule builds something wrong.
    pub(crate) fn plan_match(
        &self,
        egraph: &EGraph,
        eclass: Id,
        subst: &Subst,
    ) -> Result<Option<Vec<(Id, Planned)>>, String> {
        let scope = MatchScope {
            egraph,
            subst,
            vars: &self.vars,
        };
        if !self.conditions.iter().all(|c| c.holds(&scope)) {
            return Ok(None);
        }
        let mut plans = Vec::with_capacity(self.rhs.len());
        for (root, pat) in &self.rhs {
            let target = match root {
                None => egraph.find(eclass),
                Some(v) => egraph.find(
                    scope
                        .class(v)
                        .ok_or_else(|| format!("root ?{v} is not bound"))?,
                ),
            };
            let planned = match plan_in(pat, &scope) {
                Ok(p) => p,
                Err(Unbuilt::Shapes) => return Ok(None),
                Err(Unbuilt::Bug(reason)) => return Err(reason),
            };
            match (planned.value(egraph), egraph[target].data.value.as_ref()) {
                (Some(h), Some(w)) if h == w => {}
                // Equal shapes, different visibility: the two sides read different data,
                // which an equality never does; skip rather than merge.
                (Some(h), Some(w)) if h.shape == w.shape && h.kind == w.kind => return Ok(None),
                (h, w) => {
                    return Err(format!(
                        "right-hand side has value {} but the matched e-class has {}",
                        show(h),
                        show(w)
                    ))
                }
            }
            plans.push((target, planned));
        }
        Ok(Some(plans))
    }

    /// A rule that builds something wrong: a bug of the rule file. Debug builds stop here;
    /// release builds record it for the summary.
    fn bug(&self, egraph: &mut EGraph, reason: String) -> Vec<Id> {
        let message = format!("rule '{}': {reason}", self.name);
        if cfg!(debug_assertions) {
            panic!("{message}");
        }
        if !egraph.analysis.rule_errors.contains(&message) {
            egraph.analysis.rule_errors.push(message);
        }
        Vec::new()
    }
}

fn show(v: Option<&ValueInfo>) -> String {
    match v {
        Some(v) => format!(
            "{} {} {}",
            crate::graph::shape_string(&v.shape),
            v.kind.as_str(),
            v.visibility
        ),
        None => "none".to_string(),
    }
}

impl Applier<TensorNode, TensorAnalysis> for RuleApplier {
    fn apply_matches(
        &self,
        egraph: &mut EGraph,
        matches: &[SearchMatches<TensorNode>],
        _rule_name: Symbol,
    ) -> Vec<Id> {
        let mut changed = Vec::new();
        for m in matches {
            for subst in &m.substs {
                changed.extend(self.apply_match(egraph, m.eclass, subst));
            }
        }
        changed
    }

    fn apply_one(
        &self,
        egraph: &mut EGraph,
        eclass: Id,
        subst: &Subst,
        _searcher_ast: Option<&PatternAst<TensorNode>>,
        _rule_name: Symbol,
    ) -> Vec<Id> {
        self.apply_match(egraph, eclass, subst)
    }
}
