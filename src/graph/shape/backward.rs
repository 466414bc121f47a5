//! Shape inference of the backward ops autograd builds: the gradient each produces must have
//! the shape the forward op gives its input.

use super::*;

/// Backward ops: the shape of the gradient they produce.
pub(super) fn infer_backward(op: &Op, inputs: &[&ValueInfo]) -> ShapeResult<(Shape, ElemKind)> {
    let real = |s: Shape| Ok((s, ElemKind::Real));
    match op {
        Op::ReluGrad { alpha } => {
            if !alpha.is_finite() {
                return Err(format!("relu_grad alpha must be finite, got {alpha}"));
            }
            expect_same_shape("relu_grad", inputs[0], inputs[1])?;
            real(inputs[0].shape.clone())
        }
        Op::GeluGrad { .. } => {
            expect_same_shape("gelu_grad", inputs[0], inputs[1])?;
            real(inputs[0].shape.clone())
        }
        Op::MaxPool2dGrad {
            kernel,
            stride,
            padding,
            dilation,
            ceil_mode,
        } => {
            let (g, x) = (inputs[0], inputs[1]);
            let (pooled, _) = pool_shape(x, kernel, stride, padding, dilation, *ceil_mode)?;
            expect_gradient_of("max_pool2d_grad: pooling", &x.shape, &pooled, &g.shape)?;
            real(x.shape.clone())
        }
        Op::AvgPool2dGrad {
            kernel,
            stride,
            padding,
            ceil_mode,
            input,
            ..
        } => {
            let g = inputs[0];
            if g.shape.len() < 3 {
                return Err(format!(
                    "avg_pool2d_grad needs rank 3 or more, got {}",
                    shape_string(&g.shape)
                ));
            }
            let r = g.shape.len();
            let mut x = g.shape.clone();
            x[r - 2] = input[0];
            x[r - 1] = input[1];
            let xv = ValueInfo::new(x.clone(), ElemKind::Real, g.visibility);
            let (pooled, _) = pool_shape(&xv, kernel, stride, padding, &[1, 1], *ceil_mode)?;
            expect_gradient_of("avg_pool2d_grad: pooling", &x, &pooled, &g.shape)?;
            real(x)
        }
        Op::ReduceMaxGrad { axes, keepdims } => {
            let (g, x) = (inputs[0], inputs[1]);
            let reduced = reduce_shape(&x.shape, axes, *keepdims)?;
            expect_gradient_of("reduce_max_grad: reducing", &x.shape, &reduced, &g.shape)?;
            real(x.shape.clone())
        }
        Op::Conv2dGradInput {
            stride,
            padding,
            dilation,
            groups,
            input,
        } => {
            let (g, w) = (inputs[0], inputs[1]);
            expect_rank("conv2d_grad_input gradient", g, 4)?;
            expect_rank("conv2d_grad_input weight", w, 4)?;
            let cin = w.shape[1]
                .checked_mul(*groups)
                .ok_or("conv2d_grad_input channel count is too large")?;
            let x = ValueInfo::new(
                vec![g.shape[0], cin, input[0], input[1]],
                ElemKind::Real,
                g.visibility,
            );
            let conv = Op::Conv2d {
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
                groups: *groups,
            };
            let (y, _) = infer(&conv, &[&x, w])?;
            expect_gradient_of(
                "conv2d_grad_input: the convolution of",
                &x.shape,
                &y,
                &g.shape,
            )?;
            real(x.shape)
        }
        Op::Conv2dGradWeight {
            stride,
            padding,
            dilation,
            groups,
            kernel,
        } => {
            let (x, g) = (inputs[0], inputs[1]);
            expect_rank("conv2d_grad_weight input", x, 4)?;
            expect_rank("conv2d_grad_weight gradient", g, 4)?;
            if *groups == 0 || x.shape[1] % groups != 0 {
                return Err(format!(
                    "groups {groups} must divide input channels {}",
                    x.shape[1]
                ));
            }
            let w = ValueInfo::new(
                vec![g.shape[1], x.shape[1] / groups, kernel[0], kernel[1]],
                ElemKind::Real,
                g.visibility,
            );
            let conv = Op::Conv2d {
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
                groups: *groups,
            };
            let (y, _) = infer(&conv, &[x, &w])?;
            expect_gradient_of(
                "conv2d_grad_weight: the convolution of",
                &x.shape,
                &y,
                &g.shape,
            )?;
            real(w.shape)
        }
        Op::CrossEntropyGrad => {
            let (p, t) = (inputs[0], inputs[1]);
            let (shape, _) = infer(&Op::CrossEntropy, &[p, t])?;
            debug_assert!(shape.is_empty());
            real(p.shape.clone())
        }
        Op::SumProduct { axes, keepdims } => {
            let (a, b) = (inputs[0], inputs[1]);
            let full = broadcast(&a.shape, &b.shape)?;
            real(reduce_shape(&full, axes, *keepdims)?)
        }
        Op::GatherGrad { axis, size } => {
            let (g, idx) = (inputs[0], inputs[1]);
            if idx.kind != ElemKind::Int {
                return Err("gather_grad indices must be integers (kind int)".to_string());
            }
            if *size == 0 {
                return Err("gather_grad size must be positive".to_string());
            }
            // grad = data[..axis] ++ idx ++ data[axis+1..]
            let k = idx.shape.len();
            let data_rank = (g.shape.len() + 1)
                .checked_sub(k)
                .filter(|&r| r >= 1)
                .ok_or_else(|| {
                    format!(
                        "gather_grad gradient {} is too small for indices {}",
                        shape_string(&g.shape),
                        shape_string(&idx.shape)
                    )
                })?;
            let a = normalize_axis(*axis, data_rank)?;
            if g.shape[a..a + k] != idx.shape[..] {
                return Err(format!(
                    "gather_grad gradient {} does not hold indices {} at axis {a}",
                    shape_string(&g.shape),
                    shape_string(&idx.shape)
                ));
            }
            let mut out = g.shape[..a].to_vec();
            out.push(*size);
            out.extend(&g.shape[a + k..]);
            real(out)
        }
        Op::RsqrtGrad => {
            expect_same_shape("rsqrt_grad", inputs[0], inputs[1])?;
            expect_same_shape("rsqrt_grad", inputs[0], inputs[2])?;
            real(inputs[0].shape.clone())
        }
        Op::BatchNormNormalizeGrad { eps } => {
            check_batch_norm_input(inputs[1], *eps)?;
            expect_same_shape("batch_norm_normalize_grad", inputs[0], inputs[1])?;
            real(inputs[0].shape.clone())
        }
        Op::GradThreshold { threshold } => {
            if !threshold.is_finite() || *threshold <= 0.0 {
                return Err(format!(
                    "grad_threshold threshold must be positive, got {threshold}"
                ));
            }
            real(inputs[0].shape.clone())
        }
        _ => unreachable!("not a backward op"),
    }
}

/// A backward op's gradient must have the shape the forward op gives its input: `what` names
/// the op and the forward step (`max_pool2d_grad: pooling`).
fn expect_gradient_of(
    what: &str,
    input: &[usize],
    forward: &[usize],
    gradient: &[usize],
) -> ShapeResult<()> {
    if forward != gradient {
        return Err(format!(
            "{what} {} gives {}, the gradient is {}",
            shape_string(input),
            shape_string(forward),
            shape_string(gradient)
        ));
    }
    Ok(())
}
