//! Symbolic reverse-mode automatic differentiation over the IR, losses and optimizers:
//! training steps as graphs, so a profile shows what forward, loss, backward and update
//! cost under each framework.
//!
//! - [`backward`] (`builder`): reverse mode from an output to any nodes, appending gradient
//!   nodes in the backward phase, each in the module of the forward node it differentiates.
//! - `rules`: the gradient of every differentiable op, by op family. Where frameworks compute
//!   a gradient with state of the forward pass or with no forward-op equivalent, the rule
//!   emits a backward op (`relu_grad`, `max_pool2d_grad`, `conv2d_grad_input`,
//!   `conv2d_grad_weight`, `cross_entropy_grad`, `sum_product` ...; see [`crate::graph::Op`])
//!   whose cost each cost model states. The gradient of a broadcast operand is a reduction;
//!   for a product a set of dot products (`sum_product`), costed per dot product.
//! - `decompose`: batch and layer normalization as forward ops (training form).
//! - [`Loss`]: cross-entropy and mean squared error against secret labels.
//! - [`Optimizer`]: SGD, SGD with momentum and weight decay, Adam, AdamW, as update-phase
//!   graph builders.
//! - [`train_step`]: the whole step; [`Training`] is the framework's way of training (from
//!   the cost model's `[training]` section).

mod builder;
mod decompose;
mod emit;
mod loss;
mod optim;
mod rules;
mod train;

pub use builder::{backward, BackwardOptions};
pub use loss::Loss;
pub use optim::Optimizer;
pub use train::{train_step, TrainOptions, Training};

use crate::graph::GraphError;
use thiserror::Error;

/// Why a gradient or training step could not be built.
#[derive(Debug, Error)]
pub enum AutogradError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("node '{node}' ({op}): no gradient: {reason}")]
    Unsupported {
        node: String,
        op: String,
        reason: String,
    },
    #[error("{0}")]
    Invalid(String),
}
