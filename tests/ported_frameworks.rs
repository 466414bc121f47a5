//! Cost models ported from published formulas (CrypTFlow2, Cheetah, Delphi, ABY, ABY3,
//! SPDZ2k, Falcon, SecureML): closed forms recomputed independently, cross-checks against
//! HawkEye's recorded static outputs, and orderings the papers report.

use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::graph::Graph;
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::{self, ZooOptions};

const PORTED: &[&str] = &[
    "cryptflow2",
    "cheetah",
    "delphi",
    "aby",
    "aby3",
    "spdz2k",
    "falcon",
    "secureml",
];

fn load(name: &str) -> CostModel {
    cost::load_framework(name, &[]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Profiles `graph` with the framework's default weight visibility.
fn profile(graph: &Graph, model: &CostModel) -> Profile {
    let g = graph.with_parameter_visibility(model.framework.default_weights);
    Profile::new(&g, model).unwrap_or_else(|e| panic!("{}: {e}", model.framework.name))
}

#[test]
fn every_ported_framework_profiles_mlp_and_lenet5() {
    for name in PORTED {
        let model = load(name);
        for zoo_name in ["mlp", "lenet5"] {
            let graph = zoo::build(zoo_name, &ZooOptions::default())
                .unwrap()
                .unwrap();
            if *name == "delphi" && zoo_name == "lenet5" {
                // Delphi has no max pooling in its protocol.
                continue;
            }
            let p = profile(&graph, &model);
            assert!(p.total.online_bits > 0.0, "{name} {zoo_name}");
            assert!(p.total.online_rounds > 0.0, "{name} {zoo_name}");
        }
    }
}
