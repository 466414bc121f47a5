//! Kernels of the training-step (backward) ops built by `autograd`: activation, pooling,
//! reduction, convolution, gather and loss gradients, the contraction `sum_product`, batch
//! standardization and its gradient, and the gradient threshold (semantics in the doc
//! comments of [`Op`](crate::graph::Op)).
//!
//! Linear parts (the convolution gradients, pooling gradients, scatter-adds, contractions)
//! are ring sums and truncated products; comparisons (ReLU mask, max positions, threshold) are
//! exact; the nonlinear parts (GELU's derivative, softmax, batch statistics) are computed in
//! `f64` on the decoded values, as elsewhere in the interpreter.

use super::elementwise::{erf, zip_broadcast};
use super::norm::softmax_lane;
use super::{standard, Arr, KResult};
use crate::graph::{normalize_axis, numel, shape_string};
use crate::interpret::arith::Arith;
use ndarray::{ArrayD, IxDyn};
use std::f64::consts::{FRAC_2_SQRT_PI, PI, SQRT_2};

/// The elements of `x` in row-major order.
fn flat<T: Copy>(x: &ArrayD<T>) -> Vec<T> {
    standard(x).iter().copied().collect()
}

fn build<T>(shape: &[usize], data: Vec<T>) -> KResult<ArrayD<T>> {
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| e.to_string())
}

fn same_shape<A: Arith>(a: &Arr<A>, b: &Arr<A>) -> KResult<()> {
    if a.shape() == b.shape() {
        Ok(())
    } else {
        Err(format!(
            "operands of shapes {} and {} differ",
            shape_string(a.shape()),
            shape_string(b.shape())
        ))
    }
}

/// `relu_grad`: `grad` where `x > 0`, else `alpha * grad`.
pub(crate) fn relu_grad<A: Arith>(ar: &A, g: &Arr<A>, x: &Arr<A>, alpha: f64) -> KResult<Arr<A>> {
    same_shape::<A>(g, x)?;
    let a = ar.enc(alpha);
    let zero = ar.enc(0.0);
    zip_broadcast(g, x, |g, x| {
        if ar.dec(x) > 0.0 {
            g
        } else if alpha == 0.0 {
            zero
        } else {
            ar.trunc(a * g)
        }
    })
}

/// The derivative of GELU (the tanh form when `approximate`).
fn gelu_derivative(x: f64, approximate: bool) -> f64 {
    if approximate {
        let k = SQRT_2 * FRAC_2_SQRT_PI * 0.5;
        let t = (k * (x + 0.044715 * x * x * x)).tanh();
        0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x)
    } else {
        let cdf = 0.5 * (1.0 + erf(x / SQRT_2));
        let pdf = (-0.5 * x * x).exp() / (2.0 * PI).sqrt();
        cdf + x * pdf
    }
}

/// `gelu_grad`: `grad * gelu'(x)` (the derivative in `f64`, the product in the ring).
pub(crate) fn gelu_grad<A: Arith>(
    ar: &A,
    g: &Arr<A>,
    x: &Arr<A>,
    approximate: bool,
) -> KResult<Arr<A>> {
    same_shape::<A>(g, x)?;
    zip_broadcast(g, x, |g, x| {
        ar.trunc(g * ar.enc(gelu_derivative(ar.dec(x), approximate)))
    })
}

/// `rsqrt_grad`: `-grad * y^3 / 2`, as products.
pub(crate) fn rsqrt_grad<A: Arith>(ar: &A, g: &Arr<A>, y: &Arr<A>) -> KResult<Arr<A>> {
    same_shape::<A>(g, y)?;
    let half = ar.enc(-0.5);
    zip_broadcast(g, y, |g, y| {
        let y3 = ar.trunc(ar.trunc(y * y) * y);
        ar.trunc(ar.trunc(half * g) * y3)
    })
}

/// `grad_threshold`: `grad` where `grad^2 < threshold^2`, else 0.
pub(crate) fn grad_threshold<A: Arith>(ar: &A, g: &Arr<A>, threshold: f64) -> Arr<A> {
    let zero = ar.enc(0.0);
    g.mapv(|v| {
        let d = ar.dec(v);
        if d * d < threshold * threshold {
            v
        } else {
            zero
        }
    })
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

/// The reduced dims of a rank-`rank` tensor (all when `axes` is empty).
fn reduced(rank: usize, axes: &[i64]) -> KResult<Vec<bool>> {
    let mut r = vec![axes.is_empty(); rank];
    for &a in axes {
        r[normalize_axis(a, rank)?] = true;
    }
    Ok(r)
}

/// For each element outside the reduced dims (row-major), the flat positions it reduces.
fn reduce_groups(shape: &[usize], red: &[bool]) -> Vec<Vec<usize>> {
    let kept: Vec<usize> = shape
        .iter()
        .zip(red)
        .map(|(&n, &r)| if r { 1 } else { n })
        .collect();
    let mut groups = vec![Vec::new(); numel(&kept)];
    for k in 0..numel(shape) {
        let mut idx = unravel(k, shape);
        for (d, &r) in red.iter().enumerate() {
            if r {
                idx[d] = 0;
            }
        }
        groups[ravel(&idx, &kept)].push(k);
    }
    groups
}

/// The position of the first maximum among `positions` of `x`.
fn first_max<A: Arith>(ar: &A, x: &[A::E], positions: &[usize]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for &k in positions {
        let d = ar.dec(x[k]);
        match best {
            Some((_, b)) if d <= b => {}
            _ => best = Some((k, d)),
        }
    }
    best.map(|(k, _)| k)
}

/// `reduce_max_grad`: `grad` to the position of each group's (first) maximum.
pub(crate) fn reduce_max_grad<A: Arith>(
    ar: &A,
    g: &Arr<A>,
    x: &Arr<A>,
    axes: &[i64],
) -> KResult<Arr<A>> {
    let groups = reduce_groups(x.shape(), &reduced(x.ndim(), axes)?);
    let (gs, xs) = (flat(g), flat(x));
    if gs.len() != groups.len() {
        return Err(format!(
            "gradient {} does not fit the reduction of {}",
            shape_string(g.shape()),
            shape_string(x.shape())
        ));
    }
    let mut d = vec![ar.enc(0.0); xs.len()];
    for (o, grp) in groups.iter().enumerate() {
        if let Some(k) = first_max(ar, &xs, grp) {
            d[k] = ar.wrap(d[k] + gs[o]);
        }
    }
    build(x.shape(), d)
}

/// `sum_product`: the sum over `axes` of the broadcast product `a * b`, one truncation per
/// output element (a dot product).
pub(crate) fn sum_product<A: Arith>(
    ar: &A,
    a: &Arr<A>,
    b: &Arr<A>,
    axes: &[i64],
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let p = zip_broadcast(a, b, |x, y| x * y)?;
    let groups = reduce_groups(p.shape(), &reduced(p.ndim(), axes)?);
    let ps = flat(&p);
    let zero = ar.enc(0.0);
    let d = groups
        .iter()
        .map(|grp| ar.trunc(grp.iter().fold(zero, |s, &k| s + ps[k])))
        .collect();
    build(out_shape, d)
}

/// Pooling window geometry (the forward op's attributes).
pub(crate) struct Window {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// `[top, left, bottom, right]`.
    pub padding: [usize; 4],
    pub dilation: [usize; 2],
}

/// For each output element of a pool of `xs` (.., H, W) to `ys` (.., Ho, Wo): the flat input
/// positions of its window inside the input, and the size of the window clipped to the padded
/// input (PyTorch's `count_include_pad` divisor).
fn pool_windows(p: &Window, xs: &[usize], ys: &[usize]) -> KResult<Vec<(Vec<usize>, usize)>> {
    let r = xs.len();
    if r < 3 || ys.len() != r || xs[..r - 2] != ys[..r - 2] {
        return Err(format!(
            "pooling gradient between {} and {} needs rank 3 or more and equal leading dims",
            shape_string(xs),
            shape_string(ys)
        ));
    }
    let (h, w) = (xs[r - 2] as i64, xs[r - 1] as i64);
    let (ho, wo) = (ys[r - 2], ys[r - 1]);
    let planes = numel(&xs[..r - 2]);
    let mut out = Vec::with_capacity(planes * ho * wo);
    for plane in 0..planes {
        for i in 0..ho {
            for j in 0..wo {
                let y0 = (i * p.stride[0]) as i64 - p.padding[0] as i64;
                let x0 = (j * p.stride[1]) as i64 - p.padding[1] as i64;
                let hend = (y0 + p.kernel[0] as i64).min(h + p.padding[2] as i64);
                let wend = (x0 + p.kernel[1] as i64).min(w + p.padding[3] as i64);
                let padded = ((hend - y0) * (wend - x0)).max(0) as usize;
                let mut pos = Vec::new();
                for ki in 0..p.kernel[0] {
                    let y = y0 + (ki * p.dilation[0]) as i64;
                    for kj in 0..p.kernel[1] {
                        let x = x0 + (kj * p.dilation[1]) as i64;
                        if (0..h).contains(&y) && (0..w).contains(&x) {
                            pos.push(plane * (h * w) as usize + (y * w + x) as usize);
                        }
                    }
                }
                out.push((pos, padded));
            }
        }
    }
    Ok(out)
}

/// `max_pool2d_grad`: each window's `grad` to the position of its (first) maximum.
pub(crate) fn max_pool2d_grad<A: Arith>(
    ar: &A,
    g: &Arr<A>,
    x: &Arr<A>,
    p: &Window,
) -> KResult<Arr<A>> {
    let windows = pool_windows(p, x.shape(), g.shape())?;
    let (gs, xs) = (flat(g), flat(x));
    let mut d = vec![ar.enc(0.0); xs.len()];
    for (o, (pos, _)) in windows.iter().enumerate() {
        if let Some(k) = first_max(ar, &xs, pos) {
            d[k] = ar.wrap(d[k] + gs[o]);
        }
    }
    build(x.shape(), d)
}

/// `avg_pool2d_grad`: each window's `grad` times the public `1/count`, added to every
/// position of the window.
pub(crate) fn avg_pool2d_grad<A: Arith>(
    ar: &A,
    g: &Arr<A>,
    p: &Window,
    count_include_pad: bool,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let windows = pool_windows(p, out_shape, g.shape())?;
    let gs = flat(g);
    let mut d = vec![ar.enc(0.0); numel(out_shape)];
    for (o, (pos, padded)) in windows.iter().enumerate() {
        let count = if count_include_pad {
            *padded
        } else {
            pos.len()
        };
        if count == 0 {
            continue;
        }
        let share = ar.trunc(gs[o] * ar.enc(1.0 / count as f64));
        for &k in pos {
            d[k] = ar.wrap(d[k] + share);
        }
    }
    build(out_shape, d)
}

/// Convolution geometry (the forward op's attributes).
pub(crate) struct Conv {
    pub stride: [usize; 2],
    /// `[top, left, bottom, right]`.
    pub padding: [usize; 4],
    pub dilation: [usize; 2],
    pub groups: usize,
}

/// Calls `f(y, x, w)` with the flat positions of every product `x[.] * w[.]` summed into
/// `y[.]` by the convolution of an input of shape `xs` with a kernel `ws` to `ys`.
fn conv_products(
    c: &Conv,
    xs: &[usize],
    ws: &[usize],
    ys: &[usize],
    mut f: impl FnMut(usize, usize, usize),
) -> KResult<()> {
    if xs.len() != 4 || ws.len() != 4 || ys.len() != 4 || c.groups == 0 {
        return Err(format!(
            "convolution gradient needs rank-4 operands, got {}, {}, {}",
            shape_string(xs),
            shape_string(ws),
            shape_string(ys)
        ));
    }
    let (n, cin, h, w) = (xs[0], xs[1], xs[2] as i64, xs[3] as i64);
    let (cout, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let (ho, wo) = (ys[2], ys[3]);
    if cout % c.groups != 0 || cg * c.groups != cin || ys[0] != n || ys[1] != cout {
        return Err(format!(
            "convolution gradient: shapes {}, {}, {} do not fit {} groups",
            shape_string(xs),
            shape_string(ws),
            shape_string(ys),
            c.groups
        ));
    }
    let og = cout / c.groups;
    for b in 0..n {
        for o in 0..cout {
            let grp = o / og;
            for i in 0..ho {
                for j in 0..wo {
                    let yk = ((b * cout + o) * ho + i) * wo + j;
                    for ch in 0..cg {
                        let ci = grp * cg + ch;
                        for p in 0..kh {
                            let y =
                                (i * c.stride[0] + p * c.dilation[0]) as i64 - c.padding[0] as i64;
                            if !(0..h).contains(&y) {
                                continue;
                            }
                            for q in 0..kw {
                                let x = (j * c.stride[1] + q * c.dilation[1]) as i64
                                    - c.padding[1] as i64;
                                if !(0..w).contains(&x) {
                                    continue;
                                }
                                let xk = (((b * cin + ci) as i64 * h + y) * w + x) as usize;
                                let wk = ((o * cg + ch) * kh + p) * kw + q;
                                f(yk, xk, wk);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// `conv2d_grad_input`: the transposed convolution of `grad` with the kernel (double-scale
/// products summed, one truncation per output element).
pub(crate) fn conv2d_grad_input<A: Arith>(
    ar: &A,
    g: &Arr<A>,
    w: &Arr<A>,
    c: &Conv,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let (gs, ws) = (flat(g), flat(w));
    let mut d = vec![ar.enc(0.0); numel(out_shape)];
    conv_products(c, out_shape, w.shape(), g.shape(), |yk, xk, wk| {
        d[xk] = d[xk] + gs[yk] * ws[wk];
    })?;
    build(out_shape, d.into_iter().map(|v| ar.trunc(v)).collect())
}

/// `conv2d_grad_weight`: the correlation of the input with `grad` (one truncation per
/// output element).
pub(crate) fn conv2d_grad_weight<A: Arith>(
    ar: &A,
    x: &Arr<A>,
    g: &Arr<A>,
    c: &Conv,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let (xs, gs) = (flat(x), flat(g));
    let mut d = vec![ar.enc(0.0); numel(out_shape)];
    conv_products(c, x.shape(), out_shape, g.shape(), |yk, xk, wk| {
        d[wk] = d[wk] + gs[yk] * xs[xk];
    })?;
    build(out_shape, d.into_iter().map(|v| ar.trunc(v)).collect())
}

/// `gather_grad`: `grad` slices scatter-added at `indices` along `axis` of a data tensor of
/// shape `out_shape`.
pub(crate) fn gather_grad<A: Arith>(
    ar: &A,
    g: &Arr<A>,
    idx: &Arr<A>,
    axis: i64,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let a = normalize_axis(axis, out_shape.len())?;
    let size = out_shape[a];
    let pre = numel(&out_shape[..a]);
    let post = numel(&out_shape[a + 1..]);
    let (gs, is) = (flat(g), flat(idx));
    if gs.len() != pre * is.len() * post {
        return Err(format!(
            "gradient {} does not fit indices {} into {}",
            shape_string(g.shape()),
            shape_string(idx.shape()),
            shape_string(out_shape)
        ));
    }
    let mut d = vec![ar.enc(0.0); numel(out_shape)];
    let mut k = 0;
    for p in 0..pre {
        for &i in &is {
            let i = ar.dec(i);
            // negative indices count from the end, as in gather
            let i = if i < 0.0 { i + size as f64 } else { i };
            if !(0.0..size as f64).contains(&i) {
                return Err(format!("index {i} out of range for a dim of {size}"));
            }
            let i = i as usize;
            for q in 0..post {
                let t = (p * size + i) * post + q;
                d[t] = ar.wrap(d[t] + gs[k]);
                k += 1;
            }
        }
    }
    build(out_shape, d)
}

/// `cross_entropy_grad`: `(softmax(logits) - target) / N` (the softmax in `f64`).
pub(crate) fn cross_entropy_grad<A: Arith>(
    ar: &A,
    logits: &Arr<A>,
    target: &Arr<A>,
) -> KResult<Arr<A>> {
    same_shape::<A>(logits, target)?;
    if logits.ndim() != 2 {
        return Err(format!(
            "cross-entropy gradient needs (N, C) logits, got {}",
            shape_string(logits.shape())
        ));
    }
    let (n, c) = (logits.shape()[0], logits.shape()[1]);
    let (ls, ts) = (flat(logits), flat(target));
    let mut d = Vec::with_capacity(n * c);
    for r in 0..n {
        let row: Vec<f64> = ls[r * c..(r + 1) * c].iter().map(|&v| ar.dec(v)).collect();
        for (j, s) in softmax_lane(&row, false).into_iter().enumerate() {
            d.push(ar.enc((s - ar.dec(ts[r * c + j])) / n as f64));
        }
    }
    build(logits.shape(), d)
}

/// A batch standardization: `x_hat`, `1/sqrt(var + eps)` per channel, the channel groups.
type Standardized = (Vec<f64>, Vec<f64>, Vec<Vec<usize>>);

/// Per-channel (dim 1) batch statistics of decoded `x`: `(x_hat, 1/sqrt(var + eps))`, with the
/// channel groups.
fn standardize(x: &[f64], shape: &[usize], eps: f64) -> KResult<Standardized> {
    if shape.len() < 2 {
        return Err(format!(
            "batch normalization needs rank 2 or more, got {}",
            shape_string(shape)
        ));
    }
    let mut red = vec![true; shape.len()];
    red[1] = false;
    let groups = reduce_groups(shape, &red);
    let mut xhat = vec![0.0; x.len()];
    let mut inv = Vec::with_capacity(groups.len());
    for grp in &groups {
        let n = grp.len() as f64;
        let mu = grp.iter().map(|&k| x[k]).sum::<f64>() / n;
        let var = grp.iter().map(|&k| (x[k] - mu).powi(2)).sum::<f64>() / n;
        let s = 1.0 / (var + eps).sqrt();
        for &k in grp {
            xhat[k] = (x[k] - mu) * s;
        }
        inv.push(s);
    }
    Ok((xhat, inv, groups))
}

/// `batch_norm_normalize`: `(x - mean) / sqrt(var + eps)` with batch statistics per channel
/// (in `f64`).
pub(crate) fn batch_norm_normalize<A: Arith>(ar: &A, x: &Arr<A>, eps: f64) -> KResult<Arr<A>> {
    let xs: Vec<f64> = flat(x).into_iter().map(|v| ar.dec(v)).collect();
    let (xhat, _, _) = standardize(&xs, x.shape(), eps)?;
    build(x.shape(), xhat.into_iter().map(|v| ar.enc(v)).collect())
}

/// `batch_norm_normalize_grad`:
/// `(grad - mean(grad) - x_hat * mean(grad * x_hat)) / sqrt(var + eps)` (in `f64`).
pub(crate) fn batch_norm_normalize_grad<A: Arith>(
    ar: &A,
    g: &Arr<A>,
    x: &Arr<A>,
    eps: f64,
) -> KResult<Arr<A>> {
    same_shape::<A>(g, x)?;
    let xs: Vec<f64> = flat(x).into_iter().map(|v| ar.dec(v)).collect();
    let gs: Vec<f64> = flat(g).into_iter().map(|v| ar.dec(v)).collect();
    let (xhat, inv, groups) = standardize(&xs, x.shape(), eps)?;
    let mut d = vec![0.0; xs.len()];
    for (ch, grp) in groups.iter().enumerate() {
        let n = grp.len() as f64;
        let mg = grp.iter().map(|&k| gs[k]).sum::<f64>() / n;
        let mgx = grp.iter().map(|&k| gs[k] * xhat[k]).sum::<f64>() / n;
        for &k in grp {
            d[k] = (gs[k] - mg - xhat[k] * mgx) * inv[ch];
        }
    }
    build(x.shape(), d.into_iter().map(|v| ar.enc(v)).collect())
}
