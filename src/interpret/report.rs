//! The numerical effect of fixed-point arithmetic: each graph output computed in a given
//! arithmetic against the `f64` reference.

use super::arith::Arithmetic;
use super::bindings::Bindings;
use super::error::InterpretError;
use super::eval::evaluate;
use crate::graph::Graph;

/// How far one output of the emulated arithmetic is from the `f64` reference.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputError {
    /// Name of the output node.
    pub output: String,
    pub shape: Vec<usize>,
    /// Largest absolute element-wise error.
    pub max_abs: f64,
    /// Mean absolute element-wise error.
    pub mean_abs: f64,
    /// Largest absolute element of the reference output (the scale `max_abs` is read
    /// against).
    pub reference_max_abs: f64,
}

impl OutputError {
    /// `max_abs` relative to the reference's largest magnitude (`max_abs` itself when the
    /// reference is all zeros).
    pub fn max_rel(&self) -> f64 {
        if self.reference_max_abs > 0.0 {
            self.max_abs / self.reference_max_abs
        } else {
            self.max_abs
        }
    }
}

/// Evaluates `graph` in `f64` and in `arithmetic` and reports the error of every output, in
/// `graph.outputs()` order.
pub fn arithmetic_error(
    graph: &Graph,
    bindings: &Bindings,
    arithmetic: Arithmetic,
) -> Result<Vec<OutputError>, InterpretError> {
    let reference = evaluate(graph, bindings, Arithmetic::Float)?;
    let emulated = evaluate(graph, bindings, arithmetic)?;
    Ok(graph
        .outputs()
        .iter()
        .zip(reference.iter().zip(&emulated))
        .map(|(&o, (r, e))| {
            let diffs: Vec<f64> = r
                .array()
                .iter()
                .zip(e.array().iter())
                .map(|(a, b)| if a == b { 0.0 } else { (a - b).abs() })
                .collect();
            OutputError {
                output: graph.node(o).name.clone(),
                shape: r.shape().to_vec(),
                max_abs: diffs.iter().fold(
                    0.0,
                    |m: f64, &d| if d.is_nan() { f64::NAN } else { m.max(d) },
                ),
                mean_abs: diffs.iter().sum::<f64>() / diffs.len().max(1) as f64,
                reference_max_abs: r.max_abs(),
            }
        })
        .collect())
}
