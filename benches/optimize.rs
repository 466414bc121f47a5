//! Optimization speed: saturate, extract and re-profile a zoo model (the targets:
//! resnet50 within 2 s, bert-base at seq 128 and gpt2-small within 10 s, the check of the
//! result included), and scale: synthetic chains of 20k and 100k nodes and a 100k-node graph
//! of sibling layers (`hawkeye_mpc::zoo::synthetic`).
//!
//! Frameworks: every built-in one that can cost the model, plus the toy Beaver-triple model
//! of the tests (tests/fixtures/cost_models/beaver2pc.toml, which costs every zoo op); weights
//! public (the most rewrites apply: batchnorm folding, scale merging) and each framework's
//! default.

use criterion::{criterion_group, criterion_main, Criterion};
use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::graph::Visibility;
use hawkeye_mpc::optimize::{self, Options, RuleSet};
use hawkeye_mpc::optimize::{verify, Limits};
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::{self, synthetic, ZooOptions};
use std::hint::black_box;

use std::time::Duration;

const MODELS: &[(&str, ZooOptions)] = &[
    ("resnet50", ZooOptions::DEFAULT),
    (
        "bert-base",
        ZooOptions {
            seq_len: Some(128),
            ..ZooOptions::DEFAULT
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

/// The whole of `hawkeye optimize MODEL --framework spu-semi2k --weights public`: optimize,
/// then check the result against the input on 2 random inputs with the interpreter.
fn optimize_and_check(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let fw = cost::load_framework("spu-semi2k", &[]).expect("built-in framework");
    let mut group = c.benchmark_group("optimize and check");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    for name in ["resnet50", "bert-base", "gpt2-small"] {
        let g = zoo::build(name, &ZooOptions::default())
            .expect("zoo model")
            .expect("zoo models build")
            .with_parameter_visibility(Visibility::Public);
        let options = Options {
            limits: Limits::for_graph(g.len()),
            ..Options::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let out = optimize::optimize(black_box(&g), &fw, &rules, &options, None).unwrap();
                if !out.unchanged {
                    assert!(
                        verify::check_exact(&g, &out.graph, 2, 0, &[])
                            .unwrap()
                            .agrees
                    );
                }
            })
        });
    }
    group.finish();
}

/// Synthetic graphs at scale, under the test cost model.
fn optimize_scale(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let fw = frameworks().pop().expect("the test cost model");
    let mut group = c.benchmark_group("optimize scale");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    for (kind, nodes) in [("chain", 20_000), ("chain", 100_000), ("siblings", 100_000)] {
        let g = match kind {
            "chain" => synthetic::linear_relu_chain(nodes / synthetic::NODES_PER_LAYER),
            _ => synthetic::sibling_layers(nodes.div_ceil(synthetic::NODES_PER_SIBLING_LAYER)),
        }
        .expect("synthetic graphs build");
        let options = Options {
            limits: Limits::for_graph(g.len()),
            ..Options::default()
        };
        group.bench_function(format!("{kind} {nodes} nodes"), |b| {
            b.iter(|| optimize::optimize(black_box(&g), &fw, &rules, &options, None).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, optimize_models, optimize_and_check, optimize_scale);
criterion_main!(benches);
