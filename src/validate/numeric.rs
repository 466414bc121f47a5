//! The numerical comparison: both graphs evaluated on the same bindings, output by output, in
//! `f64` and in the framework's fixed-point arithmetic, over several random samples.

use super::bindings::Binder;
use crate::graph::Graph;
use crate::interpret::{evaluate, Arithmetic, Bindings, InterpretError, Tensor};
use ndarray::Dimension;

/// Element-wise error statistics of one output over all samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorStats {
    /// Largest absolute difference (infinite when one side is NaN or infinite and the other
    /// is not the same).
    pub max_abs: f64,
    /// Mean absolute difference over all elements of all samples.
    pub mean_abs: f64,
    /// Largest magnitude of the reference values (the scale `max_abs` is read against).
    pub reference_max_abs: f64,
    sum: f64,
    count: usize,
}

impl ErrorStats {
    /// `max_abs` relative to the reference's largest magnitude (`max_abs` itself when the
    /// reference is all zeros).
    pub fn max_rel(&self) -> f64 {
        if self.max_abs == 0.0 {
            0.0
        } else if self.reference_max_abs > 0.0 && self.reference_max_abs.is_finite() {
            self.max_abs / self.reference_max_abs
        } else {
            self.max_abs
        }
    }

    /// Adds one sample: `reference` against `other`. Returns the position and size of the
    /// largest difference of this sample.
    fn add(&mut self, reference: &Tensor, other: &Tensor) -> (Vec<usize>, f64) {
        let mut worst = (Vec::new(), 0.0);
        for ((pos, &a), &b) in reference.array().indexed_iter().zip(other.array().iter()) {
            let d = difference(a, b);
            if d > worst.1 {
                worst = (pos.slice().to_vec(), d);
            }
            self.max_abs = self.max_abs.max(d);
            self.sum += d;
            self.count += 1;
            if a.is_finite() {
                self.reference_max_abs = self.reference_max_abs.max(a.abs());
            }
        }
        self.mean_abs = self.sum / self.count.max(1) as f64;
        worst
    }
}

/// |a - b|, 0 when both are the same (also the same infinity, or both NaN), infinite when
/// only one is finite.
fn difference(a: f64, b: f64) -> f64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        0.0
    } else if a.is_finite() && b.is_finite() {
        (a - b).abs()
    } else {
        f64::INFINITY
    }
}

/// The element where the variant is furthest from the original in `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct Counterexample {
    /// Sample number (0-based) and the seed its bindings were drawn from.
    pub sample: usize,
    pub seed: u64,
    /// Position of the element in the output.
    pub index: Vec<usize>,
    pub original: f64,
    pub variant: f64,
}

/// How one output of the variant compares with the original's.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputComparison {
    /// Output names in the original and in the variant (outputs are matched by position).
    pub original: String,
    pub variant: String,
    pub shape: Vec<usize>,
    /// Variant against original, both in `f64`.
    pub float: ErrorStats,
    /// Variant against original, both in fixed point.
    pub fixed: ErrorStats,
    /// The original in fixed point against itself in `f64`: the scale of fixed-point noise
    /// the `fixed` figures can be read against.
    pub fixed_noise: ErrorStats,
    /// The largest `f64` difference, if any.
    pub worst: Option<Counterexample>,
}

/// Which graph failed to evaluate, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalFailure {
    pub graph: &'static str,
    pub arithmetic: Arithmetic,
    pub error: InterpretError,
}

/// Evaluates both graphs on `samples` binding sets (seeds `seed`, `seed + 1`, ...) in `f64` and
/// in `fixed`, and compares their outputs position by position. The graphs must have the same
/// number of outputs with the same shapes.
pub fn compare_outputs(
    original: &Graph,
    variant: &Graph,
    binder: &Binder,
    samples: usize,
    seed: u64,
    fixed: Arithmetic,
) -> Result<Vec<OutputComparison>, EvalFailure> {
    let mut out: Vec<OutputComparison> = original
        .outputs()
        .iter()
        .zip(variant.outputs())
        .map(|(&o, &v)| OutputComparison {
            original: original.node(o).name.clone(),
            variant: variant.node(v).name.clone(),
            shape: original.node(o).value.shape.clone(),
            float: ErrorStats::default(),
            fixed: ErrorStats::default(),
            fixed_noise: ErrorStats::default(),
            worst: None,
        })
        .collect();
    let run = |graph: &Graph, name: &'static str, b: &Bindings, arithmetic| {
        evaluate(graph, b, arithmetic).map_err(|error| EvalFailure {
            graph: name,
            arithmetic,
            error,
        })
    };
    for sample in 0..samples {
        let s = seed.wrapping_add(sample as u64);
        let (ob, vb) = binder.bind(s);
        let of = run(original, "original", &ob, Arithmetic::Float)?;
        let vf = run(variant, "variant", &vb, Arithmetic::Float)?;
        let ox = run(original, "original", &ob, fixed)?;
        let vx = run(variant, "variant", &vb, fixed)?;
        for (i, c) in out.iter_mut().enumerate() {
            let (pos, d) = c.float.add(&of[i], &vf[i]);
            if d > 0.0
                && c.worst
                    .as_ref()
                    .is_none_or(|w| d > difference(w.original, w.variant))
            {
                c.worst = Some(Counterexample {
                    sample,
                    seed: s,
                    original: of[i].array()[pos.as_slice()],
                    variant: vf[i].array()[pos.as_slice()],
                    index: pos,
                });
            }
            c.fixed.add(&ox[i], &vx[i]);
            c.fixed_noise.add(&of[i], &ox[i]);
        }
    }
    Ok(out)
}
