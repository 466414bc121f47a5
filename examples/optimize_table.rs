//! The optimizer's README table: for each zoo model and each framework, online communication
//! before and after optimization with the exact rules, and with the approximate rules too.
//!
//! ```text
//! cargo run --release --example optimize_table                      # built-in frameworks
//! cargo run --release --example optimize_table -- extra.toml ...     # plus cost-model files
//! cargo run --release --example optimize_table -- --models resnet18,bert-base --weights public
//! ```
//!
//! Weights take each framework's default visibility unless `--weights` says otherwise; the
//! objective is online time on the LAN (`--objective`, `--network` change it). Frameworks that
//! cannot cost a model get a `-` row with the reason.

use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::graph::Visibility;
use hawkeye_mpc::optimize::{self, Objective, Options, RuleSet};
use hawkeye_mpc::profile::Network;
use hawkeye_mpc::report::bytes;
use hawkeye_mpc::zoo::{self, ZooOptions};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut files = Vec::new();
    let mut models: Option<Vec<String>> = None;
    let mut weights: Option<Visibility> = None;
    let mut network = Network::LAN;
    let mut objective = "time".to_string();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--models" => {
                models = Some(
                    args.next()
                        .expect("--models LIST")
                        .split(',')
                        .map(str::to_string)
                        .collect(),
                )
            }
            "--weights" => {
                weights = Some(match args.next().expect("--weights VIS").as_str() {
                    "public" => Visibility::Public,
                    "server" => Visibility::Server,
                    "secret" => Visibility::Secret,
                    other => panic!("--weights {other}: public, server or secret"),
                })
            }
            "--network" => {
                network = args
                    .next()
                    .expect("--network NET")
                    .parse()
                    .expect("network")
            }
            "--objective" => objective = args.next().expect("--objective NAME"),
            path => files.push(path.to_string()),
        }
    }
    let objective = Objective::parse(&objective, network).expect("objective");
    let mut frameworks: Vec<CostModel> = cost::builtin_frameworks().expect("built-in models");
    for f in &files {
        frameworks.push(cost::load_framework(f, &[]).unwrap_or_else(|e| panic!("{e}")));
    }
    let rules = RuleSet::builtin().expect("built-in rules");
    println!(
        "| model | framework | weights | online before | exact rules | change | with approx | change | time (s) |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    for m in zoo::MODELS {
        if models
            .as_ref()
            .is_some_and(|l| !l.iter().any(|n| n == m.name))
        {
            continue;
        }
        let graph = (m.build)(&ZooOptions::default()).expect("zoo model builds");
        for fw in &frameworks {
            let vis = weights.unwrap_or(fw.framework.default_weights);
            let g = graph.with_parameter_visibility(vis);
            let start = Instant::now();
            let run = |allow_approx: bool| {
                let options = Options {
                    objective,
                    allow_approx,
                    ..Options::default()
                };
                optimize::optimize(&g, fw, &rules, &options, None)
            };
            match (run(false), run(true)) {
                (Ok(exact), Ok(approx)) => {
                    let before = exact.before.total.online_bits;
                    let change = |after: f64| {
                        if before > 0.0 {
                            format!("{:+.1}%", 100.0 * (after - before) / before)
                        } else {
                            "-".to_string()
                        }
                    };
                    println!(
                        "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
                        m.name,
                        fw.framework.name,
                        vis,
                        bytes(before),
                        bytes(exact.after.total.online_bits),
                        change(exact.after.total.online_bits),
                        bytes(approx.after.total.online_bits),
                        change(approx.after.total.online_bits),
                        start.elapsed().as_secs_f64()
                    );
                }
                (Err(e), _) | (_, Err(e)) => {
                    let reason = e.to_string();
                    let first = reason.lines().next().unwrap_or_default();
                    println!(
                        "| {} | {} | {} | - | - | - | - | - | cannot cost: {} |",
                        m.name, fw.framework.name, vis, first
                    );
                }
            }
        }
    }
}
