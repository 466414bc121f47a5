//! `hawkeye check-rules`, run as a binary: the built-in rules pass; the deliberately wrong
//! rules of `tests/fixtures/rules/wrong.rules` fail with a minimal counterexample and a
//! non-zero exit status.

mod cli_run;
mod scratch;

use cli_run::hawkeye;
use hawkeye_mpc::optimize::{RuleClass, RuleSet};

/// The line after the one equal to `first` (within the block of `rule`).
fn lines_after<'a>(stdout: &'a str, header: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = stdout.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with(header))
        .unwrap_or_else(|| panic!("no line starting with '{header}' in:\n{stdout}"));
    lines[i..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect()
}

#[test]
fn builtin_rules_pass() {
    let (code, stdout, stderr) = hawkeye(&["check-rules"]);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    let rules = RuleSet::builtin().unwrap();
    let exact = rules
        .rules
        .iter()
        .filter(|r| r.class == RuleClass::Exact)
        .count();
    assert_eq!(
        stdout.lines().last().unwrap(),
        format!(
            "all {exact} exact rules agree with the interpreter; {} approximate rules measured",
            rules.rules.len() - exact
        )
    );
    assert!(stdout.starts_with(&format!(
        "checked {} rules ({exact} exact, {} approximate), seed 0: up to 24 instances per rule",
        rules.rules.len(),
        rules.rules.len() - exact
    )));
    let row = stdout
        .lines()
        .find(|l| l.contains(" relu-after-maxpool "))
        .unwrap();
    let cells: Vec<&str> = row.split(['│', '┆']).map(str::trim).collect();
    assert_eq!(
        cells[1..cells.len() - 1],
        [
            "relu-after-maxpool",
            "exact",
            "24",
            "96",
            "0",
            "0",
            "0",
            "ok"
        ]
    );
    assert!(!stdout.contains("FAIL"));
}

#[test]
fn wrong_rules_fail_with_minimal_counterexamples() {
    let (code, stdout, stderr) = hawkeye(&["check-rules", "tests/fixtures/rules/wrong.rules"]);
    assert_eq!(code, 1, "{stderr}\n{stdout}");
    assert_eq!(stderr.trim(), "error: 2 rules fail the check");
    assert_eq!(
        stdout.lines().last().unwrap(),
        "2 of 2 exact rules FAIL: relu-through-avgpool, double-as-triple"
    );
    let reason =
        "  reason: the sides differ beyond the tolerance (|lhs - rhs| <= 1e-9 (1 + |value|))";

    // x * 2 = x + x + x: a scalar counterexample with whole-number values.
    let block = lines_after(&stdout, "FAIL double-as-triple (");
    assert!(
        block[0].starts_with("FAIL double-as-triple (tests/fixtures/rules/wrong.rules:9): ")
            && block[0].ends_with(" of 24 instances fail"),
        "{}",
        block[0]
    );
    assert_eq!(block[1], reason);
    assert_eq!(block[2], "  minimal counterexample:");
    assert_eq!(block[3], "    lhs: (mul x 2)");
    assert_eq!(block[4], "    rhs: (add (add x x) x)");
    let (decl, value) = block[5].split_once(" scalar = ").unwrap();
    assert!(
        [
            "    x: input secret",
            "    x: parameter public",
            "    x: parameter server"
        ]
        .contains(&decl),
        "{}",
        block[5]
    );
    let x: f64 = value.parse().unwrap();
    assert!(x != 0.0 && x.fract() == 0.0, "{x}");
    assert_eq!(block[6], format!("    lhs = {}", 2.0 * x));
    assert_eq!(block[7], format!("    rhs = {}", 3.0 * x));
    assert_eq!(block.len(), 8, "{block:#?}");

    // relu(avgpool(x)) = avgpool(relu(x)): two values of opposite signs in one window.
    let block = lines_after(&stdout, "FAIL relu-through-avgpool (");
    assert!(
        block[0].starts_with("FAIL relu-through-avgpool (tests/fixtures/rules/wrong.rules:4): ")
    );
    assert_eq!(block[1], reason);
    assert!(block[3].starts_with("    lhs: (avg_pool2d[") && block[3].ends_with("] (relu x))"));
    assert!(block[4].starts_with("    rhs: (relu (avg_pool2d[") && block[4].ends_with("] x))"));
    let values = block[5].split_once(" = ").unwrap().1;
    let numbers: Vec<f64> = values
        .split([',', '[', ']', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(numbers.len(), 2, "{}", block[5]);
    assert!(numbers[0] * numbers[1] < 0.0, "{}", block[5]);
    assert!(block[6].starts_with("    lhs = ") && block[7].starts_with("    rhs = "));
}

#[test]
fn json_lists_failures_with_values() {
    let (code, stdout, _) = hawkeye(&[
        "check-rules",
        "tests/fixtures/rules/wrong.rules",
        "--format",
        "json",
        "--instances",
        "8",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v["failed"],
        serde_json::json!(["relu-through-avgpool", "double-as-triple"])
    );
    assert_eq!(v["tolerance"], 1e-9);
    let rule = &v["rules"][1];
    assert_eq!(rule["instances"], 8);
    assert_eq!(rule["counterexample"]["lhs"][0], "(mul x 2)");
    assert!(rule["counterexample"]["sources"][0]["values"].is_array());
}

#[test]
fn broken_files_are_reported() {
    let dir = scratch::dir("check-rules");
    let file = dir.join("typo.rules");
    std::fs::write(
        &file,
        "rule r exact\n  lhs (relu ?x)\n  rhs (rleu ?x)\n  why typo\n",
    )
    .unwrap();
    let (code, _, stderr) = hawkeye(&["check-rules", file.to_str().unwrap()]);
    assert_eq!(code, 2, "an unreadable rule file is an input error");
    assert!(
        stderr.contains(&format!("{}:3: unknown op 'rleu'", file.display())),
        "{stderr}"
    );
}
