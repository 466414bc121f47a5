//! What a graph value is: its static shape, element kind, visibility, and the phase and module
//! path of the node that produces it.
//!
//! Visibility decides cost. A value known to every party (`public`) costs nothing to compute on;
//! a value held in plaintext by the model owner only (`server`) is cheap to combine with secret
//! data in HE/OT frameworks; a `secret` (secret-shared) value is what MPC protocols pay for.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A static tensor shape (row-major, outermost dimension first). `[]` is a scalar.
pub type Shape = Vec<usize>;

/// Largest number of elements of one tensor (2^48): far above any real model (a 2^48-element
/// tensor of f32 is 1 PiB), and low enough that products of two element counts and cost
/// figures stay exact in 128-bit integers and far from overflow in `f64`.
pub const MAX_ELEMENTS: usize = 1 << 48;

/// Number of elements of a shape (1 for a scalar). Graph values never exceed
/// [`MAX_ELEMENTS`]; for any other shape the product saturates rather than wraps.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().fold(1usize, |n, &d| n.saturating_mul(d))
}

/// Number of elements of a shape, or `None` when it exceeds [`MAX_ELEMENTS`].
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    let mut n = 1usize;
    for &d in shape {
        n = n.checked_mul(d)?;
        if n > MAX_ELEMENTS && !shape.contains(&0) {
            return None;
        }
    }
    (n <= MAX_ELEMENTS).then_some(n)
}

/// Checks that a value of `shape` is within the element limit.
pub fn check_elements(shape: &[usize]) -> Result<(), String> {
    match checked_numel(shape) {
        Some(_) => Ok(()),
        None => Err(format!(
            "a value of shape {} would have more than 2^48 elements (the limit of one tensor)",
            shape_string(shape)
        )),
    }
}

/// Formats a shape as `1x3x224x224` (`scalar` for rank 0).
pub fn shape_string(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "scalar".to_string();
    }
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// Who knows a value. Ordered from least to most protected: combining values yields the most
/// protected visibility among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Known to all parties (public constants, public weights).
    Public,
    /// Held in plaintext by the model owner (server) only: the usual weight setting of
    /// CryptFlow2, Cheetah and Delphi.
    Server,
    /// Secret-shared among the parties.
    Secret,
}

impl Visibility {
    /// Visibility of a value computed from values of the given visibilities: the most
    /// protected of them (public when there are none).
    pub fn combine(inputs: impl IntoIterator<Item = Visibility>) -> Visibility {
        inputs.into_iter().max().unwrap_or(Visibility::Public)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Server => "server",
            Visibility::Secret => "secret",
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the elements of a tensor are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ElemKind {
    /// Real numbers (fixed-point in MPC).
    #[default]
    Real,
    /// Integers (token ids, class indices, argmax results).
    Int,
}

impl ElemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ElemKind::Real => "real",
            ElemKind::Int => "int",
        }
    }
}

/// Which part of a training step a node belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Forward,
    Loss,
    Backward,
    Update,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Forward => "forward",
            Phase::Loss => "loss",
            Phase::Backward => "backward",
            Phase::Update => "update",
        }
    }

    pub fn is_forward(&self) -> bool {
        *self == Phase::Forward
    }
}

/// Shape, element kind and visibility of the single value a node produces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValueInfo {
    pub shape: Shape,
    pub kind: ElemKind,
    pub visibility: Visibility,
}

impl ValueInfo {
    pub fn new(shape: Shape, kind: ElemKind, visibility: Visibility) -> Self {
        ValueInfo {
            shape,
            kind,
            visibility,
        }
    }

    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }
}
