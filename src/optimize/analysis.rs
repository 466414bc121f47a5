//! The e-class analysis: every tensor e-class knows its value (shape, element kind,
//! visibility), its scalar value when it is a known constant, whether it is known
//! non-negative ([`super::sign`]), and the module it lives in.
//!
//! Rules only union e-classes of equal values (the applier checks before it unions), so two
//! e-classes of different shapes, kinds or visibilities meeting in [`TensorAnalysis::merge`] is a
//! bug: debug builds (and so the tests) panic on it; release builds record it in
//! [`TensorAnalysis::conflicts`], which the optimizer reports as an error.

use super::language::{TensorNode, TensorOp};
use crate::graph::{infer_value, ConstValue, ElemKind, Op, Phase, ValueInfo, Visibility};
use egg::{Analysis, DidMerge, Id, Symbol};
use std::collections::HashMap;

/// The e-graph of a model.
pub type EGraph = egg::EGraph<TensorNode, TensorAnalysis>;

/// A graph source as the e-graph sees it.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub op: Op,
    pub value: ValueInfo,
    pub module: String,
    pub phase: Phase,
}

/// Where the nodes of an e-class belong: the module path and phase of the graph node it came
/// from, or, for e-classes a rule created, those of the e-class the rule rewrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Home {
    pub module: Symbol,
    pub phase: Phase,
}

/// What the analysis knows about an e-class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassData {
    /// The tensor value; `None` for attribute and output e-classes, and for an application
    /// whose operands do not fit (never added by rules, which check first).
    pub value: Option<ValueInfo>,
    /// The attributes, for an attribute e-class.
    pub attr: Option<Op>,
    /// The value of every element, when the e-class is a constant of one known value.
    pub fill: Option<f64>,
    /// Every element is known to be `>= 0` (see [`super::sign`]).
    pub nonneg: bool,
    pub home: Option<Home>,
}

/// The analysis state: the sources of the graph and the merge conflicts seen.
#[derive(Debug, Default)]
pub struct TensorAnalysis {
    pub sources: HashMap<Symbol, SourceInfo>,
    /// Merges of e-classes with different values (release builds; debug builds panic).
    pub conflicts: Vec<String>,
    /// Rules that built something wrong (release builds; debug builds panic).
    pub rule_errors: Vec<String>,
    /// E-nodes added by rules, as added (children canonical then), with the rule's name.
    pub created: Vec<(TensorNode, Symbol)>,
    /// E-nodes whose value may differ from the input's, as added, with the approximate rule
    /// at their origin (see [`super::provenance`]).
    pub approximate: Vec<(TensorNode, Symbol)>,
}

impl TensorAnalysis {
    pub fn new(sources: HashMap<Symbol, SourceInfo>) -> TensorAnalysis {
        TensorAnalysis {
            sources,
            ..TensorAnalysis::default()
        }
    }
}

/// The IR op of an application e-node (its attributes read from its attribute e-class).
pub fn node_op(egraph: &EGraph, node: &TensorNode) -> Option<Op> {
    match node.op {
        TensorOp::Apply(name) => match node.attr_child() {
            Some(a) => egraph[a].data.attr.clone(),
            None => super::language::plain_op(name),
        },
        _ => None,
    }
}

/// The operand values of an application e-node, if all are tensors.
pub fn operand_values<'a>(egraph: &'a EGraph, node: &TensorNode) -> Option<Vec<&'a ValueInfo>> {
    node.operands()
        .iter()
        .map(|&c| egraph[c].data.value.as_ref())
        .collect()
}

impl Analysis<TensorNode> for TensorAnalysis {
    type Data = ClassData;

    fn make(egraph: &mut EGraph, enode: &TensorNode, _id: Id) -> ClassData {
        let mut data = ClassData {
            value: None,
            attr: None,
            fill: None,
            nonneg: false,
            home: None,
        };
        match &enode.op {
            TensorOp::Source(name) => {
                let info =
                    egraph.analysis.sources.get(name).unwrap_or_else(|| {
                        panic!("source '{name}' is not declared to the e-graph")
                    });
                data.value = Some(info.value.clone());
                data.fill = match &info.op {
                    Op::Constant {
                        value: ConstValue::Fill(v),
                    } => Some(*v),
                    _ => None,
                };
                data.nonneg = super::sign::source_nonneg(&info.op);
                data.home = Some(Home {
                    module: Symbol::from(info.module.as_str()),
                    phase: info.phase,
                });
            }
            TensorOp::Scalar(v) => {
                data.value = Some(ValueInfo::new(vec![], ElemKind::Real, Visibility::Public));
                data.fill = Some(v.get());
                data.nonneg = v.get() >= 0.0;
            }
            TensorOp::Attr(a) => data.attr = Some(a.op().clone()),
            TensorOp::Apply(_) => {
                let inferred = match (node_op(egraph, enode), operand_values(egraph, enode)) {
                    (Some(op), Some(values)) => infer_value(&op, &values),
                    _ => Err("malformed application".to_string()),
                };
                if let Some(op) = node_op(egraph, enode) {
                    let operands: Vec<bool> = enode
                        .operands()
                        .iter()
                        .map(|&c| egraph[c].data.nonneg)
                        .collect();
                    data.nonneg = super::sign::nonneg(&op, &operands);
                }
                match inferred {
                    Ok(v) => data.value = Some(v),
                    Err(reason) => {
                        debug_assert!(false, "ill-shaped e-node {enode:?}: {reason}");
                    }
                }
            }
            TensorOp::Outputs => {}
        }
        data
    }

    fn merge(&mut self, a: &mut ClassData, b: ClassData) -> DidMerge {
        if a.value != b.value || a.attr != b.attr {
            let show = |d: &ClassData| match (&d.value, &d.attr) {
                (Some(v), _) => format!(
                    "{} {} {}",
                    crate::graph::shape_string(&v.shape),
                    v.kind.as_str(),
                    v.visibility
                ),
                (None, Some(op)) => format!("attributes of {}", op.name()),
                (None, None) => "no value".to_string(),
            };
            let message = format!(
                "merged e-classes of different values: {} and {}",
                show(a),
                show(&b)
            );
            if cfg!(debug_assertions) {
                panic!("{message}");
            }
            self.conflicts.push(message);
        }
        let mut changed_a = false;
        let mut changed_b = false;
        match (a.fill, b.fill) {
            (None, Some(v)) => {
                a.fill = Some(v);
                changed_a = true;
            }
            (Some(_), None) => changed_b = true,
            _ => {}
        }
        // Facts about the one value of the merged classes: either side's proof holds.
        if b.nonneg && !a.nonneg {
            a.nonneg = true;
            changed_a = true;
        } else if a.nonneg && !b.nonneg {
            changed_b = true;
        }
        match (a.home, b.home) {
            (None, Some(h)) => {
                a.home = Some(h);
                changed_a = true;
            }
            (Some(_), None) => changed_b = true,
            _ => {}
        }
        DidMerge(changed_a, changed_b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::language::Real;

    fn egraph_with(sources: &[(&str, Vec<usize>, Visibility)]) -> EGraph {
        let sources = sources
            .iter()
            .map(|(name, shape, vis)| {
                (
                    Symbol::from(*name),
                    SourceInfo {
                        op: Op::Input,
                        value: ValueInfo::new(shape.clone(), ElemKind::Real, *vis),
                        module: String::new(),
                        phase: Phase::Forward,
                    },
                )
            })
            .collect();
        EGraph::new(TensorAnalysis::new(sources))
    }

    #[test]
    fn classes_know_their_values() {
        let mut eg = egraph_with(&[("x", vec![2, 3], Visibility::Secret)]);
        let x = eg.add(TensorNode::leaf(TensorOp::Source("x".into())));
        let half = eg.add(TensorNode::leaf(TensorOp::Scalar(Real::new(0.5))));
        let y = eg.add(TensorNode::apply("mul", vec![x, half]));
        let v = eg[y].data.value.clone().unwrap();
        assert_eq!(v.shape, vec![2, 3]);
        assert_eq!(v.visibility, Visibility::Secret);
        assert_eq!(eg[half].data.fill, Some(0.5));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(
        expected = "merged e-classes of different values: 2x3 real secret and 3x2 real secret"
    )]
    fn merging_different_shapes_is_caught() {
        let mut eg = egraph_with(&[
            ("x", vec![2, 3], Visibility::Secret),
            ("y", vec![3, 2], Visibility::Secret),
        ]);
        let x = eg.add(TensorNode::leaf(TensorOp::Source("x".into())));
        let y = eg.add(TensorNode::leaf(TensorOp::Source("y".into())));
        eg.union(x, y);
    }
}
