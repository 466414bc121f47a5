//! Data movement and reductions: reshapes, transposes, concatenation, slicing and
//! broadcasting move the gradient back (local in every framework); sums and means broadcast
//! it; a max routes it to the maximum (`reduce_max_grad`); a gather scatter-adds it into the
//! table (`gather_grad`, an embedding's weight gradient).

use super::{Fwd, Grads};
use crate::autograd::emit::Emitter;
use crate::autograd::AutogradError;
use crate::graph::{normalize_axis, numel, slice_bounds, ElemKind, NodeId, Op, Shape};

pub(super) fn vjp(e: &mut Emitter, f: &Fwd, g: NodeId) -> Grads {
    let x = f.inputs[0];
    let xs = e.shape(x);
    let bad = |e: &Emitter, r: String| f.unsupported(e, &r);
    match &f.op {
        Op::Reshape { .. } | Op::Flatten { .. } => Ok(vec![f.grad(0, || e.reshape(g, &xs))?]),
        Op::Transpose { perm } => {
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            Ok(vec![
                f.grad(0, || e.op(Op::Transpose { perm: inverse }, &[g]))?
            ])
        }
        Op::Concat { axis } => {
            let a = normalize_axis(*axis, xs.len()).map_err(|r| bad(e, r))?;
            let mut offset = 0;
            let mut grads = Vec::with_capacity(f.inputs.len());
            for (i, &input) in f.inputs.iter().enumerate() {
                let len = e.shape(input)[a];
                let total = f.shape[a];
                grads.push(f.grad(i, || {
                    if len == total {
                        return Ok(g);
                    }
                    e.op(
                        Op::Slice {
                            axis: a as i64,
                            start: offset as i64,
                            end: (offset + len) as i64,
                            step: 1,
                        },
                        &[g],
                    )
                })?);
                offset += len;
            }
            Ok(grads)
        }
        Op::Slice {
            axis,
            start,
            end,
            step,
        } => {
            let a = normalize_axis(*axis, xs.len()).map_err(|r| bad(e, r))?;
            Ok(vec![
                f.grad(0, || unslice(e, g, &xs, a, *start, *end, *step))?
            ])
        }
        Op::Expand { .. } => Ok(vec![f.grad(0, || e.unbroadcast(g, &xs))?]),
        Op::ReduceSum { axes, keepdims } | Op::ReduceMean { axes, keepdims } => {
            let reduced = reduced_axes(&xs, axes).map_err(|r| bad(e, r))?;
            let count: usize = reduced.iter().map(|&d| xs[d]).product();
            Ok(vec![f.grad(0, || {
                let g = if matches!(f.op, Op::ReduceMean { .. }) {
                    e.scale(g, 1.0 / count as f64)?
                } else {
                    g
                };
                let g = if *keepdims {
                    g
                } else {
                    let kept: Shape = xs
                        .iter()
                        .enumerate()
                        .map(|(d, &n)| if reduced.contains(&d) { 1 } else { n })
                        .collect();
                    e.reshape(g, &kept)?
                };
                e.expand(g, &xs)
            })?])
        }
        Op::ReduceMax { axes, keepdims } => Ok(vec![f.grad(0, || {
            e.op(
                Op::ReduceMaxGrad {
                    axes: axes.clone(),
                    keepdims: *keepdims,
                },
                &[g, x],
            )
        })?]),
        Op::Gather { axis } => {
            if e.value(x).kind != ElemKind::Real {
                return Ok(vec![None, None]);
            }
            let a = normalize_axis(*axis, xs.len()).map_err(|r| bad(e, r))?;
            Ok(vec![
                f.grad(0, || {
                    e.op(
                        Op::GatherGrad {
                            axis: *axis,
                            size: xs[a],
                        },
                        &[g, f.inputs[1]],
                    )
                })?,
                None,
            ])
        }
        _ => unreachable!("not a tensor op"),
    }
}

/// The dims a reduction over `axes` (all when empty) reduces.
fn reduced_axes(shape: &[usize], axes: &[i64]) -> Result<Vec<usize>, String> {
    if axes.is_empty() {
        return Ok((0..shape.len()).collect());
    }
    axes.iter()
        .map(|&a| normalize_axis(a, shape.len()))
        .collect()
}

/// The gradient of `x[start:end:step]` along `axis`: `g` put back in place, zeros elsewhere
/// (strided slices interleave zeros first).
fn unslice(
    e: &mut Emitter,
    g: NodeId,
    xs: &[usize],
    axis: usize,
    start: i64,
    end: i64,
    step: i64,
) -> Result<NodeId, AutogradError> {
    let len = xs[axis];
    let (s, _) = slice_bounds(len, start, end);
    let gs = e.shape(g);
    let taken = gs[axis];
    let step = step.max(1) as usize;
    let mut body = g;
    if step > 1 {
        // (.., taken, ..) -> (.., taken, 1, ..) ++ zeros (.., taken, step-1, ..) on the new
        // axis -> (.., taken * step, ..), then drop the trailing zeros of the last stride
        let mut one = gs.clone();
        one.insert(axis + 1, 1);
        let r = e.reshape(g, &one)?;
        let mut zs = one.clone();
        zs[axis + 1] = step - 1;
        let z = e.constant(0.0, zs)?;
        let c = e.op(
            Op::Concat {
                axis: axis as i64 + 1,
            },
            &[r, z],
        )?;
        let mut flat = gs.clone();
        flat[axis] = taken * step;
        let c = e.reshape(c, &flat)?;
        let covered = (taken - 1) * step + 1;
        body = e.op(
            Op::Slice {
                axis: axis as i64,
                start: 0,
                end: covered as i64,
                step: 1,
            },
            &[c],
        )?;
    }
    let covered = e.shape(body)[axis];
    let mut parts = Vec::with_capacity(3);
    let zeros = |e: &mut Emitter, n: usize| -> Result<NodeId, AutogradError> {
        let mut zs = gs.clone();
        zs[axis] = n;
        e.constant(0.0, zs)
    };
    if s > 0 {
        parts.push(zeros(e, s)?);
    }
    parts.push(body);
    let after = len - s - covered;
    if after > 0 {
        parts.push(zeros(e, after)?);
    }
    if parts.len() == 1 {
        return Ok(body);
    }
    debug_assert_eq!(numel(&gs) / taken.max(1) * len, numel(xs));
    e.op(Op::Concat { axis: axis as i64 }, &parts)
}
