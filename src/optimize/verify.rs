//! The optimizer's result run against its input with the reference interpreter.
//!
//! Both graphs are evaluated on the same inputs: `samples` random ones ([`Bindings::random`]'s
//! distributions for the input graph's inputs) and any the user gave (`--inputs`). Each graph's
//! parameters are bound to its own values ([`parameter_bindings`]): the weights its model
//! file stores, the weights the optimizer computed from them (folded batch norm, merged and
//! scaled weights, stored as float32 like the model's own), and for a model without weights
//! the same deterministic placeholders the writers use. So a result whose weights are wrong
//! fails the check. Outputs are compared in order.
//! - With exact rules, the two graphs compute the same function: in `f64` every output must
//!   agree within `|input - result| <= 1e-9 * (1 + max |input output|)` ([`TOLERANCE`]). The
//!   rules only reorder floating-point operations. When the result has weights computed from
//!   the model's (rounded to float32 as every model file stores them), the bound is
//!   [`FLOAT32_TOLERANCE`] instead: the rounding of those weights, not a wrong rule or
//!   weight, which moves outputs by orders of magnitude more.
//! - With approximate rules, both run in the framework's fixed-point arithmetic (its `ring`
//!   and `frac` parameters; 64 and 16 bits for those it does not have), and the output error
//!   is reported so that it can be weighed against the communication saved.

use crate::cost::CostModel;
use crate::graph::{Graph, Op};
use crate::interpret::fold::parameter_bindings;
use crate::interpret::random::random_tensor;
use crate::interpret::{evaluate, Arithmetic, Bindings, InterpretError, Tensor};
use serde::Serialize;

/// Tolerance of the exact check, relative to the largest magnitude of each output (plus one).
pub const TOLERANCE: f64 = 1e-9;

/// Tolerance of the exact check when the result has weights computed from the model's and
/// rounded to float32 (relative to the largest magnitude of each output, plus one).
pub const FLOAT32_TOLERANCE: f64 = 1e-5;

/// The fixed-point arithmetic used when a cost model has no `ring` and `frac` parameters.
pub const DEFAULT_FIXED: Arithmetic = Arithmetic::Fixed {
    ring_bits: 64,
    frac_bits: 16,
};

/// How far one output of the result is from the input's, over every sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputDiff {
    /// Name of the output node of the input graph.
    pub output: String,
    /// Largest and mean absolute element-wise difference.
    pub max_abs: f64,
    pub mean_abs: f64,
    /// Largest magnitude of the input graph's output (the scale of the differences).
    pub reference_max_abs: f64,
}

/// The two graphs compared on random inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Random samples.
    pub samples: usize,
    /// Samples of inputs the user gave.
    pub given: usize,
    /// Where the parameter values came from: `stored weights`, `placeholder weights` or
    /// `stored and placeholder weights`, or `no parameters`.
    pub weights: &'static str,
    /// Parameters of the result whose values the optimizer computed (not the input's own).
    pub computed_weights: usize,
    /// Samples use seeds `seed`, `seed + 1`, ...
    pub seed: u64,
    /// `f64`, or `fixed point with a R-bit ring and F fraction bits`.
    pub arithmetic: String,
    /// Whether the fixed-point parameters are the defaults (the cost model has none).
    pub default_arithmetic: bool,
    pub outputs: Vec<OutputDiff>,
    /// (sample, output) pairs skipped because the input's output is not finite there (a value
    /// outside a function's domain, or overflow): nothing to compare.
    pub undefined: usize,
    /// The exact check's tolerance; `None` when the error is only measured.
    pub tolerance: Option<f64>,
    /// Whether every output compared is within the tolerance (always true without one, unless
    /// an output of the result is not finite where the input's is).
    pub agrees: bool,
}

impl Comparison {
    /// The largest difference over all outputs.
    pub fn max_abs(&self) -> f64 {
        self.outputs.iter().fold(0.0, |m, o| m.max(o.max_abs))
    }

    /// The mean difference over all outputs (each output weighted equally).
    pub fn mean_abs(&self) -> f64 {
        if self.outputs.is_empty() {
            return 0.0;
        }
        self.outputs.iter().map(|o| o.mean_abs).sum::<f64>() / self.outputs.len() as f64
    }

    /// The largest output magnitude of the input graph.
    pub fn reference_max_abs(&self) -> f64 {
        self.outputs
            .iter()
            .fold(0.0, |m, o| m.max(o.reference_max_abs))
    }
}

/// The fixed-point arithmetic of a cost model: its `ring` and `frac` parameters, each 64 and
/// 16 when the model has none; `true` when a default was used.
pub fn fixed_point_of(model: &CostModel) -> (Arithmetic, bool) {
    let bits = |name: &str, default: u32| match model.param(name) {
        Some(v) if v.fract() == 0.0 && (1.0..=128.0).contains(&v) => (v as u32, false),
        _ => (default, true),
    };
    let (ring_bits, r) = bits("ring", 64);
    let (frac_bits, f) = bits("frac", 16);
    let a = Arithmetic::Fixed {
        ring_bits,
        frac_bits,
    };
    if a.validate().is_ok() {
        (a, r || f)
    } else {
        (DEFAULT_FIXED, true)
    }
}

fn describe(a: Arithmetic) -> String {
    match a {
        Arithmetic::Float => "f64".to_string(),
        Arithmetic::Fixed {
            ring_bits,
            frac_bits,
        } => format!("fixed point with a {ring_bits}-bit ring and {frac_bits} fraction bits"),
    }
}

/// Where a graph's parameter values come from (see [`Comparison::weights`]).
fn weight_source(graph: &Graph) -> &'static str {
    let (mut stored, mut placeholder) = (false, false);
    for id in graph.node_ids() {
        let n = graph.node(id);
        if matches!(n.op, Op::Parameter { .. }) {
            match graph.weight(&n.name) {
                Some(crate::graph::WeightData::Placeholder { .. }) | None => placeholder = true,
                Some(_) => stored = true,
            }
        }
    }
    match (stored, placeholder) {
        (true, false) => "stored weights",
        (false, true) => "placeholder weights",
        (true, true) => "stored and placeholder weights",
        (false, false) => "no parameters",
    }
}

/// Parameters of `result` whose values are not the same-named parameter's of `input`.
fn computed_weights(input: &Graph, result: &Graph) -> usize {
    result
        .node_ids()
        .filter(|&id| {
            let n = result.node(id);
            matches!(n.op, Op::Parameter { .. })
                && match (input.find(&n.name), result.weight(&n.name)) {
                    (Some(i), Some(w)) => {
                        input.node(i).value.shape != n.value.shape
                            || input.weight(&n.name).is_some_and(|v| v != w)
                    }
                    (Some(i), None) => input.node(i).value.shape != n.value.shape,
                    (None, _) => true,
                }
        })
        .count()
}

/// Runs `input` and `result`, each with its own parameter values, on `samples` random inputs
/// (seeds `seed`, `seed + 1`, ...) and on the `given` inputs, in `arithmetic`, and compares
/// their outputs; with a `tolerance`, `agrees` says whether every output is within it.
pub fn compare(
    input: &Graph,
    result: &Graph,
    samples: usize,
    seed: u64,
    given: &[Bindings],
    arithmetic: Arithmetic,
    tolerance: Option<f64>,
) -> Result<Comparison, InterpretError> {
    let mut outputs: Vec<OutputDiff> = input
        .outputs()
        .iter()
        .map(|&o| OutputDiff {
            output: input.node(o).name.clone(),
            max_abs: 0.0,
            mean_abs: 0.0,
            reference_max_abs: 0.0,
        })
        .collect();
    if result.outputs().len() != outputs.len() {
        return Err(InterpretError::Unsupported(format!(
            "the result has {} outputs, the input {}",
            result.outputs().len(),
            outputs.len()
        )));
    }
    // Before random inputs of the declared shapes are drawn.
    crate::interpret::check_size(input)?;
    crate::interpret::check_size(result)?;
    let input_ids: Vec<_> = input
        .node_ids()
        .filter(|&id| matches!(input.node(id).op, Op::Input))
        .collect();
    let runs = samples + given.len();
    // Run `graph` with its own parameters on every check input. The input graph's outputs are
    // kept and its parameters dropped before the result's are bound, so that a large model's
    // parameters (GPT-2's 124 M, 1 GB as f64) are held once, not twice.
    let outputs_of = |graph: &Graph| -> Result<Vec<Vec<Tensor>>, InterpretError> {
        let mut values =
            parameter_bindings(graph).map_err(|e| InterpretError::Unsupported(e.to_string()))?;
        (0..runs)
            .map(|i| {
                for &id in &input_ids {
                    let name = &input.node(id).name;
                    let value = match i.checked_sub(samples) {
                        None => random_tensor(input, id, seed.wrapping_add(i as u64)),
                        Some(g) => given[g].get(name).cloned().ok_or_else(|| {
                            InterpretError::MissingBinding {
                                node: name.clone(),
                                kind: "input",
                            }
                        })?,
                    };
                    values.insert(name.clone(), value);
                }
                evaluate(graph, &values, arithmetic)
            })
            .collect()
    };
    let reference = outputs_of(input)?;
    let results = outputs_of(result)?;
    let mut finite = true;
    let mut undefined = 0;
    let mut compared = vec![0usize; outputs.len()];
    for (a, b) in reference.iter().zip(&results) {
        for (((o, n), x), y) in outputs.iter_mut().zip(&mut compared).zip(a).zip(b) {
            if !x.is_finite() {
                undefined += 1;
                continue;
            }
            let (max, mean) = difference(x, y);
            if !max.is_finite() {
                finite = false;
            }
            o.max_abs = o.max_abs.max(max);
            o.mean_abs += mean;
            *n += 1;
            o.reference_max_abs = o.reference_max_abs.max(x.max_abs());
        }
    }
    for (o, &n) in outputs.iter_mut().zip(&compared) {
        o.mean_abs /= n.max(1) as f64;
    }
    let computed = computed_weights(input, result);
    let tolerance = tolerance.map(|t| {
        if computed > 0 {
            t.max(FLOAT32_TOLERANCE)
        } else {
            t
        }
    });
    let agrees = finite
        && tolerance.is_none_or(|t| {
            outputs
                .iter()
                .all(|o| o.max_abs <= t * (1.0 + o.reference_max_abs))
        });
    Ok(Comparison {
        samples,
        given: given.len(),
        weights: weight_source(input),
        computed_weights: computed,
        seed,
        arithmetic: describe(arithmetic),
        default_arithmetic: false,
        outputs,
        undefined,
        tolerance,
        agrees,
    })
}

/// Largest and mean absolute difference of two tensors (infinite when the shapes differ or
/// the second is not finite where the first is).
fn difference(x: &Tensor, y: &Tensor) -> (f64, f64) {
    if x.shape() != y.shape() {
        return (f64::INFINITY, f64::INFINITY);
    }
    let (mut max, mut sum) = (0.0f64, 0.0);
    for (a, b) in x.array().iter().zip(y.array().iter()) {
        let d = if a == b { 0.0 } else { (a - b).abs() };
        if !d.is_finite() {
            return (f64::INFINITY, f64::INFINITY);
        }
        max = max.max(d);
        sum += d;
    }
    (max, sum / x.numel().max(1) as f64)
}

/// The exact check: `result` against `input` in `f64` within [`TOLERANCE`] (or
/// [`FLOAT32_TOLERANCE`] for computed weights).
pub fn check_exact(
    input: &Graph,
    result: &Graph,
    samples: usize,
    seed: u64,
    given: &[Bindings],
) -> Result<Comparison, InterpretError> {
    compare(
        input,
        result,
        samples,
        seed,
        given,
        Arithmetic::Float,
        Some(TOLERANCE),
    )
}

/// The approximation's error: `result` against `input`, both in the fixed-point arithmetic
/// of `model`.
pub fn approximation_error(
    input: &Graph,
    result: &Graph,
    model: &CostModel,
    samples: usize,
    seed: u64,
    given: &[Bindings],
) -> Result<Comparison, InterpretError> {
    let (arithmetic, default) = fixed_point_of(model);
    let mut c = compare(input, result, samples, seed, given, arithmetic, None)?;
    c.default_arithmetic = default;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{ElemKind, Op, ValueInfo, Visibility};

    /// `op(x)` for a secret 2x3 input.
    fn unary(op: Op) -> Graph {
        let mut g = Graph::new("g");
        let x = g
            .add_source(
                "x",
                "",
                Op::Input,
                ValueInfo::new(vec![2, 3], ElemKind::Real, Visibility::Secret),
            )
            .unwrap();
        let y = g.add("y", "", op, &[x]).unwrap();
        g.set_outputs(vec![y]);
        g
    }

    #[test]
    fn the_same_function_agrees_another_does_not() {
        let relu = unary(Op::Relu);
        let c = check_exact(&relu, &relu.clone(), 2, 0, &[]).unwrap();
        assert!(c.agrees);
        assert_eq!((c.max_abs(), c.undefined, c.samples), (0.0, 0, 2));
        let c = check_exact(&relu, &unary(Op::Abs), 2, 0, &[]).unwrap();
        assert!(!c.agrees);
        assert!(c.max_abs() > 0.0);
        // log of U(-1, 1) inputs is not finite: nothing to compare.
        let log = unary(Op::Log);
        let c = check_exact(&log, &log, 1, 0, &[]).unwrap();
        assert_eq!(c.undefined, 1);
        assert!(c.agrees);
    }

    #[test]
    fn approximation_error_is_measured_in_fixed_point() {
        let model = CostModel::from_toml(
            r#"
            [framework]
            name = "toy"
            description = "relu by comparisons"
            provenance = "test"
            rounds = "messages"
            default_weights = "public"
            [params]
            parties = 2
            ring = 48
            [primitives.cmp]
            args = ["n"]
            online_bits = "n"
            online_rounds = "1"
            [ops.relu]
            s = [{ call = "cmp", n = "out" }]
            "#,
            "toy.toml",
            &[],
        )
        .unwrap();
        assert_eq!(
            fixed_point_of(&model),
            (
                Arithmetic::Fixed {
                    ring_bits: 48,
                    frac_bits: 16
                },
                true
            )
        );
        let c =
            approximation_error(&unary(Op::Relu), &unary(Op::Square), &model, 3, 1, &[]).unwrap();
        assert_eq!(c.tolerance, None);
        assert!(c.default_arithmetic && c.agrees);
        assert_eq!(
            c.arithmetic,
            "fixed point with a 48-bit ring and 16 fraction bits"
        );
        // |relu(x) - x^2| <= 1 on U(-1, 1), up to fixed-point rounding.
        assert!(c.max_abs() > 0.0 && c.mean_abs() > 0.0 && c.max_abs() < 1.01);
    }
}
