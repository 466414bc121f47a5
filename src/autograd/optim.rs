//! Optimizers as graph builders: the update phase of a training step, one parameter at a
//! time, in its module, written with the IR ops PyTorch's optimizers apply (so each
//! framework's cost model decides what its products, square roots and divisions cost).
//!
//! - SGD: `p - lr g`.
//! - SGD with momentum and weight decay (`torch.optim.SGD`, steady state):
//!   `g' = g + wd p`, `buf = mu buf + g'`, `p - lr buf`.
//! - Adam (`torch.optim.Adam`, step `t`): `g' = g + wd p`, `m = b1 m + (1 - b1) g'`,
//!   `v = b2 v + (1 - b2) g' g'`, `p - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)` with
//!   `bc_i = 1 - b_i^t`: a square root and a secret division per parameter.
//! - AdamW: decoupled weight decay `p (1 - lr wd)`, then Adam without it.
//! - Adam as optax writes it (`optax.adam`, step `t`, the step count public):
//!   `m_hat = m / bc1`, `v_hat = v / bc2`, `p - lr m_hat / (sqrt(v_hat) + eps)`, with the
//!   same moments. A compiler that rewrites `y / (sqrt(x) + eps)` for an `eps` below
//!   float32's epsilon (SPU's `optimize-sqrt-plus-eps` and `rewrite-div-sqrt-pattern` passes,
//!   on by default; `Training::rsqrt_rewrite`) runs `p - lr m_hat rsqrt(v_hat + eps')`
//!   instead: one inverse square root and one product, no division.
//!
//! Optimizer state (momentum buffers, moments) is a parameter of role `optimizer_state`
//! (with the weights' visibility); its new value is a graph output.

use super::emit::Emitter;
use super::AutogradError;
use crate::graph::{NodeId, Op, ParamRole};
use std::fmt;

/// An optimizer and its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    Sgd {
        lr: f64,
    },
    /// SGD with momentum and (L2) weight decay.
    Momentum {
        lr: f64,
        momentum: f64,
        weight_decay: f64,
    },
    Adam {
        lr: f64,
        betas: (f64, f64),
        eps: f64,
        weight_decay: f64,
        /// The step number (bias corrections; public).
        step: u32,
    },
    AdamW {
        lr: f64,
        betas: (f64, f64),
        eps: f64,
        weight_decay: f64,
        step: u32,
    },
    /// Adam as optax writes it (no weight decay).
    AdamOptax {
        lr: f64,
        betas: (f64, f64),
        eps: f64,
        step: u32,
    },
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer::Sgd { lr: 0.01 }
    }
}

impl Optimizer {
    /// The optimizer `name` (`sgd`, `momentum`, `adam`, `adamw`, `adam-optax`) with PyTorch's
    /// defaults (optax's for `adam-optax`; momentum 0.9 and weight decay 5e-4 for `momentum`,
    /// the usual ImageNet recipe) and learning rate `lr`.
    pub fn named(name: &str, lr: f64) -> Result<Optimizer, String> {
        match name.to_ascii_lowercase().as_str() {
            "sgd" => Ok(Optimizer::Sgd { lr }),
            "momentum" => Ok(Optimizer::Momentum {
                lr,
                momentum: 0.9,
                weight_decay: 5e-4,
            }),
            "adam" => Ok(Optimizer::Adam {
                lr,
                betas: (0.9, 0.999),
                eps: 1e-8,
                weight_decay: 0.0,
                step: 1,
            }),
            "adamw" => Ok(Optimizer::AdamW {
                lr,
                betas: (0.9, 0.999),
                eps: 1e-8,
                weight_decay: 0.01,
                step: 1,
            }),
            "adam-optax" => Ok(Optimizer::AdamOptax {
                lr,
                betas: (0.9, 0.999),
                eps: 1e-8,
                step: 1,
            }),
            _ => Err(format!(
                "unknown optimizer '{name}' (sgd, momentum, adam, adamw, adam-optax)"
            )),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd { .. } => "sgd",
            Optimizer::Momentum { .. } => "momentum",
            Optimizer::Adam { .. } => "adam",
            Optimizer::AdamW { .. } => "adamw",
            Optimizer::AdamOptax { .. } => "adam-optax",
        }
    }

    /// Names of the state tensors kept per parameter.
    pub fn state_names(&self) -> &'static [&'static str] {
        match self {
            Optimizer::Sgd { .. } => &[],
            Optimizer::Momentum { .. } => &["momentum_buffer"],
            Optimizer::Adam { .. } | Optimizer::AdamW { .. } => &["exp_avg", "exp_avg_sq"],
            Optimizer::AdamOptax { .. } => &["mu", "nu"],
        }
    }
}

impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The new value of parameter `p` and of its optimizer state, given its gradient `g`;
/// `rsqrt_rewrite`: the compiler turns `y / (sqrt(x) + eps)` with a tiny `eps` into
/// `y * rsqrt(x + eps)`.
pub(crate) fn step(
    e: &mut Emitter,
    opt: &Optimizer,
    p: NodeId,
    g: NodeId,
    rsqrt_rewrite: bool,
) -> Result<(NodeId, Vec<NodeId>), AutogradError> {
    let value = e.value(p).clone();
    let mut state = |e: &mut Emitter, what: &str| {
        e.source(
            what,
            Op::Parameter {
                role: ParamRole::OptimizerState,
            },
            value.clone(),
        )
    };
    match *opt {
        Optimizer::Sgd { lr } => {
            let d = e.scale(g, lr)?;
            Ok((e.sub(p, d)?, vec![]))
        }
        Optimizer::Momentum {
            lr,
            momentum,
            weight_decay,
        } => {
            let g = decay(e, g, p, weight_decay)?;
            let buf = state(e, "momentum_buffer")?;
            let b = e.scale(buf, momentum)?;
            let buf2 = e.add(b, g)?;
            let d = e.scale(buf2, lr)?;
            Ok((e.sub(p, d)?, vec![buf2]))
        }
        Optimizer::Adam {
            lr,
            betas,
            eps,
            weight_decay,
            step,
        } => {
            let g = decay(e, g, p, weight_decay)?;
            adam(e, p, g, lr, betas, eps, step, &mut state)
        }
        Optimizer::AdamW {
            lr,
            betas,
            eps,
            weight_decay,
            step,
        } => {
            let p = if weight_decay != 0.0 {
                e.scale(p, 1.0 - lr * weight_decay)?
            } else {
                p
            };
            adam(e, p, g, lr, betas, eps, step, &mut state)
        }
        Optimizer::AdamOptax {
            lr,
            betas,
            eps,
            step,
        } => adam_optax(e, p, g, lr, betas, eps, step, rsqrt_rewrite, &mut state),
    }
}

/// Below this `eps`, SPU's compiler rewrites `sqrt(x) + eps` into `sqrt(x + eps)`
/// (float32's machine epsilon: `optimize_sqrt_plus_eps.cc` `isSmallerThanEps`).
const SQRT_PLUS_EPS_LIMIT: f64 = f32::EPSILON as f64;

/// The moments of Adam at step `t`: `(m, v, bc1, bc2)`.
fn moments(
    e: &mut Emitter,
    g: NodeId,
    (b1, b2): (f64, f64),
    step: u32,
    names: [&str; 2],
    state: &mut impl FnMut(&mut Emitter, &str) -> Result<NodeId, AutogradError>,
) -> Result<(NodeId, NodeId, f64, f64), AutogradError> {
    let t = step.max(1) as i32;
    let (bc1, bc2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
    let m = state(e, names[0])?;
    let v = state(e, names[1])?;
    let m1 = e.scale(m, b1)?;
    let m2 = e.scale(g, 1.0 - b1)?;
    let m = e.add(m1, m2)?;
    let v1 = e.scale(v, b2)?;
    let gg = e.mul(g, g)?;
    let v2 = e.scale(gg, 1.0 - b2)?;
    let v = e.add(v1, v2)?;
    Ok((m, v, bc1, bc2))
}

#[allow(clippy::too_many_arguments)]
fn adam_optax(
    e: &mut Emitter,
    p: NodeId,
    g: NodeId,
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    step: u32,
    rsqrt_rewrite: bool,
    state: &mut impl FnMut(&mut Emitter, &str) -> Result<NodeId, AutogradError>,
) -> Result<(NodeId, Vec<NodeId>), AutogradError> {
    let (m, v, bc1, bc2) = moments(e, g, betas, step, ["mu", "nu"], state)?;
    let m_hat = e.scale(m, 1.0 / bc1)?;
    let v_hat = e.scale(v, 1.0 / bc2)?;
    let rewrite = rsqrt_rewrite && eps < SQRT_PLUS_EPS_LIMIT;
    let eps = e.scalar(eps)?;
    let q = if rewrite {
        // the compiler adds its fixed-point epsilon instead of eps: the same public addition
        let shifted = e.add(v_hat, eps)?;
        let r = e.op(Op::Rsqrt, &[shifted])?;
        e.mul(m_hat, r)?
    } else {
        let s = e.op(Op::Sqrt, &[v_hat])?;
        let denom = e.add(s, eps)?;
        e.div(m_hat, denom)?
    };
    let d = e.scale(q, lr)?;
    Ok((e.sub(p, d)?, vec![m, v]))
}

/// `g + wd p` (L2 weight decay folded into the gradient).
fn decay(e: &mut Emitter, g: NodeId, p: NodeId, wd: f64) -> Result<NodeId, AutogradError> {
    if wd == 0.0 {
        return Ok(g);
    }
    let d = e.scale(p, wd)?;
    e.add(g, d)
}

#[allow(clippy::too_many_arguments)]
fn adam(
    e: &mut Emitter,
    p: NodeId,
    g: NodeId,
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    step: u32,
    state: &mut impl FnMut(&mut Emitter, &str) -> Result<NodeId, AutogradError>,
) -> Result<(NodeId, Vec<NodeId>), AutogradError> {
    let (m, v, bc1, bc2) = moments(e, g, betas, step, ["exp_avg", "exp_avg_sq"], state)?;
    let s = e.op(Op::Sqrt, &[v])?;
    let s = e.scale(s, 1.0 / bc2.sqrt())?;
    let eps = e.scalar(eps)?;
    let denom = e.add(s, eps)?;
    let q = e.div(m, denom)?;
    let d = e.scale(q, lr / bc1)?;
    Ok((e.sub(p, d)?, vec![m, v]))
}
