//! spu-semi2k against real SPU 0.9.5 SEMI2K runs (tests/fixtures/groundtruth/results/spu_semi2k):
//! exact bytes (total, per party and per layer) and exact rounds (total and per layer) on every
//! inference spec a–n (g, the training step, is left to the autograd work).

mod common;
mod spu_common;

use spu_common::{check, report, Exact, INFERENCE_SPECS};

const EXACT: Exact = Exact {
    bytes: true,
    party_bytes: true,
    max_rounds: true,
    mean_rounds: true,
};

#[test]
fn every_inference_spec_is_exact_in_total_per_party_and_per_layer() {
    let failures: Vec<String> = INFERENCE_SPECS
        .iter()
        .flat_map(|spec| check("spu-semi2k", "spu_semi2k", spec, EXACT))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn report_predicted_vs_measured() {
    report("spu-semi2k", "spu_semi2k", "total");
}

/// The mechanism, not only the sums: calls and bytes of every SPU MPC kernel over each model
/// run (`per_op.mpc`) equal those of the model's primitives (calls of the comparison kernels
/// apart: the model batches a comparison tree into one call over its levels).
#[test]
fn every_kernel_has_the_measured_calls_and_bytes() {
    let failures: Vec<String> = INFERENCE_SPECS
        .iter()
        .flat_map(|spec| {
            spu_common::check_kernels(
                "spu-semi2k",
                "spu_semi2k",
                spec,
                "per_op",
                &[("square_a", "square_s")],
                &["msb_a2b", "mul_a1b"],
            )
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
