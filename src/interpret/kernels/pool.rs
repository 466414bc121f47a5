//! Pooling over the last two dims (any leading dims): max and average pooling with PyTorch's
//! window rules (padding, dilation, `ceil_mode`, `count_include_pad`), adaptive and global
//! average pooling.
//!
//! Averages are a ring sum times the public constant `1/count`, truncated in fixed-point mode.

use super::{reshaped, standard, Arr, KResult};
use crate::graph::{numel, shape_string};
use crate::interpret::arith::Arith;
use ndarray::{ArrayD, IxDyn};

/// Attributes of max and average pooling.
pub(crate) struct PoolAttrs {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// `[top, left, bottom, right]`.
    pub padding: [usize; 4],
    pub dilation: [usize; 2],
    pub count_include_pad: bool,
}

/// Runs `window(plane, oy, ox)` for every output position of every `(H, W)` plane of `x`;
/// `out_shape` is the node's inferred shape (its last two dims are the output plane).
fn per_plane<A: Arith>(
    x: &Arr<A>,
    out_shape: &[usize],
    window: impl Fn(&[A::E], usize, usize) -> A::E,
) -> KResult<Arr<A>> {
    let r = x.ndim();
    if r < 3 || out_shape.len() != r || out_shape[..r - 2] != x.shape()[..r - 2] {
        return Err(format!(
            "pooling {} to {} needs rank 3 or more and equal leading dims",
            shape_string(x.shape()),
            shape_string(out_shape)
        ));
    }
    let (h, w) = (x.shape()[r - 2], x.shape()[r - 1]);
    let (oh, ow) = (out_shape[r - 2], out_shape[r - 1]);
    let xs = standard(x);
    let xs = xs.as_slice().ok_or("input is not contiguous")?;
    let planes = numel(&x.shape()[..r - 2]);
    let mut out = Vec::with_capacity(planes * oh * ow);
    for p in 0..planes {
        let plane = &xs[p * h * w..][..h * w];
        for oy in 0..oh {
            for ox in 0..ow {
                out.push(window(plane, oy, ox));
            }
        }
    }
    ArrayD::from_shape_vec(IxDyn(out_shape), out).map_err(|e| e.to_string())
}

/// `F.max_pool2d`: the maximum over the window's elements inside the input (padding never
/// wins, as PyTorch pads with minus infinity).
pub(crate) fn max_pool2d<A: Arith>(
    ar: &A,
    x: &Arr<A>,
    attrs: &PoolAttrs,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let r = x.ndim();
    if r < 3 {
        return Err(format!(
            "pooling needs rank 3 or more, got {}",
            shape_string(x.shape())
        ));
    }
    let (h, w) = (x.shape()[r - 2] as isize, x.shape()[r - 1] as isize);
    let [kh, kw] = attrs.kernel;
    let [sh, sw] = attrs.stride;
    let [dh, dw] = attrs.dilation;
    let (pt, pl) = (attrs.padding[0] as isize, attrs.padding[1] as isize);
    per_plane::<A>(x, out_shape, |plane, oy, ox| {
        let y0 = (oy * sh) as isize - pt;
        let x0 = (ox * sw) as isize - pl;
        let mut best: Option<(A::E, f64)> = None;
        for ki in 0..kh {
            let iy = y0 + (ki * dh) as isize;
            if iy < 0 || iy >= h {
                continue;
            }
            for kj in 0..kw {
                let ix = x0 + (kj * dw) as isize;
                if ix < 0 || ix >= w {
                    continue;
                }
                let v = plane[(iy * w + ix) as usize];
                let d = ar.dec(v);
                match best {
                    Some((_, b)) if !(d > b || d.is_nan()) => {}
                    _ => best = Some((v, d)),
                }
            }
        }
        best.map(|(v, _)| v)
            .unwrap_or_else(|| ar.enc(f64::NEG_INFINITY))
    })
}

/// `F.avg_pool2d`: PyTorch's rule is that the window is first clipped to the padded input
/// (`[-top, H + bottom)`), which gives the divisor when padding counts, then to the input,
/// which gives the elements summed (and the divisor when it does not).
pub(crate) fn avg_pool2d<A: Arith>(
    ar: &A,
    x: &Arr<A>,
    attrs: &PoolAttrs,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let r = x.ndim();
    if r < 3 {
        return Err(format!(
            "pooling needs rank 3 or more, got {}",
            shape_string(x.shape())
        ));
    }
    let (h, w) = (x.shape()[r - 2] as isize, x.shape()[r - 1] as isize);
    let [kh, kw] = attrs.kernel.map(|k| k as isize);
    let [sh, sw] = attrs.stride;
    let [pt, pl, pb, pr] = attrs.padding.map(|p| p as isize);
    let zero = ar.enc(0.0);
    per_plane::<A>(x, out_shape, |plane, oy, ox| {
        let mut y0 = (oy * sh) as isize - pt;
        let mut x0 = (ox * sw) as isize - pl;
        let mut y1 = (y0 + kh).min(h + pb);
        let mut x1 = (x0 + kw).min(w + pr);
        let padded = (y1 - y0) * (x1 - x0);
        y0 = y0.max(0);
        x0 = x0.max(0);
        y1 = y1.min(h);
        x1 = x1.min(w);
        if y0 >= y1 || x0 >= x1 {
            return zero;
        }
        let mut sum = zero;
        for iy in y0..y1 {
            for ix in x0..x1 {
                sum = sum + plane[(iy * w + ix) as usize];
            }
        }
        let count = if attrs.count_include_pad {
            padded
        } else {
            (y1 - y0) * (x1 - x0)
        };
        ar.trunc(ar.wrap(sum) * ar.enc(1.0 / count as f64))
    })
}

/// `F.adaptive_avg_pool2d`: output cell `i` of `n` averages input rows
/// `floor(i * H / n) .. ceil((i + 1) * H / n)` (and likewise for columns).
pub(crate) fn adaptive_avg_pool2d<A: Arith>(
    ar: &A,
    x: &Arr<A>,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let r = x.ndim();
    if r < 3 {
        return Err(format!(
            "pooling needs rank 3 or more, got {}",
            shape_string(x.shape())
        ));
    }
    let (h, w) = (x.shape()[r - 2], x.shape()[r - 1]);
    let (oh, ow) = (out_shape[r - 2], out_shape[r - 1]);
    let zero = ar.enc(0.0);
    per_plane::<A>(x, out_shape, |plane, oy, ox| {
        let (y0, y1) = ((oy * h) / oh, ((oy + 1) * h).div_ceil(oh));
        let (x0, x1) = ((ox * w) / ow, ((ox + 1) * w).div_ceil(ow));
        let mut sum = zero;
        for iy in y0..y1 {
            for ix in x0..x1 {
                sum = sum + plane[iy * w + ix];
            }
        }
        let count = ((y1 - y0) * (x1 - x0)) as f64;
        ar.trunc(ar.wrap(sum) * ar.enc(1.0 / count))
    })
}

/// Mean over the last two dims, kept as `1 x 1`.
pub(crate) fn global_avg_pool<A: Arith>(ar: &A, x: &Arr<A>) -> KResult<Arr<A>> {
    let r = x.ndim();
    if r < 3 {
        return Err(format!(
            "global_avg_pool needs rank 3 or more, got {}",
            shape_string(x.shape())
        ));
    }
    let mut out_shape = x.shape().to_vec();
    out_shape[r - 2] = 1;
    out_shape[r - 1] = 1;
    let hw = x.shape()[r - 2] * x.shape()[r - 1];
    let planes = numel(&x.shape()[..r - 2]);
    let flat = reshaped(x, &[planes, hw])?;
    let inv = ar.enc(1.0 / hw as f64);
    let zero = ar.enc(0.0);
    let means: Vec<A::E> = flat
        .outer_iter()
        .map(|row| ar.trunc(ar.wrap(row.iter().fold(zero, |s, &v| s + v)) * inv))
        .collect();
    ArrayD::from_shape_vec(IxDyn(&out_shape), means).map_err(|e| e.to_string())
}
