//! Training profiles run for every zoo model and every optimizer: under the ABY3 test model
//! (which costs every op of the zoo's training steps) and, for the convolutional models,
//! under the built-in spu-semi2k; every phase costs something and the update grows from SGD
//! to Adam.

use hawkeye_mpc::autograd::{train_step, Optimizer, TrainOptions, Training};
use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::graph::Phase;
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::{self, ZooOptions, MODELS};

const OPTIMIZERS: &[&str] = &["sgd", "momentum", "adam", "adamw", "adam-optax"];

fn update_bits(name: &str, model: &CostModel, optimizer: &str) -> f64 {
    let g = zoo::build(name, &ZooOptions::default()).unwrap().unwrap();
    let options = TrainOptions {
        optimizer: Optimizer::named(optimizer, 0.01).unwrap(),
        training: Training::of(model),
        ..TrainOptions::default()
    };
    let step = train_step(&g, &options).unwrap();
    let step = step.with_parameter_visibility(model.framework.default_weights);
    let p = Profile::new(&step, model).unwrap_or_else(|e| panic!("{name} {optimizer}: {e}"));
    let phases = p.phases();
    for phase in [Phase::Forward, Phase::Loss, Phase::Backward, Phase::Update] {
        let c = phases.iter().find(|(ph, _)| *ph == phase).map(|(_, c)| c);
        assert!(
            c.is_some_and(|c| c.online_bits > 0.0),
            "{name} {optimizer}: nothing in {phase:?}"
        );
    }
    phases
        .iter()
        .find(|(ph, _)| *ph == Phase::Update)
        .unwrap()
        .1
        .online_bits
}

fn check(model: &CostModel, models: &[&str]) {
    for name in models {
        let costs: Vec<f64> = OPTIMIZERS
            .iter()
            .map(|opt| update_bits(name, model, opt))
            .collect();
        assert!(
            costs[0] < costs[1] && costs[1] < costs[2],
            "{name}: update costs {costs:?}"
        );
    }
}

#[test]
fn every_zoo_model_and_optimizer_profiles_under_aby3() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cost_models/aby3-hawkeye.toml"
    );
    let names: Vec<&str> = MODELS.iter().map(|m| m.name).collect();
    check(&cost::load_framework(path, &[]).unwrap(), &names);
}

#[test]
fn convolutional_zoo_models_profile_under_spu_semi2k() {
    let names: Vec<&str> = MODELS
        .iter()
        .map(|m| m.name)
        .filter(|n| !["bert-base", "bert-tiny", "gpt2-small", "vit-b16"].contains(n))
        .collect();
    check(&cost::load_framework("spu-semi2k", &[]).unwrap(), &names);
}
