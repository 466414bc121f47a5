//! `hawkeye optimize`, run as a binary.

use hawkeye_mpc::cost;
use hawkeye_mpc::frontend;
use hawkeye_mpc::graph::Visibility;
use hawkeye_mpc::profile::Profile;
use std::path::PathBuf;
use std::process::Command;

const BEAVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cost_models/beaver2pc.toml"
);

fn hawkeye(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hawkeye"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hawkeye-optimize-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn optimize_prints_profiles_rewrites_and_writes_the_graph() {
    let json = scratch("lenet5-opt.json");
    let svg = scratch("lenet5-diff.svg");
    let (ok, stdout, stderr) = hawkeye(&[
        "optimize",
        "lenet5",
        "--framework",
        BEAVER,
        "--weights",
        "public",
        "-o",
        json.to_str().unwrap(),
        "--flamegraph-diff",
        svg.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    for expected in [
        "before",
        "after",
        "by module",
        "relu-after-maxpool",
        "search:",
        "extraction: greedy DAG",
    ] {
        assert!(
            stdout.contains(expected),
            "missing '{expected}' in:\n{stdout}"
        );
    }
    // The written graph profiles to the printed 'after' figure.
    let g = frontend::load_model(json.to_str().unwrap(), &Default::default()).unwrap();
    let model = cost::load_framework(BEAVER, &[]).unwrap();
    let p = Profile::new(&g.with_parameter_visibility(Visibility::Public), &model).unwrap();
    let after = hawkeye_mpc::report::bytes(p.total.online_bits);
    let online = stdout.lines().find(|l| l.contains("│ online ")).unwrap();
    assert!(online.contains(&after), "{online} vs {after}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
}

#[test]
fn json_output_lists_every_rewrite_with_its_module() {
    let (ok, stdout, stderr) = hawkeye(&[
        "optimize",
        "lenet5",
        "--framework",
        BEAVER,
        "--allow-approx",
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rewrites = v["rewrites"].as_array().unwrap();
    assert!(!rewrites.is_empty());
    assert!(rewrites.iter().any(|r| r["class"] == "approx"));
    assert!(rewrites
        .iter()
        .all(|r| r["module"].is_string() && r["rule"].is_string()));
    assert!(v["objective_after"].as_f64().unwrap() <= v["objective_before"].as_f64().unwrap());
}

#[test]
fn broken_rule_files_are_reported_with_file_and_line() {
    let rules = scratch("broken.rules");
    std::fs::write(
        &rules,
        "rule mine exact\n  lhs (relu ?x)\n  rhs (rleu ?x)\n  why typo\n",
    )
    .unwrap();
    let (ok, _, stderr) = hawkeye(&[
        "optimize",
        "mlp",
        "--framework",
        BEAVER,
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("{}:3: unknown op 'rleu'", rules.display())),
        "{stderr}"
    );
}

#[test]
fn user_rules_are_added() {
    let rules = scratch("mine.rules");
    // A (silly but exact) rule: relu(x) = relu(relu(x)); it fires, and the extractor ignores it.
    std::fs::write(
        &rules,
        "rule double-relu exact\n  lhs (relu ?x)\n  rhs (relu (relu ?x))\n  why a test rule\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = hawkeye(&[
        "optimize",
        "mlp",
        "--framework",
        BEAVER,
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("double-relu"), "{stdout}");
}
