//! Gradient rules: for every differentiable IR op, the vector-Jacobian product that turns
//! the gradient of its output into gradients of its inputs, written with IR ops (forward
//! ops where frameworks compute the gradient that way, backward ops where they reuse state
//! of the forward pass or have no forward-op form). One file per op family.

mod elementwise;
mod linear;
mod normalization;
mod pooling;
mod tensor;

use super::emit::Emitter;
use super::AutogradError;
use crate::graph::{NodeId, Op, Shape};

/// A forward node being differentiated.
pub(crate) struct Fwd<'a> {
    pub id: NodeId,
    pub op: Op,
    pub inputs: Vec<NodeId>,
    pub shape: Shape,
    /// Which inputs' gradients are wanted.
    pub want: &'a [bool],
}

impl Fwd<'_> {
    pub fn wants(&self, i: usize) -> bool {
        self.want.get(i).copied().unwrap_or(false)
    }

    /// `Some(f())` when input `i`'s gradient is wanted.
    pub fn grad(
        &self,
        i: usize,
        f: impl FnOnce() -> Result<NodeId, AutogradError>,
    ) -> Result<Option<NodeId>, AutogradError> {
        if self.wants(i) {
            f().map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn unsupported(&self, e: &Emitter, reason: &str) -> AutogradError {
        AutogradError::Unsupported {
            node: e.graph.node(self.id).name.clone(),
            op: self.op.name().to_string(),
            reason: reason.to_string(),
        }
    }
}

pub(crate) type Grads = Result<Vec<Option<NodeId>>, AutogradError>;

/// The gradients of node `id`'s inputs (one entry per input, `None` where not wanted or
/// zero) given the gradient `g` of its output (`None`: the literal 1).
pub(crate) fn vjp(e: &mut Emitter, id: NodeId, g: Option<NodeId>, want: &[bool]) -> Grads {
    let node = e.graph.node(id);
    let f = Fwd {
        id,
        op: node.op.clone(),
        inputs: e.graph.inputs(id),
        shape: node.value.shape.clone(),
        want,
    };
    if matches!(f.op, Op::CrossEntropy | Op::Mse) {
        return super::loss::vjp(e, &f, g);
    }
    let g = match g {
        Some(g) => g,
        None => e.constant(1.0, f.shape.clone())?,
    };
    use Op::*;
    match &f.op {
        Input | Parameter { .. } | Constant { .. } => Ok(vec![]),
        Neg
        | Relu
        | LeakyRelu { .. }
        | Clip { .. }
        | Sigmoid
        | Tanh
        | Gelu { .. }
        | Exp
        | Log
        | Reciprocal
        | Sqrt
        | Rsqrt
        | Square
        | Pow { .. }
        | Abs
        | Identity
        | Dropout { .. } => elementwise::unary(e, &f, g),
        BatchNormNormalize { eps } => Ok(vec![f.grad(0, || {
            e.op(Op::BatchNormNormalizeGrad { eps: *eps }, &[g, f.inputs[0]])
        })?]),
        Add | Sub | Mul | Div | Max | Min => elementwise::binary(e, &f, g),
        Linear | MatMul | Conv2d { .. } => linear::vjp(e, &f, g),
        MaxPool2d { .. } | AvgPool2d { .. } | GlobalAvgPool | AdaptiveAvgPool2d { .. } => {
            pooling::vjp(e, &f, g)
        }
        Softmax { .. } | LogSoftmax { .. } | BatchNorm { .. } | LayerNorm { .. } => {
            normalization::vjp(e, &f, g)
        }
        Reshape { .. }
        | Flatten { .. }
        | Transpose { .. }
        | Concat { .. }
        | Slice { .. }
        | Expand { .. }
        | ReduceSum { .. }
        | ReduceMean { .. }
        | ReduceMax { .. }
        | Gather { .. } => tensor::vjp(e, &f, g),
        // integer result: no gradient flows through it
        ArgMax { .. } => Ok(vec![None]),
        CrossEntropy | Mse => unreachable!("losses are handled above"),
        ReluGrad { .. }
        | GeluGrad { .. }
        | MaxPool2dGrad { .. }
        | AvgPool2dGrad { .. }
        | ReduceMaxGrad { .. }
        | Conv2dGradInput { .. }
        | Conv2dGradWeight { .. }
        | CrossEntropyGrad
        | SumProduct { .. }
        | GatherGrad { .. }
        | RsqrtGrad
        | BatchNormNormalizeGrad { .. }
        | GradThreshold { .. } => Err(f.unsupported(
            e,
            "backward ops are not differentiated (no second derivatives)",
        )),
    }
}
