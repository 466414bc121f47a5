//! Profiling speed: zoo models under each built-in framework; the whole path of one command
//! (model, cost model, profile, JSON) in process and as a process of the `hawkeye` binary;
//! generated graphs of 10k to 1M nodes and a module path 20,000 deep.

use criterion::{criterion_group, criterion_main, Criterion};
use hawkeye_mpc::cost;
use hawkeye_mpc::frontend::json;
use hawkeye_mpc::profile::{GroupBy, Network, Profile};
use hawkeye_mpc::report::numbers::Units;
use hawkeye_mpc::report::profile::{self as render, View};
use hawkeye_mpc::zoo::{self, synthetic, ZooOptions};
use std::hint::black_box;

/// Models benchmarked, with their options (the targets: resnet50 < 20 ms,
/// bert-base at seq 128 < 100 ms per framework).
const MODELS: &[(&str, ZooOptions)] = &[
    ("lenet5", ZooOptions::DEFAULT),
    ("resnet50", ZooOptions::DEFAULT),
    (
        "bert-base",
        ZooOptions {
            seq_len: Some(128),
            ..ZooOptions::DEFAULT
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

/// The whole `hawkeye profile MODEL --framework F --format json` path in process: build the
/// model, load the cost model, profile, build the attribution tree, serialise the JSON.
fn whole_path(c: &mut Criterion) {
    let view = View {
        depth: None,
        top: None,
        network: Network::LAN,
        weights: String::new(),
        units: Units::Bytes,
        rounds_meaning: String::new(),
        inputs: Vec::new(),
        mode: "inference".to_string(),
        refused: Vec::new(),
    };
    for (name, framework, options) in [
        ("resnet50", "spu-semi2k", MODELS[1].1),
        ("bert-base", "crypten", MODELS[2].1),
    ] {
        c.bench_function(&format!("whole path {name} {framework} json"), |b| {
            b.iter(|| {
                let graph = zoo::build(name, &options).unwrap().unwrap();
                let model = cost::load_framework(framework, &[]).unwrap();
                let mut graph = graph;
                graph.set_parameter_visibility(model.framework.default_weights);
                let profile = Profile::new(&graph, &model).unwrap();
                let tree = profile.attribution(GroupBy::Module);
                let mut out = Vec::new();
                render::write_json(&mut out, &profile, &tree, &view, false).unwrap();
                black_box(out.len())
            })
        });
    }
}

/// Whole `hawkeye profile` commands, the process included (start, output to a pipe, exit):
/// what a user pays, in wall time here; the README's figures are CPU time of the same commands.
fn whole_process(c: &mut Criterion) {
    let mut group = c.benchmark_group("process");
    group.sample_size(20);
    let commands: [&[&str]; 4] = [
        &["resnet50", "-f", "spu-semi2k", "--format", "json"],
        &["resnet50", "-f", "spu-semi2k"],
        &["bert-base", "-f", "crypten", "--format", "json"],
        &["bert-base", "-f", "crypten"],
    ];
    for args in commands {
        group.bench_function(format!("hawkeye profile {}", args.join(" ")), |b| {
            b.iter(|| {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_hawkeye"))
                    .arg("profile")
                    .args(args)
                    .output()
                    .unwrap();
                assert!(out.status.success());
                black_box(out.stdout.len())
            })
        });
    }
    group.finish();
}

/// Generated graphs (README "Speed"): read from native JSON, profiled under SPU SEMI2K, the
/// tree built and rendered as text and as JSON: a chain of linear + ReLU layers of 10k, 100k
/// and 1M nodes, and one block 20,000 modules deep.
fn generated_graphs(c: &mut Criterion) {
    let view = View {
        depth: None,
        top: None,
        network: Network::LAN,
        weights: "secret".to_string(),
        units: Units::Bytes,
        rounds_meaning: "messages".to_string(),
        inputs: Vec::new(),
        mode: "inference".to_string(),
        refused: Vec::new(),
    };
    let model = cost::load_framework("spu-semi2k", &[]).unwrap();
    let mut group = c.benchmark_group("generated");
    group.sample_size(10);
    let graphs = [
        ("chain 10k nodes", 2_500, false),
        ("chain 100k nodes", 25_000, false),
        ("chain 1M nodes", 250_000, false),
        ("module path 20k deep", 20_000, true),
    ];
    for (label, size, deep) in graphs {
        let graph = if deep {
            synthetic::deep_module(size)
        } else {
            synthetic::linear_relu_chain(size)
        };
        let text = json::to_json(&graph.unwrap());
        group.bench_function(label, |b| {
            b.iter(|| {
                let graph = json::from_json(&text, "generated.json").unwrap();
                let profile = Profile::new(&graph, &model).unwrap();
                let tree = profile.attribution(GroupBy::Module);
                let mut json = Vec::new();
                render::write_json(&mut json, &profile, &tree, &view, false).unwrap();
                black_box(render::text(&profile, &tree, &view).len() + json.len())
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    profile_models,
    whole_path,
    whole_process,
    generated_graphs
);
criterion_main!(benches);
