//! spu-cheetah's OT kernels against real SPU 0.9.5 CHEETAH runs at transformer sizes
//! (tests/fixtures/groundtruth/results/spu_cheetah_sizes, z_bert_tiny_2l).
//!
//! Two mechanisms make CHEETAH's message counts grow with the tensor, both read from SPU's
//! source and modelled in cost_models/spu-cheetah.toml:
//! - BufferedIO: an OT sender's payload leaves in messages of at most `ot_io_buffer` bytes
//!   (1 MiB) per OT instance;
//! - Ferret OT extensions: each OT instance keeps one buffer of correlated OTs per direction; a
//!   buffer that runs dry is refilled by one extension (`ferret_t + 1` = 1281 messages from the
//!   buffer's OT sender). The model charges each OT drawn its share of an extension (the steady
//!   state, `ferret_refill`); a single run pays whole extensions, as many as its buffers cross.
//!
//! The tests read the model's own draws (the `ferret_refill` entries under each kernel) and
//! replay the buffers of the measured run: a fresh runtime (the single-op sizes) or the
//! harness' sequence model, each layer, model again (the specs' warm runs). Where the run's
//! buffer history is known, the messages are exact.

mod common;
mod spu_common;

use hawkeye_mpc::cost::CostModel;
use hawkeye_mpc::profile::Profile;
use serde_json::Value;
use spu_common::ferret::{extension_messages, extensions_received, ot_use_of, whole, OT_KERNELS};
use spu_common::{model, num, nums, INFERENCE_SPECS};

/// The messages of one OT instance's setup without its first extension (softspoken base OTs
/// and the pre-extension): the model's setup entry less one extension.
fn setup_without_extension(m: &CostModel) -> f64 {
    let s = m
        .setup
        .iter()
        .find(|s| s.label.starts_with("Ferret OT bootstrap (first"))
        .unwrap();
    s.online_rounds.eval(&m.base_vars()).unwrap() - extension_messages(m)
}

fn sizes() -> Vec<Value> {
    let text =
        std::fs::read_to_string("tests/fixtures/groundtruth/results/spu_cheetah_sizes/cases.json")
            .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

/// Measured messages received per party in the OT kernels of one single-op case.
fn measured_ot_messages(case: &Value) -> [f64; 2] {
    let mut got = [0.0; 2];
    for (k, v) in case["per_op_mpc"].as_object().unwrap() {
        if OT_KERNELS.contains(&k.as_str()) {
            let r = nums(&v["recv_actions_per_party"]);
            got[0] += r[0];
            got[1] += r[1];
        }
    }
    got
}

/// Each single op on a fresh runtime: the OT kernels' messages, per party, are the model's
/// base messages (BufferedIO chunks included) plus the OT setup of each instance used plus
/// one extension per buffer crossing: exact.
#[test]
fn fresh_single_ops_have_exact_ot_messages() {
    let m = model("spu-cheetah");
    let cases = sizes();
    assert!(cases.len() >= 9);
    let mut extensions_seen = 0.0;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let g = spu_common::op_case_graph(case);
        let p = Profile::new(&g, &m).unwrap();
        let u = ot_use_of(&m, &p);
        let got = extensions_received(&m, &u, 0.0, 1.0);
        let measured = measured_ot_messages(case);
        let setup = setup_without_extension(&m) * u.instances as f64;
        let base: Vec<f64> = (0..2)
            .map(|q| measured[q] - setup - extension_messages(&m) * got[q])
            .collect();
        let base = whole(base[0].max(base[1]));
        extensions_seen += got[0] + got[1];
        assert_eq!(
            base, u.base_rounds,
            "{name}: measured {measured:?}, less setup {setup} and {got:?} extensions"
        );
    }
    // the sizes cross buffers beyond the first extension (GELU on 8,192 elements)
    assert!(extensions_seen >= 18.0, "{extensions_seen}");
}

/// The chunking alone: ReLU's comparison sends 64 bytes of OT messages per element; at 65,536
/// elements (32,768 per instance) that is 2 MiB per instance, two messages instead of one.
#[test]
fn relu_messages_grow_by_the_1_mib_chunks() {
    let m = model("spu-cheetah");
    let cases = sizes();
    let relu = |n: u64| {
        let c = cases
            .iter()
            .find(|c| c["name"] == format!("relu_{n}"))
            .unwrap();
        let p = Profile::new(&spu_common::op_case_graph(c), &m).unwrap();
        ot_use_of(&m, &p).base_rounds
    };
    assert_eq!(relu(1024), 20.0);
    assert_eq!(relu(16384), 40.0);
    assert_eq!(relu(65536), 42.0);
}

/// The warm runs of the measured specs, with the extensions their buffers crossed: the harness
/// runs the model (fresh runtime), each layer, then the model again (the warm run), so the warm
/// run draws OTs from 2x to 3x the model's draws. Within 3 % (or one message) of the measured
/// warm messages on every spec, and the amortised model within 3 % plus one extension per
/// buffer of the receiving party.
#[test]
fn warm_messages_with_the_buffers_replayed() {
    let m = model("spu-cheetah");
    let mut specs: Vec<&str> = INFERENCE_SPECS.to_vec();
    specs.push("z_bert_tiny_2l");
    for spec in specs {
        let measured = common::measured("spu_cheetah", spec).unwrap();
        let warm = num(&measured["total_warm"]["rounds_estimate"]);
        let p = spu_common::profile(&m, spec);
        let u = ot_use_of(&m, &p);
        let (total, _) = spu_common::predict(&m, spec);
        let runs_before = if measured["per_layer"]
            .as_array()
            .is_some_and(|l| !l.is_empty())
        {
            2.0
        } else {
            1.0
        };
        let got = extensions_received(&m, &u, runs_before, runs_before + 1.0);
        let replayed = total.rounds - u.refill_rounds + extension_messages(&m) * got[0].max(got[1]);
        assert!(
            (replayed - warm).abs() <= 0.03 * warm + 1.0,
            "{spec}: replayed {replayed} ({got:?} extensions), measured warm {warm}"
        );
        let slack = extension_messages(&m) * u.instances as f64;
        assert!(
            (total.rounds - warm).abs() <= 0.03 * warm + slack,
            "{spec}: amortised {}, measured warm {warm}",
            total.rounds
        );
    }
}

/// The case: a 2-layer BERT encoder (hidden 128, 2 heads, intermediate 512, 16
/// tokens) under the amortised model: messages within 10 % of the measured warm run, bytes
/// within 3 %.
#[test]
fn bert_tiny_two_layers_within_10_percent() {
    let m = model("spu-cheetah");
    let spec = "z_bert_tiny_2l";
    let measured = common::measured("spu_cheetah", spec).unwrap();
    let (total, _) = spu_common::predict(&m, spec);
    let warm = num(&measured["total_warm"]["rounds_estimate"]);
    let bytes = num(&measured["total_warm"]["bytes_sent_total"]);
    println!(
        "{spec}: messages {:.1} vs {warm} ({:+.2} %), bytes {:.0} vs {bytes} ({:+.2} %)",
        total.rounds,
        100.0 * (total.rounds - warm) / warm,
        total.bytes,
        100.0 * (total.bytes - bytes) / bytes
    );
    assert!((total.rounds - warm).abs() <= 0.10 * warm);
    assert!((total.bytes - bytes).abs() <= 0.03 * bytes);
}
