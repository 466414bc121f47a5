//! Normalization layers as compositions of forward ops: what frameworks that build them from
//! tensor ops compute (jax in the ground-truth harness, CrypTen's layer norm), and how a
//! training step computes batch normalization, from batch statistics.
//!
//! Layer norm: `xc = x - mean(x)`, `var = mean(xc^2)`, `xc * rsqrt(var + eps) * w + b`.
//! Batch norm, training: the same statistics over all dims but the channels (biased
//! variance), `xc * (w * rsqrt(var + eps)) + b` (the scale is folded into the channel
//! vector first, as the jax model of the harness writes it), or fused as CrypTen computes
//! it (`batch_norm_normalize`, then the weight and bias). Batch norm, inference: the running
//! statistics instead.
//!
//! GELU, tanh form, as a framework without a GELU function writes it (the CrypTen models):
//! `x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^2 * x)))`.
//!
//! Softmax as jax 0.4.34 writes `jax.nn.softmax` (its custom derivative is off by default):
//! `m = max(x, initial=-inf)`, `e = exp(x - stop_gradient(m))`, `e / sum(e)`.

use super::emit::Emitter;
use super::AutogradError;
use crate::graph::{normalize_axis, NodeId, Op};

type Built = Result<NodeId, AutogradError>;

fn mean(e: &mut Emitter, x: NodeId, axes: &[usize]) -> Built {
    e.op(
        Op::ReduceMean {
            axes: axes.iter().map(|&a| a as i64).collect(),
            keepdims: true,
        },
        &[x],
    )
}

/// `(x - mean) * rsqrt(var + eps)`'s pieces over `axes`: (xc, rsqrt(var + eps)).
fn standardize(
    e: &mut Emitter,
    x: NodeId,
    axes: &[usize],
    eps: f64,
) -> Result<(NodeId, NodeId), AutogradError> {
    let mu = mean(e, x, axes)?;
    let xc = e.sub(x, mu)?;
    let sq = e.op(Op::Square, &[xc])?;
    let var = mean(e, sq, axes)?;
    let eps = e.scalar(eps)?;
    let ve = e.add(var, eps)?;
    let r = e.op(Op::Rsqrt, &[ve])?;
    Ok((xc, r))
}

/// Layer normalization over the dims from `axis` on.
pub(crate) fn layer_norm(
    e: &mut Emitter,
    x: NodeId,
    weight: Option<NodeId>,
    bias: Option<NodeId>,
    axis: i64,
    eps: f64,
) -> Built {
    let rank = e.shape(x).len();
    let a = normalize_axis(axis, rank).map_err(AutogradError::Invalid)?;
    let axes: Vec<usize> = (a..rank).collect();
    let (xc, r) = standardize(e, x, &axes, eps)?;
    let mut y = e.mul(xc, r)?;
    if let Some(w) = weight {
        y = e.mul(y, w)?;
    }
    if let Some(b) = bias {
        y = e.add(y, b)?;
    }
    Ok(y)
}

/// A per-channel vector reshaped to broadcast over `(N, C, ...)` of the given rank.
fn channels(e: &mut Emitter, v: NodeId, rank: usize) -> Built {
    let c = e.shape(v)[0];
    let mut shape = vec![1; rank];
    shape[1] = c;
    e.reshape(v, &shape)
}

/// Batch normalization in training mode: batch statistics.
pub(crate) fn batch_norm_train(
    e: &mut Emitter,
    x: NodeId,
    weight: NodeId,
    bias: NodeId,
    eps: f64,
) -> Built {
    let rank = e.shape(x).len();
    let axes: Vec<usize> = (0..rank).filter(|&d| d != 1).collect();
    let (xc, r) = standardize(e, x, &axes, eps)?;
    let w = channels(e, weight, rank)?;
    let s = e.mul(w, r)?;
    let y = e.mul(xc, s)?;
    let b = channels(e, bias, rank)?;
    e.add(y, b)
}

/// Batch normalization in training mode as CrypTen's fused batchnorm computes it: the
/// standardized input (`batch_norm_normalize`) times the weight, plus the bias.
pub(crate) fn batch_norm_fused(
    e: &mut Emitter,
    x: NodeId,
    weight: NodeId,
    bias: NodeId,
    eps: f64,
) -> Built {
    let rank = e.shape(x).len();
    let xn = e.op(Op::BatchNormNormalize { eps }, &[x])?;
    let w = channels(e, weight, rank)?;
    let y = e.mul(xn, w)?;
    let b = channels(e, bias, rank)?;
    e.add(y, b)
}

/// Batch normalization in inference mode: `(x - running_mean) * (w * rsqrt(running_var +
/// eps)) + b`.
pub(crate) fn batch_norm_eval(
    e: &mut Emitter,
    x: NodeId,
    weight: NodeId,
    bias: NodeId,
    running_mean: NodeId,
    running_var: NodeId,
    eps: f64,
) -> Built {
    let rank = e.shape(x).len();
    let eps = e.scalar(eps)?;
    let ve = e.add(running_var, eps)?;
    let r = e.op(Op::Rsqrt, &[ve])?;
    let s = e.mul(weight, r)?;
    let s = channels(e, s, rank)?;
    let m = channels(e, running_mean, rank)?;
    let xc = e.sub(x, m)?;
    let y = e.mul(xc, s)?;
    let b = channels(e, bias, rank)?;
    e.add(y, b)
}

/// GELU in its tanh form from tensor ops, in the order the CrypTen models write it:
/// `inner = (x + x.square() * x * 0.044715) * sqrt(2/pi)`, `x * 0.5 * (tanh(inner) + 1)`.
pub(crate) fn gelu_tanh(e: &mut Emitter, x: NodeId) -> Built {
    let sq = e.op(Op::Square, &[x])?;
    let cube = e.mul(sq, x)?;
    let c = e.scale(cube, 0.044715)?;
    let s = e.add(x, c)?;
    let inner = e.scale(s, (2.0 / std::f64::consts::PI).sqrt())?;
    let t = e.op(Op::Tanh, &[inner])?;
    let one = e.scalar(1.0)?;
    let u = e.add(t, one)?;
    let h = e.scale(x, 0.5)?;
    e.mul(h, u)
}

/// Softmax over `axis` as jax's tensor ops: returns the output and the row max, which jax
/// wraps in `stop_gradient`.
pub(crate) fn softmax(
    e: &mut Emitter,
    x: NodeId,
    axis: i64,
) -> Result<(NodeId, NodeId), AutogradError> {
    let rank = e.shape(x).len();
    let a = normalize_axis(axis, rank).map_err(AutogradError::Invalid)?;
    let m = e.op(
        Op::ReduceMax {
            axes: vec![a as i64],
            keepdims: true,
        },
        &[x],
    )?;
    // jnp.max's initial=-inf: one more comparison per row
    let neg_inf = e.scalar(f64::NEG_INFINITY)?;
    let m = e.op(Op::Max, &[m, neg_inf])?;
    let d = e.sub(x, m)?;
    let ex = e.op(Op::Exp, &[d])?;
    let s = e.reduce_sum(ex, &[a], true)?;
    Ok((e.div(ex, s)?, m))
}
