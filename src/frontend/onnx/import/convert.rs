//! One ONNX node (or fused pattern) converted to IR nodes: constant inputs are folded at
//! import time, everything else maps to IR ops with their attributes checked.

use super::*;

impl<'m> Importer<'m> {
    pub(super) fn convert(&mut self, n: &ONode) -> R<()> {
        let c = self.cur(n);
        if let Some(f) = &n.fused {
            let mut ins = Vec::new();
            for v in &n.inputs {
                ins.push(self.data(v)?);
            }
            let op = match f {
                FusedOp::Ir(op) => op.clone(),
                FusedOp::LayerNorm { axes, eps, form } => {
                    let r = self.g.node(ins[0]).value.shape.len();
                    let mut ax: Vec<usize> = axes.iter().map(|&a| axis(a, r)).collect::<R<_>>()?;
                    ax.sort_unstable();
                    if ax.is_empty() || ax.iter().enumerate().any(|(i, &a)| a != r - ax.len() + i) {
                        return Err(format!(
                            "decomposed layer norm over axes {axes:?} is not over the last dims"
                        ));
                    }
                    let axis = if axes.iter().all(|&a| a < 0) {
                        -(ax.len() as i64)
                    } else {
                        ax[0] as i64
                    };
                    Op::LayerNorm {
                        axis,
                        eps: *eps,
                        form: *form,
                    }
                }
            };
            let id = self.add(&c, None, op, &ins)?;
            self.set_out(n, id);
            return Ok(());
        }
        if let Some(op) = n.marker.as_ref().and_then(|m| m.op.clone()) {
            let k = n
                .marker
                .as_ref()
                .and_then(|m| m.inputs)
                .unwrap_or(n.inputs.len());
            let mut ins = Vec::new();
            for slot in 0..k.min(n.inputs.len()) {
                if !op.is_source() {
                    ins.push(self.input_data(n, slot)?);
                }
            }
            let id = if op.is_source() {
                let t = self
                    .fold_node(n)?
                    .into_iter()
                    .next()
                    .ok_or("produces nothing")?;
                let kind = if t.is_int() {
                    ElemKind::Int
                } else {
                    ElemKind::Real
                };
                let name = self.g.fresh_name(&c.base);
                self.g.set_phase(c.phase);
                let r = self.g.add_source(
                    name,
                    c.module.clone(),
                    op,
                    ValueInfo::new(t.dims.clone(), kind, c.visibility),
                );
                self.g.set_phase(Phase::Forward);
                r.map_err(graph_reason)?
            } else {
                self.add(&c, None, op, &ins)?
            };
            self.set_out(n, id);
            return Ok(());
        }
        let primary = n.marker.is_some();
        let op = n.op_type.as_str();
        if n.domain == HAWKEYE_DOMAIN {
            let op = match op {
                "CrossEntropy" => Op::CrossEntropy,
                _ => Op::Mse,
            };
            let (a, b) = (self.input_data(n, 0)?, self.input_data(n, 1)?);
            let id = self.add(&c, None, op, &[a, b])?;
            self.set_out(n, id);
            return Ok(());
        }
        // Shapes are static: Shape and Size are constants.
        if op == "Shape" || op == "Size" {
            let dims = self.shape_of(n.inputs.first().ok_or("has no input")?)?;
            let t = if op == "Size" {
                Tensor::scalar_i(dims.iter().product::<usize>() as i64)
            } else {
                let r = dims.len() as i64;
                let clampi = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
                let s = clampi(Attrs(&n.attrs).int_or("start", 0));
                let e = clampi(Attrs(&n.attrs).int_or("end", r));
                Tensor::vec_i(dims[s..e.max(s)].iter().map(|&d| d as i64).collect())
            };
            self.set_consts(n, &c, vec![t], false)?;
            return Ok(());
        }
        if op == "Constant" {
            let t = constant_attr(Attrs(&n.attrs))?;
            self.set_consts(n, &c, vec![t], primary)?;
            return Ok(());
        }
        let present: Vec<&String> = n.inputs.iter().filter(|v| !v.is_empty()).collect();
        // Constants that are IR nodes of their own (exported IR constants) are not folded on.
        let all_const = !present.is_empty()
            && present.iter().all(|v| {
                matches!(self.vals.get(*v), Some(Val::Const(..))) && !self.eager.contains(*v)
            });
        let const_producer = matches!(op, "ConstantOfShape" | "Trilu" | "Range");
        if all_const && is_foldable(op) && (!primary || const_producer) {
            let ts = self.fold_node(n)?;
            self.set_consts(n, &c, ts, primary)?;
            return Ok(());
        }
        if op == "Cast" {
            // A no-op on the IR's element kinds (ints and reals are both ring elements).
            let input = n.inputs.first().ok_or("has no input")?;
            let v = match self.const_nodes.get(input) {
                Some(&id) if self.eager.contains(input) => Val::Node(id),
                _ => self.val(input)?.clone(),
            };
            if let Some(o) = n.outputs.first() {
                self.vals.insert(o.clone(), v);
            }
            return Ok(());
        }
        if op != "Split" {
            self.single_output(n)?;
        }
        let id = self.convert_op(n, &c)?;
        self.set_out(n, id);
        Ok(())
    }

    fn fold_node(&self, n: &ONode) -> R<Vec<Tensor>> {
        if n.op_type == "Constant" {
            return Ok(vec![constant_attr(Attrs(&n.attrs))?]);
        }
        let ts: Vec<Option<Rc<Tensor>>> = n
            .inputs
            .iter()
            .map(|v| if v.is_empty() { None } else { self.konst(v) })
            .collect();
        let refs: Vec<Option<&Tensor>> = ts.iter().map(|t| t.as_deref()).collect();
        fold(
            &n.op_type,
            Attrs(&n.attrs),
            &refs,
            n.outputs.len(),
            self.opset,
        )
    }

    fn set_consts(&mut self, n: &ONode, c: &Cur, ts: Vec<Tensor>, eager: bool) -> R<()> {
        for (i, (o, t)) in n.outputs.iter().zip(ts).enumerate() {
            if o.is_empty() {
                continue;
            }
            let origin = Origin {
                name: if i == 0 {
                    c.base.clone()
                } else {
                    format!("{}:{i}", c.base)
                },
                module: c.module.clone(),
                phase: c.phase,
                visibility: c.visibility,
            };
            self.vals
                .insert(o.clone(), Val::Const(Rc::new(t), Rc::new(origin)));
            if eager && i == 0 {
                self.data(o)?;
                self.eager.insert(o.clone());
            }
        }
        Ok(())
    }

    fn convert_op(&mut self, n: &ONode, c: &Cur) -> R<NodeId> {
        let a = Attrs(&n.attrs);
        let op = n.op_type.as_str();
        let opset = self.opset;
        let unary = |o: &str| -> Option<Op> {
            Some(match o {
                "Sqrt" => Op::Sqrt,
                "Reciprocal" => Op::Reciprocal,
                "Exp" => Op::Exp,
                "Log" => Op::Log,
                "Neg" => Op::Neg,
                "Abs" => Op::Abs,
                "Relu" => Op::Relu,
                "Sigmoid" => Op::Sigmoid,
                "Tanh" => Op::Tanh,
                "Identity" => Op::Identity,
                _ => return None,
            })
        };
        if let Some(u) = unary(op) {
            let x = self.input_data(n, 0)?;
            return self.add(c, None, u, &[x]);
        }
        match op {
            "Add" | "Sub" | "Mul" | "Div" => {
                let (x, y) = (self.input_data(n, 0)?, self.input_data(n, 1)?);
                let o = match op {
                    "Add" => Op::Add,
                    "Sub" => Op::Sub,
                    "Mul" => Op::Mul,
                    _ => Op::Div,
                };
                self.add(c, None, o, &[x, y])
            }
            "Max" | "Min" => {
                let ins: Vec<String> = n.inputs.iter().filter(|v| !v.is_empty()).cloned().collect();
                let mut acc = self.data(ins.first().ok_or("has no inputs")?)?;
                if ins.len() == 1 {
                    return self.add(c, None, Op::Identity, &[acc]);
                }
                for (k, v) in ins.iter().enumerate().skip(1) {
                    let y = self.data(v)?;
                    let o = if op == "Max" { Op::Max } else { Op::Min };
                    let suffix = (k + 1 < ins.len()).then(|| k.to_string());
                    acc = self.add(c, suffix.as_deref(), o, &[acc, y])?;
                }
                Ok(acc)
            }
            "Pow" => {
                let e = self.need_const(n, 1, "exponent")?;
                let e = e.scalar().ok_or("Pow with a non-scalar exponent is not supported")?;
                let x = self.input_data(n, 0)?;
                let o = if e == 2.0 { Op::Square } else { Op::Pow { exponent: e } };
                self.add(c, None, o, &[x])
            }
            "LeakyRelu" => {
                let x = self.input_data(n, 0)?;
                self.add(c, None, Op::LeakyRelu { alpha: a.float_or("alpha", 0.01) }, &[x])
            }
            "Gelu" => {
                let approximate = match a.string("approximate").as_deref() {
                    None | Some("none") => false,
                    Some("tanh") => true,
                    Some(s) => return Err(format!("unsupported attribute value approximate='{s}'")),
                };
                let x = self.input_data(n, 0)?;
                self.add(c, None, Op::Gelu { approximate }, &[x])
            }
            "Erf" => Err("Erf is supported only as part of the exact GELU pattern".to_string()),
            "Softmax" | "LogSoftmax" => {
                let x = self.input_data(n, 0)?;
                let dims = self.g.node(x).value.shape.clone();
                let r = dims.len();
                let make = |axis| if op == "Softmax" { Op::Softmax { axis } } else { Op::LogSoftmax { axis } };
                if opset >= 13 {
                    return self.add(c, None, make(a.int_or("axis", -1)), &[x]);
                }
                // Opsets < 13 normalise over all dims from `axis` on (as a 2-D flatten).
                let ax = a.int_or("axis", 1);
                let k = if ax < 0 { ax + r as i64 } else { ax };
                if k < 0 || k > r as i64 {
                    return Err(format!("axis {ax} is out of range for rank {r}"));
                }
                let k = k as usize;
                if k + 1 >= r {
                    return self.add(c, None, make(ax), &[x]);
                }
                let flat = vec![dims[..k].iter().product::<usize>() as i64, -1];
                let f = self.add(c, Some("flatten"), Op::Reshape { shape: flat }, &[x])?;
                let s = self.add(c, Some(&op.to_lowercase()), make(-1), &[f])?;
                let back = dims.iter().map(|&d| d as i64).collect();
                self.add(c, None, Op::Reshape { shape: back }, &[s])
            }
            "Conv" => {
                let x = self.input_data(n, 0)?;
                let w = self.input_data(n, 1)?;
                let b = self.opt_data(n, 2)?;
                let (xs, ws) = (self.g.node(x).value.shape.clone(), self.g.node(w).value.shape.clone());
                if xs.len() != 4 || ws.len() != 4 {
                    return Err(format!(
                        "only 2-D convolution is supported (input {}, weight {})",
                        shape_string(&xs),
                        shape_string(&ws)
                    ));
                }
                if let Some(k) = a.ints("kernel_shape") {
                    if k != [ws[2] as i64, ws[3] as i64] {
                        return Err(format!("kernel_shape {k:?} does not match weight {}", shape_string(&ws)));
                    }
                }
                let stride = pair(a.ints("strides"), "strides")?;
                let dilation = pair(a.ints("dilations"), "dilations")?;
                let kernel = [ws[2], ws[3]];
                let padding = pads(a, &xs[2..], kernel, stride, dilation)?;
                let groups = a.int_or("group", 1);
                if !(1..=1 << 24).contains(&groups) {
                    return Err(format!("unsupported attribute value group={groups}"));
                }
                let op = Op::Conv2d {
                    stride,
                    padding,
                    dilation,
                    groups: groups as usize,
                };
                let mut ins = vec![x, w];
                ins.extend(b);
                self.add(c, None, op, &ins)
            }
            "Gemm" => {
                let (ta, tb) = (a.int_or("transA", 0) != 0, a.int_or("transB", 0) != 0);
                let (alpha, beta) = (a.float_or("alpha", 1.0), a.float_or("beta", 1.0));
                let mut x = self.input_data(n, 0)?;
                let w = self.input_data(n, 1)?;
                let bias = self.opt_data(n, 2)?;
                if ta {
                    x = self.add(c, Some("transA"), Op::Transpose { perm: vec![1, 0] }, &[x])?;
                }
                let wshape = self.g.node(w).value.shape.clone();
                let bias_fits = bias.is_none_or(|b| wshape.len() == 2 && self.g.node(b).value.shape == [wshape[0]]);
                if tb && alpha == 1.0 && (bias.is_none() || beta == 1.0) && bias_fits {
                    let mut ins = vec![x, w];
                    ins.extend(bias);
                    return self.add(c, None, Op::Linear, &ins);
                }
                let w = if tb { self.add(c, Some("transB"), Op::Transpose { perm: vec![1, 0] }, &[w])? } else { w };
                let last_is_mm = bias.is_none() && alpha == 1.0;
                let mut y = self.add(c, if last_is_mm { None } else { Some("matmul") }, Op::MatMul, &[x, w])?;
                if alpha != 1.0 {
                    let k = self.scalar(c, "alpha", alpha)?;
                    y = self.add(c, if bias.is_none() { None } else { Some("scale") }, Op::Mul, &[y, k])?;
                }
                if let Some(mut b) = bias {
                    if beta != 1.0 {
                        let k = self.scalar(c, "beta", beta)?;
                        b = self.add(c, Some("scale_c"), Op::Mul, &[b, k])?;
                    }
                    y = self.add(c, None, Op::Add, &[y, b])?;
                }
                Ok(y)
            }
            "MatMul" => {
                let (x, y) = (self.input_data(n, 0)?, self.input_data(n, 1)?);
                self.add(c, None, Op::MatMul, &[x, y])
            }
            "MaxPool" | "AveragePool" => {
                let x = self.input_data(n, 0)?;
                let xs = self.g.node(x).value.shape.clone();
                let kernel = a.ints("kernel_shape").ok_or("has no kernel_shape")?;
                if kernel.len() != 2 || xs.len() != 4 {
                    return Err(format!(
                        "only 2-D pooling is supported (kernel {kernel:?}, input {})",
                        shape_string(&xs)
                    ));
                }
                let kernel = pair(Some(kernel), "kernel_shape")?;
                let stride = pair(a.ints("strides"), "strides")?;
                let dilation = pair(a.ints("dilations"), "dilations")?;
                let padding = pads(a, &xs[2..], kernel, stride, dilation)?;
                let ceil_mode = a.int_or("ceil_mode", 0) != 0;
                let o = if op == "MaxPool" {
                    Op::MaxPool2d {
                        kernel,
                        stride,
                        padding,
                        dilation,
                        ceil_mode,
                        argmax: false,
                    }
                } else {
                    if dilation != [1, 1] {
                        return Err(format!("unsupported attribute value dilations={dilation:?}"));
                    }
                    Op::AvgPool2d {
                        kernel,
                        stride,
                        padding,
                        ceil_mode,
                        count_include_pad: a.int_or("count_include_pad", 0) != 0,
                    }
                };
                self.add(c, None, o, &[x])
            }
            "GlobalAveragePool" | "GlobalMaxPool" => {
                let x = self.input_data(n, 0)?;
                let r = self.g.node(x).value.shape.len();
                if r < 3 {
                    return Err(format!("needs rank 3 or more, got rank {r}"));
                }
                let axes: Vec<i64> = (2..r as i64).collect();
                let o = match (op, r) {
                    ("GlobalAveragePool", 4) => Op::GlobalAvgPool,
                    ("GlobalAveragePool", _) => Op::ReduceMean { axes, keepdims: true },
                    _ => Op::ReduceMax { axes, keepdims: true },
                };
                self.add(c, None, o, &[x])
            }
            "BatchNormalization" => {
                if a.int_or("training_mode", 0) != 0 {
                    return Err("unsupported attribute value training_mode=1".to_string());
                }
                let mut ins = Vec::new();
                for s in 0..5 {
                    ins.push(self.input_data(n, s)?);
                }
                self.add(c, None, Op::BatchNorm { eps: a.float_or("epsilon", 1e-5) }, &ins)
            }
            "LayerNormalization" => {
                let x = self.input_data(n, 0)?;
                let scale_v = n.inputs.get(1).cloned().unwrap_or_default();
                let no_bias = n.inputs.get(2).is_none_or(|v| v.is_empty());
                let unit_scale = self.konst(&scale_v).is_some_and(|t| t.all_equal(1.0)) && !self.const_nodes.contains_key(&scale_v);
                let mut ins = vec![x];
                if !(unit_scale && no_bias) {
                    ins.push(self.input_data(n, 1)?);
                    ins.extend(self.opt_data(n, 2)?);
                }
                let o = Op::LayerNorm {
                    axis: a.int_or("axis", -1),
                    eps: a.float_or("epsilon", 1e-5),
                    form: NormForm::Fused,
                };
                self.add(c, None, o, &ins)
            }
            "Gather" => {
                let d = self.input_data(n, 0)?;
                let idx_v = n.inputs.get(1).cloned().unwrap_or_default();
                if let Some(t) = self.konst(&idx_v) {
                    if !t.is_int() {
                        return Err("gather indices must be integers".to_string());
                    }
                }
                let i = self.input_data(n, 1)?;
                self.add(c, None, Op::Gather { axis: a.int_or("axis", 0) }, &[d, i])
            }
            "Reshape" => {
                let x = self.input_data(n, 0)?;
                let target = self.need_const(n, 1, "shape")?.i64s()?;
                let allowzero = a.int_or("allowzero", 0) != 0;
                if allowzero && target.contains(&0) {
                    return Err("unsupported attribute value allowzero=1 with a 0 dim".to_string());
                }
                reshape_dims(&self.g.node(x).value.shape, &target, false)?;
                self.add(c, None, Op::Reshape { shape: target }, &[x])
            }
            "Flatten" => {
                let x = self.input_data(n, 0)?;
                let dims = self.g.node(x).value.shape.clone();
                let r = dims.len() as i64;
                let ax = a.int_or("axis", 1);
                let k = if ax < 0 { ax + r } else { ax };
                if k < 0 || k > r {
                    return Err(format!("axis {ax} is out of range for rank {r}"));
                }
                if k == 1 && r >= 1 {
                    return self.add(c, None, Op::Flatten { axis: 1 }, &[x]);
                }
                let k = k as usize;
                let shape = vec![dims[..k].iter().product::<usize>() as i64, dims[k..].iter().product::<usize>() as i64];
                self.add(c, None, Op::Reshape { shape }, &[x])
            }
            "Transpose" => {
                let x = self.input_data(n, 0)?;
                let r = self.g.node(x).value.shape.len();
                let perm = match a.ints("perm") {
                    Some(p) => p.iter().map(|&v| axis(v, r)).collect::<R<Vec<_>>>()?,
                    None => (0..r).rev().collect(),
                };
                self.add(c, None, Op::Transpose { perm }, &[x])
            }
            "Squeeze" | "Unsqueeze" => {
                let x = self.input_data(n, 0)?;
                let dims = self.g.node(x).value.shape.clone();
                let axes_t = self.opt_const(n, 1);
                if opset >= 13 && n.inputs.get(1).is_some_and(|v| !v.is_empty()) && axes_t.is_none() {
                    return Err("axes are not a constant".to_string());
                }
                let axes = axes_operand(a, &[None, axes_t.as_deref()], 1, opset, 13)?;
                let out = if op == "Squeeze" {
                    squeeze_dims(&dims, axes.as_deref())?
                } else {
                    let axes = axes.ok_or("has no axes")?;
                    let rank = dims.len() + axes.len();
                    let mut ax: Vec<usize> = axes.iter().map(|&v| axis(v, rank)).collect::<R<_>>()?;
                    ax.sort_unstable();
                    ax.dedup();
                    unsqueeze_dims(&dims, &ax)
                };
                self.add(c, None, Op::Reshape { shape: out.iter().map(|&d| d as i64).collect() }, &[x])
            }
            "Concat" => {
                let mut ins = Vec::new();
                for v in n.inputs.iter().filter(|v| !v.is_empty()).cloned().collect::<Vec<_>>() {
                    ins.push(self.data(&v)?);
                }
                self.add(c, None, Op::Concat { axis: a.int("axis").ok_or("has no axis")? }, &ins)
            }
            "Split" => {
                let x = self.input_data(n, 0)?;
                let dims = self.g.node(x).value.shape.clone();
                let ax = a.int_or("axis", 0);
                let k = axis(ax, dims.len())?;
                let split_t = self.opt_const(n, 1);
                if opset >= 13 && n.inputs.get(1).is_some_and(|v| !v.is_empty()) && split_t.is_none() {
                    return Err("split sizes are not a constant".to_string());
                }
                let sizes = split_sizes(a, split_t.as_deref(), dims[k], n.outputs.len(), opset)?;
                let mut start = 0i64;
                let mut first = None;
                for (i, (o, s)) in n.outputs.iter().zip(sizes).enumerate() {
                    let end = start + s as i64;
                    if !o.is_empty() {
                        let suffix = (i > 0).then(|| i.to_string());
                        let id = self.add(c, suffix.as_deref(), Op::Slice { axis: ax, start, end, step: 1 }, &[x])?;
                        self.vals.insert(o.clone(), Val::Node(id));
                        first.get_or_insert(id);
                    }
                    start = end;
                }
                first.ok_or_else(|| "has no outputs".to_string())
            }
            "Slice" => {
                let mut x = self.input_data(n, 0)?;
                let starts = self.need_const(n, 1, "starts")?.i64s()?;
                let ends = self.need_const(n, 2, "ends")?.i64s()?;
                let axes = match n.inputs.get(3).filter(|v| !v.is_empty()) {
                    Some(_) => self.need_const(n, 3, "axes")?.i64s()?,
                    None => (0..starts.len() as i64).collect(),
                };
                let steps = match n.inputs.get(4).filter(|v| !v.is_empty()) {
                    Some(_) => self.need_const(n, 4, "steps")?.i64s()?,
                    None => vec![1; starts.len()],
                };
                if starts.is_empty() || [ends.len(), axes.len(), steps.len()].iter().any(|&l| l != starts.len()) {
                    return Err("starts, ends, axes and steps differ in length or are empty".to_string());
                }
                if let Some(s) = steps.iter().find(|&&s| s <= 0) {
                    return Err(format!("unsupported slice step {s} (only positive steps)"));
                }
                for k in 0..starts.len() {
                    let suffix = (k + 1 < starts.len()).then(|| format!("axis{k}"));
                    let o = Op::Slice {
                        axis: axes[k],
                        start: starts[k],
                        end: ends[k],
                        step: steps[k],
                    };
                    x = self.add(c, suffix.as_deref(), o, &[x])?;
                }
                Ok(x)
            }
            "Expand" => {
                let x = self.input_data(n, 0)?;
                let shape: Vec<usize> = self
                    .need_const(n, 1, "shape")?
                    .i64s()?
                    .into_iter()
                    .map(|d| usize::try_from(d).map_err(|_| format!("shape dim {d} is negative")))
                    .collect::<R<_>>()?;
                let out = broadcast(&self.g.node(x).value.shape, &shape)?;
                if checked_numel(&out).is_none() {
                    return Err(format!("expanded shape {out:?} is too large"));
                }
                self.add(c, None, Op::Expand { shape: out }, &[x])
            }
            "ReduceSum" | "ReduceMean" | "ReduceMax" => {
                let x = self.input_data(n, 0)?;
                let from = if op == "ReduceSum" { 13 } else { 18 };
                let axes_t = self.opt_const(n, 1);
                if opset >= from && n.inputs.get(1).is_some_and(|v| !v.is_empty()) && axes_t.is_none() {
                    return Err("axes are not a constant".to_string());
                }
                let axes = axes_operand(a, &[None, axes_t.as_deref()], 1, opset, from)?.unwrap_or_default();
                if axes.is_empty() && a.int_or("noop_with_empty_axes", 0) != 0 {
                    return self.add(c, None, Op::Identity, &[x]);
                }
                let keepdims = a.int_or("keepdims", 1) != 0;
                let o = match op {
                    "ReduceSum" => Op::ReduceSum { axes, keepdims },
                    "ReduceMean" => Op::ReduceMean { axes, keepdims },
                    _ => Op::ReduceMax { axes, keepdims },
                };
                self.add(c, None, o, &[x])
            }
            "ArgMax" => {
                if a.int_or("select_last_index", 0) != 0 {
                    return Err("unsupported attribute value select_last_index=1".to_string());
                }
                let x = self.input_data(n, 0)?;
                let o = Op::ArgMax {
                    axis: a.int_or("axis", 0),
                    keepdims: a.int_or("keepdims", 1) != 0,
                };
                self.add(c, None, o, &[x])
            }
            "Dropout" => {
                let x = self.input_data(n, 0)?;
                let p = if opset >= 12 {
                    match n.inputs.get(1).filter(|v| !v.is_empty()) {
                        Some(_) => self.need_const(n, 1, "ratio")?.scalar().ok_or("ratio is not a scalar")?,
                        None => 0.5,
                    }
                } else {
                    a.float_or("ratio", 0.5)
                };
                self.add(c, None, Op::Dropout { p }, &[x])
            }
            "Where" => {
                let cond_v = n.inputs.first().cloned().unwrap_or_default();
                let (cond_t, y_t) = (self.konst(&cond_v), self.opt_const(n, 2));
                if let (Some(ct), Some(yt)) = (cond_t, y_t) {
                    // c·x + (1-c)·y with a constant mask: one product and one sum.
                    let mask = Tensor::floats(ct.dims.clone(), ct.f64s()?.into_iter().map(|v| (v != 0.0) as i64 as f64).collect());
                    let inv = Tensor::floats(mask.dims.clone(), mask.f64s()?.into_iter().map(|v| 1.0 - v).collect());
                    let fill = fold("Mul", a, &[Some(&inv), Some(&yt)], 1, opset)?.remove(0);
                    let x = self.input_data(n, 1)?;
                    let m = self.materialize(&mask, &self.origin(c, "mask"))?;
                    let f = self.materialize(&fill, &self.origin(c, "fill"))?;
                    let kept = self.add(c, Some("select"), Op::Mul, &[x, m])?;
                    return self.add(c, None, Op::Add, &[kept, f]);
                }
                // y + c·(x - y)
                let cond = self.input_data(n, 0)?;
                let (x, y) = (self.input_data(n, 1)?, self.input_data(n, 2)?);
                let d = self.add(c, Some("diff"), Op::Sub, &[x, y])?;
                let s = self.add(c, Some("select"), Op::Mul, &[cond, d])?;
                self.add(c, None, Op::Add, &[y, s])
            }
            "HardSigmoid" | "HardSwish" => {
                let x = self.input_data(n, 0)?;
                let (alpha, beta) = if op == "HardSwish" {
                    (1.0 / 6.0, 0.5)
                } else {
                    (a.float_or("alpha", 0.2), a.float_or("beta", 0.5))
                };
                let ka = self.scalar(c, "alpha", alpha)?;
                let kb = self.scalar(c, "beta", beta)?;
                let one = self.scalar(c, "one", 1.0)?;
                let s = self.add(c, Some("scale"), Op::Mul, &[x, ka])?;
                let t = self.add(c, Some("shift"), Op::Add, &[s, kb])?;
                let r = self.add(c, Some("relu"), Op::Relu, &[t])?;
                if op == "HardSigmoid" {
                    return self.add(c, None, Op::Min, &[r, one]);
                }
                let h = self.add(c, Some("hardsigmoid"), Op::Min, &[r, one])?;
                self.add(c, None, Op::Mul, &[x, h])
            }
            "Clip" => {
                let x = self.input_data(n, 0)?;
                let bound = |slot: usize, attr: &str| -> R<Option<f64>> {
                    if opset >= 11 {
                        match n.inputs.get(slot).filter(|v| !v.is_empty()) {
                            Some(_) => Ok(Some(self.need_const(n, slot, attr)?.scalar().ok_or("bound is not a scalar")?)),
                            None => Ok(None),
                        }
                    } else {
                        Ok(a.float(attr))
                    }
                };
                let (lo, hi) = (bound(1, "min")?, bound(2, "max")?);
                // Both bounds: one clip (frameworks evaluate the two comparisons together).
                if let (Some(min), Some(max)) = (lo, hi) {
                    return self.add(c, None, Op::Clip { min, max }, &[x]);
                }
                let mut y = x;
                match lo {
                    Some(0.0) => y = self.add(c, hi.map(|_| "relu"), Op::Relu, &[y])?,
                    Some(l) => {
                        let k = self.scalar(c, "min", l)?;
                        y = self.add(c, hi.map(|_| "max"), Op::Max, &[y, k])?;
                    }
                    None => {}
                }
                if let Some(h) = hi {
                    let k = self.scalar(c, "max", h)?;
                    y = self.add(c, None, Op::Min, &[y, k])?;
                }
                if lo.is_none() && hi.is_none() {
                    y = self.add(c, None, Op::Identity, &[y])?;
                }
                Ok(y)
            }
            "Pad" => Err("Pad is supported only as zero padding directly before AveragePool or Conv".to_string()),
            _ => Err(format!(
                "{op} needs constant inputs here (the importer evaluates it only on constants and static shapes)"
            )),
        }
    }

    fn origin(&self, c: &Cur, suffix: &str) -> Origin {
        Origin {
            name: format!("{}:{suffix}", c.base),
            module: c.module.clone(),
            phase: c.phase,
            visibility: Visibility::Public,
        }
    }
}

/// Two non-negative ints (default `[1, 1]`).
fn pair(v: Option<Vec<i64>>, what: &str) -> R<[usize; 2]> {
    match v {
        None => Ok([1, 1]),
        Some(v) if v.len() == 2 && v.iter().all(|&x| (1..=1 << 24).contains(&x)) => {
            Ok([v[0] as usize, v[1] as usize])
        }
        Some(v) => Err(format!("unsupported attribute value {what}={v:?}")),
    }
}

/// `[top, left, bottom, right]` padding from `pads` / `auto_pad`.
fn pads(
    a: Attrs,
    spatial: &[usize],
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
) -> R<[usize; 4]> {
    let auto = a.string("auto_pad").unwrap_or_default();
    match auto.as_str() {
        "" | "NOTSET" => match a.ints("pads") {
            None => Ok([0; 4]),
            Some(p) if p.len() == 4 && p.iter().all(|&x| (0..=1 << 24).contains(&x)) => {
                Ok([p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize])
            }
            Some(p) => Err(format!("unsupported attribute value pads={p:?}")),
        },
        "VALID" => Ok([0; 4]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut out = [0; 4];
            for i in 0..2 {
                let o = spatial[i].div_ceil(stride[i]);
                let span = dilation[i] * (kernel[i] - 1) + 1;
                let total = ((o - 1) * stride[i] + span).saturating_sub(spatial[i]);
                let (small, big) = (total / 2, total - total / 2);
                if auto == "SAME_UPPER" {
                    out[i] = small;
                    out[i + 2] = big;
                } else {
                    out[i] = big;
                    out[i + 2] = small;
                }
            }
            Ok(out)
        }
        s => Err(format!("unsupported attribute value auto_pad={s}")),
    }
}
