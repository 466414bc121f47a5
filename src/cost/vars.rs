//! Shape variables: what a lowering formula knows about the op it costs.
//!
//! Every op binds `out` (output elements) and `x` (elements of the first input). Op-specific
//! names (documented in `cost_models/README.md`):
//!
//! | op | variables |
//! |---|---|
//! | conv2d | batch, cin, cout, h, w, ho, wo, kh, kw, groups, stride_h, stride_w, bias (0/1) |
//! | linear | m (rows), k (in features), n (out features), bias (0/1) |
//! | mat_mul | batch (broadcast batch count), m, k, n, a, b (operand elements, unbroadcast) |
//! | add, sub, mul, div, max, min | a, b (operand elements, unbroadcast) |
//! | softmax, log_softmax, arg_max, reduce_*, global_avg_pool, adaptive_avg_pool2d, cross_entropy | rows, len (elements per row) |
//! | max_pool2d, avg_pool2d | kh, kw, windows, channels (N*C), h, w, ho, wo, stride_h, stride_w; max_pool2d also argmax (1 for the argmax pool of a training step, see `Op::MaxPool2d`) |
//! | batch_norm, batch_norm_normalize(_grad) | c (channels) |
//! | layer_norm | rows, len (normalized elements per row), affine (0, 1 or 2 affine inputs), decomposed (1 when written as ReduceMean … Sqrt → Div), square_by_mul (1 when that square is `Mul(d, d)`) |
//! | clip | min, max (the bounds) |
//! | gather | rows (index count), dim (elements per gathered slice), vocab (size of the gathered axis) |
//! | pow | exponent |
//! | gelu, gelu_grad | approximate (1 for the tanh form, else 0) |
//! | conv2d_grad_input, conv2d_grad_weight | as conv2d (the forward convolution's shapes) |
//! | max_pool2d_grad, avg_pool2d_grad | as the forward pool (`windows` = gradient elements) |
//! | reduce_max_grad, cross_entropy_grad | rows, len (as the forward op) |
//! | sum_product | a, b (operand elements, unbroadcast), terms (elements of the product) |
//! | gather_grad | rows, dim, vocab (as gather) |

use super::formula::Vars;
use crate::graph::{normalize_axis, numel, NormForm, Op, ValueInfo};

/// Op-specific variable names (besides `out` and `x`).
pub fn var_names(op_name: &str) -> &'static [&'static str] {
    match op_name {
        "conv2d" | "conv2d_grad_input" | "conv2d_grad_weight" => &[
            "batch", "cin", "cout", "h", "w", "ho", "wo", "kh", "kw", "groups", "stride_h",
            "stride_w", "bias",
        ],
        "sum_product" => &["a", "b", "terms"],
        "gather_grad" => &["rows", "dim", "vocab"],
        "reduce_max_grad" | "cross_entropy_grad" => &["rows", "len"],
        "batch_norm_normalize" | "batch_norm_normalize_grad" => &["c"],
        "linear" => &["m", "k", "n", "bias"],
        "mat_mul" => &["batch", "m", "k", "n", "a", "b"],
        "add" | "sub" | "mul" | "div" | "max" | "min" => &["a", "b"],
        "softmax"
        | "log_softmax"
        | "arg_max"
        | "reduce_sum"
        | "reduce_mean"
        | "reduce_max"
        | "global_avg_pool"
        | "adaptive_avg_pool2d"
        | "cross_entropy" => &["rows", "len"],
        "max_pool2d" => &[
            "kh", "kw", "windows", "channels", "h", "w", "ho", "wo", "stride_h", "stride_w",
            "argmax",
        ],
        "avg_pool2d" | "max_pool2d_grad" | "avg_pool2d_grad" => &[
            "kh", "kw", "windows", "channels", "h", "w", "ho", "wo", "stride_h", "stride_w",
        ],
        "batch_norm" => &["c"],
        "layer_norm" => &["rows", "len", "affine", "decomposed", "square_by_mul"],
        "clip" => &["min", "max"],
        "gather" => &["rows", "dim", "vocab"],
        "pow" => &["exponent"],
        "gelu" | "gelu_grad" => &["approximate"],
        _ => &[],
    }
}

/// Sample bindings of an op's variables, for checking formulas at load time.
pub fn sample_vars(op_name: &str) -> Vars {
    let mut vars = Vars::new();
    for name in ["out", "x"].iter().chain(var_names(op_name)) {
        let v = match *name {
            "bias" | "affine" => 1.0,
            "exponent" => 2.0,
            "approximate" | "decomposed" | "square_by_mul" | "min" | "argmax" => 0.0,
            "max" => 6.0,
            _ => 4.0,
        };
        vars.set(name, v);
    }
    vars
}

/// The variables of one op application.
pub fn op_vars(op: &Op, inputs: &[&ValueInfo], output: &ValueInfo) -> Vars {
    let mut v = Vars::new();
    let f = |n: usize| n as f64;
    let out = output.numel();
    v.set("out", f(out));
    let x = inputs.first().map(|i| i.numel()).unwrap_or(0);
    v.set("x", f(x));
    let shape = |i: usize| inputs[i].shape.as_slice();
    let rows_len = |v: &mut Vars, rows: usize, len: usize| {
        v.set("rows", f(rows));
        v.set("len", f(len));
    };
    match op {
        Op::Conv2d { stride, groups, .. } => {
            let (xs, ws) = (shape(0), shape(1));
            for (name, val) in [
                ("batch", xs[0]),
                ("cin", xs[1]),
                ("h", xs[2]),
                ("w", xs[3]),
                ("cout", ws[0]),
                ("kh", ws[2]),
                ("kw", ws[3]),
                ("ho", output.shape[2]),
                ("wo", output.shape[3]),
                ("groups", *groups),
                ("stride_h", stride[0]),
                ("stride_w", stride[1]),
                ("bias", usize::from(inputs.len() > 2)),
            ] {
                v.set(name, f(val));
            }
        }
        Op::Linear => {
            let k = *shape(0).last().unwrap_or(&1);
            v.set("m", f(x / k.max(1)));
            v.set("k", f(k));
            v.set("n", f(shape(1)[0]));
            v.set("bias", f(usize::from(inputs.len() > 2)));
        }
        Op::MatMul => {
            let (a, b) = (shape(0), shape(1));
            let k = *a.last().unwrap_or(&1);
            let m = if a.len() >= 2 { a[a.len() - 2] } else { 1 };
            let n = if b.len() >= 2 { b[b.len() - 1] } else { 1 };
            v.set("m", f(m));
            v.set("k", f(k));
            v.set("n", f(n));
            v.set("batch", f(out / (m * n).max(1)));
            v.set("a", f(numel(a)));
            v.set("b", f(numel(b)));
        }
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Max | Op::Min => {
            v.set("a", f(numel(shape(0))));
            v.set("b", f(numel(shape(1))));
        }
        Op::Softmax { axis } | Op::LogSoftmax { axis } | Op::ArgMax { axis, .. } => {
            let s = shape(0);
            let len = normalize_axis(*axis, s.len()).map(|a| s[a]).unwrap_or(1);
            rows_len(&mut v, x / len.max(1), len);
        }
        Op::ReduceSum { .. }
        | Op::ReduceMean { .. }
        | Op::ReduceMax { .. }
        | Op::GlobalAvgPool
        | Op::AdaptiveAvgPool2d { .. } => rows_len(&mut v, out, x / out.max(1)),
        Op::CrossEntropy => {
            let s = shape(0);
            rows_len(&mut v, s[0], s[1]);
        }
        Op::MaxPool2d { kernel, stride, .. } | Op::AvgPool2d { kernel, stride, .. } => {
            let s = shape(0);
            let r = s.len();
            for (name, val) in [
                ("kh", kernel[0]),
                ("kw", kernel[1]),
                ("windows", out),
                ("channels", numel(&s[..r - 2])),
                ("h", s[r - 2]),
                ("w", s[r - 1]),
                ("ho", output.shape[r - 2]),
                ("wo", output.shape[r - 1]),
                ("stride_h", stride[0]),
                ("stride_w", stride[1]),
            ] {
                v.set(name, f(val));
            }
            if let Op::MaxPool2d { argmax, .. } = op {
                v.set("argmax", f64::from(u8::from(*argmax)));
            }
        }
        Op::BatchNorm { .. } => v.set("c", f(shape(0)[1])),
        Op::BatchNormNormalize { .. } | Op::BatchNormNormalizeGrad { .. } => {
            v.set("c", f(output.shape[1]))
        }
        Op::LayerNorm { axis, form, .. } => {
            let s = shape(0);
            let a = normalize_axis(*axis, s.len()).unwrap_or(0);
            let len = numel(&s[a..]);
            rows_len(&mut v, x / len.max(1), len);
            v.set("affine", f(inputs.len() - 1));
            v.set("decomposed", f(usize::from(*form != NormForm::Fused)));
            v.set(
                "square_by_mul",
                f(usize::from(*form == NormForm::DecomposedMul)),
            );
        }
        Op::Clip { min, max } => {
            v.set("min", *min);
            v.set("max", *max);
        }
        Op::Gather { axis } => {
            let (data, idx) = (shape(0), shape(1));
            let a = normalize_axis(*axis, data.len()).unwrap_or(0);
            let rows = numel(idx);
            v.set("rows", f(rows));
            v.set("dim", f(out / rows.max(1)));
            v.set("vocab", f(data[a]));
        }
        Op::Pow { exponent } => v.set("exponent", *exponent),
        Op::Gelu { approximate } | Op::GeluGrad { approximate } => {
            v.set("approximate", f64::from(u8::from(*approximate)))
        }
        Op::Conv2dGradInput { stride, groups, .. }
        | Op::Conv2dGradWeight { stride, groups, .. } => {
            // the forward convolution: x (N, Cin, H, W), weight (Cout, Cin/g, kh, kw),
            // output (N, Cout, Ho, Wo)
            let (x, w, y): (&[usize], &[usize], &[usize]) = match op {
                Op::Conv2dGradInput { .. } => (&output.shape, shape(1), shape(0)),
                _ => (shape(0), &output.shape, shape(1)),
            };
            for (name, val) in [
                ("batch", x[0]),
                ("cin", x[1]),
                ("h", x[2]),
                ("w", x[3]),
                ("cout", w[0]),
                ("kh", w[2]),
                ("kw", w[3]),
                ("ho", y[2]),
                ("wo", y[3]),
                ("groups", *groups),
                ("stride_h", stride[0]),
                ("stride_w", stride[1]),
                ("bias", 0),
            ] {
                v.set(name, f(val));
            }
        }
        Op::MaxPool2dGrad { kernel, stride, .. } | Op::AvgPool2dGrad { kernel, stride, .. } => {
            // the forward pool: x = this op's output, windows = gradient elements
            let (g, xs) = (shape(0), output.shape.as_slice());
            let r = xs.len();
            for (name, val) in [
                ("kh", kernel[0]),
                ("kw", kernel[1]),
                ("windows", numel(g)),
                ("channels", numel(&xs[..r - 2])),
                ("h", xs[r - 2]),
                ("w", xs[r - 1]),
                ("ho", g[r - 2]),
                ("wo", g[r - 1]),
                ("stride_h", stride[0]),
                ("stride_w", stride[1]),
            ] {
                v.set(name, f(val));
            }
        }
        Op::ReduceMaxGrad { .. } => {
            let rows = numel(shape(0));
            rows_len(&mut v, rows, out / rows.max(1));
        }
        Op::CrossEntropyGrad => {
            let s = shape(0);
            rows_len(&mut v, s[0], s[1]);
        }
        Op::SumProduct { .. } => {
            let (a, b) = (shape(0), shape(1));
            v.set("a", f(numel(a)));
            v.set("b", f(numel(b)));
            let terms = crate::graph::broadcast(a, b)
                .map(|s| numel(&s))
                .unwrap_or(0);
            v.set("terms", f(terms));
        }
        Op::GatherGrad { size, .. } => {
            let idx = shape(1);
            let rows = numel(idx);
            v.set("rows", f(rows));
            v.set("dim", f(out / size.max(&1)));
            v.set("vocab", f(*size));
        }
        _ => {}
    }
    v
}
