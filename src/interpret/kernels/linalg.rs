//! Linear algebra: `torch.matmul` (numpy broadcasting, 1-D operands), `nn.Linear`
//! (`x W^T + b`) and `nn.Conv2d` (explicit `[top, left, bottom, right]` zero padding, stride,
//! dilation, groups), all as matrix products through `ndarray`'s `dot` (a blocked GEMM for
//! `f64`). Convolution lowers to a matrix product by im2col.
//!
//! In fixed-point mode each output element is one sum of double-scale products, truncated
//! once; the bias is added after the truncation.

use super::{reshaped, standard, Arr, KResult};
use crate::graph::{broadcast, numel, shape_string};
use crate::interpret::arith::Arith;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, Array3, Array4, Axis, Ix2, IxDyn, Zip};
use num_traits::{One, Zero};

/// Adds `bias` along the last dim of `y` (in place, wrapping).
fn add_bias_last<A: Arith>(ar: &A, y: &mut Array2<A::E>, bias: &Arr<A>) -> KResult<()> {
    let b = bias
        .view()
        .into_shape_with_order(IxDyn(&[1, y.ncols()]))
        .map_err(|e| format!("bias {}: {e}", shape_string(bias.shape())))?
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?;
    let b = b
        .broadcast(y.raw_dim())
        .ok_or("bias does not broadcast over the output")?;
    Zip::from(y).and(&b).for_each(|v, &c| *v = ar.wrap(*v + c));
    Ok(())
}

/// Matrix product with numpy semantics; `out_shape` is the node's inferred shape.
pub(crate) fn matmul<A: Arith>(
    ar: &A,
    a: &Arr<A>,
    b: &Arr<A>,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err("mat_mul operands must have rank at least 1".to_string());
    }
    let a_shape: Vec<usize> = if a.ndim() == 1 {
        vec![1, a.len()]
    } else {
        a.shape().to_vec()
    };
    let b_shape: Vec<usize> = if b.ndim() == 1 {
        vec![b.len(), 1]
    } else {
        b.shape().to_vec()
    };
    let (ra, rb) = (a_shape.len(), b_shape.len());
    let (m, k, k2, n) = (
        a_shape[ra - 2],
        a_shape[ra - 1],
        b_shape[rb - 2],
        b_shape[rb - 1],
    );
    if k != k2 {
        return Err(format!(
            "inner dims differ: {} @ {}",
            shape_string(a.shape()),
            shape_string(b.shape())
        ));
    }
    let batch = broadcast(&a_shape[..ra - 2], &b_shape[..rb - 2])?;
    let nb = numel(&batch);
    let stacked =
        |x: &Arr<A>, shape: &[usize], rows: usize, cols: usize| -> KResult<Array3<A::E>> {
            let x = reshaped(x, shape)?;
            let mut full = batch.clone();
            full.extend([rows, cols]);
            let x = x
                .broadcast(IxDyn(&full))
                .ok_or("batch dims do not broadcast")?;
            reshaped(&x, &[nb, rows, cols])?
                .into_owned()
                .into_dimensionality()
                .map_err(|e| e.to_string())
        };
    let a3 = stacked(a, &a_shape, m, k)?;
    let b3 = stacked(b, &b_shape, k, n)?;
    let mut out = Array3::<A::E>::zeros((nb, m, n));
    for i in 0..nb {
        let mut o = out.index_axis_mut(Axis(0), i);
        general_mat_mul(
            A::E::one(),
            &a3.index_axis(Axis(0), i),
            &b3.index_axis(Axis(0), i),
            A::E::zero(),
            &mut o,
        );
    }
    out.mapv_inplace(|v| ar.trunc(v));
    if numel(out_shape) != out.len() {
        return Err(format!(
            "product has {} elements, the node declares {}",
            out.len(),
            shape_string(out_shape)
        ));
    }
    Ok(reshaped(&out.into_dyn(), out_shape)?.into_owned())
}

/// `nn.Linear`: `x (.., in) @ weight (out, in)^T + bias (out)`.
pub(crate) fn linear<A: Arith>(
    ar: &A,
    x: &Arr<A>,
    w: &Arr<A>,
    bias: Option<&Arr<A>>,
    out_shape: &[usize],
) -> KResult<Arr<A>> {
    let w = w
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|_| format!("weight must be 2-D, got {}", shape_string(w.shape())))?;
    let inner = w.ncols();
    if x.shape().last() != Some(&inner) {
        return Err(format!(
            "input {} does not end in {inner} features",
            shape_string(x.shape())
        ));
    }
    let rows = x.len() / inner;
    let x2 = reshaped(x, &[rows, inner])?;
    let x2 = x2
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?;
    let mut y = x2.dot(&w.t());
    y.mapv_inplace(|v| ar.trunc(v));
    if let Some(b) = bias {
        add_bias_last(ar, &mut y, b)?;
    }
    Ok(reshaped(&y.into_dyn(), out_shape)?.into_owned())
}

/// Attributes of a 2-D convolution.
pub(crate) struct ConvAttrs {
    pub stride: [usize; 2],
    /// `[top, left, bottom, right]`.
    pub padding: [usize; 4],
    pub dilation: [usize; 2],
    pub groups: usize,
}

/// `nn.Conv2d` on NCHW input with weight `(Cout, Cin/groups, kh, kw)` by im2col: per image
/// and group, the receptive fields become the columns of a `(Cin/groups * kh * kw, Ho * Wo)`
/// matrix that the group's weights multiply.
pub(crate) fn conv2d<A: Arith>(
    ar: &A,
    x: &Arr<A>,
    w: &Arr<A>,
    bias: Option<&Arr<A>>,
    attrs: &ConvAttrs,
) -> KResult<Arr<A>> {
    if x.ndim() != 4 || w.ndim() != 4 {
        return Err(format!(
            "conv2d needs 4-D input and weight, got {} and {}",
            shape_string(x.shape()),
            shape_string(w.shape())
        ));
    }
    let (n, c, h, wd) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (cout, cg, kh, kw) = (w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]);
    let g = attrs.groups;
    if g == 0 || cg * g != c || cout % g != 0 {
        return Err(format!(
            "groups {g} do not fit input channels {c}, weight {}",
            shape_string(w.shape())
        ));
    }
    let [sh, sw] = attrs.stride;
    let [dh, dw] = attrs.dilation;
    let [pt, pl, pb, pr] = attrs.padding;
    let span_h = dh * (kh - 1) + 1;
    let span_w = dw * (kw - 1) + 1;
    if sh == 0 || sw == 0 || h + pt + pb < span_h || wd + pl + pr < span_w {
        return Err("the kernel does not fit the padded input".to_string());
    }
    let ho = (h + pt + pb - span_h) / sh + 1;
    let wo = (wd + pl + pr - span_w) / sw + 1;
    let coutg = cout / g;
    let kdim = cg * kh * kw;
    let xs = standard(x);
    let xs = xs.as_slice().ok_or("input is not contiguous")?;
    let ws = standard(w);
    let ws = reshaped(&ws, &[cout, kdim])?;
    let ws = ws
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?;
    let mut out = Array4::<A::E>::zeros((n, cout, ho, wo));
    let mut cols = Array2::<A::E>::zeros((kdim, ho * wo));
    let zero = A::E::zero();
    for img in 0..n {
        for grp in 0..g {
            {
                let cs = cols
                    .as_slice_mut()
                    .ok_or("im2col buffer is not contiguous")?;
                for ci in 0..cg {
                    let plane = &xs[((img * c) + grp * cg + ci) * h * wd..][..h * wd];
                    for ki in 0..kh {
                        for kj in 0..kw {
                            let row = (ci * kh + ki) * kw + kj;
                            let dst = &mut cs[row * ho * wo..][..ho * wo];
                            for oy in 0..ho {
                                let iy = (oy * sh + ki * dh) as isize - pt as isize;
                                let line = &mut dst[oy * wo..][..wo];
                                if iy < 0 || iy >= h as isize {
                                    line.fill(zero);
                                    continue;
                                }
                                let src = &plane[iy as usize * wd..][..wd];
                                for (ox, v) in line.iter_mut().enumerate() {
                                    let ix = (ox * sw + kj * dw) as isize - pl as isize;
                                    *v = if ix < 0 || ix >= wd as isize {
                                        zero
                                    } else {
                                        src[ix as usize]
                                    };
                                }
                            }
                        }
                    }
                }
            }
            let wg = ws.slice(s![grp * coutg..(grp + 1) * coutg, ..]);
            let mut o = out.slice_mut(s![img, grp * coutg..(grp + 1) * coutg, .., ..]);
            let mut o2 = o
                .view_mut()
                .into_shape_with_order((coutg, ho * wo))
                .map_err(|e| e.to_string())?;
            general_mat_mul(A::E::one(), &wg, &cols, A::E::zero(), &mut o2);
        }
    }
    out.mapv_inplace(|v| ar.trunc(v));
    if let Some(b) = bias {
        if b.len() != cout {
            return Err(format!("bias has {} values for {cout} channels", b.len()));
        }
        for (ch, &bv) in b.iter().enumerate() {
            out.slice_mut(s![.., ch, .., ..])
                .mapv_inplace(|v| ar.wrap(v + bv));
        }
    }
    Ok(out.into_dyn())
}
