//! Constant folding: ONNX ops evaluated on constant tensors at import time (shape
//! arithmetic, masks, scalars), so only ops on model data become IR nodes.

use super::tensor::{
    axis, checked_numel, from_proto, is_float_type, is_int_type, limit, reshape_dims,
    slice_indices, split_sizes, squeeze_dims, type_name, unsqueeze_dims, Attrs, Data, FoldResult,
    Tensor, FOLD_LIMIT,
};
use crate::graph::broadcast;

fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

/// Index map of broadcasting `dims` to `out` (same rank or lower).
fn broadcast_index(dims: &[usize], out: &[usize]) -> Vec<usize> {
    let n: usize = out.iter().product();
    let off = out.len() - dims.len();
    let src_strides = strides(dims);
    let out_strides = strides(out);
    (0..n)
        .map(|flat| {
            let mut idx = 0;
            for (k, &os) in out_strides.iter().enumerate() {
                let coord = (flat / os) % out[k].max(1);
                if k >= off && dims[k - off] != 1 {
                    idx += coord * src_strides[k - off];
                }
            }
            idx
        })
        .collect()
}

fn binary(
    a: &Tensor,
    b: &Tensor,
    fi: impl Fn(i64, i64) -> Option<i64>,
    ff: impl Fn(f64, f64) -> f64,
) -> FoldResult<Tensor> {
    let out = broadcast(&a.dims, &b.dims)?;
    limit(&out)?;
    let (ia, ib) = (
        broadcast_index(&a.dims, &out),
        broadcast_index(&b.dims, &out),
    );
    if a.is_int() && b.is_int() {
        let (va, vb) = (a.i64s()?, b.i64s()?);
        let v = ia
            .iter()
            .zip(&ib)
            .map(|(&i, &j)| {
                fi(va[i], vb[j]).ok_or("integer arithmetic overflows or divides by zero")
            })
            .collect::<Result<_, _>>()?;
        Ok(Tensor::ints(out, v))
    } else {
        let (va, vb) = (a.f64s()?, b.f64s()?);
        let v = ia
            .iter()
            .zip(&ib)
            .map(|(&i, &j)| ff(va[i], vb[j]))
            .collect();
        Ok(Tensor::floats(out, v))
    }
}

fn compare(a: &Tensor, b: &Tensor, f: impl Fn(f64, f64) -> bool) -> FoldResult<Tensor> {
    let out = broadcast(&a.dims, &b.dims)?;
    limit(&out)?;
    let (ia, ib) = (
        broadcast_index(&a.dims, &out),
        broadcast_index(&b.dims, &out),
    );
    let (va, vb) = (a.f64s()?, b.f64s()?);
    let v = ia
        .iter()
        .zip(&ib)
        .map(|(&i, &j)| f(va[i], vb[j]) as i64)
        .collect();
    Ok(Tensor::ints(out, v))
}

fn unary(a: &Tensor, f: impl Fn(f64) -> f64) -> FoldResult<Tensor> {
    let v = a.f64s()?.into_iter().map(f).collect();
    Ok(Tensor::floats(a.dims.clone(), v))
}

/// Picks elements of `t` by flat source index into a tensor of shape `dims`.
fn gather_flat(t: &Tensor, dims: Vec<usize>, idx: &[usize]) -> FoldResult<Tensor> {
    Ok(match &t.data {
        Data::I(v) => Tensor::ints(dims, idx.iter().map(|&i| v[i]).collect()),
        Data::Fill { value, int } => Tensor {
            dims,
            data: Data::Fill {
                value: *value,
                int: *int,
            },
        },
        _ => {
            let v = t.f64s()?;
            Tensor::floats(dims, idx.iter().map(|&i| v[i]).collect())
        }
    })
}

fn with_dims(t: &Tensor, dims: Vec<usize>) -> Tensor {
    Tensor {
        dims,
        data: match &t.data {
            Data::Causal(_) => Data::F(t.f64s().unwrap_or_default()),
            d => d.clone(),
        },
    }
}

/// Which ops [`fold`] evaluates.
pub fn is_foldable(op_type: &str) -> bool {
    matches!(
        op_type,
        "Identity"
            | "Cast"
            | "Gather"
            | "Unsqueeze"
            | "Squeeze"
            | "Concat"
            | "Reshape"
            | "Flatten"
            | "Transpose"
            | "Slice"
            | "Expand"
            | "Add"
            | "Sub"
            | "Mul"
            | "Div"
            | "Pow"
            | "Max"
            | "Min"
            | "Mod"
            | "Equal"
            | "Less"
            | "Greater"
            | "LessOrEqual"
            | "GreaterOrEqual"
            | "And"
            | "Or"
            | "Not"
            | "Where"
            | "Neg"
            | "Abs"
            | "Sqrt"
            | "Reciprocal"
            | "Exp"
            | "Log"
            | "Floor"
            | "Ceil"
            | "Relu"
            | "ConstantOfShape"
            | "Range"
            | "Trilu"
            | "Split"
            | "ReduceProd"
            | "ReduceSum"
    )
}

fn need<'t>(inputs: &[Option<&'t Tensor>], i: usize, what: &str) -> FoldResult<&'t Tensor> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| format!("missing {what} input"))
}

/// The axes of Squeeze/Unsqueeze/Reduce*: attribute before `input_from`, input after.
pub fn axes_operand(
    attrs: Attrs,
    inputs: &[Option<&Tensor>],
    slot: usize,
    opset: i64,
    input_from: i64,
) -> FoldResult<Option<Vec<i64>>> {
    if opset < input_from {
        Ok(attrs.ints("axes"))
    } else {
        inputs
            .get(slot)
            .copied()
            .flatten()
            .map(|t| t.i64s())
            .transpose()
    }
}

/// Evaluates `op_type` over constant inputs (`None` for an absent optional input). Returns
/// one tensor per output.
pub fn fold(
    op_type: &str,
    attrs: Attrs,
    inputs: &[Option<&Tensor>],
    outputs: usize,
    opset: i64,
) -> FoldResult<Vec<Tensor>> {
    let x = || need(inputs, 0, "data");
    let one = |t: Tensor| Ok(vec![t]);
    match op_type {
        "Identity" => one(x()?.clone()),
        "Cast" => {
            let to = attrs.int("to").ok_or("Cast has no 'to'")? as i32;
            let t = x()?;
            if is_float_type(to) {
                one(Tensor::floats(t.dims.clone(), t.f64s()?))
            } else if to == 9 {
                let v = t.f64s()?.into_iter().map(|v| (v != 0.0) as i64).collect();
                one(Tensor::ints(t.dims.clone(), v))
            } else if is_int_type(to) {
                one(Tensor::ints(t.dims.clone(), t.i64s()?))
            } else {
                Err(format!("Cast to {} is not supported", type_name(to)))
            }
        }
        "Gather" => {
            let (d, idx) = (x()?, need(inputs, 1, "indices")?);
            let a = axis(attrs.int_or("axis", 0), d.dims.len())?;
            let n = d.dims[a] as i64;
            let idx_v: Vec<usize> = idx
                .i64s()?
                .into_iter()
                .map(|i| {
                    let j = if i < 0 { i + n } else { i };
                    if j < 0 || j >= n {
                        Err(format!("gather index {i} is out of range for dim {n}"))
                    } else {
                        Ok(j as usize)
                    }
                })
                .collect::<Result<_, _>>()?;
            let outer: usize = d.dims[..a].iter().product();
            let inner: usize = d.dims[a + 1..].iter().product();
            let mut dims = d.dims[..a].to_vec();
            dims.extend(&idx.dims);
            dims.extend(&d.dims[a + 1..]);
            limit(&dims)?;
            let mut src = Vec::with_capacity(outer * idx_v.len() * inner);
            for o in 0..outer {
                for &i in &idx_v {
                    for k in 0..inner {
                        src.push((o * d.dims[a] + i) * inner + k);
                    }
                }
            }
            one(gather_flat(d, dims, &src)?)
        }
        "Unsqueeze" => {
            let t = x()?;
            let axes = axes_operand(attrs, inputs, 1, opset, 13)?.ok_or("Unsqueeze has no axes")?;
            let rank = t.dims.len() + axes.len();
            let mut ax: Vec<usize> = axes
                .iter()
                .map(|&a| axis(a, rank))
                .collect::<Result<_, _>>()?;
            ax.sort_unstable();
            ax.dedup();
            if ax.len() != axes.len() {
                return Err(format!("Unsqueeze axes {axes:?} repeat"));
            }
            one(with_dims(t, unsqueeze_dims(&t.dims, &ax)))
        }
        "Squeeze" => {
            let t = x()?;
            let axes = axes_operand(attrs, inputs, 1, opset, 13)?;
            one(with_dims(t, squeeze_dims(&t.dims, axes.as_deref())?))
        }
        "Concat" => {
            let ts: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
            let first = ts.first().ok_or("Concat has no inputs")?;
            let a = axis(
                attrs.int("axis").ok_or("Concat has no axis")?,
                first.dims.len(),
            )?;
            let mut dims = first.dims.clone();
            dims[a] = 0;
            for t in &ts {
                if t.dims.len() != first.dims.len()
                    || t.dims
                        .iter()
                        .zip(&first.dims)
                        .enumerate()
                        .any(|(k, (p, q))| k != a && p != q)
                {
                    return Err(format!(
                        "Concat inputs {:?} and {:?} differ",
                        first.dims, t.dims
                    ));
                }
                dims[a] += t.dims[a];
            }
            limit(&dims)?;
            let outer: usize = dims[..a].iter().product();
            let int = ts.iter().all(|t| t.is_int());
            let mut vf = Vec::new();
            let mut vi = Vec::new();
            let vals: Vec<(usize, Vec<f64>, Vec<i64>)> = ts
                .iter()
                .map(|t| {
                    let inner: usize = t.dims[a..].iter().product();
                    Ok((
                        inner,
                        if int { vec![] } else { t.f64s()? },
                        if int { t.i64s()? } else { vec![] },
                    ))
                })
                .collect::<FoldResult<_>>()?;
            for o in 0..outer {
                for (inner, f, i) in &vals {
                    if int {
                        vi.extend_from_slice(&i[o * inner..(o + 1) * inner]);
                    } else {
                        vf.extend_from_slice(&f[o * inner..(o + 1) * inner]);
                    }
                }
            }
            one(if int {
                Tensor::ints(dims, vi)
            } else {
                Tensor::floats(dims, vf)
            })
        }
        "Reshape" => {
            let t = x()?;
            let target = need(inputs, 1, "shape")?.i64s()?;
            let dims = reshape_dims(&t.dims, &target, attrs.int_or("allowzero", 0) != 0)?;
            one(with_dims(t, dims))
        }
        "Flatten" => {
            let t = x()?;
            let r = t.dims.len();
            let a = attrs.int_or("axis", 1);
            let a = if a < 0 { a + r as i64 } else { a };
            if a < 0 || a > r as i64 {
                return Err(format!("Flatten axis {a} is out of range for rank {r}"));
            }
            let a = a as usize;
            let dims = vec![t.dims[..a].iter().product(), t.dims[a..].iter().product()];
            one(with_dims(t, dims))
        }
        "Transpose" => {
            let t = x()?;
            let r = t.dims.len();
            let perm: Vec<usize> = match attrs.ints("perm") {
                Some(p) => p.iter().map(|&a| axis(a, r)).collect::<Result<_, _>>()?,
                None => (0..r).rev().collect(),
            };
            let mut seen = vec![false; r];
            if perm.len() != r || perm.iter().any(|&p| std::mem::replace(&mut seen[p], true)) {
                return Err(format!(
                    "Transpose perm {perm:?} is not a permutation of rank {r}"
                ));
            }
            let dims: Vec<usize> = perm.iter().map(|&p| t.dims[p]).collect();
            limit(&dims)?;
            let st = strides(&t.dims);
            let ost = strides(&dims);
            let n = t.numel();
            let src: Vec<usize> = (0..n)
                .map(|flat| {
                    perm.iter()
                        .enumerate()
                        .map(|(k, &p)| ((flat / ost[k]) % dims[k].max(1)) * st[p])
                        .sum()
                })
                .collect();
            one(gather_flat(t, dims, &src)?)
        }
        "Slice" => {
            let t = x()?;
            limit(&t.dims)?;
            let starts = need(inputs, 1, "starts")?.i64s()?;
            let ends = need(inputs, 2, "ends")?.i64s()?;
            let r = t.dims.len();
            let axes = match inputs.get(3).copied().flatten() {
                Some(a) => a.i64s()?,
                None => (0..starts.len() as i64).collect(),
            };
            let steps = match inputs.get(4).copied().flatten() {
                Some(s) => s.i64s()?,
                None => vec![1; starts.len()],
            };
            if ends.len() != starts.len()
                || axes.len() != starts.len()
                || steps.len() != starts.len()
            {
                return Err("Slice starts, ends, axes and steps differ in length".to_string());
            }
            let mut picks: Vec<Vec<usize>> = t.dims.iter().map(|&d| (0..d).collect()).collect();
            for k in 0..starts.len() {
                let a = axis(axes[k], r)?;
                picks[a] = slice_indices(t.dims[a], starts[k], ends[k], steps[k])?;
            }
            let dims: Vec<usize> = picks.iter().map(|p| p.len()).collect();
            let st = strides(&t.dims);
            let mut src = vec![0usize];
            for (k, p) in picks.iter().enumerate() {
                let stride = st[k];
                src = src
                    .iter()
                    .flat_map(|&base| p.iter().map(move |&i| base + i * stride))
                    .collect();
            }
            one(gather_flat(t, dims, &src)?)
        }
        "Expand" => {
            let t = x()?;
            let shape: Vec<usize> = need(inputs, 1, "shape")?
                .i64s()?
                .into_iter()
                .map(|d| usize::try_from(d).map_err(|_| format!("Expand dim {d} is negative")))
                .collect::<Result<_, _>>()?;
            let dims = broadcast(&t.dims, &shape)?;
            limit(&dims)?;
            if let Data::Fill { .. } = t.data {
                return one(with_dims(t, dims));
            }
            let idx = broadcast_index(&t.dims, &dims);
            one(gather_flat(t, dims, &idx)?)
        }
        "Add" => one(binary(
            x()?,
            need(inputs, 1, "B")?,
            i64::checked_add,
            |a, b| a + b,
        )?),
        "Sub" => one(binary(
            x()?,
            need(inputs, 1, "B")?,
            i64::checked_sub,
            |a, b| a - b,
        )?),
        "Mul" => one(binary(
            x()?,
            need(inputs, 1, "B")?,
            i64::checked_mul,
            |a, b| a * b,
        )?),
        "Div" => one(binary(
            x()?,
            need(inputs, 1, "B")?,
            i64::checked_div,
            |a, b| a / b,
        )?),
        "Mod" => one(binary(
            x()?,
            need(inputs, 1, "B")?,
            i64::checked_rem_euclid,
            |a, b| a % b,
        )?),
        "Pow" => one(binary(
            x()?,
            need(inputs, 1, "Y")?,
            |a, b| u32::try_from(b).ok().and_then(|b| a.checked_pow(b)),
            f64::powf,
        )?),
        "Max" | "Min" => {
            let ts: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
            let mut acc = (*ts.first().ok_or("no inputs")?).clone();
            for t in &ts[1..] {
                acc = if op_type == "Max" {
                    binary(&acc, t, |a, b| Some(a.max(b)), f64::max)?
                } else {
                    binary(&acc, t, |a, b| Some(a.min(b)), f64::min)?
                };
            }
            one(acc)
        }
        "Equal" => one(compare(x()?, need(inputs, 1, "B")?, |a, b| a == b)?),
        "Less" => one(compare(x()?, need(inputs, 1, "B")?, |a, b| a < b)?),
        "Greater" => one(compare(x()?, need(inputs, 1, "B")?, |a, b| a > b)?),
        "LessOrEqual" => one(compare(x()?, need(inputs, 1, "B")?, |a, b| a <= b)?),
        "GreaterOrEqual" => one(compare(x()?, need(inputs, 1, "B")?, |a, b| a >= b)?),
        "And" => one(compare(x()?, need(inputs, 1, "B")?, |a, b| {
            a != 0.0 && b != 0.0
        })?),
        "Or" => one(compare(x()?, need(inputs, 1, "B")?, |a, b| {
            a != 0.0 || b != 0.0
        })?),
        "Not" => {
            let t = x()?;
            let v = t.f64s()?.into_iter().map(|v| (v == 0.0) as i64).collect();
            one(Tensor::ints(t.dims.clone(), v))
        }
        "Where" => {
            let (c, a, b) = (x()?, need(inputs, 1, "X")?, need(inputs, 2, "Y")?);
            let dims = broadcast(&broadcast(&c.dims, &a.dims)?, &b.dims)?;
            limit(&dims)?;
            let (ic, ia, ib) = (
                broadcast_index(&c.dims, &dims),
                broadcast_index(&a.dims, &dims),
                broadcast_index(&b.dims, &dims),
            );
            let (vc, va, vb) = (c.f64s()?, a.f64s()?, b.f64s()?);
            let v: Vec<f64> = (0..ic.len())
                .map(|k| {
                    if vc[ic[k]] != 0.0 {
                        va[ia[k]]
                    } else {
                        vb[ib[k]]
                    }
                })
                .collect();
            one(if a.is_int() && b.is_int() {
                a.same_kind(v, dims)
            } else {
                Tensor::floats(dims, v)
            })
        }
        "Neg" => {
            let t = x()?;
            one(t.same_kind(t.f64s()?.into_iter().map(|v| -v).collect(), t.dims.clone()))
        }
        "Abs" => {
            let t = x()?;
            one(t.same_kind(
                t.f64s()?.into_iter().map(f64::abs).collect(),
                t.dims.clone(),
            ))
        }
        "Relu" => {
            let t = x()?;
            one(t.same_kind(
                t.f64s()?.into_iter().map(|v| v.max(0.0)).collect(),
                t.dims.clone(),
            ))
        }
        "Sqrt" => one(unary(x()?, f64::sqrt)?),
        "Reciprocal" => one(unary(x()?, |v| 1.0 / v)?),
        "Exp" => one(unary(x()?, f64::exp)?),
        "Log" => one(unary(x()?, f64::ln)?),
        "Floor" => one(unary(x()?, f64::floor)?),
        "Ceil" => one(unary(x()?, f64::ceil)?),
        "ConstantOfShape" => {
            let dims: Vec<usize> = x()?
                .i64s()?
                .into_iter()
                .map(|d| {
                    usize::try_from(d).map_err(|_| format!("ConstantOfShape dim {d} is negative"))
                })
                .collect::<Result<_, _>>()?;
            if checked_numel(&dims).is_none() {
                return Err(format!("ConstantOfShape of {dims:?} is too large"));
            }
            let (value, int) = match attrs.tensor("value") {
                Some(t) => {
                    let v = from_proto(t)?;
                    (
                        v.scalar()
                            .ok_or("ConstantOfShape value must have one element")?,
                        v.is_int(),
                    )
                }
                None => (0.0, false),
            };
            one(Tensor {
                dims,
                data: Data::Fill { value, int },
            })
        }
        "Range" => {
            let s = need(inputs, 0, "start")?;
            let l = need(inputs, 1, "limit")?;
            let d = need(inputs, 2, "delta")?;
            let (sv, lv, dv) = (
                s.scalar().ok_or("start is not a scalar")?,
                l.scalar().ok_or("limit is not a scalar")?,
                d.scalar().ok_or("delta is not a scalar")?,
            );
            if dv == 0.0 {
                return Err("Range delta is 0".to_string());
            }
            let n = ((lv - sv) / dv).ceil().max(0.0);
            if n > FOLD_LIMIT as f64 {
                return Err("Range is too long".to_string());
            }
            let v: Vec<f64> = (0..n as usize).map(|i| sv + i as f64 * dv).collect();
            one(s.same_kind(v, vec![n as usize]))
        }
        "Trilu" => {
            let t = x()?;
            let upper = attrs.int_or("upper", 1) != 0;
            let k = match inputs.get(1).copied().flatten() {
                Some(k) => k.scalar().ok_or("Trilu k is not a scalar")? as i64,
                None => 0,
            };
            let r = t.dims.len();
            if r < 2 {
                return Err("Trilu needs rank 2 or more".to_string());
            }
            if let (Data::Fill { value, int: false }, true, 1) = (&t.data, upper, k) {
                return one(Tensor {
                    dims: t.dims.clone(),
                    data: Data::Causal(*value),
                });
            }
            let (rows, cols) = (t.dims[r - 2], t.dims[r - 1]);
            let v = t.f64s()?;
            let out = v
                .iter()
                .enumerate()
                .map(|(flat, &e)| {
                    let (i, j) = (
                        ((flat / cols.max(1)) % rows.max(1)) as i64,
                        (flat % cols.max(1)) as i64,
                    );
                    let keep = if upper { j - i >= k } else { j - i <= k };
                    if keep {
                        e
                    } else {
                        0.0
                    }
                })
                .collect();
            one(t.same_kind(out, t.dims.clone()))
        }
        "Split" => {
            let t = x()?;
            let a = axis(attrs.int_or("axis", 0), t.dims.len())?;
            let sizes = split_sizes(
                attrs,
                inputs.get(1).copied().flatten(),
                t.dims[a],
                outputs,
                opset,
            )?;
            let mut start = 0i64;
            let mut outs = Vec::new();
            for s in sizes {
                let st = Tensor::vec_i(vec![start]);
                let en = Tensor::vec_i(vec![start + s as i64]);
                let ax = Tensor::vec_i(vec![a as i64]);
                outs.extend(fold(
                    "Slice",
                    attrs,
                    &[Some(t), Some(&st), Some(&en), Some(&ax)],
                    1,
                    opset,
                )?);
                start += s as i64;
            }
            Ok(outs)
        }
        "ReduceProd" | "ReduceSum" => {
            let t = x()?;
            let from = if op_type == "ReduceSum" { 13 } else { 18 };
            let axes = axes_operand(attrs, inputs, 1, opset, from)?.unwrap_or_default();
            if !(axes.is_empty() || t.dims.len() == 1) {
                return Err(format!(
                    "{op_type} over axes {axes:?} of a constant is not supported"
                ));
            }
            let v = t.f64s()?;
            let r = if op_type == "ReduceSum" {
                v.iter().sum()
            } else {
                v.iter().product()
            };
            let dims = if attrs.int_or("keepdims", 1) != 0 {
                vec![1; t.dims.len()]
            } else {
                vec![]
            };
            one(t.same_kind(vec![r], dims))
        }
        _ => Err(format!("{op_type} cannot be evaluated at import time")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_shape_arithmetic() {
        let shape = Tensor::vec_i(vec![2, 3, 4]);
        let idx = Tensor::scalar_i(0);
        let g = fold("Gather", Attrs(&[]), &[Some(&shape), Some(&idx)], 1, 17).unwrap();
        assert_eq!(g[0], Tensor::scalar_i(2));
        let axes = Tensor::vec_i(vec![0]);
        let u = fold("Unsqueeze", Attrs(&[]), &[Some(&g[0]), Some(&axes)], 1, 17).unwrap();
        assert_eq!(u[0], Tensor::vec_i(vec![2]));
        let t = Tensor::floats(vec![2, 3], vec![0., 1., 2., 3., 4., 5.]);
        let tr = fold("Transpose", Attrs(&[]), &[Some(&t)], 1, 17).unwrap();
        assert_eq!(tr[0].f64s().unwrap(), vec![0., 3., 1., 4., 2., 5.]);
        let (s, e, a) = (
            Tensor::vec_i(vec![1]),
            Tensor::vec_i(vec![i64::MAX]),
            Tensor::vec_i(vec![1]),
        );
        let sl = fold(
            "Slice",
            Attrs(&[]),
            &[Some(&t), Some(&s), Some(&e), Some(&a)],
            1,
            17,
        )
        .unwrap();
        assert_eq!(sl[0].dims, vec![2, 2]);
        assert_eq!(sl[0].f64s().unwrap(), vec![1., 2., 4., 5.]);
    }
}
