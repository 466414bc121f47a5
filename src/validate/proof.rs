//! The extension point for a symbolic proof of equivalence.
//!
//! [`prove_equivalent`] is where an e-graph proof belongs: add both graphs to one e-graph,
//! saturate with the optimizer's rewrite rules, and check that each pair of outputs lands in
//! the same e-class. The e-graph optimizer is not part of this build, so it attempts nothing
//! and says so; it never claims a proof it has not made.
//!
//! The verdict of `hawkeye equiv` is numeric (see [`super::Verdict`]); a proof is reported
//! beside it. When proofs exist, a `Proved` outcome means the two graphs compute the same
//! real-valued function (rewrite rules are identities over the reals), so numeric differences
//! are then rounding only.

use crate::graph::Graph;

/// What the symbolic check established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofOutcome {
    /// No proof was attempted, and why.
    NotAttempted { reason: String },
    /// Every output pair was shown equal; `explanation` names the rewrites used.
    Proved { explanation: String },
    /// Saturation stopped (node or time limit, or fixpoint) without joining every output pair.
    /// This is not a disproof.
    NotFound { reason: String },
}

/// Tries to prove that `variant` computes the same function as `original`.
///
/// Not implemented yet: always [`ProofOutcome::NotAttempted`].
pub fn prove_equivalent(_original: &Graph, _variant: &Graph) -> ProofOutcome {
    ProofOutcome::NotAttempted {
        reason: "the e-graph prover is not part of this build".to_string(),
    }
}
