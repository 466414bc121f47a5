//! Data movement: reshape and flatten (row-major), transpose, concat, Python-style slicing,
//! broadcast expansion and gather. Exact in every arithmetic.

use super::{reshape_owned, Arr, KResult};
use crate::graph::{normalize_axis, shape_string, slice_bounds};
use crate::interpret::arith::Arith;
use ndarray::{concatenate, ArrayView, Axis, IxDyn, Slice};

/// Row-major reshape to the node's inferred shape (reshape, flatten).
pub(crate) fn reshape<A: Arith>(x: &Arr<A>, out_shape: &[usize]) -> KResult<Arr<A>> {
    reshape_owned(x, out_shape)
}

/// Output dim `i` is input dim `perm[i]`.
pub(crate) fn transpose<A: Arith>(x: &Arr<A>, perm: &[usize]) -> KResult<Arr<A>> {
    let mut seen = vec![false; x.ndim()];
    if perm.len() != x.ndim()
        || perm
            .iter()
            .any(|&p| p >= seen.len() || std::mem::replace(&mut seen[p], true))
    {
        return Err(format!(
            "perm {perm:?} is not a permutation of the {} dims",
            x.ndim()
        ));
    }
    Ok(x.view()
        .permuted_axes(IxDyn(perm))
        .as_standard_layout()
        .into_owned())
}

pub(crate) fn concat<A: Arith>(xs: &[&Arr<A>], axis: i64) -> KResult<Arr<A>> {
    let first = xs.first().ok_or("concat needs at least one input")?;
    let a = normalize_axis(axis, first.ndim())?;
    let views: Vec<ArrayView<A::E, IxDyn>> = xs.iter().map(|x| x.view()).collect();
    concatenate(Axis(a), &views).map_err(|e| format!("inputs do not concatenate: {e}"))
}

/// Elements `start..end` by `step` along `axis`, Python semantics (negative indices count
/// from the end, bounds clamp).
pub(crate) fn slice<A: Arith>(
    x: &Arr<A>,
    axis: i64,
    start: i64,
    end: i64,
    step: i64,
) -> KResult<Arr<A>> {
    let a = normalize_axis(axis, x.ndim())?;
    if step <= 0 {
        return Err(format!("slice step must be positive, got {step}"));
    }
    let (s, e) = slice_bounds(x.shape()[a], start, end);
    let e = e.max(s);
    Ok(x.slice_axis(
        Axis(a),
        Slice::new(s as isize, Some(e as isize), step as isize),
    )
    .to_owned())
}

/// Numpy broadcast of `x` to `shape`.
pub(crate) fn expand<A: Arith>(x: &Arr<A>, shape: &[usize]) -> KResult<Arr<A>> {
    Ok(x.broadcast(IxDyn(shape))
        .ok_or_else(|| {
            format!(
                "cannot expand {} to {}",
                shape_string(x.shape()),
                shape_string(shape)
            )
        })?
        .to_owned())
}

/// `data` indexed along `axis` by every element of `indices` (whole numbers, in
/// `[-len, len)`; negative ones count from the end as in ONNX `Gather`): the result has
/// shape `data[..axis] ++ indices ++ data[axis + 1..]`.
pub(crate) fn gather<A: Arith>(
    ar: &A,
    data: &Arr<A>,
    indices: &Arr<A>,
    axis: i64,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let a = normalize_axis(axis, data.ndim())?;
    let len = data.shape()[a];
    let idx = indices
        .iter()
        .map(|&v| {
            let i = ar.dec(v);
            let whole = i.fract() == 0.0 && i >= -(len as f64) && i < len as f64;
            if !whole {
                return Err(format!(
                    "index {i} is out of range for axis {a} of length {len}"
                ));
            }
            Ok(if i < 0.0 {
                (i + len as f64) as usize
            } else {
                i as usize
            })
        })
        .collect::<KResult<Vec<usize>>>()?;
    let picked = data.select(Axis(a), &idx);
    reshape_owned(&picked, out_shape)
}
