//! One IR node written as ONNX: its primary node and the helper nodes of its ONNX form
//! (shape constants, the Erf GELU chain, a decomposed LayerNorm, ...).

use super::*;

impl Exporter<'_, '_> {
    pub(super) fn export_node(&mut self, id: NodeId) -> R<()> {
        let g = self.g;
        let n = g.node(id);
        let scope = node_scope(&n.module);
        let mut marker = Marker {
            phase: (n.phase != Phase::Forward).then_some(n.phase),
            ..Marker::default()
        };
        match &n.op {
            Op::Input => {
                marker.module = (!n.module.is_empty()).then(|| n.module.clone());
                marker.visibility =
                    (n.value.visibility != Visibility::Secret).then_some(n.value.visibility);
                let doc = (marker != Marker::default()).then(|| marker.to_doc());
                self.inputs
                    .push(value_info(&n.name, n.value.kind, &n.value.shape, doc));
                self.values.insert(id, n.name.clone());
                return Ok(());
            }
            Op::Parameter { role } => {
                marker.module = Some(n.module.clone());
                marker.role = Some(*role);
                marker.visibility =
                    (n.value.visibility != Visibility::Secret).then_some(n.value.visibility);
                if n.value.kind != ElemKind::Real {
                    return Err(format!(
                        "parameter '{}' has kind int; parameters are real",
                        n.name
                    ));
                }
                let t = self.initializer(id, marker.to_doc())?;
                self.inits.push(t);
                self.values.insert(id, n.name.clone());
                return Ok(());
            }
            _ => {}
        }
        let ins = g.inputs(id);
        let out_kind = n.value.kind;
        let mut vals = Vec::with_capacity(ins.len());
        for (slot, &i) in ins.iter().enumerate() {
            let keep_kind = matches!(
                (&n.op, slot),
                (Op::Gather { .. }, 1) | (Op::ArgMax { .. }, _)
            );
            let want = if keep_kind {
                g.node(i).value.kind
            } else {
                out_kind
            };
            vals.push(self.operand(&scope, i, want));
        }
        let shape = &n.value.shape;
        let in_shape = |k: usize| g.node(ins[k]).value.shape.clone();
        let lossy = |v: f64| !survives_f32(v);
        let mut exact_op = false;
        let mut op_inputs = None;
        let e: Emit = match &n.op {
            Op::Input | Op::Parameter { .. } => unreachable!("handled above"),
            Op::Constant { value } => {
                marker.visibility =
                    (n.value.visibility != Visibility::Public).then_some(n.value.visibility);
                let int = out_kind == ElemKind::Int;
                let fits = |v: f64| if int { v.fract() == 0.0 } else { !lossy(v) };
                let fill = |s: &mut Self, v: f64| {
                    let dims = s.const_i64(&scope, vec![shape.len() as i64], &us(shape));
                    let value = if int {
                        tensor_i64(vec![1], &[v as i64])
                    } else {
                        tensor_f32(vec![1], &[v])
                    };
                    (dims, value)
                };
                match value {
                    ConstValue::Fill(v) => {
                        exact_op = !fits(*v);
                        let (dims, value) = fill(self, *v);
                        emit(
                            "ConstantOfShape",
                            vec![dims],
                            vec![attr_tensor("value", value)],
                        )
                    }
                    ConstValue::Data(v) => {
                        exact_op = !v.iter().all(|&x| fits(x));
                        let t = if int {
                            tensor_i64(us(shape), &v.iter().map(|&x| x as i64).collect::<Vec<_>>())
                        } else {
                            tensor_f32(us(shape), v)
                        };
                        emit("Constant", vec![], vec![attr_tensor("value", t)])
                    }
                    ConstValue::CausalMask(v) => {
                        exact_op = !fits(*v) || int;
                        let (dims, value) = fill(self, *v);
                        let filled = self.helper(
                            &scope,
                            emit(
                                "ConstantOfShape",
                                vec![dims],
                                vec![attr_tensor("value", value)],
                            ),
                        );
                        let k = self.const_i64(&scope, vec![], &[1]);
                        emit("Trilu", vec![filled, k], vec![attr_int("upper", 1)])
                    }
                }
            }
            Op::Conv2d {
                stride,
                padding,
                dilation,
                groups,
            } => {
                let w = in_shape(1);
                emit(
                    "Conv",
                    vals,
                    vec![
                        attr_ints("dilations", us(dilation)),
                        attr_int("group", *groups as i64),
                        attr_ints("kernel_shape", us(&w[2..])),
                        attr_ints("pads", us(padding)),
                        attr_ints("strides", us(stride)),
                    ],
                )
            }
            Op::Linear => {
                if in_shape(0).len() == 2 {
                    emit(
                        "Gemm",
                        vals,
                        vec![
                            attr_float("alpha", 1.0),
                            attr_float("beta", 1.0),
                            attr_int("transB", 1),
                        ],
                    )
                } else {
                    let wt = self.helper(
                        &scope,
                        emit(
                            "Transpose",
                            vec![vals[1].clone()],
                            vec![attr_ints("perm", vec![1, 0])],
                        ),
                    );
                    let mm = emit("MatMul", vec![vals[0].clone(), wt], vec![]);
                    match vals.get(2) {
                        None => mm,
                        Some(b) => {
                            let y = self.helper(&scope, mm);
                            emit("Add", vec![b.clone(), y], vec![])
                        }
                    }
                }
            }
            Op::MatMul => emit("MatMul", vals, vec![]),
            Op::Add => emit("Add", vals, vec![]),
            Op::Sub => emit("Sub", vals, vec![]),
            Op::Mul => emit("Mul", vals, vec![]),
            Op::Div => emit("Div", vals, vec![]),
            Op::Max => emit("Max", vals, vec![]),
            Op::Min => emit("Min", vals, vec![]),
            Op::Neg => emit("Neg", vals, vec![]),
            Op::Relu => emit("Relu", vals, vec![]),
            Op::Sigmoid => emit("Sigmoid", vals, vec![]),
            Op::Tanh => emit("Tanh", vals, vec![]),
            Op::Exp => emit("Exp", vals, vec![]),
            Op::Log => emit("Log", vals, vec![]),
            Op::Reciprocal => emit("Reciprocal", vals, vec![]),
            Op::Sqrt => emit("Sqrt", vals, vec![]),
            Op::Abs => emit("Abs", vals, vec![]),
            Op::Identity => emit("Identity", vals, vec![]),
            Op::Clip { min, max } => {
                exact_op = lossy(*min) || lossy(*max);
                op_inputs = Some(1);
                let lo = self.const_f32(&scope, *min);
                let hi = self.const_f32(&scope, *max);
                emit("Clip", vec![vals[0].clone(), lo, hi], vec![])
            }
            Op::LeakyRelu { alpha } => {
                exact_op = lossy(*alpha);
                emit("LeakyRelu", vals, vec![attr_float("alpha", *alpha)])
            }
            Op::Gelu { approximate: false } => {
                let x = vals[0].clone();
                let sqrt2 = self.const_f32(&scope, std::f64::consts::SQRT_2);
                let d = self.helper(&scope, emit("Div", vec![x.clone(), sqrt2], vec![]));
                let erf = self.helper(&scope, emit("Erf", vec![d], vec![]));
                let one = self.const_f32(&scope, 1.0);
                let a = self.helper(&scope, emit("Add", vec![erf, one], vec![]));
                let m = self.helper(&scope, emit("Mul", vec![x, a], vec![]));
                let half = self.const_f32(&scope, 0.5);
                emit("Mul", vec![m, half], vec![])
            }
            Op::Gelu { approximate: true } => {
                let x = vals[0].clone();
                let sq = self.helper(&scope, emit("Mul", vec![x.clone(), x.clone()], vec![]));
                let cube = self.helper(&scope, emit("Mul", vec![x.clone(), sq], vec![]));
                let kappa = self.const_f32(&scope, 0.044715);
                let kc = self.helper(&scope, emit("Mul", vec![kappa, cube], vec![]));
                let inner = self.helper(&scope, emit("Add", vec![x.clone(), kc], vec![]));
                let beta = self.const_f32(&scope, (2.0 / std::f64::consts::PI).sqrt());
                let u = self.helper(&scope, emit("Mul", vec![beta, inner], vec![]));
                let t = self.helper(&scope, emit("Tanh", vec![u], vec![]));
                let one = self.const_f32(&scope, 1.0);
                let a = self.helper(&scope, emit("Add", vec![one, t], vec![]));
                let m = self.helper(&scope, emit("Mul", vec![x, a], vec![]));
                let half = self.const_f32(&scope, 0.5);
                emit("Mul", vec![half, m], vec![])
            }
            Op::Rsqrt => {
                let s = self.helper(&scope, emit("Sqrt", vals, vec![]));
                emit("Reciprocal", vec![s], vec![])
            }
            Op::Square => {
                let two = self.const_f32(&scope, 2.0);
                emit("Pow", vec![vals[0].clone(), two], vec![])
            }
            Op::Pow { exponent } => {
                exact_op = lossy(*exponent) || *exponent == 2.0;
                op_inputs = Some(1);
                let e = self.const_f32(&scope, *exponent);
                emit("Pow", vec![vals[0].clone(), e], vec![])
            }
            Op::Softmax { axis } => emit("Softmax", vals, vec![attr_int("axis", *axis)]),
            Op::LogSoftmax { axis } => emit("LogSoftmax", vals, vec![attr_int("axis", *axis)]),
            Op::MaxPool2d { .. } | Op::AvgPool2d { .. } | Op::AdaptiveAvgPool2d { .. }
                if in_shape(0).len() != 4 =>
            {
                // ONNX pools over every dim after N and C: on other ranks the same node would
                // pool over a different number of dims.
                return Err(format!(
                    "{} over a rank-{} input cannot be written as ONNX (pooling needs an NCHW input)",
                    n.op.name(),
                    in_shape(0).len()
                ));
            }
            Op::MaxPool2d {
                kernel,
                stride,
                padding,
                dilation,
                ceil_mode,
                ..
            } => emit(
                "MaxPool",
                vals,
                vec![
                    attr_int("ceil_mode", *ceil_mode as i64),
                    attr_ints("dilations", us(dilation)),
                    attr_ints("kernel_shape", us(kernel)),
                    attr_ints("pads", us(padding)),
                    attr_ints("strides", us(stride)),
                ],
            ),
            Op::AvgPool2d {
                kernel,
                stride,
                padding,
                ceil_mode,
                count_include_pad,
            } => emit(
                "AveragePool",
                vals,
                vec![
                    attr_int("ceil_mode", *ceil_mode as i64),
                    attr_int("count_include_pad", *count_include_pad as i64),
                    attr_ints("kernel_shape", us(kernel)),
                    attr_ints("pads", us(padding)),
                    attr_ints("strides", us(stride)),
                ],
            ),
            Op::GlobalAvgPool => {
                if in_shape(0).len() == 4 {
                    emit("GlobalAveragePool", vals, vec![])
                } else {
                    exact_op = true;
                    emit(
                        "ReduceMean",
                        vals,
                        vec![attr_ints("axes", vec![-2, -1]), attr_int("keepdims", 1)],
                    )
                }
            }
            Op::AdaptiveAvgPool2d { output } => {
                exact_op = true;
                let x = in_shape(0);
                if *output == [1, 1] {
                    emit("GlobalAveragePool", vals, vec![])
                } else {
                    // Exact when the input divides evenly (torch's own export needs that);
                    // otherwise a pool of the same output size.
                    let (h, w) = (x[2], x[3]);
                    let s = [(h / output[0]).max(1), (w / output[1]).max(1)];
                    let k = [
                        h.saturating_sub((output[0] - 1) * s[0]).max(1),
                        w.saturating_sub((output[1] - 1) * s[1]).max(1),
                    ];
                    emit(
                        "AveragePool",
                        vals,
                        vec![
                            attr_ints("kernel_shape", us(&k)),
                            attr_ints("strides", us(&s)),
                        ],
                    )
                }
            }
            Op::BatchNorm { eps } => {
                exact_op = lossy(*eps);
                emit(
                    "BatchNormalization",
                    vals,
                    vec![attr_float("epsilon", *eps)],
                )
            }
            Op::LayerNorm { axis, eps, form } if *form != NormForm::Fused => {
                // The decomposed form the input had (torch below opset 17), written out: loaders
                // without LayerNormalization (CrypTen's from_onnx) read it, and import fuses it
                // back into this op.
                let x = in_shape(0);
                let a = crate::graph::normalize_axis(*axis, x.len())?;
                // in the sign the op has, as the import reads it back (`axis -1` is `[-1]`)
                let rank = if *axis < 0 { x.len() as i64 } else { 0 };
                let axes: Vec<i64> = (a..x.len()).map(|d| d as i64 - rank).collect();
                let reduce =
                    |v: String| emit("ReduceMean", vec![v], vec![attr_ints("axes", axes.clone())]);
                let mean = self.helper(&scope, reduce(vals[0].clone()));
                let d = self.helper(&scope, emit("Sub", vec![vals[0].clone(), mean], vec![]));
                let square = if *form == NormForm::DecomposedMul {
                    emit("Mul", vec![d.clone(), d.clone()], vec![])
                } else {
                    let two = self.const_f32(&scope, 2.0);
                    emit("Pow", vec![d.clone(), two], vec![])
                };
                let square = self.helper(&scope, square);
                let var = self.helper(&scope, reduce(square));
                let e = self.const_f32(&scope, *eps);
                let var_eps = self.helper(&scope, emit("Add", vec![var, e], vec![]));
                let sd = self.helper(&scope, emit("Sqrt", vec![var_eps], vec![]));
                let div = emit("Div", vec![d, sd], vec![]);
                match vals.len() {
                    1 => div,
                    2 => {
                        let normed = self.helper(&scope, div);
                        emit("Mul", vec![normed, vals[1].clone()], vec![])
                    }
                    _ => {
                        let normed = self.helper(&scope, div);
                        let scaled =
                            self.helper(&scope, emit("Mul", vec![normed, vals[1].clone()], vec![]));
                        emit("Add", vec![scaled, vals[2].clone()], vec![])
                    }
                }
            }
            Op::LayerNorm { axis, eps, .. } => {
                exact_op = lossy(*eps);
                op_inputs = Some(ins.len());
                let mut vals = vals;
                if vals.len() == 1 {
                    let x = in_shape(0);
                    let a = crate::graph::normalize_axis(*axis, x.len())?;
                    let dims = self.const_i64(&scope, vec![(x.len() - a) as i64], &us(&x[a..]));
                    let ones = self.helper(
                        &scope,
                        emit(
                            "ConstantOfShape",
                            vec![dims],
                            vec![attr_tensor("value", tensor_f32(vec![1], &[1.0]))],
                        ),
                    );
                    vals.push(ones);
                }
                emit(
                    "LayerNormalization",
                    vals,
                    vec![attr_int("axis", *axis), attr_float("epsilon", *eps)],
                )
            }
            Op::Gather { axis } => emit("Gather", vals, vec![attr_int("axis", *axis)]),
            Op::Reshape { shape: target } => {
                let s = self.const_i64(&scope, vec![target.len() as i64], target);
                emit("Reshape", vec![vals[0].clone(), s], vec![])
            }
            Op::Flatten { axis } => {
                if *axis == 1 {
                    emit("Flatten", vals, vec![attr_int("axis", 1)])
                } else {
                    exact_op = true;
                    op_inputs = Some(1);
                    let s = self.const_i64(&scope, vec![shape.len() as i64], &us(shape));
                    emit("Reshape", vec![vals[0].clone(), s], vec![])
                }
            }
            Op::Transpose { perm } => emit("Transpose", vals, vec![attr_ints("perm", us(perm))]),
            Op::Concat { axis } => emit("Concat", vals, vec![attr_int("axis", *axis)]),
            Op::Slice {
                axis,
                start,
                end,
                step,
            } => {
                let s = self.const_i64(&scope, vec![1], &[*start]);
                let e = self.const_i64(&scope, vec![1], &[*end]);
                let a = self.const_i64(&scope, vec![1], &[*axis]);
                let st = self.const_i64(&scope, vec![1], &[*step]);
                emit("Slice", vec![vals[0].clone(), s, e, a, st], vec![])
            }
            Op::Expand { shape: target } => {
                let s = self.const_i64(&scope, vec![target.len() as i64], &us(target));
                emit("Expand", vec![vals[0].clone(), s], vec![])
            }
            Op::ReduceSum { axes, keepdims } => {
                let mut ins = vec![vals[0].clone()];
                if !axes.is_empty() {
                    ins.push(self.const_i64(&scope, vec![axes.len() as i64], axes));
                }
                emit(
                    "ReduceSum",
                    ins,
                    vec![attr_int("keepdims", *keepdims as i64)],
                )
            }
            Op::ReduceMean { axes, keepdims } | Op::ReduceMax { axes, keepdims } => {
                let mut attrs = vec![attr_int("keepdims", *keepdims as i64)];
                if !axes.is_empty() {
                    attrs.push(attr_ints("axes", axes.clone()));
                }
                let t = if matches!(n.op, Op::ReduceMean { .. }) {
                    "ReduceMean"
                } else {
                    "ReduceMax"
                };
                emit(t, vals, attrs)
            }
            Op::ArgMax { axis, keepdims } => emit(
                "ArgMax",
                vals,
                vec![
                    attr_int("axis", *axis),
                    attr_int("keepdims", *keepdims as i64),
                ],
            ),
            Op::Dropout { p } => {
                exact_op = lossy(*p);
                op_inputs = Some(1);
                let r = self.const_f32(&scope, *p);
                emit("Dropout", vec![vals[0].clone(), r], vec![])
            }
            Op::CrossEntropy | Op::Mse => {
                let f = if matches!(n.op, Op::Mse) {
                    "Mse"
                } else {
                    "CrossEntropy"
                };
                if !self.functions.contains(&f) {
                    self.functions.push(f);
                }
                emit(f, vals, vec![])
            }
            // The training-step ops (backward ops, batch-statistics batch norm) have no ONNX form.
            op => {
                return Err(format!(
                    "node '{}': '{}' is a training-step op with no ONNX form; export the \
                     forward model",
                    n.name,
                    op.name()
                ))
            }
        };
        if exact_op {
            marker.op = Some(n.op.clone());
            marker.inputs = if n.op.is_source() { None } else { op_inputs };
        }
        // The primary node: the IR name when it already is a PyTorch-style name of its module
        // (`/a/b/Op`), else a generated one.
        let onnx_name = if n.name.starts_with('/') && module_of_node(&n.name) == n.module {
            n.name.clone()
        } else {
            self.fresh_node(&format!("{scope}{}", e.op_type))
        };
        if onnx_name != n.name {
            marker.name = Some(n.name.clone());
        }
        if module_of_node(&onnx_name) != n.module {
            marker.module = Some(n.module.clone());
        }
        let out = self.push(onnx_name, e, Some(marker.to_doc()));
        self.value_infos
            .push(value_info(&out, out_kind, shape, None));
        self.values.insert(id, out);
        Ok(())
    }
}
