//! Equivalence checking: does a variant of a model (hand-optimized, rewritten, approximated)
//! compute what the original computes, and what does it save in communication?
//!
//! [`check_equivalence`] runs the whole check behind `hawkeye equiv`:
//! 1. [`signature`]: both graphs must take the same inputs (names, shapes, element kinds,
//!    visibilities) and give as many outputs with the same shapes; otherwise the comparison
//!    is refused with every mismatch listed;
//! 2. [`bindings`]: inputs get the same random values by name; parameters are bound to the
//!    values their file stores, else (original) their placeholders, else (variant) by name to the
//!    original's, else drawn from the seed
//!    (see that module for the exact policy);
//! 3. [`numeric`]: both graphs are evaluated on several samples in `f64` and in the
//!    framework's fixed-point arithmetic, and each output's error is reported with the worst
//!    element as a counterexample;
//! 4. [`communication`]: both graphs are profiled under the framework and their costs joined
//!    by module path;
//! 5. [`proof`]: the extension point for an e-graph proof (not attempted in this build).
//!
//! The [`Verdict`] is numeric: the largest relative `f64` error over all outputs and samples
//! (each output's largest absolute error divided by the largest magnitude of the original's
//! values of that output) against [`EXACT_TOLERANCE`] and the caller's tolerance.

pub mod bindings;
pub mod communication;
pub mod numeric;
pub mod proof;
pub mod signature;

pub use bindings::{Binder, BindingSummary, ParameterSources};
pub use communication::{compare_communication, CommunicationDiff, ModuleCosts};
pub use numeric::{compare_outputs, Counterexample, ErrorStats, EvalFailure, OutputComparison};
pub use proof::{prove_equivalent, ProofOutcome};

use crate::optimize::{Limits, RuleSet};
pub use signature::{InputSignature, Signature};

use crate::cost::CostModel;
use crate::graph::{Graph, Visibility};
use crate::interpret::Arithmetic;
use thiserror::Error;

/// Largest relative `f64` error at which two graphs count as equivalent: far above the
/// rounding of reordered floating-point arithmetic on model-sized values, far below any
/// approximation.
pub const EXACT_TOLERANCE: f64 = 1e-9;

/// Fixed-point arithmetic used when the framework's cost model has no `ring` and `frac`.
pub const DEFAULT_FIXED: Arithmetic = Arithmetic::Fixed {
    ring_bits: 64,
    frac_bits: 16,
};

/// How the check is run.
#[derive(Debug, Clone, PartialEq)]
pub struct EquivOptions {
    /// Number of random binding sets.
    pub samples: usize,
    /// Seed of the first sample (sample `i` uses `seed + i`).
    pub seed: u64,
    /// Largest relative error at which the variant still counts as approximately equal.
    pub tolerance: f64,
    /// Visibility of both graphs' parameters when profiling.
    pub weights: Visibility,
}

/// The outcome of the numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Largest relative error at most [`EXACT_TOLERANCE`].
    Equivalent,
    /// Largest relative error at most the caller's tolerance.
    Approximate,
    /// Larger errors (or a NaN or infinity on one side only).
    Different,
}

impl Verdict {
    /// Judges a largest relative error.
    pub fn judge(max_rel: f64, tolerance: f64) -> Verdict {
        if max_rel <= EXACT_TOLERANCE {
            Verdict::Equivalent
        } else if max_rel <= tolerance {
            Verdict::Approximate
        } else {
            Verdict::Different
        }
    }

    /// The exit status of `hawkeye equiv`: 0 equivalent, 1 different (the failed check, as
    /// for every command), 3 approximately equal within the tolerance; 2 is left to usage and
    /// input errors (a comparison that could not be made), so scripts can tell them apart.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Equivalent => 0,
            Verdict::Different => 1,
            Verdict::Approximate => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Equivalent => "equivalent",
            Verdict::Approximate => "approximately equal",
            Verdict::Different => "different",
        }
    }
}

/// Why two graphs could not be compared.
#[derive(Debug, Error)]
pub enum EquivError {
    #[error("the graphs do not have the same interface:\n  {}", .0.join("\n  "))]
    Signature(Vec<String>),
    #[error("cannot bind parameters: {0}")]
    Bindings(String),
    #[error("the {} cannot be evaluated ({:?}): {}", .0.graph, .0.arithmetic, .0.error)]
    Eval(EvalFailure),
    #[error("--samples must be at least 1")]
    NoSamples,
    #[error("the {0} is too large to evaluate: {1}")]
    TooLarge(&'static str, crate::interpret::InterpretError),
}

/// Everything `hawkeye equiv` reports.
#[derive(Debug, Clone)]
pub struct EquivReport {
    /// Names of the two graphs.
    pub original: String,
    pub variant: String,
    pub signature: Signature,
    pub bindings: BindingSummary,
    pub samples: usize,
    pub seed: u64,
    pub tolerance: f64,
    /// The fixed-point arithmetic used, and whether it came from the framework's cost model
    /// (else [`DEFAULT_FIXED`]).
    pub fixed: Arithmetic,
    pub fixed_from_framework: bool,
    pub outputs: Vec<OutputComparison>,
    /// Largest relative `f64` error over all outputs.
    pub max_rel: f64,
    pub communication: Result<CommunicationDiff, String>,
    pub proof: ProofOutcome,
    pub verdict: Verdict,
}

/// Compares `variant` against `original` (see the module documentation).
pub fn check_equivalence(
    original: &Graph,
    variant: &Graph,
    model: &CostModel,
    options: &EquivOptions,
) -> Result<EquivReport, EquivError> {
    if options.samples == 0 {
        return Err(EquivError::NoSamples);
    }
    let signature = Signature::of(original);
    let mismatches = signature.mismatches(&Signature::of(variant));
    if !mismatches.is_empty() {
        return Err(EquivError::Signature(mismatches));
    }
    // Before any value is drawn or read.
    crate::interpret::check_size(original).map_err(|e| EquivError::TooLarge("original", e))?;
    crate::interpret::check_size(variant).map_err(|e| EquivError::TooLarge("variant", e))?;
    let binder = Binder::new(original, variant).map_err(EquivError::Bindings)?;
    let (fixed, fixed_from_framework) = match Arithmetic::from_cost_model(model) {
        Ok(a) => (a, true),
        Err(_) => (DEFAULT_FIXED, false),
    };
    let outputs = compare_outputs(
        original,
        variant,
        &binder,
        options.samples,
        options.seed,
        fixed,
    )
    .map_err(EquivError::Eval)?;
    let max_rel = outputs
        .iter()
        .map(|o| o.float.max_rel())
        .fold(
            0.0,
            |m: f64, r| if r.is_nan() { f64::INFINITY } else { m.max(r) },
        );
    Ok(EquivReport {
        original: original.name.clone(),
        variant: variant.name.clone(),
        signature,
        bindings: binder.summary(),
        samples: options.samples,
        seed: options.seed,
        tolerance: options.tolerance,
        fixed,
        fixed_from_framework,
        outputs,
        max_rel,
        communication: compare_communication(original, variant, model, options.weights),
        proof: match RuleSet::builtin() {
            Ok(rules) => prove_equivalent(
                &original.with_parameter_visibility(options.weights),
                &variant.with_parameter_visibility(options.weights),
                &rules,
                &Limits::default(),
            ),
            Err(e) => ProofOutcome::NotAttempted {
                reason: format!("the built-in rules did not load: {e}"),
            },
        },
        verdict: Verdict::judge(max_rel, options.tolerance),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_tolerances() {
        assert_eq!(Verdict::judge(0.0, 1e-2), Verdict::Equivalent);
        assert_eq!(Verdict::judge(1e-12, 1e-2), Verdict::Equivalent);
        assert_eq!(Verdict::judge(1e-3, 1e-2), Verdict::Approximate);
        assert_eq!(Verdict::judge(0.5, 1e-2), Verdict::Different);
        assert_eq!(Verdict::judge(f64::INFINITY, 1e300), Verdict::Different);
        assert_eq!(
            [
                Verdict::Equivalent,
                Verdict::Approximate,
                Verdict::Different
            ]
            .map(Verdict::exit_code),
            [0, 3, 1]
        );
    }
}
