//! A plain f64 reference evaluator of the IR, for the finite-difference gradient checks.
//!
//! Deliberately naive (index loops, no sharing with the library) so that it checks the
//! autograd rules independently. Once the library's own interpreter (`hawkeye_mpc::interpret`)
//! covers the backward ops, [`evaluate`] can delegate to it; the checks only use `evaluate`
//! and [`Tensor`].

use hawkeye_mpc::graph::{broadcast, normalize_axis, slice_bounds, ConstValue, Graph, NodeId, Op};
use std::collections::HashMap;

/// A dense row-major tensor (integers are stored as whole f64 values).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Tensor {
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Tensor {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape {shape:?}"
        );
        Tensor { shape, data }
    }
    pub fn filled(shape: Vec<usize>, v: f64) -> Tensor {
        let n = shape.iter().product();
        Tensor::new(shape, vec![v; n])
    }
    fn map(&self, f: impl Fn(f64) -> f64) -> Tensor {
        Tensor::new(
            self.shape.clone(),
            self.data.iter().map(|&v| f(v)).collect(),
        )
    }
}

/// The multi-index of flat position `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    idx
}

fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// Position in an operand of shape `small` broadcast to `full`, for a full multi-index.
fn broadcast_index(idx: &[usize], small: &[usize]) -> usize {
    let lead = idx.len() - small.len();
    small.iter().enumerate().fold(0, |acc, (d, &n)| {
        acc * n + if n == 1 { 0 } else { idx[lead + d] }
    })
}

fn binary(a: &Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) -> Tensor {
    let shape = broadcast(&a.shape, &b.shape).unwrap();
    let n = shape.iter().product();
    let data = (0..n)
        .map(|k| {
            let idx = unravel(k, &shape);
            f(
                a.data[broadcast_index(&idx, &a.shape)],
                b.data[broadcast_index(&idx, &b.shape)],
            )
        })
        .collect();
    Tensor::new(shape, data)
}

/// erf to ~1e-15: Taylor series near 0, continued fraction for erfc further out.
pub fn erf(x: f64) -> f64 {
    if x.abs() < 2.5 {
        let mut sum: f64 = 0.0;
        let mut term = x;
        let mut n = 0.0;
        while term.abs() > 1e-17 * sum.abs().max(1e-300) || n < 2.0 {
            sum += term / (2.0 * n + 1.0);
            n += 1.0;
            term *= -x * x / n;
            if n > 200.0 {
                break;
            }
        }
        return sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    // erfc(z) = exp(-z^2)/sqrt(pi) * 1/(z + 1/2/(z + 1/(z + 3/2/(z + ...))))
    let z = x.abs();
    let mut f = z;
    for k in (1..80).rev() {
        f = z + (k as f64 / 2.0) / f;
    }
    let erfc = (-z * z).exp() / std::f64::consts::PI.sqrt() / f;
    (1.0 - erfc).copysign(x)
}

const SQRT_2_PI: f64 = 0.797_884_560_802_865_4; // sqrt(2/pi)

fn gelu(x: f64, approximate: bool) -> f64 {
    if approximate {
        0.5 * x * (1.0 + (SQRT_2_PI * (x + 0.044715 * x * x * x)).tanh())
    } else {
        0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
    }
}

fn gelu_grad(x: f64, approximate: bool) -> f64 {
    if approximate {
        let u = SQRT_2_PI * (x + 0.044715 * x * x * x);
        let t = u.tanh();
        0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_PI * (1.0 + 3.0 * 0.044715 * x * x)
    } else {
        let cdf = 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
        let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        cdf + x * pdf
    }
}

fn reduced(shape: &[usize], axes: &[i64]) -> Vec<bool> {
    let mut r = vec![axes.is_empty(); shape.len()];
    for &a in axes {
        r[normalize_axis(a, shape.len()).unwrap()] = true;
    }
    r
}

/// Groups the elements of `x` by their position outside the reduced dims: for each output
/// element (keepdims layout), the flat input positions it reduces, in order.
fn reduce_groups(shape: &[usize], red: &[bool]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let kept: Vec<usize> = shape
        .iter()
        .zip(red)
        .map(|(&n, &r)| if r { 1 } else { n })
        .collect();
    let mut groups = vec![Vec::new(); kept.iter().product()];
    for k in 0..shape.iter().product() {
        let mut idx = unravel(k, shape);
        for (d, &r) in red.iter().enumerate() {
            if r {
                idx[d] = 0;
            }
        }
        groups[ravel(&idx, &kept)].push(k);
    }
    (kept, groups)
}

fn softmax_rows(x: &Tensor, axis: i64, log: bool) -> Tensor {
    let a = normalize_axis(axis, x.shape.len()).unwrap();
    let mut red = vec![false; x.shape.len()];
    red[a] = true;
    let (_, groups) = reduce_groups(&x.shape, &red);
    let mut out = x.clone();
    for g in groups {
        let m = g
            .iter()
            .map(|&k| x.data[k])
            .fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = g.iter().map(|&k| (x.data[k] - m).exp()).sum();
        for &k in &g {
            out.data[k] = if log {
                x.data[k] - m - s.ln()
            } else {
                (x.data[k] - m).exp() / s
            };
        }
    }
    out
}

/// Window geometry of a pooling op along one dim: for output position o, the input
/// positions (may be out of range: padding) of the window.
fn window(o: usize, k: usize, s: usize, pad: usize, dil: usize) -> Vec<i64> {
    (0..k)
        .map(|p| (o * s + p * dil) as i64 - pad as i64)
        .collect()
}

struct Pool {
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 4],
    dilation: [usize; 2],
}

/// For each output element of a pool over `x_shape` to `y_shape` (.., H, W): the flat input
/// positions of its window (in range only) and the number of positions in the padded area.
fn pool_windows(p: &Pool, xs: &[usize], ys: &[usize]) -> Vec<(Vec<usize>, usize)> {
    let r = xs.len();
    let (h, w) = (xs[r - 2], xs[r - 1]);
    let (ho, wo) = (ys[r - 2], ys[r - 1]);
    let planes: usize = xs[..r - 2].iter().product();
    let mut out = Vec::with_capacity(planes * ho * wo);
    for plane in 0..planes {
        for i in 0..ho {
            for j in 0..wo {
                let rows = window(i, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0]);
                let cols = window(j, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1]);
                // PyTorch's avg-pool divisor with padding: the window clipped to the padded input
                let hstart = rows[0];
                let hend = (hstart + p.kernel[0] as i64).min((h + p.padding[2]) as i64);
                let wstart = cols[0];
                let wend = (wstart + p.kernel[1] as i64).min((w + p.padding[3]) as i64);
                let padded = ((hend - hstart) * (wend - wstart)).max(0) as usize;
                let mut pos = Vec::new();
                for &y in &rows {
                    for &x in &cols {
                        if y >= 0 && (y as usize) < h && x >= 0 && (x as usize) < w {
                            pos.push(plane * h * w + y as usize * w + x as usize);
                        }
                    }
                }
                out.push((pos, padded));
            }
        }
    }
    out
}

fn conv_geometry(
    xs: &[usize],
    ws: &[usize],
    ys: &[usize],
    stride: [usize; 2],
    padding: [usize; 4],
    dilation: [usize; 2],
    groups: usize,
) -> Vec<(usize, usize, usize, f64)> {
    // (y position, x position, w position, 1.0) triples of every product of the convolution
    let (n, cin, h, w) = (xs[0], xs[1], xs[2], xs[3]);
    let (cout, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let (ho, wo) = (ys[2], ys[3]);
    let og = cout / groups;
    let mut out = Vec::new();
    for b in 0..n {
        for o in 0..cout {
            let grp = o / og;
            for i in 0..ho {
                for j in 0..wo {
                    let yk = ((b * cout + o) * ho + i) * wo + j;
                    for c in 0..cg {
                        let ci = grp * cg + c;
                        for p in 0..kh {
                            for q in 0..kw {
                                let y =
                                    (i * stride[0] + p * dilation[0]) as i64 - padding[0] as i64;
                                let x =
                                    (j * stride[1] + q * dilation[1]) as i64 - padding[1] as i64;
                                if y < 0 || x < 0 || y as usize >= h || x as usize >= w {
                                    continue;
                                }
                                let xk = ((b * cin + ci) * h + y as usize) * w + x as usize;
                                let wk = ((o * cg + c) * kh + p) * kw + q;
                                out.push((yk, xk, wk, 1.0));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// The value of every node of `graph`, given the values of its inputs and parameters.
pub fn evaluate(graph: &Graph, feeds: &HashMap<NodeId, Tensor>) -> Vec<Tensor> {
    evaluate_upto(graph, feeds, graph.len())
}

/// The values of the first `count` nodes.
pub fn evaluate_upto(graph: &Graph, feeds: &HashMap<NodeId, Tensor>, count: usize) -> Vec<Tensor> {
    let mut vals: Vec<Tensor> = Vec::with_capacity(count);
    for id in graph.node_ids().take(count) {
        let node = graph.node(id);
        let ins: Vec<&Tensor> = graph.inputs(id).iter().map(|i| &vals[i.index()]).collect();
        let shape = node.value.shape.clone();
        let v = eval_op(
            &node.op,
            &ins,
            &shape,
            || feeds.get(&id).cloned(),
            &node.name,
        );
        assert_eq!(v.shape, shape, "node {}", node.name);
        vals.push(v);
    }
    vals
}

fn eval_op(
    op: &Op,
    ins: &[&Tensor],
    shape: &[usize],
    feed: impl FnOnce() -> Option<Tensor>,
    name: &str,
) -> Tensor {
    let x = ins.first().copied();
    let out = |data: Vec<f64>| Tensor::new(shape.to_vec(), data);
    match op {
        Op::Input | Op::Parameter { .. } => feed().unwrap_or_else(|| panic!("no value for {name}")),
        Op::Constant { value } => match value {
            ConstValue::Fill(v) => Tensor::filled(shape.to_vec(), *v),
            ConstValue::Data(d) => out(d.clone()),
            ConstValue::CausalMask(v) => {
                let r = shape.len();
                let (rows, cols) = (shape[r - 2], shape[r - 1]);
                out((0..shape.iter().product::<usize>())
                    .map(|k| {
                        let (i, j) = ((k / cols) % rows, k % cols);
                        if j > i {
                            *v
                        } else {
                            0.0
                        }
                    })
                    .collect())
            }
        },
        Op::Add => binary(ins[0], ins[1], |a, b| a + b),
        Op::Sub => binary(ins[0], ins[1], |a, b| a - b),
        Op::Mul => binary(ins[0], ins[1], |a, b| a * b),
        Op::Div => binary(ins[0], ins[1], |a, b| a / b),
        Op::Max => binary(ins[0], ins[1], f64::max),
        Op::Min => binary(ins[0], ins[1], f64::min),
        Op::Neg => x.unwrap().map(|v| -v),
        Op::Relu => x.unwrap().map(|v| v.max(0.0)),
        Op::LeakyRelu { alpha } => x.unwrap().map(|v| if v > 0.0 { v } else { alpha * v }),
        Op::Sigmoid => x.unwrap().map(|v| 1.0 / (1.0 + (-v).exp())),
        Op::Tanh => x.unwrap().map(f64::tanh),
        Op::Gelu { approximate } => x.unwrap().map(|v| gelu(v, *approximate)),
        Op::Exp => x.unwrap().map(f64::exp),
        Op::Log => x.unwrap().map(f64::ln),
        Op::Reciprocal => x.unwrap().map(|v| 1.0 / v),
        Op::Sqrt => x.unwrap().map(f64::sqrt),
        Op::Rsqrt => x.unwrap().map(|v| 1.0 / v.sqrt()),
        Op::Square => x.unwrap().map(|v| v * v),
        Op::Pow { exponent } => x.unwrap().map(|v| v.powf(*exponent)),
        Op::Abs => x.unwrap().map(f64::abs),
        Op::Identity | Op::Dropout { .. } | Op::Reshape { .. } | Op::Flatten { .. } => {
            out(x.unwrap().data.clone())
        }
        Op::Softmax { axis } => softmax_rows(x.unwrap(), *axis, false),
        Op::LogSoftmax { axis } => softmax_rows(x.unwrap(), *axis, true),
        Op::Linear => {
            let (x, w) = (ins[0], ins[1]);
            let (o, k) = (w.shape[0], w.shape[1]);
            let rows = x.data.len() / k;
            let mut d = vec![0.0; rows * o];
            for r in 0..rows {
                for j in 0..o {
                    let mut s = ins.get(2).map(|b| b.data[j]).unwrap_or(0.0);
                    for t in 0..k {
                        s += x.data[r * k + t] * w.data[j * k + t];
                    }
                    d[r * o + j] = s;
                }
            }
            out(d)
        }
        Op::MatMul => matmul(ins[0], ins[1], shape),
        Op::Conv2d {
            stride,
            padding,
            dilation,
            groups,
        } => {
            let mut d = vec![0.0; shape.iter().product()];
            for (yk, xk, wk, _) in conv_geometry(
                &ins[0].shape,
                &ins[1].shape,
                shape,
                *stride,
                *padding,
                *dilation,
                *groups,
            ) {
                d[yk] += ins[0].data[xk] * ins[1].data[wk];
            }
            if let Some(b) = ins.get(2) {
                let (c, hw) = (shape[1], shape[2] * shape[3]);
                for (k, v) in d.iter_mut().enumerate() {
                    *v += b.data[(k / hw) % c];
                }
            }
            out(d)
        }
        Op::Conv2dGradInput {
            stride,
            padding,
            dilation,
            groups,
            ..
        } => {
            let (g, w) = (ins[0], ins[1]);
            let mut d = vec![0.0; shape.iter().product()];
            for (yk, xk, wk, _) in conv_geometry(
                shape, &w.shape, &g.shape, *stride, *padding, *dilation, *groups,
            ) {
                d[xk] += g.data[yk] * w.data[wk];
            }
            out(d)
        }
        Op::Conv2dGradWeight {
            stride,
            padding,
            dilation,
            groups,
            ..
        } => {
            let (x, g) = (ins[0], ins[1]);
            let mut d = vec![0.0; shape.iter().product()];
            for (yk, xk, wk, _) in conv_geometry(
                &x.shape, shape, &g.shape, *stride, *padding, *dilation, *groups,
            ) {
                d[wk] += g.data[yk] * x.data[xk];
            }
            out(d)
        }
        Op::MaxPool2d {
            kernel,
            stride,
            padding,
            dilation,
            ..
        } => {
            let p = Pool {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
            };
            let x = x.unwrap();
            out(pool_windows(&p, &x.shape, shape)
                .iter()
                .map(|(pos, _)| {
                    pos.iter()
                        .map(|&k| x.data[k])
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .collect())
        }
        Op::MaxPool2dGrad {
            kernel,
            stride,
            padding,
            dilation,
            ..
        } => {
            let p = Pool {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
            };
            let (g, x) = (ins[0], ins[1]);
            let mut d = vec![0.0; shape.iter().product()];
            for (o, (pos, _)) in pool_windows(&p, &x.shape, &g.shape).iter().enumerate() {
                let mut best = pos[0];
                for &k in pos {
                    if x.data[k] > x.data[best] {
                        best = k;
                    }
                }
                d[best] += g.data[o];
            }
            out(d)
        }
        Op::AvgPool2d {
            kernel,
            stride,
            padding,
            count_include_pad,
            ..
        } => {
            let p = Pool {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                dilation: [1, 1],
            };
            let x = x.unwrap();
            out(pool_windows(&p, &x.shape, shape)
                .iter()
                .map(|(pos, padded)| {
                    let div = if *count_include_pad {
                        *padded
                    } else {
                        pos.len()
                    };
                    pos.iter().map(|&k| x.data[k]).sum::<f64>() / div as f64
                })
                .collect())
        }
        Op::AvgPool2dGrad {
            kernel,
            stride,
            padding,
            count_include_pad,
            ..
        } => {
            let p = Pool {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                dilation: [1, 1],
            };
            let g = ins[0];
            let mut d = vec![0.0; shape.iter().product()];
            for (o, (pos, padded)) in pool_windows(&p, shape, &g.shape).iter().enumerate() {
                let div = if *count_include_pad {
                    *padded
                } else {
                    pos.len()
                };
                for &k in pos {
                    d[k] += g.data[o] / div as f64;
                }
            }
            out(d)
        }
        Op::GlobalAvgPool => {
            let x = x.unwrap();
            let r = x.shape.len();
            let hw = x.shape[r - 2] * x.shape[r - 1];
            out(x
                .data
                .chunks(hw)
                .map(|c| c.iter().sum::<f64>() / hw as f64)
                .collect())
        }
        Op::AdaptiveAvgPool2d { output } => {
            let x = x.unwrap();
            let (h, w) = (x.shape[2], x.shape[3]);
            let planes = x.shape[0] * x.shape[1];
            let mut d = Vec::new();
            for pl in 0..planes {
                for i in 0..output[0] {
                    for j in 0..output[1] {
                        let (h0, h1) = (i * h / output[0], ((i + 1) * h).div_ceil(output[0]));
                        let (w0, w1) = (j * w / output[1], ((j + 1) * w).div_ceil(output[1]));
                        let mut s = 0.0;
                        for y in h0..h1 {
                            for xx in w0..w1 {
                                s += x.data[pl * h * w + y * w + xx];
                            }
                        }
                        d.push(s / ((h1 - h0) * (w1 - w0)) as f64);
                    }
                }
            }
            out(d)
        }
        Op::BatchNorm { eps } => {
            let x = ins[0];
            let c = x.shape[1];
            let inner: usize = x.shape[2..].iter().product();
            out(x
                .data
                .iter()
                .enumerate()
                .map(|(k, &v)| {
                    let ch = (k / inner) % c;
                    (v - ins[3].data[ch]) / (ins[4].data[ch] + eps).sqrt() * ins[1].data[ch]
                        + ins[2].data[ch]
                })
                .collect())
        }
        Op::LayerNorm { axis, eps } => {
            let x = ins[0];
            let a = normalize_axis(*axis, x.shape.len()).unwrap();
            let len: usize = x.shape[a..].iter().product();
            let mut d = Vec::with_capacity(x.data.len());
            for row in x.data.chunks(len) {
                let mu = row.iter().sum::<f64>() / len as f64;
                let var = row.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / len as f64;
                for (i, &v) in row.iter().enumerate() {
                    let mut y = (v - mu) / (var + eps).sqrt();
                    if let Some(w) = ins.get(1) {
                        y *= w.data[i];
                    }
                    if let Some(b) = ins.get(2) {
                        y += b.data[i];
                    }
                    d.push(y);
                }
            }
            out(d)
        }
        Op::Gather { axis } => {
            let (data, idx) = (ins[0], ins[1]);
            let a = normalize_axis(*axis, data.shape.len()).unwrap();
            let pre: usize = data.shape[..a].iter().product();
            let post: usize = data.shape[a + 1..].iter().product();
            let n = data.shape[a];
            let mut d = Vec::new();
            for p in 0..pre {
                for &i in &idx.data {
                    let i = i as usize;
                    d.extend_from_slice(&data.data[(p * n + i) * post..(p * n + i + 1) * post]);
                }
            }
            out(d)
        }
        Op::GatherGrad { axis, size } => {
            let (g, idx) = (ins[0], ins[1]);
            let a = normalize_axis(*axis, shape.len()).unwrap();
            let pre: usize = shape[..a].iter().product();
            let post: usize = shape[a + 1..].iter().product();
            let mut d = vec![0.0; shape.iter().product()];
            let mut k = 0;
            for p in 0..pre {
                for &i in &idx.data {
                    let i = i as usize;
                    for q in 0..post {
                        d[(p * size + i) * post + q] += g.data[k];
                        k += 1;
                    }
                }
            }
            out(d)
        }
        Op::Transpose { perm } => {
            let x = x.unwrap();
            let n = x.data.len();
            out((0..n)
                .map(|k| {
                    let oi = unravel(k, shape);
                    let mut xi = vec![0; perm.len()];
                    for (d, &p) in perm.iter().enumerate() {
                        xi[p] = oi[d];
                    }
                    x.data[ravel(&xi, &x.shape)]
                })
                .collect())
        }
        Op::Concat { axis } => {
            let a = normalize_axis(*axis, shape.len()).unwrap();
            let pre: usize = shape[..a].iter().product();
            let mut d = Vec::new();
            for p in 0..pre {
                for t in ins {
                    let chunk: usize = t.shape[a..].iter().product();
                    d.extend_from_slice(&t.data[p * chunk..(p + 1) * chunk]);
                }
            }
            out(d)
        }
        Op::Slice {
            axis,
            start,
            end,
            step,
        } => {
            let x = x.unwrap();
            let a = normalize_axis(*axis, x.shape.len()).unwrap();
            let (s, _) = slice_bounds(x.shape[a], *start, *end);
            out((0..shape.iter().product())
                .map(|k| {
                    let mut i = unravel(k, shape);
                    i[a] = s + i[a] * *step as usize;
                    x.data[ravel(&i, &x.shape)]
                })
                .collect())
        }
        Op::Expand { .. } => {
            let x = x.unwrap();
            out((0..shape.iter().product())
                .map(|k| x.data[broadcast_index(&unravel(k, shape), &x.shape)])
                .collect())
        }
        Op::ReduceSum { axes, .. } | Op::ReduceMean { axes, .. } | Op::ReduceMax { axes, .. } => {
            let x = x.unwrap();
            let (_, groups) = reduce_groups(&x.shape, &reduced(&x.shape, axes));
            out(groups
                .iter()
                .map(|g| {
                    let vals = g.iter().map(|&k| x.data[k]);
                    match op {
                        Op::ReduceSum { .. } => vals.sum(),
                        Op::ReduceMean { .. } => vals.sum::<f64>() / g.len() as f64,
                        _ => vals.fold(f64::NEG_INFINITY, f64::max),
                    }
                })
                .collect())
        }
        Op::ReduceMaxGrad { axes, .. } => {
            let (g, x) = (ins[0], ins[1]);
            let (_, groups) = reduce_groups(&x.shape, &reduced(&x.shape, axes));
            let mut d = vec![0.0; x.data.len()];
            for (o, grp) in groups.iter().enumerate() {
                let mut best = grp[0];
                for &k in grp {
                    if x.data[k] > x.data[best] {
                        best = k;
                    }
                }
                d[best] += g.data[o];
            }
            out(d)
        }
        Op::ArgMax { axis, .. } => {
            let x = x.unwrap();
            let a = normalize_axis(*axis, x.shape.len()).unwrap();
            let mut red = vec![false; x.shape.len()];
            red[a] = true;
            let (_, groups) = reduce_groups(&x.shape, &red);
            out(groups
                .iter()
                .map(|g| {
                    let mut best = 0;
                    for (i, &k) in g.iter().enumerate() {
                        if x.data[k] > x.data[g[best]] {
                            best = i;
                        }
                    }
                    best as f64
                })
                .collect())
        }
        Op::SumProduct { axes, .. } => {
            let p = binary(ins[0], ins[1], |a, b| a * b);
            let (_, groups) = reduce_groups(&p.shape, &reduced(&p.shape, axes));
            out(groups
                .iter()
                .map(|g| g.iter().map(|&k| p.data[k]).sum())
                .collect())
        }
        Op::CrossEntropy | Op::CrossEntropyGrad => {
            let (p, t) = (ins[0], ins[1]);
            let n = p.shape[0];
            if matches!(op, Op::CrossEntropy) {
                let lp = softmax_rows(p, -1, true);
                let s: f64 = lp.data.iter().zip(&t.data).map(|(a, b)| a * b).sum();
                out(vec![-s / n as f64])
            } else {
                let sm = softmax_rows(p, -1, false);
                out(sm
                    .data
                    .iter()
                    .zip(&t.data)
                    .map(|(a, b)| (a - b) / n as f64)
                    .collect())
            }
        }
        Op::Mse => {
            let (p, t) = (ins[0], ins[1]);
            let s: f64 = p
                .data
                .iter()
                .zip(&t.data)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            out(vec![s / p.data.len() as f64])
        }
        Op::ReluGrad { alpha } => {
            binary(ins[0], ins[1], |g, x| if x > 0.0 { g } else { alpha * g })
        }
        Op::GeluGrad { approximate } => {
            binary(ins[0], ins[1], |g, x| g * gelu_grad(x, *approximate))
        }
        Op::RsqrtGrad => {
            let (g, y) = (ins[0], ins[1]);
            binary(g, y, |g, y| -0.5 * g * y * y * y)
        }
        Op::BatchNormNormalize { eps } => standardize(ins[0], *eps).0,
        Op::BatchNormNormalizeGrad { eps } => {
            let (g, x) = (ins[0], ins[1]);
            let (xhat, inv) = standardize(x, *eps);
            let mut red = vec![true; x.shape.len()];
            red[1] = false;
            let (_, groups) = reduce_groups(&x.shape, &red);
            let mut d = vec![0.0; x.data.len()];
            for (ch, grp) in groups.iter().enumerate() {
                let n = grp.len() as f64;
                let mg = grp.iter().map(|&k| g.data[k]).sum::<f64>() / n;
                let mgx = grp.iter().map(|&k| g.data[k] * xhat.data[k]).sum::<f64>() / n;
                for &k in grp {
                    d[k] = (g.data[k] - mg - xhat.data[k] * mgx) * inv[ch];
                }
            }
            out(d)
        }
        Op::GradThreshold { threshold } => x.unwrap().map(|g| {
            if g * g < threshold * threshold {
                g
            } else {
                0.0
            }
        }),
    }
}

/// Batch standardization over all dims but 1: (x_hat, 1/sqrt(var + eps) per channel).
fn standardize(x: &Tensor, eps: f64) -> (Tensor, Vec<f64>) {
    let mut red = vec![true; x.shape.len()];
    red[1] = false;
    let (_, groups) = reduce_groups(&x.shape, &red);
    let mut xhat = x.clone();
    let mut inv = Vec::new();
    for grp in &groups {
        let n = grp.len() as f64;
        let mu = grp.iter().map(|&k| x.data[k]).sum::<f64>() / n;
        let var = grp.iter().map(|&k| (x.data[k] - mu).powi(2)).sum::<f64>() / n;
        let s = 1.0 / (var + eps).sqrt();
        for &k in grp {
            xhat.data[k] = (x.data[k] - mu) * s;
        }
        inv.push(s);
    }
    (xhat, inv)
}

fn matmul(a: &Tensor, b: &Tensor, shape: &[usize]) -> Tensor {
    let a2 = if a.shape.len() == 1 {
        vec![1, a.shape[0]]
    } else {
        a.shape.clone()
    };
    let b2 = if b.shape.len() == 1 {
        vec![b.shape[0], 1]
    } else {
        b.shape.clone()
    };
    let (m, k, n) = (a2[a2.len() - 2], a2[a2.len() - 1], b2[b2.len() - 1]);
    let batch = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2]).unwrap();
    let nb: usize = batch.iter().product();
    let (ab, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let mut d = Vec::with_capacity(nb * m * n);
    for bi in 0..nb {
        let idx = unravel(bi, &batch);
        let (ao, bo) = (
            broadcast_index(&idx, ab) * m * k,
            broadcast_index(&idx, bb) * k * n,
        );
        for i in 0..m {
            for j in 0..n {
                d.push(
                    (0..k)
                        .map(|t| a.data[ao + i * k + t] * b.data[bo + t * n + j])
                        .sum(),
                );
            }
        }
    }
    Tensor::new(shape.to_vec(), d)
}
