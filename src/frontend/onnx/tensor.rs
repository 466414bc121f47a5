//! Constant tensors known at import time, and constant folding over them.
//!
//! Exporters write shapes as small tensor computations (`Shape → Gather → Unsqueeze → Concat
//! → Reshape`), scalars as `Constant` nodes and masks as `ConstantOfShape`/`Trilu`. With every
//! dim static, all of these evaluate at import time: [`super::fold`] computes them, so only the ops on
//! model data become IR nodes.

use super::naming::f32_to_f64;
use super::proto::{tensor_proto::DataType, AttributeProto, TensorProto};
use crate::graph::ConstValue;

/// Largest tensor (in elements) the importer evaluates or reads as a constant.
pub const FOLD_LIMIT: usize = 1 << 24;

/// Largest tensor (in elements) a graph value may have.
pub const MAX_NUMEL: u128 = 1 << 48;

pub type FoldResult<T> = Result<T, String>;

/// The elements of a constant tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// Floating-point elements (any ONNX float type).
    F(Vec<f64>),
    /// Integer or boolean elements.
    I(Vec<i64>),
    /// Every element equal (`ConstantOfShape`); `int` for an integer tensor.
    Fill { value: f64, int: bool },
    /// `value` strictly above the diagonal of the last two dims, 0 elsewhere
    /// (`Trilu(upper=1, k=1)` over a fill).
    Causal(f64),
}

/// A constant tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub dims: Vec<usize>,
    pub data: Data,
}

/// Checked element count of a shape.
pub fn checked_numel(dims: &[usize]) -> Option<usize> {
    let mut n: u128 = 1;
    for &d in dims {
        n = n.checked_mul(d as u128)?;
        if n > MAX_NUMEL {
            return None;
        }
    }
    Some(n as usize)
}

pub(super) fn limit(dims: &[usize]) -> FoldResult<usize> {
    match checked_numel(dims) {
        Some(n) if n <= FOLD_LIMIT => Ok(n),
        _ => Err(format!(
            "constant of shape {dims:?} is too large to evaluate at import time"
        )),
    }
}

impl Tensor {
    pub fn floats(dims: Vec<usize>, v: Vec<f64>) -> Tensor {
        Tensor {
            dims,
            data: Data::F(v),
        }
    }
    pub fn ints(dims: Vec<usize>, v: Vec<i64>) -> Tensor {
        Tensor {
            dims,
            data: Data::I(v),
        }
    }
    pub fn scalar_i(v: i64) -> Tensor {
        Tensor::ints(vec![], vec![v])
    }
    pub fn vec_i(v: Vec<i64>) -> Tensor {
        Tensor::ints(vec![v.len()], v)
    }

    pub fn numel(&self) -> usize {
        checked_numel(&self.dims).unwrap_or(usize::MAX)
    }

    pub fn is_int(&self) -> bool {
        matches!(self.data, Data::I(_) | Data::Fill { int: true, .. })
    }

    /// The elements as floats (expanding fills).
    pub fn f64s(&self) -> FoldResult<Vec<f64>> {
        Ok(match &self.data {
            Data::F(v) => v.clone(),
            Data::I(v) => v.iter().map(|&x| x as f64).collect(),
            Data::Fill { value, .. } => vec![*value; limit(&self.dims)?],
            Data::Causal(value) => {
                limit(&self.dims)?;
                let r = self.dims.len();
                let (rows, cols) = (self.dims[r - 2], self.dims[r - 1]);
                let mut out = Vec::with_capacity(self.numel());
                for _ in 0..self.numel() / (rows * cols).max(1) {
                    for i in 0..rows {
                        for j in 0..cols {
                            out.push(if j > i { *value } else { 0.0 });
                        }
                    }
                }
                out
            }
        })
    }

    /// The elements as integers (floats truncated towards zero).
    pub fn i64s(&self) -> FoldResult<Vec<i64>> {
        Ok(match &self.data {
            Data::I(v) => v.clone(),
            _ => self.f64s()?.into_iter().map(|x| x as i64).collect(),
        })
    }

    /// The single element of a one-element tensor.
    pub fn scalar(&self) -> Option<f64> {
        if self.numel() != 1 {
            return None;
        }
        match &self.data {
            Data::F(v) => v.first().copied(),
            Data::I(v) => v.first().map(|&x| x as f64),
            Data::Fill { value, .. } => Some(*value),
            Data::Causal(_) => Some(0.0),
        }
    }

    /// Whether every element is `v`.
    pub fn all_equal(&self, v: f64) -> bool {
        match &self.data {
            Data::Fill { value, .. } => *value == v,
            Data::F(x) => x.iter().all(|&e| e == v),
            Data::I(x) => x.iter().all(|&e| e as f64 == v),
            Data::Causal(_) => false,
        }
    }

    /// The IR constant holding this tensor.
    pub fn const_value(&self) -> ConstValue {
        match &self.data {
            Data::F(v) => ConstValue::Data(v.clone()),
            Data::I(v) => ConstValue::Data(v.iter().map(|&x| x as f64).collect()),
            Data::Fill { value, .. } => ConstValue::Fill(*value),
            Data::Causal(v) => ConstValue::CausalMask(*v),
        }
    }

    pub(super) fn same_kind(&self, v: Vec<f64>, dims: Vec<usize>) -> Tensor {
        if self.is_int() {
            Tensor::ints(dims, v.into_iter().map(|x| x as i64).collect())
        } else {
            Tensor::floats(dims, v)
        }
    }
}

/// Reads an ONNX tensor held in the model (not external data).
pub fn from_proto(t: &TensorProto) -> FoldResult<Tensor> {
    let name = t.name.as_deref().unwrap_or("");
    let dims = tensor_dims(t)?;
    let n = limit(&dims)?;
    if t.data_location == Some(1) {
        return Err(format!(
            "tensor '{name}' keeps its values in external data, but it is used as a constant"
        ));
    }
    let dt = t.data_type.unwrap_or(0);
    let raw = t.raw_data.as_deref().filter(|r| !r.is_empty());
    let size = elem_size(dt).ok_or_else(|| {
        format!(
            "tensor '{name}' has element type {} which the importer does not read",
            type_name(dt)
        )
    })?;
    let check = |len: usize, what: &str| -> FoldResult<()> {
        if len != n {
            Err(format!(
                "tensor '{name}' of shape {dims:?} holds {len} {what}, expected {n}"
            ))
        } else {
            Ok(())
        }
    };
    if let Some(raw) = raw {
        if raw.len() != n * size {
            return Err(format!(
                "tensor '{name}' of shape {dims:?} and type {} has {} bytes of raw data, expected {}",
                type_name(dt),
                raw.len(),
                n * size
            ));
        }
        let chunks = raw.chunks_exact(size);
        let data = match dt {
            1 => Data::F(
                chunks
                    .map(|c| f32_to_f64(f32::from_le_bytes(c.try_into().unwrap())))
                    .collect(),
            ),
            11 => Data::F(
                chunks
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            ),
            10 => Data::F(
                chunks
                    .map(|c| f16_to_f64(u16::from_le_bytes(c.try_into().unwrap())))
                    .collect(),
            ),
            16 => Data::F(
                chunks
                    .map(|c| bf16_to_f64(u16::from_le_bytes(c.try_into().unwrap())))
                    .collect(),
            ),
            2 | 9 => Data::I(chunks.map(|c| c[0] as i64).collect()),
            3 => Data::I(chunks.map(|c| c[0] as i8 as i64).collect()),
            4 => Data::I(
                chunks
                    .map(|c| u16::from_le_bytes(c.try_into().unwrap()) as i64)
                    .collect(),
            ),
            5 => Data::I(
                chunks
                    .map(|c| i16::from_le_bytes(c.try_into().unwrap()) as i64)
                    .collect(),
            ),
            6 => Data::I(
                chunks
                    .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64)
                    .collect(),
            ),
            12 => Data::I(
                chunks
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap()) as i64)
                    .collect(),
            ),
            7 => Data::I(
                chunks
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            ),
            13 => Data::I(
                chunks
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap()) as i64)
                    .collect(),
            ),
            _ => unreachable!("elem_size covers the types"),
        };
        return Ok(Tensor { dims, data });
    }
    let data = match dt {
        1 => {
            check(t.float_data.len(), "floats")?;
            Data::F(t.float_data.iter().map(|&x| f32_to_f64(x)).collect())
        }
        11 => {
            check(t.double_data.len(), "doubles")?;
            Data::F(t.double_data.clone())
        }
        10 | 16 => {
            check(t.int32_data.len(), "values")?;
            let conv = if dt == 10 { f16_to_f64 } else { bf16_to_f64 };
            Data::F(t.int32_data.iter().map(|&x| conv(x as u16)).collect())
        }
        2..=6 | 9 => {
            check(t.int32_data.len(), "values")?;
            Data::I(t.int32_data.iter().map(|&x| x as i64).collect())
        }
        7 => {
            check(t.int64_data.len(), "values")?;
            Data::I(t.int64_data.clone())
        }
        12 | 13 => {
            check(t.uint64_data.len(), "values")?;
            Data::I(t.uint64_data.iter().map(|&x| x as i64).collect())
        }
        _ => unreachable!("elem_size covers the types"),
    };
    Ok(Tensor { dims, data })
}

/// The dims of a tensor proto, checked.
pub fn tensor_dims(t: &TensorProto) -> FoldResult<Vec<usize>> {
    let name = t.name.as_deref().unwrap_or("");
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("tensor '{name}' has negative dim {d}")))
        .collect::<Result<_, _>>()?;
    if checked_numel(&dims).is_none() {
        return Err(format!("tensor '{name}' of shape {dims:?} is too large"));
    }
    Ok(dims)
}

/// Bytes per element of an ONNX data type the importer reads.
pub fn elem_size(dt: i32) -> Option<usize> {
    Some(match dt {
        2 | 3 | 9 => 1,
        4 | 5 | 10 | 16 => 2,
        1 | 6 | 12 => 4,
        7 | 11 | 13 => 8,
        _ => return None,
    })
}

/// Whether an ONNX data type holds floating-point numbers.
pub fn is_float_type(dt: i32) -> bool {
    matches!(dt, 1 | 10 | 11 | 16)
}

/// Whether an ONNX data type holds integers or booleans.
pub fn is_int_type(dt: i32) -> bool {
    matches!(dt, 2..=7 | 9 | 12 | 13)
}

/// The ONNX name of a data type code.
pub fn type_name(dt: i32) -> String {
    DataType::try_from(dt)
        .map(|t| t.as_str_name().to_string())
        .unwrap_or_else(|_| format!("#{dt}"))
}

pub fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

pub fn bf16_to_f64(h: u16) -> f64 {
    f32_to_f64(f32::from_bits((h as u32) << 16))
}

/// Typed access to a node's attributes.
#[derive(Clone, Copy)]
pub struct Attrs<'a>(pub &'a [AttributeProto]);

impl<'a> Attrs<'a> {
    pub fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.0.iter().find(|a| a.name.as_deref() == Some(name))
    }
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|a| a.i)
    }
    pub fn int_or(&self, name: &str, default: i64) -> i64 {
        self.int(name).unwrap_or(default)
    }
    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.get(name).map(|a| a.ints.clone())
    }
    pub fn float(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|a| a.f).map(f32_to_f64)
    }
    pub fn float_or(&self, name: &str, default: f64) -> f64 {
        self.float(name).unwrap_or(default)
    }
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|a| a.s.as_ref())
            .map(|s| String::from_utf8_lossy(s).into_owned())
    }
    pub fn tensor(&self, name: &str) -> Option<&'a TensorProto> {
        self.get(name).and_then(|a| a.t.as_ref())
    }
}

/// Resolves an axis against a rank (ONNX semantics: `-rank <= axis < rank`).
pub fn axis(a: i64, rank: usize) -> FoldResult<usize> {
    let r = rank as i64;
    let n = if a < 0 { a.wrapping_add(r) } else { a };
    if n < 0 || n >= r {
        return Err(format!("axis {a} is out of range for rank {rank}"));
    }
    Ok(n as usize)
}

/// ONNX `Reshape` target resolution (`0` copies the input dim unless `allowzero`, one `-1`
/// is inferred).
pub fn reshape_dims(input: &[usize], target: &[i64], allowzero: bool) -> FoldResult<Vec<usize>> {
    let total = checked_numel(input).ok_or("input too large")?;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(*input.get(i).ok_or_else(|| {
                format!(
                    "reshape dim {i} is 0 but the input has rank {}",
                    input.len()
                )
            })?),
            d if d >= 0 => out.push(usize::try_from(d).map_err(|_| "dim too large")?),
            d => return Err(format!("reshape target {target:?} has invalid dim {d}")),
        }
    }
    let known =
        checked_numel(&out).ok_or_else(|| format!("reshape target {target:?} is too large"))?;
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return Err(format!("cannot reshape {input:?} to {target:?}"));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(format!("cannot reshape {input:?} to {target:?}"));
    }
    Ok(out)
}

/// ONNX `Slice` along one dim: the indices selected.
pub fn slice_indices(dim: usize, start: i64, end: i64, step: i64) -> FoldResult<Vec<usize>> {
    if step == 0 {
        return Err("slice step is 0".to_string());
    }
    let d = dim as i64;
    let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    let (mut s, mut e) = (norm(start), norm(end));
    let mut out = Vec::new();
    if step > 0 {
        s = s.clamp(0, d);
        e = e.clamp(0, d);
        let mut i = s;
        while i < e {
            out.push(i as usize);
            i = i.saturating_add(step);
        }
    } else {
        s = s.clamp(-1, d - 1);
        e = e.clamp(-1, d - 1);
        let mut i = s;
        while i > e {
            out.push(i as usize);
            i = i.saturating_add(step);
        }
    }
    Ok(out)
}

/// Output dims of Unsqueeze with sorted, resolved axes.
pub fn unsqueeze_dims(dims: &[usize], axes: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(dims.len() + axes.len());
    let mut src = dims.iter();
    for i in 0..dims.len() + axes.len() {
        if axes.contains(&i) {
            out.push(1);
        } else if let Some(&d) = src.next() {
            out.push(d);
        }
    }
    out
}

/// Output dims of Squeeze (all 1-dims when `axes` is absent or empty).
pub fn squeeze_dims(dims: &[usize], axes: Option<&[i64]>) -> FoldResult<Vec<usize>> {
    match axes {
        Some(axes) if !axes.is_empty() => {
            let ax: Vec<usize> = axes
                .iter()
                .map(|&a| axis(a, dims.len()))
                .collect::<Result<_, _>>()?;
            for &a in &ax {
                if dims[a] != 1 {
                    return Err(format!("Squeeze axis {a} has size {}, not 1", dims[a]));
                }
            }
            Ok(dims
                .iter()
                .enumerate()
                .filter(|(i, _)| !ax.contains(i))
                .map(|(_, &d)| d)
                .collect())
        }
        _ => Ok(dims.iter().copied().filter(|&d| d != 1).collect()),
    }
}

/// Sizes of the parts of a Split along a dim of `len`.
pub fn split_sizes(
    attrs: Attrs,
    split_input: Option<&Tensor>,
    len: usize,
    outputs: usize,
    opset: i64,
) -> FoldResult<Vec<usize>> {
    let explicit = if opset < 13 {
        attrs.ints("split")
    } else {
        split_input.map(|t| t.i64s()).transpose()?
    };
    let sizes: Vec<usize> = match explicit {
        Some(s) => s
            .into_iter()
            .map(|v| usize::try_from(v).map_err(|_| format!("split size {v} is negative")))
            .collect::<Result<_, _>>()?,
        None => {
            let n = if opset >= 18 {
                attrs
                    .int("num_outputs")
                    .map(|n| n as usize)
                    .unwrap_or(outputs)
            } else {
                outputs
            };
            if n == 0 {
                return Err("Split into 0 parts".to_string());
            }
            let part = len.div_ceil(n);
            if opset < 18 && len % n != 0 {
                return Err(format!("Split of {len} into {n} equal parts is not exact"));
            }
            (0..n)
                .map(|i| part.min(len.saturating_sub(i * part)))
                .collect()
        }
    };
    if sizes.iter().sum::<usize>() != len {
        return Err(format!("Split sizes {sizes:?} do not add up to {len}"));
    }
    if sizes.len() != outputs {
        return Err(format!(
            "Split has {} sizes but {outputs} outputs",
            sizes.len()
        ));
    }
    Ok(sizes)
}
