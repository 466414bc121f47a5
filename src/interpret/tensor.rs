//! Tensor values: an n-dimensional `f64` array (row-major logical order) with the element kind
//! of the IR value it is bound to or computed for.
//!
//! Integer values (token ids, class indices, `arg_max` results) are stored as whole `f64`
//! numbers, exact up to 2^53.

use super::error::InterpretError;
use crate::graph::{numel, shape_string, ElemKind};
use ndarray::{ArrayD, IxDyn};

/// A concrete tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    kind: ElemKind,
    data: ArrayD<f64>,
}

impl Tensor {
    /// A real tensor of `shape` from its elements in row-major order.
    pub fn new(shape: &[usize], data: Vec<f64>) -> Result<Tensor, InterpretError> {
        Tensor::with_kind(shape, data, ElemKind::Real)
    }

    /// An integer tensor of `shape` from its elements in row-major order.
    pub fn int(shape: &[usize], data: Vec<i64>) -> Result<Tensor, InterpretError> {
        Tensor::with_kind(
            shape,
            data.into_iter().map(|v| v as f64).collect(),
            ElemKind::Int,
        )
    }

    /// A tensor of the given kind from row-major elements (integer tensors should hold whole
    /// numbers; bindings are checked when evaluated).
    pub fn with_kind(
        shape: &[usize],
        data: Vec<f64>,
        kind: ElemKind,
    ) -> Result<Tensor, InterpretError> {
        if data.len() != numel(shape) {
            return Err(InterpretError::TensorData {
                shape: shape_string(shape),
                expected: numel(shape),
                got: data.len(),
            });
        }
        let data = ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| {
            InterpretError::Unsupported(format!("tensor of shape {}: {e}", shape_string(shape)))
        })?;
        Ok(Tensor { kind, data })
    }

    /// A real scalar.
    pub fn scalar(value: f64) -> Tensor {
        Tensor::from_array(ArrayD::from_elem(IxDyn(&[]), value), ElemKind::Real)
    }

    /// Wraps an array.
    pub fn from_array(data: ArrayD<f64>, kind: ElemKind) -> Tensor {
        Tensor { kind, data }
    }

    pub fn shape(&self) -> &[usize] {
        self.data.shape()
    }

    pub fn kind(&self) -> ElemKind {
        self.kind
    }

    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The elements as an array.
    pub fn array(&self) -> &ArrayD<f64> {
        &self.data
    }

    /// The array, consuming the tensor.
    pub fn into_array(self) -> ArrayD<f64> {
        self.data
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<f64> {
        self.data.iter().copied().collect()
    }

    /// Whether every element is finite.
    pub fn is_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }

    /// Largest absolute element-wise difference to a tensor of the same shape (`None` when
    /// the shapes differ; NaN when either side has a NaN where the other has not the same).
    pub fn max_abs_diff(&self, other: &Tensor) -> Option<f64> {
        if self.shape() != other.shape() {
            return None;
        }
        Some(
            self.data
                .iter()
                .zip(other.data.iter())
                .map(|(a, b)| if a == b { 0.0 } else { (a - b).abs() })
                .fold(0.0, |m, d| {
                    if d.is_nan() || m.is_nan() {
                        f64::NAN
                    } else {
                        m.max(d)
                    }
                }),
        )
    }

    /// Largest absolute element.
    pub fn max_abs(&self) -> f64 {
        self.data.iter().fold(0.0, |m, v| m.max(v.abs()))
    }
}
