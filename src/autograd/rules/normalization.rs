//! Softmax and the normalization layers. Softmax's rule is CrypTen's and jax's
//! `y * (g - sum(g * y))` (the sum a contraction, `sum_product`); log-softmax's is
//! `g - exp(y) * sum(g)`. Batch and layer normalization are differentiated through their
//! decomposition into forward ops (`decompose`), recomputed in the backward pass; a training
//! step decomposes them in the forward pass instead, so nothing is recomputed.

use super::{Fwd, Grads};
use crate::autograd::builder::{reverse, BackwardOptions};
use crate::autograd::decompose;
use crate::autograd::emit::Emitter;
use crate::graph::{normalize_axis, NodeId, Op};

pub(super) fn vjp(e: &mut Emitter, f: &Fwd, g: NodeId) -> Grads {
    let (x, y) = (f.inputs[0], f.id);
    match &f.op {
        Op::Softmax { axis } => {
            let a = normalize_axis(*axis, f.shape.len()).map_err(|r| f.unsupported(e, &r))?;
            Ok(vec![f.grad(0, || {
                let s = e.op(
                    Op::SumProduct {
                        axes: vec![a as i64],
                        keepdims: true,
                    },
                    &[g, y],
                )?;
                let d = e.sub(g, s)?;
                e.mul(y, d)
            })?])
        }
        Op::LogSoftmax { axis } => {
            let a = normalize_axis(*axis, f.shape.len()).map_err(|r| f.unsupported(e, &r))?;
            Ok(vec![f.grad(0, || {
                let p = e.op(Op::Exp, &[y])?;
                let s = e.reduce_sum(g, &[a], true)?;
                let ps = e.mul(p, s)?;
                e.sub(g, ps)
            })?])
        }
        Op::BatchNorm { eps } => {
            let i = &f.inputs;
            let out = decompose::batch_norm_eval(e, x, i[1], i[2], i[3], i[4], *eps)?;
            through(e, f, out, g)
        }
        Op::LayerNorm { axis, eps, .. } => {
            let out = decompose::layer_norm(
                e,
                x,
                f.inputs.get(1).copied(),
                f.inputs.get(2).copied(),
                *axis,
                *eps,
            )?;
            through(e, f, out, g)
        }
        _ => unreachable!("not a normalization op"),
    }
}

/// The input gradients of a composite op, from its decomposition `out` (just emitted on the
/// same inputs): reverse mode over the decomposition's nodes.
fn through(e: &mut Emitter, f: &Fwd, out: NodeId, g: NodeId) -> Grads {
    let wanted: Vec<NodeId> = f
        .inputs
        .iter()
        .enumerate()
        .filter(|&(i, _)| f.wants(i))
        .map(|(_, &n)| n)
        .collect();
    let options = BackwardOptions {
        fold_scales: e.fold_scales,
        ..BackwardOptions::default()
    };
    let grads = reverse(e.graph, out, Some(g), &wanted, &options)?;
    let mut it = grads.into_iter();
    Ok((0..f.inputs.len())
        .map(|i| {
            if f.wants(i) {
                it.next().flatten()
            } else {
                None
            }
        })
        .collect())
}
