//! The `hawkeye` binary: commands, output formats and error exits.

mod scratch;

use assert_cmd::Command;
use hawkeye_mpc::zoo;
use serde_json::Value;

fn hawkeye() -> Command {
    Command::cargo_bin("hawkeye").unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = hawkeye()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

fn failure(args: &[&str]) -> String {
    let out = hawkeye()
        .args(args)
        .assert()
        .failure()
        .code(2)
        .get_output()
        .stderr
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn models_lists_the_whole_zoo_with_counts() {
    let out = stdout(&["models"]);
    for m in zoo::MODELS {
        assert!(
            out.contains(m.name),
            "{} missing from `hawkeye models`",
            m.name
        );
    }
    assert!(out.contains("25,557,032"), "resnet50's parameter count");
}

#[test]
fn profile_json_has_the_documented_schema() {
    let out = stdout(&[
        "profile",
        "mlp",
        "--framework",
        "spu-semi2k",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let total = &v["total"];
    // measured: SPU 0.9.5 SEMI2K, spec a_mlp_b1 (tests/fixtures/groundtruth)
    assert_eq!(total["online_bits"].as_f64(), Some(8.0 * 1_943_888.0));
    assert_eq!(total["online_rounds"].as_f64(), Some(22.0));
    for key in [
        "offline_bits",
        "offline_rounds",
        "setup_bits",
        "critical_path_rounds",
    ] {
        assert!(total[key].is_number(), "total.{key}");
    }
    assert_eq!(v["per_party_online_bits"].as_array().unwrap().len(), 2);
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers[0]["path"], "fc1");
    assert_eq!(layers[0]["op"], "linear");
    assert_eq!(layers[0]["online_bits"].as_f64(), Some(8.0 * 1_619_200.0));
    assert_eq!(v["tree"]["label"], "mlp");
}

#[test]
fn profile_tree_shows_units_shares_and_the_chain() {
    let out = stdout(&["profile", "mlp", "-f", "semi2k", "--network", "wan"]);
    assert!(out.contains("1.94 MB"), "{out}");
    assert!(out.contains("fc1"), "{out}");
    assert!(out.contains("mmul_aa"), "{out}");
    assert!(out.contains("83.3%"), "{out}");
}

#[test]
fn folded_stacks_and_flame_graph() {
    let out = stdout(&["profile", "mlp", "-f", "semi2k", "--format", "folded"]);
    assert!(
        out.lines().any(|l| l == "mlp;fc1;linear;mmul_aa 1618176"),
        "{out}"
    );
    let dir = scratch::dir("cli");
    let svg = dir.join("mlp.svg");
    hawkeye()
        .args(["profile", "mlp", "-f", "semi2k", "--flamegraph"])
        .arg(&svg)
        .assert()
        .success();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<?xml") && text.contains("mmul_aa"),
        "not a flame graph"
    );
}

#[test]
fn export_then_show_round_trips() {
    let dir = scratch::dir("export");
    let file = dir.join("lenet.json");
    hawkeye()
        .args(["export", "lenet5", "--batch", "3", "-o"])
        .arg(&file)
        .assert()
        .success();
    let out = stdout(&["show", file.to_str().unwrap()]);
    assert!(out.contains("lenet5: 19 nodes, 33542 parameters"), "{out}");
    assert!(out.contains("3x16x24x24"), "{out}");
}

#[test]
fn bad_arguments_fail_with_a_reason() {
    assert_eq!(
        failure(&["show", "nosuchmodel"]),
        "error: 'nosuchmodel' is neither a zoo model nor a model file. See `hawkeye models` for the zoo, or give a path to a .onnx or .json file.\n"
    );
    assert!(failure(&["profile", "mlp", "-f", "nosuch"]).contains("unknown framework 'nosuch'"));
    assert!(
        failure(&["profile", "mlp", "-f", "semi2k", "--set", "rign=32"])
            .contains("--set: unknown parameter 'rign'")
    );
    assert!(
        failure(&["profile", "mlp", "-f", "semi2k", "--network", "fast"])
            .contains("network 'fast' is not lan, wan or BANDWIDTH,RTT")
    );
    assert!(failure(&["show", "mlp", "--batch", "0"]).contains("--batch must be at least 1"));
    assert!(failure(&["show", "/nonexistent/model.json"])
        .starts_with("error: /nonexistent/model.json: "));
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `hawkeye equiv` and returns (exit status, stdout, stderr).
fn equiv(args: &[&str]) -> (i32, String, String) {
    let out = hawkeye().arg("equiv").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn equiv_accepts_an_equivalent_rewrite() {
    // conv(x) * 2 written as conv(x) + conv(x); the conv weight is shared by name.
    let (code, out, err) = equiv(&[
        &fixture("equiv/scale_mul.json"),
        &fixture("equiv/scale_add.json"),
        "-f",
        "crypten",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verdict: equivalent"), "{out}");
    assert!(
        out.contains("1 shared by name with the original, 0 drawn from the seed"),
        "{out}"
    );
    // no rewrite rule turns x + x into 2x: numerically equal, no symbolic proof
    assert!(out.contains("e-graph proof: none found"), "{out}");
    assert!(!out.contains("counterexample"), "{out}");
    // relu(maxpool(x)) = maxpool(relu(x)), and the variant runs relu on a quarter of the values.
    let (code, out, _) = equiv(&[
        &fixture("equiv/relu_maxpool.json"),
        &fixture("equiv/maxpool_relu.json"),
        "-f",
        "crypten",
        "--samples",
        "3",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("e-graph proof: proved (rewrites connecting the outputs: relu-after-maxpool)"),
        "{out}"
    );
    assert!(out.contains("3 sample(s), seeds 0..2"), "{out}");
    let relu = out.lines().find(|l| l.contains("│ relu")).unwrap();
    assert!(relu.contains("(75.0%)"), "{relu}");
    assert!(
        out.lines()
            .any(|l| l.contains("│ total") && l.contains("(17.9%)")),
        "{out}"
    );
}

#[test]
fn equiv_reports_a_counterexample_for_a_wrong_rewrite() {
    // avgpool(relu(x)) != relu(avgpool(x)): a window mixing signs differs.
    let (code, out, err) = equiv(&[
        &fixture("equiv/relu_avgpool.json"),
        &fixture("equiv/avgpool_relu.json"),
        "-f",
        "crypten",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("verdict: different"), "{out}");
    assert!(out.contains("e-graph proof: none found"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("counterexample: output 'pool' at ["))
        .unwrap_or_else(|| panic!("{out}"));
    // The original averages the positive parts, so it is the larger one.
    let (orig, var) = line
        .split_once("original ")
        .unwrap()
        .1
        .split_once(", variant ")
        .unwrap();
    let var = var.split(' ').next().unwrap();
    let (o, v): (f64, f64) = (orig.parse().unwrap(), var.parse().unwrap());
    assert!(o > v && v >= 0.0, "{line}");
    assert!(line.contains(&format!("(error {:.4})", o - v)), "{line}");
    // A generous tolerance makes the same pair "approximately equal".
    let (code, out, _) = equiv(&[
        &fixture("equiv/relu_avgpool.json"),
        &fixture("equiv/avgpool_relu.json"),
        "-f",
        "crypten",
        "--tolerance",
        "1",
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("verdict: approximately equal"), "{out}");
}

#[test]
fn equiv_refuses_graphs_with_different_interfaces() {
    let (code, out, err) = equiv(&[
        &fixture("equiv/relu_avgpool.json"),
        &fixture("equiv/scale_add.json"),
        "-f",
        "crypten",
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert_eq!(
        err,
        "error: the graphs do not have the same interface:
  input 'x' is 1x8x16x16 real secret in the original but 1x2x6x6 real secret in the variant
  output 0 has shape 1x8x8x8 in the original but 1x4x4x4 in the variant\n"
    );
    let (code, _, err) = equiv(&["mlp", "lenet5", "-f", "crypten"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: the graphs do not have the same interface:\n  input 'input' is 1x784 real secret in the original but 1x1x28x28 real secret in the variant\n"
    );
    let (code, _, err) = equiv(&["mlp", "/nonexistent.json", "-f", "crypten"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: /nonexistent.json: no such file; check the path (model files are .onnx or .json).\n"
    );
}

/// Rebuilds `g` with every exact GELU replaced by the quadratic 0.125x² + 0.25x + 0.5
/// (MPCFormer's "Quad"), in the GELU's module.
fn quad_gelu(g: &hawkeye_mpc::graph::Graph) -> hawkeye_mpc::graph::Graph {
    use hawkeye_mpc::graph::{ConstValue, ElemKind, Graph, Op, ValueInfo, Visibility};
    let mut out = Graph::new(format!("{}_quad", g.name));
    let mut map = std::collections::HashMap::new();
    for id in g.node_ids() {
        let n = g.node(id);
        let ins: Vec<_> = g.inputs(id).iter().map(|i| map[i]).collect();
        let new = if n.op.is_source() {
            out.add_source(
                n.name.clone(),
                n.module.clone(),
                n.op.clone(),
                n.value.clone(),
            )
            .unwrap()
        } else if let Op::Gelu { .. } = n.op {
            let m = n.module.clone();
            let c = |out: &mut Graph, name: &str, v: f64| {
                out.add_source(
                    format!("{}:{name}", n.name),
                    m.clone(),
                    Op::Constant {
                        value: ConstValue::Fill(v),
                    },
                    ValueInfo::new(vec![], ElemKind::Real, Visibility::Public),
                )
                .unwrap()
            };
            let (a, b, k) = (
                c(&mut out, "a", 0.125),
                c(&mut out, "b", 0.25),
                c(&mut out, "c", 0.5),
            );
            let x = ins[0];
            let sq = out
                .add(format!("{}:sq", n.name), &m, Op::Square, &[x])
                .unwrap();
            let ax2 = out
                .add(format!("{}:ax2", n.name), &m, Op::Mul, &[sq, a])
                .unwrap();
            let bx = out
                .add(format!("{}:bx", n.name), &m, Op::Mul, &[x, b])
                .unwrap();
            let s = out
                .add(format!("{}:sum", n.name), &m, Op::Add, &[ax2, bx])
                .unwrap();
            out.add(n.name.clone(), &m, Op::Add, &[s, k]).unwrap()
        } else {
            out.add(n.name.clone(), n.module.clone(), n.op.clone(), &ins)
                .unwrap()
        };
        map.insert(id, new);
    }
    out.set_outputs(g.outputs().iter().map(|o| map[o]).collect());
    out
}

#[test]
fn equiv_reports_the_error_and_savings_of_a_quad_gelu_bert_layer() {
    use hawkeye_mpc::frontend::{self, onnx::DimBindings, LoadOptions};
    let bert = fixture("onnx/bert_layer.onnx");
    let options = LoadOptions {
        dims: DimBindings::new().batch(1).bind("sequence", 8),
        ..LoadOptions::default()
    };
    let g = frontend::load_model(&bert, &options).unwrap();
    let quad = quad_gelu(&g);
    let dir = scratch::dir("equiv");
    let variant = dir.join("bert_layer_quad.json");
    frontend::write_model(&quad, &variant).unwrap();
    let args = [
        bert.as_str(),
        variant.to_str().unwrap(),
        "-f",
        "crypten",
        "--dim",
        "sequence=8",
        "--samples",
        "2",
    ];
    let (code, out, err) = equiv(&args);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("verdict: different"), "{out}");
    assert!(out.contains("counterexample: output"), "{out}");
    // Every parameter is shared by name (the variant is JSON, without weights).
    assert!(
        out.contains(&format!(
            "0 from stored weights, {} shared by name with the original, 0 drawn from the seed",
            g.node_ids()
                .filter(|&i| matches!(g.node(i).op, hawkeye_mpc::graph::Op::Parameter { .. }))
                .count()
        )),
        "{out}"
    );
    // The GELU module communicates less, and so does the whole layer.
    let act = out
        .lines()
        .find(|l| l.contains("intermediate_act_fn"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(act.contains('%') && !act.contains("│ -"), "{act}");
    let total = out.lines().find(|l| l.contains("│ total")).unwrap();
    let saved = total.rsplit('(').next().unwrap();
    let pct: f64 = saved.split('%').next().unwrap().parse().unwrap();
    assert!(pct > 0.0, "{total}");
    // With a tolerance above the error, the variant is "approximately equal".
    let mut loose = args.to_vec();
    loose.extend(["--tolerance", "0.5"]);
    let (code, out, _) = equiv(&loose);
    assert_eq!(code, 3, "{out}");
}

#[test]
fn equiv_binds_the_weights_an_onnx_file_stores() {
    // The export stores (placeholder) weights; the zoo model has none, so its parameters take
    // the stored values by name.
    let dir = scratch::dir("equiv-onnx");
    let file = dir.join("lenet5.onnx");
    hawkeye()
        .args(["export", "lenet5", "-o"])
        .arg(&file)
        .assert()
        .success();
    let (code, out, err) = equiv(&[
        file.to_str().unwrap(),
        "lenet5",
        "-f",
        "crypten",
        "--samples",
        "2",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("original parameters: 8 from stored weights, 0 placeholders"),
        "{out}"
    );
    assert!(
        out.contains(
            "variant parameters:  0 from stored weights, 8 shared by name with the original"
        ),
        "{out}"
    );
}

#[test]
fn profile_json_is_compact_unless_pretty_and_the_same_either_way() {
    let args = [
        "profile",
        "lenet5",
        "--framework",
        "crypten",
        "--format",
        "json",
    ];
    let compact = stdout(&args);
    let pretty = stdout(&[&args[..], &["--pretty"]].concat());
    assert_eq!(compact.lines().count(), 1);
    assert!(pretty.lines().count() > 100);
    let (c, p): (Value, Value) = (
        serde_json::from_str(&compact).unwrap(),
        serde_json::from_str(&pretty).unwrap(),
    );
    assert_eq!(c, p);
    let object = c.as_object().unwrap();
    let documented = [
        "framework",
        "layers",
        "model",
        "network",
        "parties",
        "per_party_online_bits",
        "phases",
        "total",
        "tree",
        "weights",
    ];
    for key in documented {
        assert!(object.contains_key(key), "README's field '{key}' missing");
    }
    let err = failure(&["profile", "lenet5", "--framework", "crypten", "--pretty"]);
    assert_eq!(
        err.trim(),
        "error: --pretty indents JSON output: use it with --format json"
    );
}
