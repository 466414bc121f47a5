//! Entry points of the fuzz targets, shared with the stable replay test
//! (`tests/fuzz_replay.rs` includes this file): each reads untrusted bytes with one of the
//! tool's readers and, when they are accepted, does what the command line would do with them
//! (profile, render, export, interpret, or optimize a tiny graph). Errors are fine; a panic,
//! an abort or a hang is a finding.

use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::frontend::{json, onnx};
use hawkeye_mpc::graph::{Graph, Visibility};
use hawkeye_mpc::interpret::{evaluate, Arithmetic, Bindings};
use hawkeye_mpc::optimize::{self, verify, Limits, Options, RuleSet};
use hawkeye_mpc::profile::{GroupBy, Network, Profile};
use hawkeye_mpc::report;
use std::time::Duration;

/// Graphs with at most this many elements in all their values are also interpreted.
const INTERPRET_ELEMENTS: usize = 1 << 14;

thread_local! {
    static FRAMEWORK: CostModel =
        cost::load_framework("spu-semi2k", &[]).expect("the built-in cost model loads");
    static TINY: Graph = json::from_json(TINY_JSON, "tiny.json").expect("the tiny graph reads");
}

/// A tiny model with the ops rules usually rewrite: conv, relu, max pool, linear, products.
const TINY_JSON: &str = r#"{"format": "hawkeye-graph", "version": 1, "name": "tiny", "nodes": [
  {"name": "x", "op": "input", "shape": [1, 2, 6, 6]},
  {"name": "conv.weight", "op": "parameter", "module": "conv", "shape": [4, 2, 3, 3]},
  {"name": "conv.bias", "op": "parameter", "module": "conv", "shape": [4], "role": "bias"},
  {"name": "conv", "op": "conv2d", "inputs": ["x", "conv.weight", "conv.bias"], "module": "conv"},
  {"name": "relu", "op": "relu", "inputs": ["conv"], "module": "relu"},
  {"name": "pool", "op": "max_pool2d", "inputs": ["relu"], "module": "pool", "kernel": [2, 2], "stride": [2, 2]},
  {"name": "flat", "op": "flatten", "inputs": ["pool"]},
  {"name": "fc.weight", "op": "parameter", "module": "fc", "shape": [3, 16]},
  {"name": "fc", "op": "linear", "inputs": ["flat", "fc.weight"], "module": "fc"},
  {"name": "sq", "op": "mul", "inputs": ["fc", "fc"]},
  {"name": "sum", "op": "add", "inputs": ["sq", "fc"]},
  {"name": "out", "op": "softmax", "inputs": ["sum"]}
], "outputs": ["out"]}"#;

/// Profiles `graph` under `model` (weights secret) and renders the profile.
fn profile(graph: &Graph, model: &CostModel) {
    let graph = graph.with_parameter_visibility(Visibility::Secret);
    if let Ok(p) = Profile::new(&graph, model) {
        let tree = p.attribution(GroupBy::Module);
        let view = report::profile::View {
            depth: Some(3),
            top: Some(5),
            network: Network::LAN,
            weights: "secret".to_string(),
            units: report::numbers::Units::Bytes,
            rounds_meaning: model.framework.rounds.clone(),
            inputs: Vec::new(),
            mode: "inference".to_string(),
            refused: Vec::new(),
        };
        let _ = report::profile::text(&p, &tree, &view);
        let _ = report::profile::json(&p, &tree, &view);
        let _ = report::flame::folded(&tree, view.units);
    }
}

/// Interprets `graph` on random values when it is small.
fn interpret(graph: &Graph) {
    let elements = graph
        .node_ids()
        .map(|id| graph.node(id).value.numel())
        .try_fold(0usize, |a, n| a.checked_add(n));
    if elements.is_some_and(|e| e <= INTERPRET_ELEMENTS) {
        let _ = evaluate(graph, &Bindings::random(graph, 0), Arithmetic::Float);
    }
}

/// A model read from either format: profiled, exported, interpreted.
fn use_model(graph: &Graph) {
    FRAMEWORK.with(|m| profile(graph, m));
    let _ = onnx::export_bytes(graph);
    let _ = json::to_json(graph);
    interpret(graph);
}

/// ONNX bytes.
pub fn onnx(data: &[u8]) {
    let bindings = onnx::DimBindings::new().batch(1);
    if let Ok(g) = onnx::import_bytes(data, &bindings) {
        use_model(&g);
    }
}

/// A native JSON model.
pub fn json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(g) = json::from_json(text, "fuzz.json") {
        use_model(&g);
    }
}

/// A rules file, then an optimization of a tiny graph with it and the check of the result.
pub fn rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = RuleSet::empty();
    if set.add_text(text, "fuzz.rules").is_err() {
        return;
    }
    let options = Options {
        allow_approx: true,
        limits: Limits {
            nodes: 1_000,
            iterations: 3,
            time: Duration::from_secs(1),
            ..Limits::default()
        },
        ..Options::default()
    };
    TINY.with(|g| {
        let g = g.with_parameter_visibility(Visibility::Secret);
        let out = FRAMEWORK.with(|m| optimize::optimize(&g, m, &set, &options, None));
        if let Ok(out) = out {
            if !out.unchanged {
                let _ = verify::check_exact(&g, &out.graph, 1, 0, &[]);
            }
        }
    });
}

/// A cost-model file, then a profile of a tiny graph under it.
pub fn cost_model(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = CostModel::from_toml(text, "fuzz.toml", &[]) {
        TINY.with(|g| profile(g, &m));
    }
}
