//! The reference interpreter: evaluates a graph on concrete tensors, in `f64` or in an
//! emulation of MPC fixed-point ring arithmetic.
//!
//! Every IR op has a kernel with PyTorch's semantics (the IR follows PyTorch's defaults), so a
//! graph's outputs can be checked against PyTorch, a rewritten graph against its original, and
//! the numerical effect of MPC arithmetic seen:
//!
//! ```
//! use hawkeye_mpc::interpret::{evaluate, arithmetic_error, Arithmetic, Bindings};
//! use hawkeye_mpc::zoo::{self, ZooOptions};
//! let g = zoo::build("mlp", &ZooOptions::default()).unwrap().unwrap();
//! let bindings = Bindings::random(&g, 7);
//! let logits = evaluate(&g, &bindings, Arithmetic::Float).unwrap();
//! assert_eq!(logits[0].shape(), &[1, 10]);
//! let fixed = Arithmetic::Fixed { ring_bits: 64, frac_bits: 16 };
//! let err = arithmetic_error(&g, &bindings, fixed).unwrap();
//! assert!(err[0].max_abs < 1e-3);
//! ```
//!
//! - [`Tensor`]: a concrete value; [`Bindings`]: values for inputs and parameters by node name,
//!   drawn deterministically from a seed by [`Bindings::random`] (see [`random`] for the
//!   distributions);
//! - [`evaluate`] gives the outputs, [`evaluate_all`] every node's value;
//! - [`fold`]: parameter-only subgraphs evaluated and stored as parameters (what the
//!   writers do with the optimizer's weight arithmetic);
//! - [`Arithmetic`]: `f64`, or fixed-point with the ring and fraction bits of a cost model
//!   (see the `arith` module documentation for exactly what is emulated);
//!   [`arithmetic_error`] reports each output's error against `f64`.
//!
//! Kernels are generic over the element arithmetic and built on `ndarray`; matrix products,
//! linear layers and convolutions (by im2col) go through its blocked GEMM.

mod arith;
mod bindings;
mod error;
mod eval;
pub mod fold;
mod kernels;
pub mod random;
mod report;
mod tensor;

pub use arith::Arithmetic;
pub use bindings::Bindings;
pub use error::InterpretError;
pub use eval::{check_size, evaluate, evaluate_all, MAX_ELEMENTS};
pub use report::{arithmetic_error, OutputError};
pub use tensor::Tensor;

/// The error function (`libm`'s `erf`, accurate to about 1e-16), as used by exact GELU.
pub fn erf(x: f64) -> f64 {
    kernels::elementwise::erf(x)
}
