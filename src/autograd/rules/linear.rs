//! Linear layers: `linear` and `mat_mul` differentiate into matrix products with the
//! transposed operands (what CrypTen's and jax's rules compute: two Beaver matmuls, two
//! dots); `conv2d` into the transposed convolution (`conv2d_grad_input`) and the
//! input-gradient correlation (`conv2d_grad_weight`). Bias gradients are local sums.

use super::{Fwd, Grads};
use crate::autograd::emit::Emitter;
use crate::autograd::AutogradError;
use crate::graph::{broadcast, numel, NodeId, Op};

pub(super) fn vjp(e: &mut Emitter, f: &Fwd, g: NodeId) -> Grads {
    match &f.op {
        Op::Linear => linear(e, f, g),
        Op::MatMul => matmul(e, f, g),
        Op::Conv2d {
            stride,
            padding,
            dilation,
            groups,
        } => {
            let (x, w) = (f.inputs[0], f.inputs[1]);
            let (xs, ws) = (e.shape(x), e.shape(w));
            let mut grads = vec![
                f.grad(0, || {
                    e.op(
                        Op::Conv2dGradInput {
                            stride: *stride,
                            padding: *padding,
                            dilation: *dilation,
                            groups: *groups,
                            input: [xs[2], xs[3]],
                        },
                        &[g, w],
                    )
                })?,
                f.grad(1, || {
                    e.op(
                        Op::Conv2dGradWeight {
                            stride: *stride,
                            padding: *padding,
                            dilation: *dilation,
                            groups: *groups,
                            kernel: [ws[2], ws[3]],
                        },
                        &[x, g],
                    )
                })?,
            ];
            if f.inputs.len() > 2 {
                grads.push(f.grad(2, || e.reduce_sum(g, &[0, 2, 3], false))?);
            }
            Ok(grads)
        }
        _ => unreachable!("not a linear op"),
    }
}

fn transpose_last2(e: &mut Emitter, x: NodeId) -> Result<NodeId, AutogradError> {
    let r = e.shape(x).len();
    let mut perm: Vec<usize> = (0..r).collect();
    perm.swap(r - 2, r - 1);
    e.op(Op::Transpose { perm }, &[x])
}

/// `x (.., in) @ weight (out, in)^T + bias`: dx = g @ W, dW = g^T @ x over all rows,
/// db = the sum of g over the rows.
fn linear(e: &mut Emitter, f: &Fwd, g: NodeId) -> Grads {
    let (x, w) = (f.inputs[0], f.inputs[1]);
    let (xs, ws) = (e.shape(x), e.shape(w));
    let (out, inner) = (ws[0], ws[1]);
    let rows = numel(&xs) / inner.max(1);
    let mut grads = vec![
        f.grad(0, || e.op(Op::MatMul, &[g, w]))?,
        f.grad(1, || {
            let g2 = e.reshape(g, &[rows, out])?;
            let x2 = e.reshape(x, &[rows, inner])?;
            let gt = e.op(Op::Transpose { perm: vec![1, 0] }, &[g2])?;
            e.op(Op::MatMul, &[gt, x2])
        })?,
    ];
    if f.inputs.len() > 2 {
        grads.push(f.grad(2, || {
            let gs = e.shape(g);
            let axes: Vec<usize> = (0..gs.len().saturating_sub(1)).collect();
            e.reduce_sum(g, &axes, false)
        })?);
    }
    Ok(grads)
}

/// numpy matmul: vectors are promoted to matrices, batch dims broadcast; the gradient of a
/// broadcast operand is summed over the broadcast batch dims (a plain 2-D product over all
/// rows when a matrix multiplies a batch).
fn matmul(e: &mut Emitter, f: &Fwd, g: NodeId) -> Grads {
    let (a, b) = (f.inputs[0], f.inputs[1]);
    let (sa, sb) = (e.shape(a), e.shape(b));
    let a2s = if sa.len() == 1 {
        vec![1, sa[0]]
    } else {
        sa.clone()
    };
    let b2s = if sb.len() == 1 {
        vec![sb[0], 1]
    } else {
        sb.clone()
    };
    let batch = broadcast(&a2s[..a2s.len() - 2], &b2s[..b2s.len() - 2])
        .map_err(|r| f.unsupported(e, &r))?;
    let (m, k, n) = (a2s[a2s.len() - 2], a2s[a2s.len() - 1], b2s[b2s.len() - 1]);
    let mut g2s = batch.clone();
    g2s.extend([m, n]);
    let g2 = e.reshape(g, &g2s)?;
    let ga = f.grad(0, || {
        let b2 = e.reshape(b, &b2s)?;
        let bt = transpose_last2(e, b2)?;
        let p = e.op(Op::MatMul, &[g2, bt])?;
        let p = e.unbroadcast(p, &a2s)?;
        e.reshape(p, &sa)
    })?;
    let gb = f.grad(1, || {
        let a2 = e.reshape(a, &a2s)?;
        if b2s.len() == 2 && !batch.is_empty() {
            // one product over all rows: (rows, k)^T @ (rows, n)
            let rows = numel(&batch) * m;
            let af = e.reshape(a2, &[rows, k])?;
            let gf = e.reshape(g2, &[rows, n])?;
            let at = transpose_last2(e, af)?;
            let p = e.op(Op::MatMul, &[at, gf])?;
            return e.reshape(p, &sb);
        }
        let at = transpose_last2(e, a2)?;
        let p = e.op(Op::MatMul, &[at, g2])?;
        let p = e.unbroadcast(p, &b2s)?;
        e.reshape(p, &sb)
    })?;
    Ok(vec![ga, gb])
}
