//! Shape inference: the output shape and element kind of every op from its input values, or
//! the reason the inputs do not fit the op.

use super::op::Op;
use super::value::{numel, shape_string, ElemKind, Shape, ValueInfo};

mod backward;
use backward::infer_backward;

/// Why an op cannot be applied to its inputs (the graph adds the node and file context).
pub type ShapeResult<T> = Result<T, String>;

/// Numpy broadcasting of two shapes.
pub fn broadcast(a: &[usize], b: &[usize]) -> ShapeResult<Shape> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(format!(
                    "shapes {} and {} do not broadcast (dim {} is {} vs {})",
                    shape_string(a),
                    shape_string(b),
                    i,
                    da,
                    db
                ))
            }
        };
    }
    Ok(out)
}

/// Resolves a possibly negative axis against a rank.
pub fn normalize_axis(axis: i64, rank: usize) -> ShapeResult<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r.max(1) || (rank == 0 && a != 0) {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(a as usize)
}

/// Resolves an axis that indexes a dim of the shape: a scalar has none.
fn dim_axis(what: &str, axis: i64, shape: &[usize]) -> ShapeResult<usize> {
    if shape.is_empty() {
        return Err(format!(
            "{what} needs a tensor of rank 1 or more, got a scalar"
        ));
    }
    normalize_axis(axis, shape.len())
}

/// Padding before plus after, checked.
fn pad_sum(before: usize, after: usize) -> ShapeResult<usize> {
    before
        .checked_add(after)
        .ok_or_else(|| format!("padding {before} + {after} is too large"))
}

/// Output length of a sliding window (conv or pool) along one dim.
fn window_out(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
    ceil_mode: bool,
) -> ShapeResult<usize> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return Err("kernel, stride and dilation must be at least 1".to_string());
    }
    let too_large = || {
        format!(
            "window arithmetic overflows (input {input}, kernel {kernel}, stride {stride}, \
             padding {pad}, dilation {dilation})"
        )
    };
    let span = dilation
        .checked_mul(kernel - 1)
        .and_then(|s| s.checked_add(1))
        .ok_or_else(too_large)?;
    let padded = input.checked_add(pad).ok_or_else(too_large)?;
    if padded < span {
        return Err(format!(
            "window of {span} does not fit an input of {input} with padding {pad}"
        ));
    }
    let steps = padded - span;
    let mut out = if ceil_mode {
        steps.div_ceil(stride) + 1
    } else {
        steps / stride + 1
    };
    // PyTorch: with ceil_mode, the last window must start inside the input or left padding.
    if ceil_mode && (out - 1).saturating_mul(stride) >= input + pad / 2 {
        out -= 1;
    }
    Ok(out)
}

fn expect_rank(what: &str, v: &ValueInfo, rank: usize) -> ShapeResult<()> {
    if v.shape.len() != rank {
        return Err(format!(
            "{what} must have rank {rank}, got shape {}",
            shape_string(&v.shape)
        ));
    }
    Ok(())
}

fn expect_real(what: &str, v: &ValueInfo) -> ShapeResult<()> {
    if v.kind != ElemKind::Real {
        return Err(format!(
            "{what} must hold real numbers, got {}",
            v.kind.as_str()
        ));
    }
    Ok(())
}

fn expect_shape(what: &str, v: &ValueInfo, shape: &[usize]) -> ShapeResult<()> {
    if v.shape != shape {
        return Err(format!(
            "{what} must have shape {}, got {}",
            shape_string(shape),
            shape_string(&v.shape)
        ));
    }
    Ok(())
}

fn reduce_shape(shape: &[usize], axes: &[i64], keepdims: bool) -> ShapeResult<Shape> {
    let mut reduced = vec![false; shape.len()];
    if axes.is_empty() {
        reduced.iter_mut().for_each(|r| *r = true);
    }
    for &a in axes {
        let a = dim_axis("a reduction over an axis", a, shape)?;
        if reduced[a] && !axes.is_empty() {
            return Err(format!("axis {a} is listed twice"));
        }
        reduced[a] = true;
    }
    Ok(shape
        .iter()
        .zip(&reduced)
        .filter_map(|(&d, &r)| match (r, keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect())
}

fn reshape(input: &[usize], target: &[i64]) -> ShapeResult<Shape> {
    let total = numel(input);
    let mut out = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            -1 if infer_at.is_none() => {
                infer_at = Some(i);
                out.push(1);
            }
            -1 => return Err("reshape target has more than one -1".to_string()),
            0 => out.push(*input.get(i).ok_or_else(|| {
                format!(
                    "reshape target dim {i} is 0 (copy) but the input has rank {}",
                    input.len()
                )
            })?),
            d if d > 0 => out.push(d as usize),
            d => return Err(format!("reshape target dim {d} is invalid")),
        }
    }
    let known = super::value::checked_numel(&out)
        .ok_or_else(|| format!("reshape target {target:?} is too large"))?;
    if let Some(i) = infer_at {
        if known == 0 || total % known != 0 {
            return Err(format!(
                "cannot reshape {} ({} elements) to {:?}",
                shape_string(input),
                total,
                target
            ));
        }
        out[i] = total / known;
    }
    if numel(&out) != total {
        return Err(format!(
            "cannot reshape {} ({} elements) to {:?} ({} elements)",
            shape_string(input),
            total,
            target,
            numel(&out)
        ));
    }
    Ok(out)
}

/// Python-style slice bounds: the number of elements of `start..end` by `step` in a dim of `len`.
pub fn slice_len(len: usize, start: i64, end: i64, step: i64) -> ShapeResult<usize> {
    if step <= 0 {
        return Err(format!("slice step must be positive, got {step}"));
    }
    let (s, e) = slice_bounds(len, start, end);
    Ok(if e > s {
        (e - s).div_ceil(step as usize)
    } else {
        0
    })
}

/// Clamped `[start, end)` of a slice in a dim of `len`.
pub fn slice_bounds(len: usize, start: i64, end: i64) -> (usize, usize) {
    let clamp = |i: i64| -> usize {
        let i = if i < 0 { i + len as i64 } else { i };
        i.clamp(0, len as i64) as usize
    };
    (clamp(start), clamp(end))
}

fn matmul_shape(a: &[usize], b: &[usize]) -> ShapeResult<Shape> {
    if a.is_empty() || b.is_empty() {
        return Err("mat_mul operands must have rank at least 1".to_string());
    }
    let a2: Shape = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Shape = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (k2, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != k2 {
        return Err(format!(
            "mat_mul inner dims differ: {} @ {} ({k} vs {k2})",
            shape_string(a),
            shape_string(b)
        ));
    }
    let mut out = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2])?;
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    Ok(out)
}

/// Infers the output shape and element kind of `op` applied to `inputs`. The caller has
/// checked the number of inputs against [`Op::arity`].
pub fn infer(op: &Op, inputs: &[&ValueInfo]) -> ShapeResult<(Shape, ElemKind)> {
    let x = inputs.first().copied();
    let real = |s: Shape| Ok((s, ElemKind::Real));
    if op.is_backward() {
        for (i, v) in inputs.iter().enumerate() {
            let indices = matches!(op, Op::GatherGrad { .. }) && i == 1;
            if !indices {
                expect_real(&format!("{} operand {i}", op.name()), v)?;
            }
        }
        return infer_backward(op, inputs);
    }
    match op {
        Op::Input | Op::Parameter { .. } | Op::Constant { .. } => {
            unreachable!("source ops declare their value")
        }
        Op::Conv2d {
            stride,
            padding,
            dilation,
            groups,
        } => {
            let (x, w) = (inputs[0], inputs[1]);
            expect_rank("conv2d input", x, 4)?;
            expect_rank("conv2d weight", w, 4)?;
            let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
            let (cout, cin_g, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
            if *groups == 0 || c % groups != 0 || cout % groups != 0 {
                return Err(format!(
                    "groups {groups} must divide input channels {c} and output channels {cout}"
                ));
            }
            if cin_g.checked_mul(*groups) != Some(c) {
                return Err(format!(
                    "weight expects {cin_g} input channels per group ({} in all), input has {c}",
                    cin_g as u128 * *groups as u128
                ));
            }
            if let Some(b) = inputs.get(2) {
                expect_shape("conv2d bias", b, &[cout])?;
            }
            let ho = window_out(
                h,
                kh,
                stride[0],
                pad_sum(padding[0], padding[2])?,
                dilation[0],
                false,
            )?;
            let wo = window_out(
                wd,
                kw,
                stride[1],
                pad_sum(padding[1], padding[3])?,
                dilation[1],
                false,
            )?;
            real(vec![n, cout, ho, wo])
        }
        Op::Linear => {
            let (x, w) = (inputs[0], inputs[1]);
            expect_rank("linear weight", w, 2)?;
            let inner = *x
                .shape
                .last()
                .ok_or("linear input must have rank at least 1")?;
            if inner != w.shape[1] {
                return Err(format!(
                    "linear weight {} expects {} input features, input {} has {inner}",
                    shape_string(&w.shape),
                    w.shape[1],
                    shape_string(&x.shape)
                ));
            }
            if let Some(b) = inputs.get(2) {
                expect_shape("linear bias", b, &[w.shape[0]])?;
            }
            let mut out = x.shape.clone();
            *out.last_mut().expect("rank checked") = w.shape[0];
            real(out)
        }
        Op::MatMul => real(matmul_shape(&inputs[0].shape, &inputs[1].shape)?),
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Max | Op::Min => {
            let (a, b) = (inputs[0], inputs[1]);
            let kind = if a.kind == ElemKind::Int && b.kind == ElemKind::Int {
                ElemKind::Int
            } else {
                ElemKind::Real
            };
            Ok((broadcast(&a.shape, &b.shape)?, kind))
        }
        Op::Dropout { p } if !(0.0..1.0).contains(p) => {
            Err(format!("dropout probability must be in [0, 1), got {p}"))
        }
        Op::Pow { exponent } if !exponent.is_finite() => {
            Err(format!("pow exponent must be finite, got {exponent}"))
        }
        Op::LeakyRelu { alpha } if !alpha.is_finite() => {
            Err(format!("leaky_relu alpha must be finite, got {alpha}"))
        }
        Op::Clip { min, max } if !(min.is_finite() && max.is_finite() && min <= max) => Err(
            format!("clip bounds must be finite with min <= max, got min {min}, max {max}"),
        ),
        Op::Neg | Op::Abs | Op::Identity | Op::Dropout { .. } => {
            let x = x.expect("arity checked");
            Ok((x.shape.clone(), x.kind))
        }
        Op::Relu
        | Op::LeakyRelu { .. }
        | Op::Clip { .. }
        | Op::Sigmoid
        | Op::Tanh
        | Op::Gelu { .. }
        | Op::Exp
        | Op::Log
        | Op::Reciprocal
        | Op::Sqrt
        | Op::Rsqrt
        | Op::Square
        | Op::Pow { .. } => real(x.expect("arity checked").shape.clone()),
        Op::Softmax { axis } | Op::LogSoftmax { axis } => {
            let x = x.expect("arity checked");
            normalize_axis(*axis, x.shape.len())?;
            real(x.shape.clone())
        }
        Op::MaxPool2d {
            kernel,
            stride,
            padding,
            dilation,
            ceil_mode,
            ..
        } => {
            let x = x.expect("arity checked");
            pool_shape(x, kernel, stride, padding, dilation, *ceil_mode)
        }
        Op::AvgPool2d {
            kernel,
            stride,
            padding,
            ceil_mode,
            ..
        } => {
            let x = x.expect("arity checked");
            pool_shape(x, kernel, stride, padding, &[1, 1], *ceil_mode)
        }
        Op::GlobalAvgPool => {
            let x = x.expect("arity checked");
            if x.shape.len() < 3 {
                return Err(format!(
                    "global_avg_pool needs rank 3 or more, got {}",
                    shape_string(&x.shape)
                ));
            }
            let mut out = x.shape.clone();
            let r = out.len();
            out[r - 2] = 1;
            out[r - 1] = 1;
            real(out)
        }
        Op::AdaptiveAvgPool2d { output } => {
            let x = x.expect("arity checked");
            expect_rank("adaptive_avg_pool2d input", x, 4)?;
            if output.contains(&0) {
                return Err("adaptive_avg_pool2d output size must be positive".to_string());
            }
            real(vec![x.shape[0], x.shape[1], output[0], output[1]])
        }
        Op::BatchNorm { eps } => {
            let x = inputs[0];
            if x.shape.len() < 2 {
                return Err(format!(
                    "batch_norm input needs a channel dim (rank >= 2), got {}",
                    shape_string(&x.shape)
                ));
            }
            if eps.is_nan() || *eps <= 0.0 {
                return Err(format!("batch_norm eps must be positive, got {eps}"));
            }
            let c = x.shape[1];
            for (what, v) in ["scale", "bias", "running_mean", "running_var"]
                .iter()
                .zip(&inputs[1..])
            {
                expect_shape(&format!("batch_norm {what}"), v, &[c])?;
            }
            real(x.shape.clone())
        }
        Op::LayerNorm { axis, eps, .. } => {
            let x = inputs[0];
            let a = normalize_axis(*axis, x.shape.len())?;
            if eps.is_nan() || *eps <= 0.0 {
                return Err(format!("layer_norm eps must be positive, got {eps}"));
            }
            for (what, v) in ["weight", "bias"].iter().zip(&inputs[1..]) {
                expect_shape(&format!("layer_norm {what}"), v, &x.shape[a..])?;
            }
            real(x.shape.clone())
        }
        Op::Gather { axis } => {
            let (data, idx) = (inputs[0], inputs[1]);
            if idx.kind != ElemKind::Int {
                return Err("gather indices must be integers (kind int)".to_string());
            }
            let a = dim_axis("gather data", *axis, &data.shape)?;
            let mut out = data.shape[..a].to_vec();
            out.extend(&idx.shape);
            out.extend(&data.shape[a + 1..]);
            Ok((out, data.kind))
        }
        Op::Reshape { shape } => {
            let x = x.expect("arity checked");
            Ok((reshape(&x.shape, shape)?, x.kind))
        }
        Op::Flatten { axis } => {
            let x = x.expect("arity checked");
            let a = if x.shape.is_empty() {
                0
            } else {
                normalize_axis(*axis, x.shape.len())?
            };
            let mut out = x.shape[..a].to_vec();
            out.push(numel(&x.shape[a..]));
            Ok((out, x.kind))
        }
        Op::Transpose { perm } => {
            let x = x.expect("arity checked");
            let mut seen = vec![false; x.shape.len()];
            if perm.len() != x.shape.len() {
                return Err(format!(
                    "transpose perm {:?} has {} entries, input has rank {}",
                    perm,
                    perm.len(),
                    x.shape.len()
                ));
            }
            for &p in perm {
                if p >= seen.len() || seen[p] {
                    return Err(format!("transpose perm {perm:?} is not a permutation"));
                }
                seen[p] = true;
            }
            Ok((perm.iter().map(|&p| x.shape[p]).collect(), x.kind))
        }
        Op::Concat { axis } => {
            let first = inputs[0];
            let a = dim_axis("concat", *axis, &first.shape)?;
            let mut out = first.shape.clone();
            for (i, v) in inputs.iter().enumerate().skip(1) {
                let same_rank = v.shape.len() == first.shape.len();
                let same_other = same_rank
                    && v.shape
                        .iter()
                        .zip(&first.shape)
                        .enumerate()
                        .all(|(d, (p, q))| d == a || p == q);
                if !same_other {
                    return Err(format!(
                        "concat input {i} has shape {}, which differs from {} outside axis {a}",
                        shape_string(&v.shape),
                        shape_string(&first.shape)
                    ));
                }
                out[a] = out[a]
                    .checked_add(v.shape[a])
                    .ok_or("concat output is too large")?;
            }
            Ok((out, first.kind))
        }
        Op::Slice {
            axis,
            start,
            end,
            step,
        } => {
            let x = x.expect("arity checked");
            let a = dim_axis("slice", *axis, &x.shape)?;
            let mut out = x.shape.clone();
            out[a] = slice_len(x.shape[a], *start, *end, *step)?;
            if out[a] == 0 {
                return Err(format!(
                    "slice {start}..{end} of axis {a} (length {}) is empty",
                    x.shape[a]
                ));
            }
            Ok((out, x.kind))
        }
        Op::Expand { shape } => {
            let x = x.expect("arity checked");
            let out = broadcast(&x.shape, shape)?;
            if &out != shape {
                return Err(format!(
                    "cannot expand {} to {}",
                    shape_string(&x.shape),
                    shape_string(shape)
                ));
            }
            Ok((out, x.kind))
        }
        Op::ReduceSum { axes, keepdims } | Op::ReduceMean { axes, keepdims } => {
            let x = x.expect("arity checked");
            real(reduce_shape(&x.shape, axes, *keepdims)?)
        }
        Op::ReduceMax { axes, keepdims } => {
            let x = x.expect("arity checked");
            Ok((reduce_shape(&x.shape, axes, *keepdims)?, x.kind))
        }
        Op::ArgMax { axis, keepdims } => {
            let x = x.expect("arity checked");
            Ok((reduce_shape(&x.shape, &[*axis], *keepdims)?, ElemKind::Int))
        }
        Op::ReluGrad { .. }
        | Op::GeluGrad { .. }
        | Op::MaxPool2dGrad { .. }
        | Op::AvgPool2dGrad { .. }
        | Op::ReduceMaxGrad { .. }
        | Op::Conv2dGradInput { .. }
        | Op::Conv2dGradWeight { .. }
        | Op::CrossEntropyGrad
        | Op::SumProduct { .. }
        | Op::GatherGrad { .. }
        | Op::RsqrtGrad
        | Op::BatchNormNormalizeGrad { .. }
        | Op::GradThreshold { .. } => unreachable!("backward ops are inferred above"),
        Op::BatchNormNormalize { eps } => {
            let x = x.expect("arity checked");
            check_batch_norm_input(x, *eps)?;
            real(x.shape.clone())
        }
        Op::CrossEntropy | Op::Mse => {
            let (p, t) = (inputs[0], inputs[1]);
            expect_real("loss prediction", p)?;
            if p.shape != t.shape {
                return Err(format!(
                    "{} prediction {} and target {} differ in shape",
                    op.name(),
                    shape_string(&p.shape),
                    shape_string(&t.shape)
                ));
            }
            if matches!(op, Op::CrossEntropy) && p.shape.len() != 2 {
                return Err(format!(
                    "cross_entropy expects logits of shape (N, C), got {}",
                    shape_string(&p.shape)
                ));
            }
            real(vec![])
        }
    }
}

fn expect_same_shape(what: &str, a: &ValueInfo, b: &ValueInfo) -> ShapeResult<()> {
    if a.shape != b.shape {
        return Err(format!(
            "{what}: gradient {} and input {} differ in shape",
            shape_string(&a.shape),
            shape_string(&b.shape)
        ));
    }
    Ok(())
}

/// A training-mode batch normalization input: a channel dim, positive eps.
fn check_batch_norm_input(x: &ValueInfo, eps: f64) -> ShapeResult<()> {
    expect_real("batch norm input", x)?;
    if x.shape.len() < 2 {
        return Err(format!(
            "batch norm input needs a channel dim (rank >= 2), got {}",
            shape_string(&x.shape)
        ));
    }
    if eps.is_nan() || eps <= 0.0 {
        return Err(format!("batch norm eps must be positive, got {eps}"));
    }
    Ok(())
}

fn pool_shape(
    x: &ValueInfo,
    kernel: &[usize; 2],
    stride: &[usize; 2],
    padding: &[usize; 4],
    dilation: &[usize; 2],
    ceil_mode: bool,
) -> ShapeResult<(Shape, ElemKind)> {
    if x.shape.len() < 3 {
        return Err(format!(
            "pooling needs rank 3 or more, got {}",
            shape_string(&x.shape)
        ));
    }
    for (k, p) in [
        (kernel[0], padding[0].max(padding[2])),
        (kernel[1], padding[1].max(padding[3])),
    ] {
        if p > k / 2 {
            return Err(format!("pool padding {p} exceeds half the kernel size {k}"));
        }
    }
    let r = x.shape.len();
    let mut out = x.shape.clone();
    out[r - 2] = window_out(
        x.shape[r - 2],
        kernel[0],
        stride[0],
        pad_sum(padding[0], padding[2])?,
        dilation[0],
        ceil_mode,
    )?;
    out[r - 1] = window_out(
        x.shape[r - 1],
        kernel[1],
        stride[1],
        pad_sum(padding[1], padding[3])?,
        dilation[1],
        ceil_mode,
    )?;
    Ok((out, x.kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(
            broadcast(&[8, 1, 6, 1], &[7, 1, 5]).unwrap(),
            vec![8, 7, 6, 5]
        );
        assert!(broadcast(&[3], &[4]).is_err());
    }

    #[test]
    fn matmul_handles_vectors_and_batches() {
        assert_eq!(matmul_shape(&[2, 3, 4], &[4, 5]).unwrap(), vec![2, 3, 5]);
        assert_eq!(matmul_shape(&[4], &[4, 5]).unwrap(), vec![5]);
        assert_eq!(
            matmul_shape(&[2, 1, 3, 4], &[5, 4, 2]).unwrap(),
            vec![2, 5, 3, 2]
        );
        assert!(matmul_shape(&[3, 4], &[5, 2]).is_err());
    }

    #[test]
    fn pooling_matches_pytorch_ceil_mode() {
        // torch.nn.MaxPool2d(3, 2, ceil_mode=True) on 112 -> 56 (ShuffleNet / GoogLeNet style)
        assert_eq!(window_out(112, 3, 2, 0, 1, true).unwrap(), 56);
        assert_eq!(window_out(112, 3, 2, 2, 1, false).unwrap(), 56);
        assert_eq!(window_out(6, 3, 3, 0, 1, true).unwrap(), 2);
    }

    #[test]
    fn reshape_infers_one_dim() {
        assert_eq!(reshape(&[2, 3, 4], &[0, -1]).unwrap(), vec![2, 12]);
        assert!(reshape(&[2, 3, 4], &[5, -1]).is_err());
    }

    #[test]
    fn axis_ops_reject_scalars_instead_of_panicking() {
        use crate::graph::Visibility;
        let scalar = ValueInfo::new(vec![], ElemKind::Real, Visibility::Secret);
        let ids = ValueInfo::new(vec![2], ElemKind::Int, Visibility::Secret);
        let ops = [
            Op::Concat { axis: 0 },
            Op::Slice {
                axis: 0,
                start: 0,
                end: 1,
                step: 1,
            },
            Op::ReduceSum {
                axes: vec![0],
                keepdims: false,
            },
            Op::ArgMax {
                axis: 0,
                keepdims: true,
            },
        ];
        for op in ops {
            let e = infer(&op, &[&scalar]).unwrap_err();
            assert!(
                e.ends_with("needs a tensor of rank 1 or more, got a scalar"),
                "{e}"
            );
        }
        let e = infer(&Op::Gather { axis: 0 }, &[&scalar, &ids]).unwrap_err();
        assert_eq!(
            e,
            "gather data needs a tensor of rank 1 or more, got a scalar"
        );
        // A reduction over all axes of a scalar is fine.
        let all = Op::ReduceMean {
            axes: vec![],
            keepdims: false,
        };
        assert_eq!(infer(&all, &[&scalar]).unwrap().0, Vec::<usize>::new());
    }
}
