//! Losses: the loss nodes of a training step on a model output, with secret labels, and
//! their gradients.
//!
//! Cross-entropy (mean over the batch, of the logits' softmax against one-hot labels) takes
//! the gradient `cross_entropy_grad = (softmax - labels) / N`, which frameworks compute from
//! state of the forward pass. Mean squared error differentiates as the mean of squares it
//! is: `2 (p - t) / n`. Both then multiply by the incoming gradient unless it is the
//! literal 1: CrypTen seeds `loss.backward()` with an encrypted 1, so it pays a product
//! there (cross-entropy: with the scalar; mean squared error: with the seed broadcast by the
//! mean's backward, as its autograd does).

use super::emit::Emitter;
use super::rules::{Fwd, Grads};
use super::AutogradError;
use crate::graph::{numel, ElemKind, Graph, NodeId, Op, Phase, ValueInfo, Visibility};
use std::fmt;
use std::str::FromStr;

/// A training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Loss {
    /// Mean cross-entropy of the softmax of the logits against one-hot labels
    /// (`nn.CrossEntropyLoss`); the logits are the output's last dim.
    #[default]
    CrossEntropy,
    /// Mean squared error against labels of the output's shape (`nn.MSELoss`).
    Mse,
}

impl Loss {
    pub fn name(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "ce",
            Loss::Mse => "mse",
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loss {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "ce" | "cross_entropy" | "cross-entropy" => Ok(Loss::CrossEntropy),
            "mse" => Ok(Loss::Mse),
            _ => Err(format!("unknown loss '{s}' (ce, mse)")),
        }
    }
}

/// Adds, in the loss phase and module `loss`, a secret `labels` input and the loss of
/// `output` against it. Returns (loss, labels).
pub(crate) fn build(
    graph: &mut Graph,
    output: NodeId,
    loss: Loss,
) -> Result<(NodeId, NodeId), AutogradError> {
    let phase = graph.phase();
    graph.set_phase(Phase::Loss);
    let value = graph.node(output).value.clone();
    if value.kind != ElemKind::Real {
        return Err(AutogradError::Invalid(format!(
            "the model output '{}' holds integers; a loss needs real values",
            graph.node(output).name
        )));
    }
    let mut e = Emitter::new(graph);
    e.at("loss", "loss");
    let prediction = match loss {
        // logits on the last dim; other dims are rows
        Loss::CrossEntropy if value.shape.len() != 2 => {
            let classes = value.shape.last().copied().unwrap_or(1);
            let rows = numel(&value.shape) / classes.max(1);
            e.reshape(output, &[rows, classes])?
        }
        _ => output,
    };
    let labels_shape = e.shape(prediction);
    let labels = e.source(
        "labels",
        Op::Input,
        ValueInfo::new(labels_shape, ElemKind::Real, Visibility::Secret),
    )?;
    let op = match loss {
        Loss::CrossEntropy => Op::CrossEntropy,
        Loss::Mse => Op::Mse,
    };
    let l = e.op(op, &[prediction, labels])?;
    graph.set_phase(phase);
    Ok((l, labels))
}

/// The gradients of a loss op's inputs for an incoming gradient `g` (`None`: the literal 1).
pub(crate) fn vjp(e: &mut Emitter, f: &Fwd, g: Option<NodeId>) -> Grads {
    let (p, t) = (f.inputs[0], f.inputs[1]);
    match f.op {
        Op::CrossEntropy => {
            let gp = f.grad(0, || {
                let d = e.op(Op::CrossEntropyGrad, &[p, t])?;
                match g {
                    Some(g) => e.mul(d, g),
                    None => Ok(d),
                }
            })?;
            // labels are data: no gradient
            Ok(vec![gp, None])
        }
        Op::Mse => {
            let shape = e.shape(p);
            let n = numel(&shape) as f64;
            let d = e.sub(p, t)?;
            let gp = match g {
                None => e.scale(d, 2.0 / n)?,
                Some(g) => {
                    // mean's backward broadcasts g / n, square's multiplies by 2 (p - t)
                    let gn = e.scale(g, 1.0 / n)?;
                    let gx = e.expand(gn, &shape)?;
                    let d2 = e.scale(d, 2.0)?;
                    e.mul(gx, d2)?
                }
            };
            Ok(vec![f.grad(0, || Ok(gp))?, f.grad(1, || e.neg(gp))?])
        }
        _ => unreachable!("not a loss op"),
    }
}
