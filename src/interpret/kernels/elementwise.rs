//! Element-wise kernels: binary ops with numpy broadcasting and unary activations, as
//! `torch.add` ... `torch.maximum` and `torch.nn.functional`.

use super::{Arr, KResult};
use crate::graph::{broadcast, Op};
use crate::interpret::arith::Arith;
use ndarray::IxDyn;
use std::f64::consts::{FRAC_2_SQRT_PI, SQRT_2};

/// `f(a, b)` element-wise over the numpy broadcast of `a` and `b`.
pub(crate) fn zip_broadcast<T: Copy, U>(
    a: &ndarray::ArrayD<T>,
    b: &ndarray::ArrayD<T>,
    f: impl Fn(T, T) -> U,
) -> KResult<ndarray::ArrayD<U>> {
    let shape = broadcast(a.shape(), b.shape())?;
    // Same shapes, both contiguous: one pass over the two buffers.
    if let (true, true, Some(xs), Some(ys)) = (
        a.shape() == shape.as_slice(),
        b.shape() == shape.as_slice(),
        a.as_slice(),
        b.as_slice(),
    ) {
        let out: Vec<U> = xs.iter().zip(ys).map(|(&x, &y)| f(x, y)).collect();
        return Ok(ndarray::ArrayD::from_shape_vec(IxDyn(&shape), out).expect("same size"));
    }
    if a.shape().len() > shape.len() || b.shape().len() > shape.len() {
        return Err("an operand has more dimensions than the broadcast".into());
    }
    // Broadcast: row by row along the last axis, walking both buffers by their broadcast
    // strides (0 along a broadcast dim), without indexing each element through the dynamic
    // dimension.
    let (a, b) = (a.as_standard_layout(), b.as_standard_layout());
    let (xs, ys) = (
        a.as_slice().expect("standard layout"),
        b.as_slice().expect("standard layout"),
    );
    let (sa, sb) = (
        broadcast_strides(a.shape(), &shape),
        broadcast_strides(b.shape(), &shape),
    );
    let total: usize = shape.iter().product();
    let mut out: Vec<U> = Vec::with_capacity(total);
    let Some(last) = shape.len().checked_sub(1) else {
        out.push(f(xs[0], ys[0]));
        return Ok(ndarray::ArrayD::from_shape_vec(IxDyn(&shape), out).expect("same size"));
    };
    let row = shape[last];
    if total > 0 {
        let mut index = vec![0usize; last];
        let (mut oa, mut ob) = (0usize, 0usize);
        for _ in 0..total / row {
            out.extend((0..row).map(|j| f(xs[oa + j * sa[last]], ys[ob + j * sb[last]])));
            for d in (0..last).rev() {
                index[d] += 1;
                oa += sa[d];
                ob += sb[d];
                if index[d] < shape[d] {
                    break;
                }
                oa -= sa[d] * shape[d];
                ob -= sb[d] * shape[d];
                index[d] = 0;
            }
        }
    }
    Ok(ndarray::ArrayD::from_shape_vec(IxDyn(&shape), out).expect("same size"))
}

/// Row-major strides of an operand of shape `input` read as the broadcast shape `out`
/// (aligned to the right; 0 along dims it is broadcast in).
fn broadcast_strides(input: &[usize], out: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; out.len()];
    let offset = out.len() - input.len();
    let mut step = 1;
    for (i, &d) in input.iter().enumerate().rev() {
        strides[offset + i] = if d == 1 { 0 } else { step };
        step *= d;
    }
    strides
}

/// A binary element-wise op. `int` is set when the result is an integer tensor (then
/// division truncates towards zero, as ONNX `Div` on integers).
pub(crate) fn binary<A: Arith>(
    ar: &A,
    op: &Op,
    a: &Arr<A>,
    b: &Arr<A>,
    int: bool,
) -> KResult<Arr<A>> {
    match op {
        Op::Add => zip_broadcast(a, b, |x, y| ar.wrap(x + y)),
        Op::Sub => zip_broadcast(a, b, |x, y| ar.wrap(x - y)),
        Op::Mul => zip_broadcast(a, b, |x, y| ar.trunc(x * y)),
        Op::Div if int => zip_broadcast(a, b, |x, y| ar.enc((ar.dec(x) / ar.dec(y)).trunc())),
        Op::Div => zip_broadcast(a, b, |x, y| ar.enc(ar.dec(x) / ar.dec(y))),
        // torch.maximum / torch.minimum: a NaN on either side propagates.
        Op::Max => zip_broadcast(a, b, |x, y| {
            let (p, q) = (ar.dec(x), ar.dec(y));
            if p.is_nan() || p >= q {
                x
            } else {
                y
            }
        }),
        Op::Min => zip_broadcast(a, b, |x, y| {
            let (p, q) = (ar.dec(x), ar.dec(y));
            if p.is_nan() || p <= q {
                x
            } else {
                y
            }
        }),
        other => Err(format!(
            "'{}' is not a binary element-wise op",
            other.name()
        )),
    }
}

/// Error function, accurate to about 1e-16 (the C library's algorithm, from `libm`).
pub(crate) fn erf(x: f64) -> f64 {
    libm::erf(x)
}

/// Exact GELU: `x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))`.
pub(crate) fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / SQRT_2))
}

/// The tanh form of GELU (`approximate='tanh'`):
/// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
pub(crate) fn gelu_tanh(x: f64) -> f64 {
    let k = SQRT_2 * FRAC_2_SQRT_PI * 0.5;
    0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
}

pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// A unary element-wise op.
pub(crate) fn unary<A: Arith>(ar: &A, op: &Op, x: &Arr<A>) -> KResult<Arr<A>> {
    let zero = ar.enc(0.0);
    let f: Box<dyn Fn(A::E) -> A::E + Sync + '_> = match *op {
        Op::Neg => Box::new(move |v| ar.wrap(zero - v)),
        Op::Abs => Box::new(move |v| {
            if ar.dec(v) < 0.0 {
                ar.wrap(zero - v)
            } else {
                v
            }
        }),
        Op::Relu => Box::new(move |v| {
            let d = ar.dec(v);
            if d > 0.0 || d.is_nan() {
                v
            } else {
                zero
            }
        }),
        Op::LeakyRelu { alpha } => {
            let slope = ar.enc(alpha);
            Box::new(move |v| {
                let d = ar.dec(v);
                if d > 0.0 || d.is_nan() {
                    v
                } else {
                    ar.trunc(v * slope)
                }
            })
        }
        Op::Clip { min, max } => {
            let (lo, hi) = (ar.enc(min), ar.enc(max));
            Box::new(move |v| {
                let d = ar.dec(v);
                if d < min {
                    lo
                } else if d > max {
                    hi
                } else {
                    v
                }
            })
        }
        Op::Square => Box::new(move |v| ar.trunc(v * v)),
        Op::Pow { exponent } => pow(ar, exponent),
        Op::Sigmoid => Box::new(move |v| ar.apply(v, sigmoid)),
        Op::Tanh => Box::new(move |v| ar.apply(v, f64::tanh)),
        Op::Gelu { approximate: false } => Box::new(move |v| ar.apply(v, gelu)),
        Op::Gelu { approximate: true } => Box::new(move |v| ar.apply(v, gelu_tanh)),
        Op::Exp => Box::new(move |v| ar.apply(v, f64::exp)),
        Op::Log => Box::new(move |v| ar.apply(v, f64::ln)),
        Op::Reciprocal => Box::new(move |v| ar.apply(v, |d| 1.0 / d)),
        Op::Sqrt => Box::new(move |v| ar.apply(v, f64::sqrt)),
        Op::Rsqrt => Box::new(move |v| ar.apply(v, |d| 1.0 / d.sqrt())),
        ref other => return Err(format!("'{}' is not a unary element-wise op", other.name())),
    };
    Ok(x.mapv(f))
}

/// `x^exponent`: small whole exponents are repeated products (each truncated, as an MPC
/// framework computes them), others are a nonlinear function.
fn pow<A: Arith>(ar: &A, exponent: f64) -> Box<dyn Fn(A::E) -> A::E + Sync + '_> {
    if exponent == 0.0 {
        let one = ar.enc(1.0);
        return Box::new(move |_| one);
    }
    if exponent.fract() == 0.0 && (1.0..=16.0).contains(&exponent) {
        let n = exponent as u32;
        return Box::new(move |v| {
            // Square-and-multiply, as a framework would: about log2(n) truncated products.
            let (mut acc, mut base, mut k) = (None, v, n);
            loop {
                if k & 1 == 1 {
                    acc = Some(match acc {
                        None => base,
                        Some(a) => ar.trunc(a * base),
                    });
                }
                k >>= 1;
                if k == 0 {
                    break;
                }
                base = ar.trunc(base * base);
            }
            acc.unwrap_or(v)
        });
    }
    Box::new(move |v| ar.apply(v, |d| d.powf(exponent)))
}
