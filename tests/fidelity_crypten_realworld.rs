//! `crypten` against real CrypTen 0.4.1 runs of real `torch.onnx.export` files: each file in
//! `tests/fixtures/onnx/realworld` was run through `crypten.nn.from_onnx` (2 parties, secret
//! weights and input, inference) and its communication counted per ONNX node
//! (`tests/fixtures/groundtruth/results/realworld/NAME.json`; how: the README there).
//!
//! Checked exactly: total bytes (all parties and per party) and rounds, and per node: every
//! measured node that is an IR node of its own costs what it measured; the nodes the importer
//! fuses for display (a linear's MatMul + Add, a decomposed layer norm, the GELU pattern) are
//! checked per module, the sum of the module's measured nodes against the module's IR nodes.

mod common;

use hawkeye_mpc::cost::{self, Cost};
use hawkeye_mpc::frontend::onnx::{import_file, module_of_node, DimBindings};
use hawkeye_mpc::profile::Profile;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixture_onnx(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx/realworld")
        .join(format!("{name}.onnx"))
}

fn measured(name: &str) -> Value {
    let path = common::fixtures()
        .join("results/realworld")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn profile(name: &str) -> Profile {
    let g = import_file(fixture_onnx(name), &DimBindings::new()).unwrap();
    let model = cost::load_framework("crypten", &[]).unwrap();
    Profile::new(&g, &model).unwrap()
}

/// The module of the node producing the graph output (the measurement names that node by the
/// graph output's name, `output`).
fn output_module(name: &str) -> String {
    let g = import_file(fixture_onnx(name), &DimBindings::new()).unwrap();
    g.node(g.outputs()[0]).module.clone()
}

fn bytes(c: &Cost) -> f64 {
    c.online_bits / 8.0
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// Mismatches between the profile of `name` and its measurement.
fn mismatches(name: &str) -> Vec<String> {
    let m = measured(name);
    let p = profile(name);
    let mut out = Vec::new();
    let total = &m["total"];
    if bytes(&p.total) != num(&total["bytes_sent_total"])
        || p.total.online_rounds != num(&total["rounds"])
    {
        out.push(format!(
            "{name} total: {} B, {} rounds; measured {} B, {} rounds",
            bytes(&p.total),
            p.total.online_rounds,
            total["bytes_sent_total"],
            total["rounds"]
        ));
    }
    for (party, counter) in total["crypten_bytes_per_party"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let sent = p.total.party_online_bits[party] / 8.0;
        if sent != num(counter) / 2.0 {
            out.push(format!(
                "{name} party {party}: {sent} B sent, measured {counter} / 2"
            ));
        }
    }
    // Per node: a measured node named like an IR node is that node; the others are members of
    // a fused IR node of the same module.
    let mut rest: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut matched = std::collections::HashSet::new();
    let last = output_module(name);
    for n in m["per_node"].as_array().unwrap() {
        let value = n["name"].as_str().unwrap();
        let onnx = value.trim_end_matches("_output_0");
        let (b, r) = (num(&n["bytes_sent_total"]), num(&n["rounds"]));
        match p.nodes.iter().find(|x| x.name == onnx) {
            Some(x) => {
                matched.insert(x.name.clone());
                if bytes(&x.cost) != b || x.cost.online_rounds != r {
                    out.push(format!(
                        "{name} node {onnx} ({}): {} B, {} rounds; measured {b} B, {r} rounds",
                        x.op,
                        bytes(&x.cost),
                        x.cost.online_rounds
                    ));
                }
            }
            None => {
                let module = if value == "output" {
                    last.clone()
                } else {
                    module_of_node(onnx)
                };
                let e = rest.entry(module).or_default();
                e.0 += b;
                e.1 += r;
            }
        }
    }
    let mut ours: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for x in p.nodes.iter().filter(|x| !matched.contains(&x.name)) {
        if x.cost.online_bits > 0.0 || x.cost.online_rounds > 0.0 {
            let e = ours.entry(x.module.clone()).or_default();
            e.0 += bytes(&x.cost);
            e.1 += x.cost.online_rounds;
        }
    }
    if ours != rest {
        out.push(format!(
            "{name} fused nodes per module: ours {ours:?}\nmeasured {rest:?}"
        ));
    }
    out
}

macro_rules! exact {
    ($($test:ident),* $(,)?) => {$(
        #[test]
        fn $test() {
            let m = mismatches(stringify!($test));
            assert!(m.is_empty(), "{}", m.join("\n"));
        }
    )*};
}

// A CIFAR CNN (conv, folded batch norm, ReLU, max pool, linear), torchvision's ResNet-18 and
// a ResNet block (residual adds, downsample), torchvision's MobileNetV2 and two inverted
// residual blocks (depthwise convs, ReLU6 as `Clip(0, 6)`), an HF BERT layer and a 2-layer
// BERT encoder at opset 14 (decomposed layer norm, erf GELU, attention).
exact! {
    cifar_cnn,
    resnet_block,
    resnet18,
    mobilenet_block,
    mobilenet_v2,
    bert_layer_op14,
    bert_encoder_op14,
}

/// A ReLU6 (`Clip(0, 6)`) is CrypTen's Hardtanh: both bounds in one stacked comparison,
/// 9 rounds (measured), not two comparisons one after the other.
#[test]
fn relu6_is_one_stacked_comparison() {
    let p = profile("mobilenet_block");
    let clip = p
        .nodes
        .iter()
        .find(|n| n.name == "/0/0.2/Clip")
        .expect("the stem's ReLU6");
    assert_eq!(clip.op, "clip");
    assert_eq!(clip.cost.online_rounds, 9.0);
    // 1 x 16 x 16 x 16 elements, stacked to 2n: an adder on 2n (1 + 6 levels of ANDs on 4n),
    // one B2A bit and one product opening 2n + 2n, 8 bytes per element and party, 2 parties
    let n = 16.0 * 16.0 * 16.0;
    let and_words = 2.0 * n * 2.0 + 6.0 * (4.0 * n * 2.0);
    assert_eq!(
        bytes(&clip.cost),
        2.0 * 8.0 * (and_words + 2.0 * n + 4.0 * n)
    );
}

/// A decomposed layer norm is run as written: 59 rounds per layer norm with its affine product
/// (the Sqrt and the secret Div, measured), 20 for the fused form's `inv_sqrt`.
#[test]
fn decomposed_layer_norm_costs_what_crypten_runs() {
    let p = profile("bert_layer_op14");
    let ln = p
        .nodes
        .iter()
        .find(|n| n.op == "layer_norm")
        .expect("a layer norm");
    assert_eq!(ln.cost.online_rounds, 59.0);
    let g = import_file(fixture_onnx("bert_layer"), &DimBindings::new()).unwrap();
    let model = cost::load_framework("crypten", &[]).unwrap();
    let fused = Profile::new(&g, &model).unwrap();
    let ln = fused
        .nodes
        .iter()
        .find(|n| n.op == "layer_norm")
        .expect("a layer norm");
    assert_eq!(ln.cost.online_rounds, 20.0);
}
