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
/// run (`per_op.mpc`) equal those of the model's primitives.
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
                &[],
            )
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Single ops no spec runs alone (log, sqrt, division, pow, log_softmax, arg_max, gather with a
/// secret index ...) and odd shapes, measured with tests/fixtures/groundtruth/measure_spu_ops.py
/// (results/spu_ops/semi2k.json): exact bytes per party and rounds.
#[test]
fn single_ops_are_exact() {
    let m = spu_common::model("spu-semi2k");
    let mut bad = Vec::new();
    for case in spu_common::op_cases("semi2k") {
        let f = spu_common::predict_case(&m, &case);
        let name = case["name"].as_str().unwrap();
        let bytes = spu_common::num(&case["bytes_sent_total"]);
        let rounds = spu_common::num(&case["rounds_estimate"]);
        let pp = spu_common::nums(&case["bytes_sent_per_party"]);
        if (f.bytes - bytes).abs() > 1e-6
            || (f.rounds - rounds).abs() > 1e-6
            || pp
                .iter()
                .zip(&f.party_bytes)
                .any(|(a, b)| (a - b).abs() > 1e-6)
        {
            bad.push(format!(
                "{name}: predicted {} B {} rounds, measured {bytes} B {rounds} rounds",
                f.bytes, f.rounds
            ));
        }
    }
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}
