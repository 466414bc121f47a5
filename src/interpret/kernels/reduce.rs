//! Reductions (`sum`, `mean`, `amax` over axes, all axes when none are given, with or without
//! `keepdim`), `argmax` (index of the first maximum) and the losses: cross-entropy with
//! probability targets and mean squared error.

use super::norm::softmax_lane;
use super::{reshaped, Arr, KResult};
use crate::graph::{normalize_axis, shape_string};
use crate::interpret::arith::Arith;
use ndarray::{ArrayD, Axis, IxDyn};

/// Which reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reduction {
    Sum,
    Mean,
    Max,
}

/// The reduced axes of a rank-`rank` tensor (all of them when `axes` is empty), sorted.
fn reduced_axes(axes: &[i64], rank: usize) -> KResult<Vec<usize>> {
    if axes.is_empty() {
        return Ok((0..rank).collect());
    }
    let mut out = axes
        .iter()
        .map(|&a| normalize_axis(a, rank))
        .collect::<KResult<Vec<_>>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Reduces `x` over `axes`; `out_shape` is the node's inferred shape (with or without the
/// kept unit dims).
pub(crate) fn reduce<A: Arith>(
    ar: &A,
    x: &Arr<A>,
    how: Reduction,
    axes: &[i64],
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let axes = reduced_axes(axes, x.ndim())?;
    let count: usize = axes.iter().map(|&a| x.shape()[a]).product();
    let mut acc = x.to_owned();
    let zero = ar.enc(0.0);
    for &a in axes.iter().rev() {
        acc = match how {
            Reduction::Sum | Reduction::Mean => acc
                .fold_axis(Axis(a), zero, |&s, &v| s + v)
                .mapv(|s| ar.wrap(s)),
            Reduction::Max => acc.map_axis(Axis(a), |lane| {
                let mut best: Option<(A::E, f64)> = None;
                for &v in lane.iter() {
                    let d = ar.dec(v);
                    match best {
                        Some((_, b)) if !(d > b || d.is_nan()) => {}
                        _ => best = Some((v, d)),
                    }
                }
                best.map(|(v, _)| v).unwrap_or(zero)
            }),
        };
    }
    if how == Reduction::Mean {
        let inv = ar.enc(1.0 / count as f64);
        acc.mapv_inplace(|s| ar.trunc(s * inv));
    }
    Ok(reshaped(&acc, out_shape)?.into_owned())
}

/// Index of the first maximum along `axis` (NaN counts as the maximum, as in PyTorch), encoded
/// as a number.
pub(crate) fn arg_max<A: Arith>(
    ar: &A,
    x: &Arr<A>,
    axis: i64,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let a = normalize_axis(axis, x.ndim())?;
    if x.ndim() == 0 {
        return Ok(ArrayD::from_elem(IxDyn(out_shape), ar.enc(0.0)));
    }
    let idx = x.map_axis(Axis(a), |lane| {
        let mut best: Option<(usize, f64)> = None;
        for (i, &v) in lane.iter().enumerate() {
            let d = ar.dec(v);
            match best {
                Some((_, b)) if !(d > b || (d.is_nan() && !b.is_nan())) => {}
                _ => best = Some((i, d)),
            }
        }
        ar.enc(best.map_or(0, |(i, _)| i) as f64)
    });
    Ok(reshaped(&idx, out_shape)?.into_owned())
}

/// `F.cross_entropy(logits, target)` with probability targets: the mean over rows of
/// `-sum_c target * log_softmax(logits)`. A nonlinear function of both operands.
pub(crate) fn cross_entropy<A: Arith>(ar: &A, logits: &Arr<A>, target: &Arr<A>) -> KResult<Arr<A>> {
    if logits.ndim() != 2 || logits.shape() != target.shape() {
        return Err(format!(
            "cross_entropy needs logits and targets of one shape (N, C), got {} and {}",
            shape_string(logits.shape()),
            shape_string(target.shape())
        ));
    }
    let n = logits.shape()[0];
    let mut total = 0.0;
    for (row, trow) in logits.outer_iter().zip(target.outer_iter()) {
        let vals: Vec<f64> = row.iter().map(|&v| ar.dec(v)).collect();
        let logp = softmax_lane(&vals, true);
        total -= logp
            .iter()
            .zip(trow.iter())
            .map(|(lp, &t)| lp * ar.dec(t))
            .sum::<f64>();
    }
    Ok(ArrayD::from_elem(IxDyn(&[]), ar.enc(total / n as f64)))
}

/// `F.mse_loss`: mean of `(prediction - target)^2`; the differences are squared (truncated
/// products) and averaged in ring arithmetic.
pub(crate) fn mse<A: Arith>(ar: &A, p: &Arr<A>, t: &Arr<A>) -> KResult<Arr<A>> {
    if p.shape() != t.shape() {
        return Err(format!(
            "mse prediction {} and target {} differ in shape",
            shape_string(p.shape()),
            shape_string(t.shape())
        ));
    }
    let zero = ar.enc(0.0);
    let sum = p.iter().zip(t.iter()).fold(zero, |s, (&a, &b)| {
        let d = ar.wrap(a - b);
        ar.wrap(s + ar.trunc(d * d))
    });
    let mean = ar.trunc(sum * ar.enc(1.0 / p.len().max(1) as f64));
    Ok(ArrayD::from_elem(IxDyn(&[]), mean))
}
