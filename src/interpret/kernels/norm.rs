//! Normalizations: batch normalization (inference form), layer normalization, softmax and
//! log-softmax (numerically stable: the maximum is subtracted before exponentiating).
//!
//! In fixed-point mode the normalising part (mean, variance, inverse square root, the softmax
//! itself) is a nonlinear function computed in `f64` on decoded values; the affine weight and
//! bias, and batchnorm's per-channel factor, are applied in ring arithmetic.

use super::{reshaped, Arr, KResult};
use crate::graph::{normalize_axis, numel, shape_string};
use crate::interpret::arith::Arith;
use ndarray::{ArrayD, Axis, IxDyn};

/// `F.batch_norm(training=False)`: `(x - mean) * scale / sqrt(var + eps) + bias` per channel
/// (dim 1).
pub(crate) fn batch_norm<A: Arith>(
    ar: &A,
    x: &Arr<A>,
    params: [&Arr<A>; 4],
    eps: f64,
) -> KResult<Arr<A>> {
    if x.ndim() < 2 {
        return Err(format!(
            "batch_norm needs a channel dim, got {}",
            shape_string(x.shape())
        ));
    }
    let c = x.shape()[1];
    let [scale, bias, mean, var] = params.map(|p| p.iter().copied().collect::<Vec<_>>());
    if [&scale, &bias, &mean, &var].iter().any(|p| p.len() != c) {
        return Err(format!("batch_norm parameters must have {c} values"));
    }
    let mut out = x.to_owned();
    for ch in 0..c {
        let factor = ar.enc(ar.dec(scale[ch]) / (ar.dec(var[ch]) + eps).sqrt());
        let (m, b) = (mean[ch], bias[ch]);
        out.index_axis_mut(Axis(1), ch)
            .mapv_inplace(|v| ar.wrap(ar.trunc(ar.wrap(v - m) * factor) + b));
    }
    Ok(out)
}

/// `F.layer_norm` over the dims from `axis` on, with optional elementwise weight and bias of
/// the normalized shape (biased variance, as PyTorch).
pub(crate) fn layer_norm<A: Arith>(
    ar: &A,
    x: &Arr<A>,
    weight: Option<&Arr<A>>,
    bias: Option<&Arr<A>>,
    axis: i64,
    eps: f64,
) -> KResult<Arr<A>> {
    let a = normalize_axis(axis, x.ndim())?;
    let cols = numel(&x.shape()[a..]);
    let rows = numel(&x.shape()[..a]);
    let flat = |p: Option<&Arr<A>>| -> KResult<Option<Vec<A::E>>> {
        match p {
            Some(p) if p.len() != cols => Err(format!(
                "layer_norm weight/bias {} does not match the normalized size {cols}",
                shape_string(p.shape())
            )),
            Some(p) => Ok(Some(p.iter().copied().collect())),
            None => Ok(None),
        }
    };
    let (w, b) = (flat(weight)?, flat(bias)?);
    let x2 = reshaped(x, &[rows, cols])?;
    let mut out = Vec::with_capacity(rows * cols);
    let mut row = vec![0.0; cols];
    for r in x2.outer_iter() {
        for (d, &v) in row.iter_mut().zip(r.iter()) {
            *d = ar.dec(v);
        }
        let mean = row.iter().sum::<f64>() / cols as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / cols as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        for (j, &v) in row.iter().enumerate() {
            let mut y = ar.enc((v - mean) * rstd);
            if let Some(w) = &w {
                y = ar.trunc(y * w[j]);
            }
            if let Some(b) = &b {
                y = ar.wrap(y + b[j]);
            }
            out.push(y);
        }
    }
    ArrayD::from_shape_vec(IxDyn(x.shape()), out).map_err(|e| e.to_string())
}

/// Softmax (`log: false`) or log-softmax (`log: true`) along `axis`.
pub(crate) fn softmax<A: Arith>(ar: &A, x: &Arr<A>, axis: i64, log: bool) -> KResult<Arr<A>> {
    let a = normalize_axis(axis, x.ndim())?;
    let mut out = x.to_owned();
    if out.ndim() == 0 {
        // A scalar is its own softmax lane.
        out.mapv_inplace(|_| ar.enc(if log { 0.0 } else { 1.0 }));
        return Ok(out);
    }
    let mut lane_vals = Vec::new();
    for mut lane in out.lanes_mut(Axis(a)) {
        lane_vals.clear();
        lane_vals.extend(lane.iter().map(|&v| ar.dec(v)));
        for (o, v) in lane.iter_mut().zip(softmax_lane(&lane_vals, log)) {
            *o = ar.enc(v);
        }
    }
    Ok(out)
}

/// Softmax or log-softmax of one lane, in `f64`.
pub(crate) fn softmax_lane(x: &[f64], log: bool) -> Vec<f64> {
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let shifted: Vec<f64> = x.iter().map(|v| v - max).collect();
    let sum: f64 = shifted.iter().map(|v| v.exp()).sum();
    if log {
        let lse = sum.ln();
        shifted.iter().map(|v| v - lse).collect()
    } else {
        shifted.iter().map(|v| v.exp() / sum).collect()
    }
}
