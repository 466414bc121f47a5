//! Optimization speed: saturate, extract and re-profile a zoo model (the targets:
//! resnet50 within 2 s, bert-base at seq 128 within 10 s).
//!
//! Frameworks: every built-in one that can cost the model, plus the toy Beaver-triple model
//! of the tests (tests/fixtures/cost_models/beaver2pc.toml, which costs every zoo op); weights
//! public (the most rewrites apply: batchnorm folding, scale merging) and each framework's
//! default.

use criterion::{criterion_group, criterion_main, Criterion};
use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::graph::Visibility;
use hawkeye_mpc::optimize::{self, Options, RuleSet};
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::{self, ZooOptions};
use std::hint::black_box;
use std::time::Duration;

const MODELS: &[(&str, ZooOptions)] = &[
    (
        "resnet50",
        ZooOptions {
            batch: 1,
            resolution: None,
            seq_len: None,
            classes: None,
        },
    ),
    (
        "bert-base",
        ZooOptions {
            batch: 1,
            resolution: None,
            seq_len: Some(128),
            classes: None,
        },
    ),
];

fn frameworks() -> Vec<CostModel> {
    let mut all = cost::builtin_frameworks().expect("built-in cost models load");
    all.push(
        cost::load_framework(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/cost_models/beaver2pc.toml"
            ),
            &[],
        )
        .expect("test cost model loads"),
    );
    all
}

fn optimize_models(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let options = Options::default();
    let mut group = c.benchmark_group("optimize");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (name, zoo_options) in MODELS {
        let graph = zoo::build(name, zoo_options)
            .expect("zoo model")
            .expect("zoo models build");
        for fw in &frameworks() {
            let mut weights = vec![Visibility::Public];
            if fw.framework.default_weights != Visibility::Public {
                weights.push(fw.framework.default_weights);
            }
            for vis in weights {
                let g = graph.with_parameter_visibility(vis);
                if Profile::new(&g, fw).is_err() {
                    continue; // the framework cannot run this model
                }
                group.bench_function(format!("{name} {} weights {vis}", fw.framework.name), |b| {
                    b.iter(|| {
                        optimize::optimize(black_box(&g), fw, &rules, &options, None).unwrap()
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, optimize_models);
criterion_main!(benches);
