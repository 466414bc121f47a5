//! The frontends: turning model files into graphs of the IR (and, where a format allows it,
//! graphs back into model files).
//!
//! - [`onnx`]: ONNX models (opsets 11–21) in, ONNX (opset 17) out.

pub mod onnx;
