//! Profiles of the zoo under every built-in framework: each either costs the model (never a
//! silent zero) or names the op it cannot cost; broken cost files fail with file and entry.

use assert_cmd::Command;
use hawkeye_mpc::cost;
use hawkeye_mpc::profile::{GroupBy, Profile};
use hawkeye_mpc::zoo::{self, ZooOptions};

#[test]
fn every_zoo_model_under_every_framework_is_costed_or_refused_by_name() {
    let frameworks = cost::builtin_frameworks().unwrap();
    let small = ZooOptions {
        batch: 1,
        resolution: None,
        seq_len: Some(16),
        classes: None,
    };
    for m in zoo::MODELS {
        let g = (m.build)(&small).unwrap();
        for fw in &frameworks {
            let g = g.with_parameter_visibility(fw.framework.default_weights);
            match Profile::new(&g, fw) {
                Ok(p) => {
                    assert!(
                        p.total.online_bits > 0.0,
                        "{} under {}: zero cost",
                        m.name,
                        fw.framework.name
                    );
                    let tree = p.attribution(GroupBy::Module);
                    // summed in another order: equal up to float rounding (amortised
                    // costs, such as spu-cheetah's Ferret extensions, are fractional)
                    assert!(
                        (tree.cost.online_bits - p.total.online_bits).abs()
                            <= 1e-12 * p.total.online_bits,
                        "{} under {}: {} vs {}",
                        m.name,
                        fw.framework.name,
                        tree.cost.online_bits,
                        p.total.online_bits
                    );
                    let party_sum: f64 = p.total.party_online_bits.iter().sum();
                    assert!((party_sum - p.total.online_bits).abs() <= 1e-6 * p.total.online_bits);
                }
                Err(e) => {
                    let e = e.to_string();
                    assert!(
                        e.lines()
                            .all(|l| l.contains("has no cost in this framework")
                                || l.contains("has no lowering in this framework")
                                || l.contains(": unsupported.")),
                        "{}: {e}",
                        m.name
                    );
                }
            }
        }
    }
}

#[test]
fn layers_sum_to_the_total_and_critical_path_is_at_most_the_sum() {
    let g = zoo::build("resnet18", &ZooOptions::default())
        .unwrap()
        .unwrap();
    let p = Profile::new(&g, &cost::load_framework("crypten", &[]).unwrap()).unwrap();
    let bits: f64 = p.layers().iter().map(|l| l.cost.online_bits).sum();
    assert_eq!(bits, p.total.online_bits);
    assert!(p.critical_path_rounds <= p.total.online_rounds);
    assert!(p.critical_path_rounds > 0.0);
}

#[test]
fn weights_visibility_changes_cost() {
    let g = zoo::build("mlp", &ZooOptions::default()).unwrap().unwrap();
    let m = cost::load_framework("crypten", &[]).unwrap();
    let secret = Profile::new(&g, &m).unwrap().total.online_bits;
    let public = Profile::new(
        &g.with_parameter_visibility(hawkeye_mpc::graph::Visibility::Public),
        &m,
    )
    .unwrap()
    .total
    .online_bits;
    assert!(
        public < secret / 10.0,
        "public weights should make the linears nearly free"
    );
}

#[test]
fn broken_cost_file_is_reported_with_file_and_entry() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cost_models/broken_cycle.toml"
    );
    let out = Command::cargo_bin("hawkeye")
        .unwrap()
        .args(["profile", "mlp", "--framework", file])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(
        err.contains("broken_cycle.toml: functions.exp: cyclic lowering: exp > reciprocal > exp"),
        "{err}"
    );
}
