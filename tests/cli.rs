//! The `hawkeye` binary: commands, output formats and error exits.

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
        .code(1)
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
        out.lines().any(|l| l == "mlp;fc1;linear;mmul_aa 12945408"),
        "{out}"
    );
    let dir = std::env::temp_dir().join(format!("hawkeye-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
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
    let dir = std::env::temp_dir().join(format!("hawkeye-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
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
        "error: 'nosuchmodel' is neither a zoo model (see `hawkeye models`) nor a .json or .onnx model file\n"
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
