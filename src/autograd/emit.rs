//! Emitting the nodes of a gradient computation: each in the module of the forward node it
//! differentiates, in the graph's current phase, named after that node.

use super::AutogradError;
use crate::graph::{ConstValue, ElemKind, Graph, NodeId, Op, Shape, ValueInfo, Visibility};

/// Adds nodes to a graph on behalf of one forward node (its module path and name).
pub(crate) struct Emitter<'g> {
    pub graph: &'g mut Graph,
    module: String,
    base: String,
    /// Fold public scalar factors into broadcasts and each other (`BackwardOptions`).
    pub fold_scales: bool,
}

impl<'g> Emitter<'g> {
    pub fn new(graph: &'g mut Graph) -> Self {
        Emitter {
            graph,
            module: String::new(),
            base: "grad".to_string(),
            fold_scales: false,
        }
    }

    /// Emits the following nodes in `module`, named `{base}.{op}`.
    pub fn at(&mut self, module: &str, base: &str) {
        module.clone_into(&mut self.module);
        base.clone_into(&mut self.base);
    }

    /// Emits on behalf of node `id` (its module; names `{name}.grad.{op}`).
    pub fn for_node(&mut self, id: NodeId) {
        let node = self.graph.node(id);
        let (module, base) = (node.module.clone(), format!("{}.grad", node.name));
        self.module = module;
        self.base = base;
    }

    pub fn shape(&self, x: NodeId) -> Shape {
        self.graph.node(x).value.shape.clone()
    }

    pub fn value(&self, x: NodeId) -> &ValueInfo {
        &self.graph.node(x).value
    }

    pub fn op(&mut self, op: Op, inputs: &[NodeId]) -> Result<NodeId, AutogradError> {
        let name = self
            .graph
            .fresh_name(&format!("{}.{}", self.base, op.name()));
        Ok(self.graph.add(name, self.module.clone(), op, inputs)?)
    }

    /// A public real constant filled with `value`.
    pub fn constant(&mut self, value: f64, shape: Shape) -> Result<NodeId, AutogradError> {
        self.source(
            "const",
            Op::Constant {
                value: ConstValue::Fill(value),
            },
            ValueInfo::new(shape, ElemKind::Real, Visibility::Public),
        )
    }

    /// A source node (input, parameter, constant) named `{base}.{what}`.
    pub fn source(
        &mut self,
        what: &str,
        op: Op,
        value: ValueInfo,
    ) -> Result<NodeId, AutogradError> {
        let name = self.graph.fresh_name(&format!("{}.{what}", self.base));
        Ok(self
            .graph
            .add_source(name, self.module.clone(), op, value)?)
    }

    pub fn scalar(&mut self, value: f64) -> Result<NodeId, AutogradError> {
        self.constant(value, vec![])
    }

    /// `x * factor` with a public scalar factor. With `fold_scales`, the factor moves inside
    /// a broadcast (`c * expand(g)` = `expand(c * g)`) and merges with another public scalar
    /// factor (`c * (d * g)` = `(c d) * g`).
    pub fn scale(&mut self, x: NodeId, factor: f64) -> Result<NodeId, AutogradError> {
        if self.fold_scales {
            let node = self.graph.node(x);
            let inputs = self.graph.inputs(x);
            match &node.op {
                Op::Expand { shape } => {
                    let shape = shape.clone();
                    let inner = self.scale(inputs[0], factor)?;
                    return self.expand(inner, &shape);
                }
                Op::Mul => {
                    let value = node.value.shape.clone();
                    for (a, b) in [(0, 1), (1, 0)] {
                        if let Some(c) = self.public_scalar(inputs[b]) {
                            if self.shape(inputs[a]) == value {
                                return self.scale(inputs[a], c * factor);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let f = self.scalar(factor)?;
        self.op(Op::Mul, &[x, f])
    }

    /// The value of a public scalar constant node.
    fn public_scalar(&self, x: NodeId) -> Option<f64> {
        let node = self.graph.node(x);
        match node.op {
            Op::Constant {
                value: ConstValue::Fill(v),
            } if node.value.shape.is_empty() && node.value.visibility == Visibility::Public => {
                Some(v)
            }
            _ => None,
        }
    }

    pub fn add(&mut self, a: NodeId, b: NodeId) -> Result<NodeId, AutogradError> {
        self.op(Op::Add, &[a, b])
    }

    pub fn sub(&mut self, a: NodeId, b: NodeId) -> Result<NodeId, AutogradError> {
        self.op(Op::Sub, &[a, b])
    }

    pub fn mul(&mut self, a: NodeId, b: NodeId) -> Result<NodeId, AutogradError> {
        self.op(Op::Mul, &[a, b])
    }

    pub fn div(&mut self, a: NodeId, b: NodeId) -> Result<NodeId, AutogradError> {
        self.op(Op::Div, &[a, b])
    }

    pub fn neg(&mut self, x: NodeId) -> Result<NodeId, AutogradError> {
        self.op(Op::Neg, &[x])
    }

    /// `x` reshaped to `shape` (no node when it already has that shape).
    pub fn reshape(&mut self, x: NodeId, shape: &[usize]) -> Result<NodeId, AutogradError> {
        if self.shape(x) == shape {
            return Ok(x);
        }
        self.op(
            Op::Reshape {
                shape: shape.iter().map(|&d| d as i64).collect(),
            },
            &[x],
        )
    }

    /// `x` broadcast to `shape` (no node when it already has that shape).
    pub fn expand(&mut self, x: NodeId, shape: &[usize]) -> Result<NodeId, AutogradError> {
        if self.shape(x) == shape {
            return Ok(x);
        }
        self.op(
            Op::Expand {
                shape: shape.to_vec(),
            },
            &[x],
        )
    }

    pub fn reduce_sum(
        &mut self,
        x: NodeId,
        axes: &[usize],
        keepdims: bool,
    ) -> Result<NodeId, AutogradError> {
        if axes.is_empty() {
            return Ok(x);
        }
        self.op(
            Op::ReduceSum {
                axes: axes.iter().map(|&a| a as i64).collect(),
                keepdims,
            },
            &[x],
        )
    }

    /// The sum of gradient contributions (`add` nodes; the single one as it is).
    pub fn sum(&mut self, terms: &[NodeId]) -> Result<NodeId, AutogradError> {
        let (&first, rest) = terms
            .split_first()
            .expect("a gradient sum has at least one term");
        rest.iter().try_fold(first, |acc, &t| self.add(acc, t))
    }

    /// The gradient of an operand of shape `target` that was broadcast to the shape of `g`:
    /// `g` summed over the broadcast dims (a local reduction), reshaped to `target`.
    pub fn unbroadcast(&mut self, g: NodeId, target: &[usize]) -> Result<NodeId, AutogradError> {
        let axes = broadcast_axes(&self.shape(g), target);
        let r = self.reduce_sum(g, &axes, true)?;
        self.reshape(r, target)
    }

    /// The gradient of the operand of shape `target` of a product `target * other` whose
    /// gradient is `g`: `g * other` when the operand was not broadcast, else one dot product
    /// per element of the operand (`sum_product` over the broadcast dims), not a full-size
    /// product followed by a sum.
    pub fn product_grad(
        &mut self,
        g: NodeId,
        other: NodeId,
        target: &[usize],
    ) -> Result<NodeId, AutogradError> {
        let axes = broadcast_axes(&self.shape(g), target);
        if axes.is_empty() {
            let p = self.mul(g, other)?;
            return self.reshape(p, target);
        }
        let p = self.op(
            Op::SumProduct {
                axes: axes.iter().map(|&a| a as i64).collect(),
                keepdims: true,
            },
            &[g, other],
        )?;
        self.reshape(p, target)
    }
}

/// The dims of `full` along which an operand of shape `target` was broadcast (numpy
/// alignment from the right): the leading extra dims and the dims where `target` is 1.
pub(crate) fn broadcast_axes(full: &[usize], target: &[usize]) -> Vec<usize> {
    let lead = full.len() - target.len().min(full.len());
    (0..full.len())
        .filter(|&i| i < lead || (target[i - lead] == 1 && full[i] != 1))
        .collect()
}
