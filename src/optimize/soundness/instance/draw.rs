//! The attributes drawn for an op of an instance (pool windows that fit its input,
//! permutations, reshapes, axes) and the shape each op wants from its operands.

use super::*;

impl Builder<'_> {
    /// Random attributes of `op` whose first operand has shape `x`.
    pub(super) fn random_attrs(
        &mut self,
        op: &str,
        x: &[usize],
        fixed: &[(String, serde_json::Value)],
    ) -> Option<Op> {
        use serde_json::json;
        let r = x.len();
        let mut f = serde_json::Map::new();
        let mut set = |k: &str, v: serde_json::Value| {
            f.insert(k.to_string(), v);
        };
        let spatial = |x: &[usize]| -> (usize, usize) {
            if x.len() >= 2 {
                (x[x.len() - 2], x[x.len() - 1])
            } else {
                (1, 1)
            }
        };
        match op {
            "conv2d" => {
                let s = if self.rng.random_bool(0.3) { 2 } else { 1 };
                let p = int(self.rng, 0, 1);
                let pad = if self.rng.random_bool(0.1) {
                    [
                        int(self.rng, 0, 1),
                        int(self.rng, 0, 1),
                        int(self.rng, 0, 1),
                        int(self.rng, 0, 1),
                    ]
                } else {
                    [p; 4]
                };
                let d = if self.rng.random_bool(0.15) { 2 } else { 1 };
                let c = x.get(1).copied().unwrap_or(1);
                let g = if c > 1 && self.rng.random_bool(0.2) {
                    c
                } else {
                    1
                };
                set("stride", json!([s, s]));
                set("padding", json!(pad));
                set("dilation", json!([d, d]));
                set("groups", json!(g));
            }
            "max_pool2d" | "avg_pool2d" => {
                let (h, w) = spatial(x);
                let kh = int(self.rng, 1, h.min(3));
                let kw = int(self.rng, 1, w.min(3));
                let stride = |rng: &mut Pcg64, k: usize| match int(rng, 0, 2) {
                    0 => 1,
                    1 => k,
                    _ => 2,
                };
                let (sh, sw) = (stride(self.rng, kh), stride(self.rng, kw));
                let pad = |rng: &mut Pcg64, k: usize| {
                    if rng.random_bool(0.7) {
                        0
                    } else {
                        int(rng, 0, k / 2)
                    }
                };
                let (ph, pw) = (pad(self.rng, kh), pad(self.rng, kw));
                set("kernel", json!([kh, kw]));
                set("stride", json!([sh, sw]));
                set("padding", json!([ph, pw, ph, pw]));
                set("ceil_mode", json!(self.rng.random_bool(0.2)));
                if op == "max_pool2d" {
                    let d = if self.rng.random_bool(0.15) { 2 } else { 1 };
                    set("dilation", json!([d, d]));
                } else {
                    set("count_include_pad", json!(self.rng.random_bool(0.5)));
                }
            }
            "adaptive_avg_pool2d" => {
                let (h, w) = spatial(x);
                let o = [int(self.rng, 1, h), int(self.rng, 1, w)];
                set("output", json!(o));
            }
            "reduce_sum" | "reduce_mean" | "reduce_max" => {
                let mut axes: Vec<i64> = Vec::new();
                if r > 0 && !self.rng.random_bool(0.15) {
                    let mut all: Vec<usize> = (0..r).collect();
                    shuffle(&mut all, self.rng);
                    let k = int(self.rng, 1, r);
                    for &a in &all[..k] {
                        axes.push(if self.rng.random_bool(0.3) {
                            a as i64 - r as i64
                        } else {
                            a as i64
                        });
                    }
                }
                set("axes", json!(axes));
                set("keepdims", json!(self.rng.random_bool(0.5)));
            }
            "arg_max" => {
                set("axis", json!(self.axis(r)?));
                set("keepdims", json!(self.rng.random_bool(0.5)));
            }
            "softmax" | "log_softmax" | "concat" | "gather" => {
                let a = if op == "gather" || r == 0 {
                    0
                } else if self.rng.random_bool(0.5) {
                    -1
                } else {
                    self.axis(r)?
                };
                set("axis", json!(a));
            }
            "layer_norm" => {
                let a = if self.rng.random_bool(0.6) {
                    -1
                } else {
                    self.axis(r)?
                };
                set("axis", json!(a));
                set(
                    "eps",
                    json!(if self.rng.random_bool(0.7) {
                        1e-5
                    } else {
                        1e-3
                    }),
                );
            }
            "batch_norm" => {
                set(
                    "eps",
                    json!(if self.rng.random_bool(0.7) {
                        1e-5
                    } else {
                        1e-3
                    }),
                );
            }
            "reshape" => {
                let n = numel(x);
                let rank = int(self.rng, 1, 4);
                let dims = self.factorise(n, rank);
                let mut to: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
                if self.rng.random_bool(0.3) {
                    let i = self.rng.random_range(0..to.len());
                    to[i] = -1;
                }
                set("to", json!(to));
            }
            "flatten" => {
                let a = if r == 0 {
                    0
                } else if self.rng.random_bool(0.7) {
                    int(self.rng, 0, r - 1) as i64
                } else {
                    self.axis(r)?
                };
                set("axis", json!(a));
            }
            "transpose" => {
                let mut perm: Vec<usize> = (0..r).collect();
                if r >= 2 && self.rng.random_bool(0.4) {
                    perm.swap(r - 2, r - 1);
                } else {
                    shuffle(&mut perm, self.rng);
                }
                set("perm", json!(perm));
            }
            "expand" => {
                let mut to: Vec<usize> = x
                    .iter()
                    .map(|&d| {
                        if d == 1 && self.rng.random_bool(0.7) {
                            int(self.rng, 1, self.max_dim)
                        } else {
                            d
                        }
                    })
                    .collect();
                if self.rng.random_bool(0.3) {
                    to.insert(0, int(self.rng, 1, self.max_dim));
                }
                set("to", json!(to));
            }
            "slice" => {
                if r == 0 {
                    return None;
                }
                let a = int(self.rng, 0, r - 1);
                let len = x[a];
                let start = int(self.rng, 0, len - 1);
                let end = int(self.rng, start + 1, len);
                let (s, e) = if self.rng.random_bool(0.3) {
                    (start as i64 - len as i64, end as i64 - len as i64)
                } else {
                    (start as i64, end as i64)
                };
                set("axis", json!(a));
                set("start", json!(s));
                set("end", json!(if e == 0 { len as i64 } else { e }));
                set("step", json!(if self.rng.random_bool(0.3) { 2 } else { 1 }));
            }
            "pow" => {
                let e = [2.0, 2.0, 3.0, 0.5, -1.0][int(self.rng, 0, 4)];
                set("exponent", json!(e));
            }
            "clip" => {
                let lo = [0.0, -1.0, 0.5][int(self.rng, 0, 2)];
                set("min", json!(lo));
                set("max", json!(lo + [0.5, 6.0][int(self.rng, 0, 1)]));
            }
            "gelu" => set("approximate", json!(self.rng.random_bool(0.3))),
            "leaky_relu" => set(
                "alpha",
                json!(if self.rng.random_bool(0.5) { 0.01 } else { 0.2 }),
            ),
            "dropout" => set("p", json!([0.0, 0.1, 0.5][int(self.rng, 0, 2)])),
            _ => {}
        }
        finish(op, f, fixed)
    }

    /// A random axis of a rank-`r` tensor, positive or negative.
    fn axis(&mut self, r: usize) -> Option<i64> {
        if r == 0 {
            return None;
        }
        let a = int(self.rng, 0, r - 1) as i64;
        Some(if self.rng.random_bool(0.5) {
            a - r as i64
        } else {
            a
        })
    }

    /// The shape operand `i` of `op` should have, given the shapes known so far (`shapes[j]`:
    /// operands built or already bound), the attributes and the shape the parent wants.
    pub(super) fn want(
        &mut self,
        op: &str,
        i: usize,
        attrs: Option<&Op>,
        shapes: &[Option<Vec<usize>>],
        out: Option<&[usize]>,
    ) -> Option<Vec<usize>> {
        let s = |j: usize| shapes.get(j).cloned().flatten();
        if UNARY.contains(&op) {
            return out.map(<[usize]>::to_vec);
        }
        if BINARY.contains(&op) {
            return match i {
                0 => match (out, s(1)) {
                    (Some(o), _) if self.rng.random_bool(0.7) => Some(o.to_vec()),
                    (Some(o), _) => Some(self.ones_mask(o)),
                    (None, Some(b)) => Some(self.partner(&b)),
                    (None, None) => None,
                },
                _ => {
                    let a = s(0)?;
                    match out {
                        Some(o) if o != a.as_slice() => Some(o.to_vec()),
                        _ => Some(self.partner(&a)),
                    }
                }
            };
        }
        if POOLS.contains(&op) {
            return Some(self.image());
        }
        match (op, i) {
            ("mat_mul", 0) => {
                let k = s(1).map(|b| if b.len() == 1 { b[0] } else { b[b.len() - 2] });
                let k = k.unwrap_or_else(|| self.dim());
                Some(match out {
                    Some(o) if o.len() >= 2 => {
                        let mut a = o[..o.len() - 1].to_vec();
                        a.push(k);
                        a
                    }
                    _ => {
                        let mut a = self.random_shape(1, 2);
                        if self.rng.random_bool(0.3) {
                            a.insert(0, self.dim());
                        }
                        a.push(k);
                        a
                    }
                })
            }
            ("mat_mul", 1) => {
                let a = s(0)?;
                let k = *a.last()?;
                let n = match out {
                    Some(o) if o.len() >= 2 || a.len() == 1 => *o.last()?,
                    _ => self.dim(),
                };
                Some(if a.len() >= 3 && self.rng.random_bool(0.5) {
                    let mut b = a[..a.len() - 2].to_vec();
                    b.extend([k, n]);
                    b
                } else {
                    vec![k, n]
                })
            }
            ("linear", 0) => Some(match out {
                Some(o) if !o.is_empty() => {
                    let mut x = o[..o.len() - 1].to_vec();
                    let d = self.dim();
                    x.push(d);
                    x
                }
                _ => self.random_shape(1, 3),
            }),
            ("linear", 1) => {
                let x = s(0)?;
                let o = match out {
                    Some(o) if !o.is_empty() => *o.last()?,
                    _ => self.dim(),
                };
                Some(vec![o, *x.last()?])
            }
            ("linear" | "conv2d", 2) => Some(vec![*s(1)?.first()?]),
            ("conv2d", 0) => {
                let mut x = self.image();
                if x.len() == 3 {
                    x.insert(0, 1);
                }
                Some(x)
            }
            ("conv2d", 1) => {
                let x = s(0)?;
                let Some(Op::Conv2d {
                    padding,
                    dilation,
                    groups,
                    ..
                }) = attrs
                else {
                    return None;
                };
                if x.len() != 4 {
                    return None;
                }
                let c = x[1];
                let cout = match out {
                    Some(o) if o.len() == 4 && o[1] % groups == 0 => o[1],
                    _ => groups * int(self.rng, 1, if *groups > 1 { 2 } else { self.max_dim }),
                };
                let fit = |len: usize, pads: usize, d: usize| {
                    ((len + pads).saturating_sub(1) / d + 1).min(3)
                };
                let kh = int(self.rng, 1, fit(x[2], padding[0] + padding[2], dilation[0]));
                let kw = int(self.rng, 1, fit(x[3], padding[1] + padding[3], dilation[1]));
                Some(vec![cout, c / groups, kh, kw])
            }
            ("batch_norm", 0) => Some(match out {
                Some(o) => o.to_vec(),
                None => self.random_shape(2, 4),
            }),
            ("batch_norm", _) => Some(vec![*s(0)?.get(1)?]),
            ("layer_norm" | "softmax" | "log_softmax", 0) => Some(match out {
                Some(o) => o.to_vec(),
                None => self.random_shape(1, 3),
            }),
            ("layer_norm", _) => {
                let x = s(0)?;
                let Some(Op::LayerNorm { axis, .. }) = attrs else {
                    return None;
                };
                let a = normalize_axis(*axis, x.len()).ok()?;
                Some(x[a..].to_vec())
            }
            ("transpose", 0) => match attrs {
                Some(Op::Transpose { perm }) => Some(match out {
                    Some(o) if o.len() == perm.len() => {
                        let mut x = vec![1; perm.len()];
                        for (j, &p) in perm.iter().enumerate() {
                            x[p] = o[j];
                        }
                        x
                    }
                    _ => self.shape(perm.len()),
                }),
                _ => None,
            },
            ("reshape", 0) => out.map(|o| {
                let rank = int(self.rng, 1, 4);
                self.factorise(numel(o), rank)
            }),
            ("expand", 0) => {
                let to = match attrs {
                    Some(Op::Expand { shape }) => Some(shape.clone()),
                    _ => out.map(<[usize]>::to_vec),
                }?;
                let mut x = self.ones_mask(&to);
                if !x.is_empty() && self.rng.random_bool(0.3) {
                    let k = int(self.rng, 0, x.len() - 1);
                    x.drain(..k);
                }
                Some(x)
            }
            ("concat", _) if i > 0 => {
                let mut x = s(0)?;
                let Some(Op::Concat { axis }) = attrs else {
                    return None;
                };
                let a = normalize_axis(*axis, x.len()).ok()?;
                x[a] = self.dim();
                Some(x)
            }
            _ => None,
        }
    }
}
