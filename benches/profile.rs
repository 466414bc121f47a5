//! Profiling speed: build a zoo model and profile it under each built-in framework.

use criterion::{criterion_group, criterion_main, Criterion};
use hawkeye_mpc::cost;
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::{self, ZooOptions};
use std::hint::black_box;

/// Models benchmarked, with their options (the targets: resnet50 < 20 ms,
/// bert-base at seq 128 < 100 ms per framework).
const MODELS: &[(&str, ZooOptions)] = &[
    (
        "lenet5",
        ZooOptions {
            batch: 1,
            resolution: None,
            seq_len: None,
            classes: None,
        },
    ),
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

fn profile_models(c: &mut Criterion) {
    let frameworks = cost::builtin_frameworks().expect("built-in cost models load");
    for (name, options) in MODELS {
        let Some(graph) = zoo::build(name, options) else {
            continue;
        };
        let graph = graph.expect("zoo models build");
        for fw in &frameworks {
            let g = graph.with_parameter_visibility(fw.framework.default_weights);
            if Profile::new(&g, fw).is_err() {
                continue; // the framework cannot run this model (e.g. softmax in Delphi)
            }
            c.bench_function(&format!("profile {name} {}", fw.framework.name), |b| {
                b.iter(|| Profile::new(black_box(&g), fw).unwrap())
            });
        }
    }
}

criterion_group!(benches, profile_models);
criterion_main!(benches);
