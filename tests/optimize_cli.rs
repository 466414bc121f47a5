//! `hawkeye optimize`, run as a binary.

mod cli_run;
mod scratch;

use cli_run::hawkeye;
use hawkeye_mpc::cost;
use hawkeye_mpc::frontend;
use hawkeye_mpc::graph::Visibility;
use hawkeye_mpc::profile::Profile;

const BEAVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/cost_models/beaver2pc.toml"
);

fn scratch(name: &str) -> scratch::Scratch {
    scratch::file("optimize-cli", name)
}

#[test]
fn optimize_prints_profiles_rewrites_and_writes_the_graph() {
    let json = scratch("lenet5-opt.json");
    let svg = scratch("lenet5-diff.svg");
    let (code, stdout, stderr) = hawkeye(&[
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
    assert_eq!(code, 0, "{stderr}");
    for expected in [
        "before",
        "after",
        "by layer",
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
    let (code, stdout, stderr) = hawkeye(&[
        "optimize",
        "lenet5",
        "--framework",
        BEAVER,
        "--allow-approx",
        "--max-error",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rewrites = v["rewrites"].as_array().unwrap();
    assert!(!rewrites.is_empty());
    assert!(rewrites.iter().any(|r| r["class"] == "approx"));
    assert!(rewrites
        .iter()
        .all(|r| r["module"].is_string() && r["rule"].is_string()));
    // Every approximated node names an approximate rule and its rationale.
    let approximations = v["approximations"].as_array().unwrap();
    assert!(!approximations.is_empty());
    for a in approximations {
        let rule = a["rule"].as_str().unwrap();
        assert!(
            [
                "relu-to-square",
                "relu-to-quad",
                "relu-to-identity",
                "maxpool-to-avgpool"
            ]
            .contains(&rule),
            "{a}"
        );
        assert!(a["why"].as_str().is_some_and(|w| !w.is_empty()), "{a}");
    }
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
    let (code, _, stderr) = hawkeye(&[
        "optimize",
        "mlp",
        "--framework",
        BEAVER,
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
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
    let (code, stdout, stderr) = hawkeye(&[
        "optimize",
        "mlp",
        "--framework",
        BEAVER,
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("double-relu"), "{stdout}");
}

/// With exact rules the result is run against the input with the interpreter and the outcome
/// printed; `--samples 0` skips it.
#[test]
fn exact_results_are_checked_against_the_input() {
    let (code, stdout, stderr) = hawkeye(&[
        "optimize",
        "lenet5",
        "--framework",
        BEAVER,
        "--weights",
        "public",
        "--samples",
        "3",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("check: "))
        .unwrap_or_else(|| panic!("no check line in:\n{stdout}"));
    assert!(
        line.starts_with(
            "check: the result computes the input's outputs on 3 random inputs, with placeholder weights (f64): max |difference| "
        ) && line.ends_with(", tolerance 1e-9 (1 + |output|)"),
        "{line}"
    );
    // Right under the totals.
    let lines: Vec<&str> = stdout.lines().collect();
    let i = lines.iter().position(|l| *l == line).unwrap();
    assert!(lines[i - 1].starts_with('└'));

    let (code, stdout, _) = hawkeye(&[
        "optimize",
        "lenet5",
        "--framework",
        BEAVER,
        "--weights",
        "public",
        "--samples",
        "0",
    ]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("check"), "{stdout}");

    let (code, stdout, _) = hawkeye(&[
        "optimize",
        "lenet5",
        "--framework",
        BEAVER,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["check"]["agrees"], true);
    assert_eq!(v["check"]["samples"], 2);
    assert_eq!(v["check"]["arithmetic"], "f64");
    assert!(v["check"]["outputs"][0]["max_abs"].as_f64().unwrap() <= 1e-9);
}

/// With approximate rules the output error in fixed point is printed next to the
/// communication saved.
#[test]
fn approximate_results_report_the_trade_off() {
    let (code, stdout, stderr) = hawkeye(&[
        "optimize",
        "lenet5",
        "--framework",
        BEAVER,
        "--weights",
        "public",
        "--allow-approx",
        "--max-error",
        "1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("trade-off: "))
        .unwrap_or_else(|| panic!("no trade-off line in:\n{stdout}"));
    let online = lines.iter().find(|l| l.contains("│ online ")).unwrap();
    let cells: Vec<&str> = online.split(['│', '┆']).map(str::trim).collect();
    // "trade-off: -91.1% online communication (3.29 MB -> 291.68 KB) for an output error of max ..."
    assert!(
        lines[i].starts_with(&format!(
            "trade-off: {} online communication ({} -> {}) for an output error of max ",
            cells[4], cells[2], cells[3]
        )),
        "{}",
        lines[i]
    );
    // beaver2pc sets a 64-bit ring but no fraction bits: 16 by default.
    assert_eq!(
        lines[i + 1],
        "  input and result run on 2 random inputs, with placeholder weights in fixed point with a 64-bit ring and 16 fraction bits (the framework does not set both ring and frac; defaults 64 and 16)"
    );
    assert!(!stdout.contains("check: "));

    // crypten sets both (64, 16).
    let (code, stdout, stderr) = hawkeye(&[
        "optimize",
        "mlp",
        "--framework",
        "crypten",
        "--weights",
        "public",
        "--allow-approx",
        "--samples",
        "1",
        "--max-error",
        "1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "\n  input and result run on 1 random input, with placeholder weights in fixed point with a 64-bit ring and 16 fraction bits\n"
        ),
        "{stdout}"
    );
}

/// A wrong user rule that the optimizer uses is caught by the check: the command fails and
/// writes nothing.
#[test]
fn a_wrong_rule_fails_the_check() {
    let out = scratch("minionn-wrong.json");
    let _ = std::fs::remove_file(&out);
    let wrong = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rules/wrong.rules"
    );
    let (code, stdout, stderr) = hawkeye(&[
        "optimize",
        "minionn",
        "--framework",
        BEAVER,
        "--rules",
        wrong,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "a failed check: {stderr}");
    assert!(stdout.contains("relu-through-avgpool"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("check FAILED: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.starts_with("check FAILED: the result differs from the input on 2 random inputs, with placeholder weights (f64): max |difference| "),
        "{line}"
    );
    assert_eq!(
        stderr.lines().last().unwrap(),
        "error: the optimized graph differs from the input on random inputs (a rule or the optimizer is wrong); nothing written"
    );
    assert!(!out.exists());
}

/// Approximations are chosen per place within --max-error: ResNet-18's ReLUs as squares
/// overflow, so every such site is rejected and the result stays within the budget; --force
/// takes every approximation and writes the result whatever its error, with a warning.
#[test]
fn an_approximation_over_the_error_budget_is_rejected_per_place() {
    let path = scratch("resnet18-approx.json");
    let _ = std::fs::remove_file(&path);
    let args = [
        "optimize",
        "resnet18",
        "--resolution",
        "32",
        "--framework",
        "semi2k",
        "--weights",
        "public",
        "--allow-approx",
        "--samples",
        "1",
        "--rules-only",
        "relu-to-square,square-as-product",
        "-o",
        path.to_str().unwrap(),
    ];
    let (code, stdout, _) = hawkeye(&args);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("error budget: relative error <= 0.01 on 1 check input(s); 9 approximation site(s) found, 10 optimizations\n"),
        "{stdout}"
    );
    let rejected = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("rejected relu-to-square "))
        .count();
    assert_eq!(rejected, 9, "{stdout}");
    assert!(stdout.contains("(0 site(s) accepted)"), "{stdout}");
    assert!(path.exists());
    std::fs::remove_file(&path).unwrap();

    let mut forced = args.to_vec();
    forced.push("--force");
    let (code, stdout, stderr) = hawkeye(&forced);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("approximations in the result"), "{stdout}");
    assert!(stderr.contains("; written anyway (--force)"), "{stderr}");
    assert!(path.exists());

    let (code, _, stderr) = hawkeye(&[
        "optimize",
        "lenet5",
        "--framework",
        BEAVER,
        "--max-error",
        "0.1",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: --max-error 0.1 applies to --allow-approx results only"),
        "{stderr}"
    );
}
