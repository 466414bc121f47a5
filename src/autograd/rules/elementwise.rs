//! Element-wise ops. Binary ops broadcast (numpy): the gradient of a broadcast operand is
//! reduced over the broadcast dims; for a product this is one dot product per element of
//! the operand (`sum_product`), and the gradient of the large operand multiplies by the small
//! one unexpanded.

use super::{Fwd, Grads};
use crate::autograd::emit::Emitter;
use crate::graph::{NodeId, Op};

pub(super) fn unary(e: &mut Emitter, f: &Fwd, g: NodeId) -> Grads {
    let (x, y) = (f.inputs[0], f.id);
    let gx = f.grad(0, || match &f.op {
        Op::Neg => e.neg(g),
        Op::Relu => e.op(Op::ReluGrad { alpha: 0.0 }, &[g, x]),
        Op::LeakyRelu { alpha } => e.op(Op::ReluGrad { alpha: *alpha }, &[g, x]),
        // g where min < x < max: the relu masks of x - min and max - x
        Op::Clip { min, max } => {
            let (lo, hi) = (e.scalar(*min)?, e.scalar(*max)?);
            let above = e.sub(x, lo)?;
            let below = e.sub(hi, x)?;
            let g1 = e.op(Op::ReluGrad { alpha: 0.0 }, &[g, above])?;
            e.op(Op::ReluGrad { alpha: 0.0 }, &[g1, below])
        }
        // |x|' = sign(x): the relu mask with slope -1 below 0
        Op::Abs => e.op(Op::ReluGrad { alpha: -1.0 }, &[g, x]),
        Op::Gelu { approximate } => e.op(
            Op::GeluGrad {
                approximate: *approximate,
            },
            &[g, x],
        ),
        // g * y * (1 - y), as CrypTen and jax write it
        Op::Sigmoid => {
            let one = e.scalar(1.0)?;
            let gy = e.mul(g, y)?;
            let c = e.sub(one, y)?;
            e.mul(gy, c)
        }
        // g * (1 - y^2)
        Op::Tanh => {
            let one = e.scalar(1.0)?;
            let y2 = e.op(Op::Square, &[y])?;
            let c = e.sub(one, y2)?;
            e.mul(g, c)
        }
        Op::Exp => e.mul(g, y),
        Op::Log => e.div(g, x),
        // -g * y^2
        Op::Reciprocal => {
            let y2 = e.op(Op::Square, &[y])?;
            let p = e.mul(g, y2)?;
            e.neg(p)
        }
        // g / (2 y)
        Op::Sqrt => {
            let q = e.div(g, y)?;
            e.scale(q, 0.5)
        }
        // -1/2 g y^3, computed differently by frameworks (rsqrt_grad)
        Op::Rsqrt => e.op(Op::RsqrtGrad, &[g, y, x]),
        // (2 g) x: the square rules' g * (2 x) with the factor on the gradient, where a
        // compiler folds it into the gradient's public factors (XLA does)
        Op::Square => {
            let g2 = e.scale(g, 2.0)?;
            e.mul(g2, x)
        }
        Op::Pow { exponent } => {
            let p = *exponent;
            if p == 0.0 {
                return e.scale(g, 0.0);
            }
            let base = if p == 2.0 {
                x
            } else {
                e.op(Op::Pow { exponent: p - 1.0 }, &[x])?
            };
            let d = e.scale(base, p)?;
            e.mul(g, d)
        }
        Op::Identity | Op::Dropout { .. } => Ok(g),
        _ => unreachable!("not a unary op"),
    })?;
    Ok(vec![gx])
}

pub(super) fn binary(e: &mut Emitter, f: &Fwd, g: NodeId) -> Grads {
    let (a, b, y) = (f.inputs[0], f.inputs[1], f.id);
    let (sa, sb) = (e.shape(a), e.shape(b));
    match &f.op {
        Op::Add => Ok(vec![
            f.grad(0, || e.unbroadcast(g, &sa))?,
            f.grad(1, || e.unbroadcast(g, &sb))?,
        ]),
        Op::Sub => Ok(vec![
            f.grad(0, || e.unbroadcast(g, &sa))?,
            f.grad(1, || {
                let r = e.unbroadcast(g, &sb)?;
                e.neg(r)
            })?,
        ]),
        Op::Mul => Ok(vec![
            f.grad(0, || e.product_grad(g, b, &sa))?,
            f.grad(1, || e.product_grad(g, a, &sb))?,
        ]),
        // d/da = g / b; d/db = -g * a / b^2: as jax's rule writes it under a compiler,
        // -(g * b^-2) * a with b^-2 at b's size (XLA computes it before the broadcast);
        // eagerly as -g * (y / b)
        Op::Div => Ok(vec![
            f.grad(0, || {
                let q = e.div(g, b)?;
                e.unbroadcast(q, &sa)
            })?,
            f.grad(1, || {
                let p = if e.fold_scales {
                    let inv2 = e.op(Op::Pow { exponent: -2.0 }, &[b])?;
                    let gi = e.mul(g, inv2)?;
                    e.product_grad(gi, a, &sb)?
                } else {
                    let yb = e.div(y, b)?;
                    e.product_grad(g, yb, &sb)?
                };
                e.neg(p)
            })?,
        ]),
        // the comparison mask of the forward max/min, on the broadcast difference
        Op::Max | Op::Min => {
            let d = if matches!(f.op, Op::Max) {
                e.sub(a, b)?
            } else {
                e.sub(b, a)?
            };
            let ga = e.op(Op::ReluGrad { alpha: 0.0 }, &[g, d])?;
            Ok(vec![
                f.grad(0, || e.unbroadcast(ga, &sa))?,
                f.grad(1, || {
                    let gb = e.sub(g, ga)?;
                    e.unbroadcast(gb, &sb)
                })?,
            ])
        }
        _ => unreachable!("not a binary op"),
    }
}
