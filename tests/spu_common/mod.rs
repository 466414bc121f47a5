//! Shared checks of the SPU cost models (spu-semi2k, spu-aby3, spu-cheetah) against the SPU 0.9.5
//! measurements of tests/fixtures/groundtruth/results/spu_*.
#![allow(dead_code)]

pub mod ferret;

use crate::common;
use hawkeye_mpc::cost::{self, CostKind, CostModel, CostNode, Vars};
use hawkeye_mpc::profile::{NodeCosting, NodeProfile, Profile};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The inference specs (g is a training step, left to the autograd work).
pub const INFERENCE_SPECS: &[&str] = &[
    "a_mlp_b1",
    "b_mlp_b32",
    "c_lenet_b1",
    "d_relu_1000",
    "d_relu_10000",
    "e_matmul_64",
    "f_sigmoid_1000",
    "f_softmax_1000",
    "h_mlp_b1_public_weights",
    "i_misc_layers",
    "j_layernorm",
    "k_gelu_tanh_exp",
    "l_attention",
    "m_resblock",
    "n_depthwise",
];

/// Predicted figures of one run or one layer: bytes over all parties, bytes per party, rounds,
/// and the per-run constants the model reports as `[[setup]]` for the primitives used.
#[derive(Debug, Clone)]
pub struct Figures {
    pub bytes: f64,
    pub party_bytes: Vec<f64>,
    pub rounds: f64,
    pub setup_bytes: f64,
    pub setup_rounds: f64,
}

pub fn model(framework: &str) -> CostModel {
    cost::load_framework(framework, &[]).unwrap()
}

pub fn profile(model: &CostModel, spec: &str) -> Profile {
    Profile::new(&common::spec_graph(spec), model)
        .unwrap_or_else(|e| panic!("{spec} under {}: {e}", model.framework.name))
}

fn primitives_used(node: &CostNode, out: &mut BTreeSet<String>) {
    if node.kind == CostKind::Primitive {
        out.insert(node.label.clone());
    }
    for c in &node.children {
        primitives_used(c, out);
    }
}

/// Bytes and rounds of the setup entries triggered by the given nodes (each entry once).
fn setup_of(model: &CostModel, nodes: &[&NodeProfile]) -> (f64, f64) {
    let mut used = BTreeSet::new();
    for n in nodes {
        if let NodeCosting::Chain { chain } = &n.costing {
            primitives_used(chain, &mut used);
        }
    }
    let vars: Vars = model.base_vars();
    let (mut bits, mut rounds) = (0.0, 0.0);
    for s in &model.setup {
        if s.when_used
            .iter()
            .any(|&p| used.contains(&model.primitives[p].name))
        {
            bits += s.online_bits.eval(&vars).unwrap();
            rounds += s.online_rounds.eval(&vars).unwrap();
        }
    }
    (bits / 8.0, rounds)
}

fn figures(model: &CostModel, nodes: &[&NodeProfile]) -> Figures {
    let parties = model.parties();
    let mut f = Figures {
        bytes: 0.0,
        party_bytes: vec![0.0; parties],
        rounds: 0.0,
        setup_bytes: 0.0,
        setup_rounds: 0.0,
    };
    for n in nodes {
        f.bytes += n.cost.online_bits / 8.0;
        f.rounds += n.cost.online_rounds;
        for (p, b) in n.cost.party_online_bits.iter().enumerate() {
            f.party_bytes[p] += b / 8.0;
        }
    }
    (f.setup_bytes, f.setup_rounds) = setup_of(model, nodes);
    f
}

/// Figures of the whole model and of each top-level layer (module `i`, nested modules
/// included), each layer with the setup of the primitives it uses (SPU ran every layer as a
/// program of its own).
pub fn predict(model: &CostModel, spec: &str) -> (Figures, BTreeMap<usize, Figures>) {
    let p = profile(model, spec);
    let all: Vec<&NodeProfile> = p.nodes.iter().collect();
    let total = figures(model, &all);
    let mut by_layer: BTreeMap<usize, Vec<&NodeProfile>> = BTreeMap::new();
    for n in &p.nodes {
        if let Some(i) = common::top_layer(&n.module) {
            by_layer.entry(i).or_default().push(n);
        }
    }
    let layers = by_layer
        .into_iter()
        .map(|(i, nodes)| (i, figures(model, &nodes)))
        .collect();
    (total, layers)
}

pub fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

pub fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

/// Mean over the parties of the link messages each received: deterministic even where the
/// roles of SPU's kernels rotate between the parties (ABY3), unlike the maximum.
pub fn mean_recv(m: &Value) -> f64 {
    let r = nums(&m["recv_actions_per_party"]);
    r.iter().sum::<f64>() / r.len() as f64
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * b.abs().max(1.0)
}

/// Which figures `check` compares exactly.
#[derive(Debug, Clone, Copy)]
pub struct Exact {
    /// Bytes sent, all parties (model total + setup against `total.bytes_sent_total`).
    pub bytes: bool,
    /// Bytes sent by each party.
    pub party_bytes: bool,
    /// Rounds against `rounds_estimate` (max recv actions).
    pub max_rounds: bool,
    /// Rounds against the mean recv actions per party.
    pub mean_rounds: bool,
}

/// Compares a spec's prediction with the measurement, total and per layer; returns the
/// mismatches (empty when exact).
pub fn check(framework: &str, results: &str, spec: &str, exact: Exact) -> Vec<String> {
    let model = model(framework);
    let measured = common::measured(results, spec).unwrap();
    let (total, layers) = predict(&model, spec);
    let mut bad = Vec::new();
    let mut cmp = |what: String, predicted: f64, measured: f64| {
        if !same(predicted, measured) {
            bad.push(format!(
                "{spec} {what}: predicted {predicted}, measured {measured}"
            ));
        }
    };
    let mut compare = |place: &str, f: &Figures, m: &Value| {
        if exact.bytes {
            cmp(
                format!("{place} bytes"),
                f.bytes + f.setup_bytes,
                num(&m["bytes_sent_total"]),
            );
        }
        if exact.party_bytes {
            let per = nums(&m["bytes_sent_per_party"]);
            for (p, b) in per.iter().enumerate() {
                let setup = f.setup_bytes / per.len() as f64;
                cmp(
                    format!("{place} bytes of party {p}"),
                    f.party_bytes[p] + setup,
                    *b,
                );
            }
        }
        if exact.max_rounds {
            cmp(
                format!("{place} rounds"),
                f.rounds + f.setup_rounds,
                num(&m["rounds_estimate"]),
            );
        }
        if exact.mean_rounds {
            cmp(
                format!("{place} mean recv actions"),
                f.rounds + f.setup_rounds,
                mean_recv(m),
            );
        }
    };
    compare("total", &total, &measured["total"]);
    for l in measured["per_layer"].as_array().unwrap() {
        let i = l["index"].as_u64().unwrap() as usize;
        let zero = Figures {
            bytes: 0.0,
            party_bytes: vec![0.0; model.parties()],
            rounds: 0.0,
            setup_bytes: 0.0,
            setup_rounds: 0.0,
        };
        let f = layers.get(&i).unwrap_or(&zero);
        compare(
            &format!("layer {i} ({})", l["type"].as_str().unwrap()),
            f,
            l,
        );
    }
    bad
}

/// One line per spec and layer, predicted vs measured (run with `--nocapture`).
pub fn report(framework: &str, results: &str, total_key: &str) {
    let model = model(framework);
    for spec in INFERENCE_SPECS {
        let measured = common::measured(results, spec).unwrap();
        let (total, layers) = predict(&model, spec);
        let m = &measured[total_key];
        println!(
            "{spec:26} total {:>12.0} (+setup {:>10.0}) measured {:>12.0}  {:+.3}%   rounds {:>7.2} measured max {} mean {:.2}",
            total.bytes,
            total.setup_bytes,
            num(&m["bytes_sent_total"]),
            100.0 * (total.bytes + if total_key == "total" { total.setup_bytes } else { 0.0 }
                - num(&m["bytes_sent_total"]))
                / num(&m["bytes_sent_total"]),
            total.rounds + total.setup_rounds,
            m["rounds_estimate"],
            mean_recv(m),
        );
        for l in measured["per_layer"].as_array().unwrap() {
            let i = l["index"].as_u64().unwrap() as usize;
            if let Some(f) = layers.get(&i) {
                println!(
                    "    {i:2} {:10} {:>12.0} (+{:>6.0}) measured {:>12.0}   rounds {:>7.2} measured max {} mean {:.2}",
                    l["type"].as_str().unwrap(),
                    f.bytes,
                    f.setup_bytes,
                    num(&l["bytes_sent_total"]),
                    f.rounds + f.setup_rounds,
                    l["rounds_estimate"],
                    mean_recv(l),
                );
            }
        }
    }
}

fn primitive_totals(node: &CostNode, out: &mut BTreeMap<String, (f64, f64)>) {
    if node.kind == CostKind::Primitive {
        let e = out.entry(node.label.clone()).or_insert((0.0, 0.0));
        e.0 += node.calls;
        e.1 += node.cost.online_bits / 8.0;
    }
    for c in &node.children {
        primitive_totals(c, out);
    }
}

/// Calls and bytes (all parties) of each primitive over the whole model.
pub fn predicted_primitives(model: &CostModel, spec: &str) -> BTreeMap<String, (f64, f64)> {
    let p = profile(model, spec);
    let mut out = BTreeMap::new();
    for n in &p.nodes {
        if let NodeCosting::Chain { chain } = &n.costing {
            primitive_totals(chain, &mut out);
        }
    }
    out
}

/// Compares the calls and bytes of every SPU MPC kernel that communicates (`per_op.mpc` of the
/// model run, or `section` such as `per_op_warm`) with the model's primitives of the same name
/// (`rename` maps model names to SPU's profile names). Calls are compared except for the
/// kernels in `uncounted`. Returns the mismatches.
pub fn check_kernels(
    framework: &str,
    results: &str,
    spec: &str,
    section: &str,
    rename: &[(&str, &str)],
    uncounted: &[&str],
) -> Vec<String> {
    let model = model(framework);
    let measured = common::measured(results, spec).unwrap();
    let mut predicted: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (name, v) in predicted_primitives(&model, spec) {
        let name = rename
            .iter()
            .find(|(from, _)| *from == name)
            .map(|(_, to)| to.to_string())
            .unwrap_or(name);
        let e = predicted.entry(name).or_insert((0.0, 0.0));
        e.0 += v.0;
        e.1 += v.1;
    }
    let mut bad = Vec::new();
    let kernels = measured[section]["mpc"].as_object().unwrap();
    for (name, k) in kernels {
        let bytes: f64 = nums(&k["bytes_sent_per_party"]).iter().sum();
        if bytes == 0.0 {
            continue;
        }
        let (calls, b) = predicted.get(name).copied().unwrap_or((0.0, 0.0));
        if !same(b, bytes) {
            bad.push(format!(
                "{spec} kernel {name}: predicted {b} B, measured {bytes} B"
            ));
        }
        if !uncounted.contains(&name.as_str()) && !same(calls, num(&k["count"])) {
            bad.push(format!(
                "{spec} kernel {name}: predicted {calls} calls, measured {}",
                k["count"]
            ));
        }
    }
    for (name, (_, b)) in &predicted {
        if *b > 0.0 && !kernels.contains_key(name) {
            bad.push(format!(
                "{spec} kernel {name}: predicted {b} B, not measured"
            ));
        }
    }
    bad
}

/// Calls and bytes of the outermost nodes of a chain named after one of `kernels`.
pub fn collect(node: &CostNode, kernels: &[&str], out: &mut BTreeMap<String, (f64, f64)>) {
    kernel_nodes(node, kernels, out)
}

/// Bytes (all parties) of the chain nodes with this label.
pub fn bytes_of(node: &CostNode, label: &str) -> f64 {
    if node.label == label {
        return node.cost.online_bits / 8.0;
    }
    node.children.iter().map(|c| bytes_of(c, label)).sum()
}

fn kernel_nodes(node: &CostNode, kernels: &[&str], out: &mut BTreeMap<String, (f64, f64)>) {
    if kernels.contains(&node.label.as_str()) {
        let e = out.entry(node.label.clone()).or_insert((0.0, 0.0));
        e.0 += node.calls;
        e.1 += node.cost.online_bits / 8.0;
        return;
    }
    for c in &node.children {
        kernel_nodes(c, kernels, out);
    }
}

/// Calls and bytes of the outermost chain nodes named after SPU kernels (functions or
/// primitives), summed over the model (`None`) or over one top-level layer.
pub fn predicted_kernels(
    model: &CostModel,
    spec: &str,
    layer: Option<usize>,
    kernels: &[&str],
) -> BTreeMap<String, (f64, f64)> {
    let p = profile(model, spec);
    let mut out = BTreeMap::new();
    for n in &p.nodes {
        if layer.is_some() && common::top_layer(&n.module) != layer {
            continue;
        }
        if let NodeCosting::Chain { chain } = &n.costing {
            kernel_nodes(chain, kernels, &mut out);
        }
    }
    out
}

/// The graph of one measured single-op case (results/spu_ops/*.json): the op of hawkeye-mpc's
/// JSON node syntax applied to sources of the listed shapes, visibilities and element kinds.
pub fn op_case_graph(case: &Value) -> hawkeye_mpc::graph::Graph {
    use hawkeye_mpc::graph::{ElemKind, Graph, Op, ParamRole, ValueInfo, Visibility};
    let op: Op = serde_json::from_value(case["op"].clone()).unwrap();
    let mut g = Graph::new(case["name"].as_str().unwrap());
    let mut ids = Vec::new();
    for (i, inp) in case["inputs"].as_array().unwrap().iter().enumerate() {
        let shape: Vec<usize> = inp["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let vis = match inp["visibility"].as_str().unwrap() {
            "secret" => Visibility::Secret,
            "public" => Visibility::Public,
            _ => Visibility::Server,
        };
        let kind = if inp["kind"].as_str() == Some("int") {
            ElemKind::Int
        } else {
            ElemKind::Real
        };
        let src = if i == 0 {
            Op::Input
        } else {
            Op::Parameter {
                role: ParamRole::Weight,
            }
        };
        ids.push(
            g.add_source(format!("in{i}"), "", src, ValueInfo::new(shape, kind, vis))
                .unwrap(),
        );
    }
    let y = g.add("op", "0", op, &ids).unwrap();
    g.set_outputs(vec![y]);
    g
}

/// Figures of one single-op case (its setup included separately, as for a layer).
pub fn predict_case(model: &CostModel, case: &Value) -> Figures {
    let p = Profile::new(&op_case_graph(case), model)
        .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
    let nodes: Vec<&NodeProfile> = p.nodes.iter().collect();
    figures(model, &nodes)
}

/// The measured single-op cases of a protocol (`semi2k`, `aby3`, `cheetah`).
pub fn op_cases(protocol: &str) -> Vec<Value> {
    let path = common::fixtures()
        .join("results/spu_ops")
        .join(format!("{protocol}.json"));
    common::read_json(&path)["cases"]
        .as_array()
        .unwrap()
        .clone()
}
