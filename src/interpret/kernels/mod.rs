//! Op kernels, one file per family, each generic over the element arithmetic ([`Arith`]): the
//! same code runs in `f64` and in the fixed-point ring emulation.
//!
//! Kernels take and return `ndarray` arrays in any memory layout and return the reason as a
//! string when operands do not fit (the evaluator adds the node). Shapes have been checked by
//! the graph's shape inference when the node was added, so these errors are rare.

pub(crate) mod elementwise;
pub(crate) mod grad;
pub(crate) mod linalg;
pub(crate) mod norm;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod shape_ops;

use super::arith::Arith;
use crate::graph::shape_string;
use ndarray::{ArrayBase, ArrayD, CowArray, Data, IxDyn};

/// The array type of an arithmetic's elements.
pub(crate) type Arr<A> = ArrayD<<A as Arith>::E>;

/// A kernel result: the value, or why the operands do not fit.
pub(crate) type KResult<T> = Result<T, String>;

/// `x` reshaped (row-major) to `shape`, as a view when the layout allows.
pub(crate) fn reshaped<'a, T: Clone, S: Data<Elem = T>>(
    x: &'a ArrayBase<S, IxDyn>,
    shape: &[usize],
) -> KResult<CowArray<'a, T, IxDyn>> {
    x.to_shape(IxDyn(shape)).map_err(|e| {
        format!(
            "cannot reshape {} to {}: {e}",
            shape_string(x.shape()),
            shape_string(shape)
        )
    })
}

/// `x` reshaped (row-major) to `shape`, owned.
pub(crate) fn reshape_owned<T: Clone, S: Data<Elem = T>>(
    x: &ArrayBase<S, IxDyn>,
    shape: &[usize],
) -> KResult<ArrayD<T>> {
    Ok(reshaped(x, shape)?.into_owned())
}

/// The elements of `x` in row-major order as a slice (copying only when `x` is not in
/// standard layout).
pub(crate) fn standard<T: Clone, S: Data<Elem = T>>(
    x: &ArrayBase<S, IxDyn>,
) -> CowArray<'_, T, IxDyn> {
    x.as_standard_layout()
}
