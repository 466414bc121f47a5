//! `crypten` against real CrypTen 0.4.1 runs (tests/fixtures/groundtruth/results/crypten*,
//! 2 parties, and results/crypten_3pc, 3 parties): exact bytes (all parties and per party)
//! and exact rounds, in total and per layer, on every measured inference spec. The expected
//! values are read from the fixture JSON.
//!
//! Conventions of the fixtures: `bytes_sent_total` = sum of CrypTen's per-party counters / 2,
//! a party's counter = what it sends + what it receives, so the bytes a party sends are its
//! counter / 2; `rounds` = communicator calls. The training spec (g) is left to the autograd
//! work, apart from its loss phase (the cross-entropy forward), checked below.

mod common;

use hawkeye_mpc::cost::{self, Cost};
use hawkeye_mpc::graph::Op;
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::ModelBuilder;
use serde_json::Value;

fn model(overrides: &[(&str, f64)]) -> cost::CostModel {
    let o: Vec<(String, f64)> = overrides.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    cost::load_framework("crypten", &o).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("not a number in the fixture: {v}"))
}

/// Mismatches between a predicted cost and a measured counter block of the fixture
/// (`total`, `phases.X` or `per_layer[i]`).
fn compare(what: &str, predicted: &Cost, measured: &Value, out: &mut Vec<String>) {
    let bytes = predicted.online_bits / 8.0;
    let want = f(&measured["bytes_sent_total"]);
    if bytes != want {
        out.push(format!("{what}: bytes {bytes} != measured {want}"));
    }
    let want = f(&measured["rounds"]);
    if predicted.online_rounds != want {
        out.push(format!(
            "{what}: rounds {} != measured {want}",
            predicted.online_rounds
        ));
    }
    let counters = measured["crypten_bytes_per_party"].as_array().unwrap();
    if counters.len() != predicted.party_online_bits.len() {
        out.push(format!(
            "{what}: {} parties predicted, {} measured",
            predicted.party_online_bits.len(),
            counters.len()
        ));
    }
    for (p, (bits, counter)) in predicted.party_online_bits.iter().zip(counters).enumerate() {
        let sent = f(counter) / 2.0;
        if bits / 8.0 != sent {
            out.push(format!(
                "{what}: party {p} sends {} != measured {sent} (counter / 2)",
                bits / 8.0
            ));
        }
    }
}

/// The measurement `results/<dir>/<name>.json`. The harness writes Python's JSON, which spells
/// non-finite accuracy figures `Infinity` / `NaN` (the erf GELU overflows); those fields are not
/// used here and are read as null.
fn measured(dir: &str, name: &str) -> Value {
    let path = common::fixtures()
        .join("results")
        .join(dir)
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no {dir} result for {name}: {e}"));
    let text = text
        .replace(": -Infinity", ": null")
        .replace(": Infinity", ": null")
        .replace(": NaN", ": null");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Spec `name` with its GELUs in the form the harness ran them: the tanh form (the harness's
/// default `--gelu tanh`), except in `results/crypten_gelu_erf` (`--gelu erf`, the erf form
/// the spec describes).
fn spec_as_run(dir: &str, name: &str) -> hawkeye_mpc::graph::Graph {
    let g = common::spec_graph(name);
    if dir == "crypten_gelu_erf" {
        return g;
    }
    let text = hawkeye_mpc::frontend::json::to_json(&g);
    let tanh = text.replace(r#""op": "gelu""#, r#""op": "gelu", "approximate": true"#);
    hawkeye_mpc::frontend::json::from_json(&tanh, name).unwrap()
}

/// Profiles spec `name` and compares total and per-layer figures with `results/<dir>/<name>`.
fn check_spec(dir: &str, name: &str, overrides: &[(&str, f64)]) -> Vec<String> {
    let measured = measured(dir, name);
    let profile = Profile::new(&spec_as_run(dir, name), &model(overrides)).unwrap();
    let mut out = Vec::new();
    compare(
        &format!("{name} total"),
        &profile.total,
        &measured["total"],
        &mut out,
    );
    compare(
        &format!("{name} forward phase"),
        &profile.total,
        &measured["phases"]["forward"],
        &mut out,
    );
    let layers = measured["per_layer"].as_array().unwrap();
    let mut per_layer = vec![Cost::zero(profile.parties); layers.len()];
    for l in profile.layers() {
        let i = common::top_layer(&l.path)
            .unwrap_or_else(|| panic!("{name}: module {} outside the spec layers", l.path));
        per_layer[i].add(&l.cost);
    }
    for (i, (p, m)) in per_layer.iter().zip(layers).enumerate() {
        let ty = m["type"].as_str().unwrap_or("?");
        compare(&format!("{name} layer {i} ({ty})"), p, m, &mut out);
    }
    out
}

fn assert_exact(dir: &str, name: &str, overrides: &[(&str, f64)]) {
    let mismatches = check_spec(dir, name, overrides);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

macro_rules! exact {
    ($($test:ident => $spec:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            assert_exact("crypten", $spec, &[]);
        }
    )*};
}

exact! {
    a_mlp_b1 => "a_mlp_b1",
    b_mlp_b32 => "b_mlp_b32",
    c_lenet_b1 => "c_lenet_b1",
    d_relu_1000 => "d_relu_1000",
    d_relu_10000 => "d_relu_10000",
    e_matmul_64 => "e_matmul_64",
    f_sigmoid_1000 => "f_sigmoid_1000",
    f_softmax_1000 => "f_softmax_1000",
    i_misc_layers => "i_misc_layers",
    j_layernorm => "j_layernorm",
    k_gelu_tanh_exp => "k_gelu_tanh_exp",
    l_attention => "l_attention",
    m_resblock => "m_resblock",
    n_depthwise => "n_depthwise",
}

/// Every inference spec measured under CrypTen has a test above (so a new fixture is not
/// silently left out).
#[test]
fn every_measured_inference_spec_is_checked() {
    let checked = [
        "a_mlp_b1",
        "b_mlp_b32",
        "c_lenet_b1",
        "d_relu_1000",
        "d_relu_10000",
        "e_matmul_64",
        "f_sigmoid_1000",
        "f_softmax_1000",
        "i_misc_layers",
        "j_layernorm",
        "k_gelu_tanh_exp",
        "l_attention",
        "m_resblock",
        "n_depthwise",
    ];
    for name in common::spec_names() {
        let Some(m) = common::measured("crypten", &name) else {
            continue;
        };
        if m["spec"]["mode"] == "train" {
            continue;
        }
        assert!(checked.contains(&name.as_str()), "{name} is not checked");
    }
}

/// GELU through CrypTen's erf (`--gelu erf` in the harness): 392 B/elem per party, 35 rounds.
#[test]
fn gelu_through_erf_is_exact() {
    assert_exact("crypten_gelu_erf", "k_gelu_tanh_exp", &[]);
}

/// BatchNorm's inv_sqrt on C runs at model.eval() (the setup phase): with it moved into the
/// op, the forward equals the measured forward + setup (2, 3 and 4 parties).
#[test]
fn batchnorm_inv_var_equals_the_setup_phase() {
    for (dir, parties, names) in [
        ("crypten", 2.0, &["i_misc_layers", "m_resblock"][..]),
        ("crypten_3pc", 3.0, &["i_misc_layers", "m_resblock"][..]),
        ("crypten_4pc", 4.0, &["i_misc_layers"][..]),
    ] {
        for name in names {
            let m = measured(dir, name);
            let (fwd, setup) = (&m["phases"]["forward"], &m["phases"]["setup"]);
            assert!(f(&setup["bytes_sent_total"]) > 0.0, "{dir} {name}");
            let with = Profile::new(
                &common::spec_graph(name),
                &model(&[("parties", parties), ("batchnorm_inv_var_in_forward", 1.0)]),
            )
            .unwrap();
            assert_eq!(
                with.total.online_bits / 8.0,
                f(&fwd["bytes_sent_total"]) + f(&setup["bytes_sent_total"]),
                "{dir} {name}"
            );
            assert_eq!(
                with.total.online_rounds,
                f(&fwd["rounds"]) + f(&setup["rounds"]),
                "{dir} {name}"
            );
        }
    }
}

/// The loss phase of g_mlp_train_b32: crypten.nn.CrossEntropyLoss on 32x10 logits with an
/// encrypted one-hot target (softmax, log, product): 776,704 B, 127 rounds.
#[test]
fn cross_entropy_forward_is_exact() {
    let m = measured("crypten", "g_mlp_train_b32");
    let out_shape: Vec<usize> = m["per_layer"].as_array().unwrap().last().unwrap()["out_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let mut b = ModelBuilder::new("loss");
    let logits = b.input("logits", out_shape.clone()).unwrap();
    let target = b.input("target", out_shape).unwrap();
    let loss = b.op(Op::CrossEntropy, &[logits, target]).unwrap();
    let g = b.finish(vec![loss]);
    let p = Profile::new(&g, &model(&[])).unwrap();
    let mut out = Vec::new();
    compare("g loss phase", &p.total, &m["phases"]["loss"], &mut out);
    assert!(out.is_empty(), "{}", out.join("\n"));
}

/// Every IR op that can see a secret operand is costed (local or lowered) for a secret first
/// operand.
#[test]
fn every_op_has_a_cost() {
    let m = model(&[]);
    for name in Op::NAMES {
        if ["input", "parameter", "constant"].contains(name) {
            continue;
        }
        assert!(
            m.local_ops.contains(*name) || m.ops.contains_key(*name),
            "{name} has no cost in crypten.toml"
        );
    }
}

/// The checks above fail for a model that differs from CrypTen's mechanism.
#[test]
fn a_wrong_model_fails_the_checks() {
    for (name, wrong) in [
        ("f_softmax_1000", ("exp_iterations", 9.0)),
        ("f_sigmoid_1000", ("sigmoid_nr_iters", 4.0)),
        ("j_layernorm", ("sqrt_nr_iters", 2.0)),
        ("c_lenet_b1", ("frac", 20.0)),
        ("a_mlp_b1", ("parties", 3.0)),
    ] {
        assert!(
            !check_spec("crypten", name, &[wrong]).is_empty(),
            "{name} still matches with {wrong:?}"
        );
    }
}

/// One op on a secret input of `shape` (and a second secret input for binary ops).
fn one_op(op: Op, shapes: &[Vec<usize>], overrides: &[(&str, f64)]) -> Cost {
    let mut b = ModelBuilder::new("op");
    let inputs: Vec<_> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| b.input(&format!("x{i}"), s.clone()).unwrap())
        .collect();
    let y = b.op(op, &inputs).unwrap();
    let g = b.finish(vec![y]);
    Profile::new(&g, &model(overrides)).unwrap().total
}

/// Figures verified against real CrypTen runs in /work/shared/reference/mpc-costs.md section 1
/// (CrypTen 0.4.1 code on torch 2.1.2): argmax(dim=-1) on 4x10: 58,112 B, 57 rounds;
/// max_pool2d 3x3/3 on 1x1x6x6: 53,568 B, 57 rounds; 2x2/2 on 1x2x4x4: 47,360 B, 46 rounds;
/// reciprocal: 138 logged elements per element, 38 rounds; 3 parties: relu 880n bytes
/// logged per party and 16 rounds, mul 64n + 2 x 48n logged bytes and 3 rounds.
#[test]
fn reference_figures_are_reproduced() {
    let bytes = |c: &Cost| (c.online_bits / 8.0, c.online_rounds);
    let argmax = Op::ArgMax {
        axis: -1,
        keepdims: false,
    };
    assert_eq!(
        bytes(&one_op(argmax, &[vec![4, 10]], &[])),
        (58_112.0, 57.0)
    );
    let maxpool = |k: usize, shape: Vec<usize>| {
        let op = Op::MaxPool2d {
            kernel: [k, k],
            stride: [k, k],
            padding: [0; 4],
            dilation: [1, 1],
            ceil_mode: false,
            argmax: false,
        };
        bytes(&one_op(op, &[shape], &[]))
    };
    assert_eq!(maxpool(3, vec![1, 1, 6, 6]), (53_568.0, 57.0));
    assert_eq!(maxpool(2, vec![1, 2, 4, 4]), (47_360.0, 46.0));
    let n = 1000.0;
    assert_eq!(
        bytes(&one_op(Op::Reciprocal, &[vec![1000]], &[])),
        (138.0 * 8.0 * n, 38.0)
    );
    // 3 parties: bytes_sent_total = sum of the counters / 2
    let three = [("parties", 3.0)];
    assert_eq!(
        bytes(&one_op(Op::Relu, &[vec![1000]], &three)),
        (3.0 * 880.0 * n / 2.0, 16.0)
    );
    let mul = one_op(Op::Mul, &[vec![1000], vec![1000]], &three);
    assert_eq!(bytes(&mul), ((64.0 + 2.0 * 48.0) * n / 2.0, 3.0));
    // a party sends half its counter: rank 0 also scatters and gathers the truncation
    let sent: Vec<f64> = mul.party_online_bits.iter().map(|b| b / 8.0).collect();
    assert_eq!(sent, vec![32.0 * n, 24.0 * n, 24.0 * n]);
}

/// Three parties (results/crypten_3pc: the same harness with `--parties 3`): every fixed-point
/// truncation runs the wraps protocol (2 rounds; rank 0 sends more) and A2B adds the three
/// parties' words with two sequential adders.
macro_rules! exact_3pc {
    ($($test:ident => $spec:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            assert_exact("crypten_3pc", $spec, &[("parties", 3.0)]);
        }
    )*};
}

exact_3pc! {
    three_parties_a_mlp_b1 => "a_mlp_b1",
    three_parties_b_mlp_b32 => "b_mlp_b32",
    three_parties_c_lenet_b1 => "c_lenet_b1",
    three_parties_d_relu_1000 => "d_relu_1000",
    three_parties_e_matmul_64 => "e_matmul_64",
    three_parties_f_sigmoid_1000 => "f_sigmoid_1000",
    three_parties_f_softmax_1000 => "f_softmax_1000",
    three_parties_i_misc_layers => "i_misc_layers",
    three_parties_j_layernorm => "j_layernorm",
    three_parties_k_gelu_tanh_exp => "k_gelu_tanh_exp",
    three_parties_l_attention => "l_attention",
    three_parties_m_resblock => "m_resblock",
    three_parties_n_depthwise => "n_depthwise",
}

/// Four parties (results/crypten_4pc): A2B adds the four parties' words in two levels
/// (2n then n elements), the truncation scatters and gathers 3 pieces at rank 0.
macro_rules! exact_4pc {
    ($($test:ident => $spec:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            assert_exact("crypten_4pc", $spec, &[("parties", 4.0)]);
        }
    )*};
}

exact_4pc! {
    four_parties_d_relu_1000 => "d_relu_1000",
    four_parties_e_matmul_64 => "e_matmul_64",
    four_parties_f_softmax_1000 => "f_softmax_1000",
    four_parties_i_misc_layers => "i_misc_layers",
    four_parties_k_gelu_tanh_exp => "k_gelu_tanh_exp",
    four_parties_l_attention => "l_attention",
}

/// Single CrypTen operations (results/crypten_ops, measure_ops.py there), 2, 3 and 4 parties:
/// each case names its IR op and inputs; the op alone must cost exactly what was measured.
#[test]
fn single_operations_are_exact() {
    use hawkeye_mpc::graph::{ConstValue, ElemKind, Graph, ValueInfo, Visibility};
    let mut mismatches = Vec::new();
    let mut count = 0;
    for (file, parties) in [("ops_2pc", 2.0), ("ops_3pc", 3.0), ("ops_4pc", 4.0)] {
        let m = measured("crypten_ops", file);
        assert_eq!(f(&m["parties"]), parties);
        let model = model(&[("parties", parties)]);
        for case in m["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let op: Op = serde_json::from_value(case["op"].clone()).unwrap();
            let mut g = Graph::new(name);
            let mut inputs = Vec::new();
            for (i, input) in case["inputs"].as_array().unwrap().iter().enumerate() {
                let shape: Vec<usize> = serde_json::from_value(input["shape"].clone()).unwrap();
                let secret = input["visibility"] == "secret";
                // gather indices are integers; a public tensor is a constant
                let kind = if matches!(op, Op::Gather { .. }) && i == 1 {
                    ElemKind::Int
                } else {
                    ElemKind::Real
                };
                let (src, vis) = if secret {
                    (Op::Input, Visibility::Secret)
                } else {
                    (
                        Op::Constant {
                            value: ConstValue::Fill(1.0),
                        },
                        Visibility::Public,
                    )
                };
                let v = ValueInfo::new(shape, kind, vis);
                inputs.push(g.add_source(format!("x{i}"), "", src, v).unwrap());
            }
            let y = g.add(name, "", op, &inputs).unwrap();
            g.set_outputs(vec![y]);
            let p = Profile::new(&g, &model).unwrap();
            compare(&format!("{file} {name}"), &p.total, case, &mut mismatches);
            count += 1;
        }
    }
    assert!(count >= 100, "{count} cases");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
