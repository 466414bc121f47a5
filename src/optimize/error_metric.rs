//! The output error of a candidate graph against the input graph, as the error budget measures
//! it (`--error-metric`): both run in the framework's fixed-point arithmetic on the check
//! inputs (`--samples` random inputs with seeds 0, 1, ... and the `--inputs` given), each with
//! its own parameter values. The input graph's outputs are computed once and kept, so each
//! candidate costs one interpreter run per input.

use super::spelling::Spelling;
use crate::cost::CostModel;
use crate::graph::{Graph, Op};
use crate::interpret::fold::parameter_bindings;
use crate::interpret::random::random_tensor;
use crate::interpret::{evaluate, Arithmetic, Bindings, InterpretError, Tensor};

/// How an output error is summarised into one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Largest |difference| over the largest |output| of the input graph.
    Relative,
    /// Mean |difference| over every output element.
    Mean,
    /// Largest |difference|.
    Max,
    /// Fraction of rows (the first output's last axis are the classes) whose argmax changes.
    Argmax,
}

impl Metric {
    /// The metric named `s`; an unknown name is an error in `spelling`'s option names.
    pub fn parse(s: &str, spelling: Spelling) -> Result<Metric, String> {
        match s {
            "relative" => Ok(Metric::Relative),
            "mean" => Ok(Metric::Mean),
            "max" => Ok(Metric::Max),
            "argmax" => Ok(Metric::Argmax),
            _ => Err(format!(
                "{} is not a metric: give relative, mean, max or argmax",
                spelling.text("error-metric", s)
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Relative => "relative",
            Metric::Mean => "mean",
            Metric::Max => "max",
            Metric::Argmax => "argmax",
        }
    }
}

/// The input graph's outputs on the check inputs, kept to measure candidates against.
pub struct Reference {
    arithmetic: Arithmetic,
    /// Per check input: the input bindings and the input graph's outputs.
    runs: Vec<(Bindings, Vec<Tensor>)>,
}

impl Reference {
    /// Runs `input` on `samples` random inputs (seeds 0, 1, ...) and on `given`, in `model`'s
    /// fixed point.
    pub fn new(
        input: &Graph,
        model: &CostModel,
        samples: usize,
        given: &[Bindings],
    ) -> Result<Reference, InterpretError> {
        crate::interpret::check_size(input)?;
        let arithmetic = super::verify::fixed_point_of(model).0;
        let params =
            parameter_bindings(input).map_err(|e| InterpretError::Unsupported(e.to_string()))?;
        let inputs: Vec<_> = input
            .node_ids()
            .filter(|&id| matches!(input.node(id).op, Op::Input))
            .collect();
        let mut runs = Vec::new();
        for i in 0..samples + given.len() {
            let mut feed = Bindings::new();
            for &id in &inputs {
                let name = &input.node(id).name;
                let value = match i.checked_sub(samples) {
                    None => random_tensor(input, id, i as u64),
                    Some(g) => given[g].get(name).cloned().ok_or_else(|| {
                        InterpretError::MissingBinding {
                            node: name.clone(),
                            kind: "input",
                        }
                    })?,
                };
                feed.insert(name.clone(), value);
            }
            let mut all = params.clone();
            for (k, v) in feed.iter() {
                all.insert(k, v.clone());
            }
            let outputs = evaluate(input, &all, arithmetic)?;
            runs.push((feed, outputs));
        }
        Ok(Reference { arithmetic, runs })
    }

    /// Check inputs.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// The error of `candidate` (same interface) under `metric`; infinite when one of its
    /// outputs is not finite where the input's is, or has another shape.
    pub fn error(&self, candidate: &Graph, metric: Metric) -> Result<f64, InterpretError> {
        crate::interpret::check_size(candidate)?;
        let params = parameter_bindings(candidate)
            .map_err(|e| InterpretError::Unsupported(e.to_string()))?;
        let (mut max, mut scale, mut sum, mut count) = (0.0f64, 0.0f64, 0.0f64, 0usize);
        let (mut rows, mut flipped) = (0usize, 0usize);
        for (feed, reference) in &self.runs {
            let mut all = params.clone();
            for (k, v) in feed.iter() {
                all.insert(k, v.clone());
            }
            let outputs = evaluate(candidate, &all, self.arithmetic)?;
            for (k, (x, y)) in reference.iter().zip(&outputs).enumerate() {
                if !x.is_finite() {
                    continue;
                }
                if x.shape() != y.shape() || !y.is_finite() {
                    return Ok(f64::INFINITY);
                }
                scale = scale.max(x.max_abs());
                for (a, b) in x.array().iter().zip(y.array().iter()) {
                    let d = (a - b).abs();
                    max = max.max(d);
                    sum += d;
                }
                count += x.numel();
                if k == 0 {
                    let (r, f) = argmax_changes(x, y);
                    rows += r;
                    flipped += f;
                }
            }
        }
        Ok(match metric {
            Metric::Relative if max == 0.0 => 0.0,
            Metric::Relative if scale > 0.0 => max / scale,
            Metric::Relative => f64::INFINITY,
            Metric::Max => max,
            Metric::Mean => sum / count.max(1) as f64,
            Metric::Argmax => flipped as f64 / rows.max(1) as f64,
        })
    }
}

/// Rows of `x` and `y` (the last axis holds the classes) and how many have another argmax
/// (the first largest element).
fn argmax_changes(x: &Tensor, y: &Tensor) -> (usize, usize) {
    let width = x.shape().last().copied().unwrap_or(1).max(1);
    let argmax = |row: &[f64]| {
        row.iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                if v > best.1 {
                    (i, v)
                } else {
                    best
                }
            })
            .0
    };
    let (a, b): (Vec<f64>, Vec<f64>) = (
        x.array().iter().copied().collect(),
        y.array().iter().copied().collect(),
    );
    let rows = a.len() / width;
    let flipped = a
        .chunks(width)
        .zip(b.chunks(width))
        .filter(|(p, q)| argmax(p) != argmax(q))
        .count();
    (rows, flipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_changes_count_rows() {
        let x = Tensor::new(&[2, 3], vec![0.0, 1.0, 0.5, 2.0, 0.0, 1.0]).unwrap();
        let y = Tensor::new(&[2, 3], vec![0.0, 1.0, 0.5, 0.0, 3.0, 1.0]).unwrap();
        assert_eq!(argmax_changes(&x, &y), (2, 1));
        assert_eq!(Metric::parse("argmax", Spelling::Cli), Ok(Metric::Argmax));
        assert_eq!(
            Metric::parse("l2", Spelling::Cli).unwrap_err(),
            "--error-metric 'l2' is not a metric: give relative, mean, max or argmax"
        );
    }
}
