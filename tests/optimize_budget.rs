//! The error budget (`--allow-approx --max-error`): approximations chosen per place, errors
//! re-measured as they combine; rule and place selection; `hawkeye rules`.

mod cli_run;

use cli_run::hawkeye;
use hawkeye_mpc::cost;
use hawkeye_mpc::graph::{ConstValue, ElemKind, Graph, NodeId, Op, ValueInfo, Visibility};
use hawkeye_mpc::optimize::budget::{self, BudgetOptions};
use hawkeye_mpc::optimize::error_metric::Metric;
use hawkeye_mpc::optimize::places::{self, Places};
use hawkeye_mpc::optimize::spelling::Spelling;
use hawkeye_mpc::optimize::{Objective, Options, RuleSet};

fn scalar(g: &mut Graph, name: &str, v: f64) -> NodeId {
    g.add_source(
        name,
        "",
        Op::Constant {
            value: ConstValue::Fill(v),
        },
        ValueInfo::new(vec![], ElemKind::Real, Visibility::Public),
    )
    .unwrap()
}

/// `relu(x) + 0.01 relu(-x) + 0.012 relu(x * -1)`, each relu in its own module: removing the
/// first changes the output by about its whole scale, the others by 1% and 1.2% of it.
fn three_relus() -> Graph {
    let mut g = Graph::new("three_relus");
    let x = g
        .add_source(
            "x",
            "",
            Op::Input,
            ValueInfo::new(vec![1, 64], ElemKind::Real, Visibility::Secret),
        )
        .unwrap();
    let big = g.add("big.relu", "big", Op::Relu, &[x]).unwrap();
    let n1 = g.add("small1.neg", "small1", Op::Neg, &[x]).unwrap();
    let r1 = g.add("small1.relu", "small1", Op::Relu, &[n1]).unwrap();
    let c1 = scalar(&mut g, "c1", 0.01);
    let s1 = g.add("small1.scale", "small1", Op::Mul, &[r1, c1]).unwrap();
    let m = scalar(&mut g, "minus_one", -1.0);
    let n2 = g.add("small2.neg", "small2", Op::Mul, &[x, m]).unwrap();
    let r2 = g.add("small2.relu", "small2", Op::Relu, &[n2]).unwrap();
    let c2 = scalar(&mut g, "c2", 0.012);
    let s2 = g.add("small2.scale", "small2", Op::Mul, &[r2, c2]).unwrap();
    let a = g.add("sum1", "", Op::Add, &[big, s1]).unwrap();
    let out = g.add("sum2", "", Op::Add, &[a, s2]).unwrap();
    g.set_outputs(vec![out]);
    g
}

#[test]
fn the_budget_admits_some_sites_and_rejects_others() {
    let g = three_relus();
    let model = cost::load_framework("aby3", &[]).unwrap();
    let rules = places::select(
        &RuleSet::builtin().unwrap(),
        &["relu-to-identity".to_string()],
        &[],
        Spelling::Cli,
    )
    .unwrap();
    let options = Options {
        objective: Objective::OnlineBits,
        ..Default::default()
    };
    let run = |max_error: f64| {
        budget::search(
            &g,
            &model,
            &rules,
            &Places::default(),
            &options,
            &BudgetOptions {
                max_error,
                metric: Metric::Relative,
                samples: 2,
                max_sites: 24,
            },
            &[],
        )
        .unwrap()
    };
    // Each small site fits 0.015 alone; together (2.2%) they do not; the big one never does.
    let b = run(0.015);
    let r = &b.report;
    assert_eq!(r.sites_found, 3);
    assert_eq!(r.optimizations, 1 + 3 + 1);
    let decided: Vec<(&str, bool, &str)> = r
        .decisions
        .iter()
        .map(|d| (d.place.as_str(), d.accepted, d.reason.as_str()))
        .collect();
    assert_eq!(
        decided,
        [
            ("small1", true, "within the budget"),
            ("big", false, "over the budget alone"),
            (
                "small2",
                false,
                "over the budget combined with the sites accepted before"
            ),
        ]
    );
    let close = |a: f64, b: f64| (a - b).abs() < 1e-3;
    assert!(close(r.decisions[0].error_alone.unwrap(), 0.01), "{r:?}");
    assert!(close(r.decisions[2].error_alone.unwrap(), 0.012), "{r:?}");
    assert!(
        close(r.decisions[2].error_cumulative.unwrap(), 0.022),
        "{r:?}"
    );
    assert!(r.decisions[1].error_alone.unwrap() > 0.5, "{r:?}");
    // One relu of 64 elements saved, which the profile of the result shows.
    assert_eq!(
        r.exact.online_bytes - r.result.online_bytes,
        r.decisions[0].saving_bytes
    );
    assert!(r.decisions[0].saving_bytes > 0.0);
    assert_eq!(
        b.optimized
            .graph
            .node_ids()
            .filter(|&id| b.optimized.graph.node(id).op == Op::Relu)
            .count(),
        2
    );
    assert!(r.result.error <= 0.015);

    // A budget of 0.03 takes both small sites; 0 takes none and returns the input.
    let b = run(0.03);
    assert_eq!(
        b.report
            .decisions
            .iter()
            .filter(|d| d.accepted)
            .map(|d| d.place.as_str())
            .collect::<Vec<_>>(),
        ["small1", "small2"]
    );
    let b = run(0.0);
    assert!(b.report.decisions.iter().all(|d| !d.accepted));
    assert!(b.optimized.unchanged);
}

/// A site whose approximation the exact rules already made (a relu of a value known
/// non-negative) saves nothing, and its error is not measured.
#[test]
fn a_site_that_saves_nothing_is_not_measured() {
    let mut g = Graph::new("relu_of_abs");
    let x = g
        .add_source(
            "x",
            "",
            Op::Input,
            ValueInfo::new(vec![1, 16], ElemKind::Real, Visibility::Secret),
        )
        .unwrap();
    let a = g.add("a.abs", "a", Op::Abs, &[x]).unwrap();
    let r = g.add("r.relu", "r", Op::Relu, &[a]).unwrap();
    g.set_outputs(vec![r]);
    let rules = places::select(
        &RuleSet::builtin().unwrap(),
        &["relu-to-identity".to_string(), "relu-of-nonneg".to_string()],
        &[],
        Spelling::Cli,
    )
    .unwrap();
    let b = budget::search(
        &g,
        &cost::load_framework("aby3", &[]).unwrap(),
        &rules,
        &Places::default(),
        &Options::default(),
        &BudgetOptions {
            max_error: 0.5,
            metric: Metric::Relative,
            samples: 1,
            max_sites: 8,
        },
        &[],
    )
    .unwrap();
    let r = &b.report;
    assert_eq!((r.sites_found, r.optimizations), (1, 2));
    let d = &r.decisions[0];
    assert_eq!(
        (
            d.place.as_str(),
            d.accepted,
            d.reason.as_str(),
            d.error_alone
        ),
        (
            "r",
            false,
            "saves nothing over the exact result (error not measured)",
            None
        )
    );
    assert_eq!(r.exact.online_bytes, r.result.online_bytes);
    let text = budget::text(r);
    assert!(text.contains("rejected relu-to-identity r "), "{text}");
    assert!(
        text.contains("(saves nothing over the exact result (error not measured))"),
        "{text}"
    );
}

#[test]
fn sites_outside_modules_are_not_considered() {
    let g = three_relus();
    let rules = places::select(
        &RuleSet::builtin().unwrap(),
        &["relu-to-identity".to_string(), "relu-to-square".to_string()],
        &[],
        Spelling::Cli,
    )
    .unwrap();
    let found = budget::sites(
        &g,
        &rules,
        &Places::with_modules("small*", Spelling::Cli).unwrap(),
    );
    let listed: Vec<(&str, &str)> = found
        .iter()
        .map(|s| (s.rule.as_str(), s.module.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("relu-to-identity", "small1"),
            ("relu-to-identity", "small2"),
            ("relu-to-square", "small1"),
            ("relu-to-square", "small2"),
        ]
    );
}

#[test]
fn bad_selections_are_errors_with_the_fix() {
    let base = ["optimize", "lenet5", "--framework", "aby3"];
    let cases: [(&[&str], &str); 5] = [
        (
            &["--rules-only", "relu-to-identity,relu-to-sqare"],
            "error: --rules-only: no rule is named 'relu-to-sqare'; did you mean relu-to-square, relu-to-quad, relu-to-identity? `hawkeye rules` lists them all",
        ),
        (
            &["--exclude-rules", "fold-batchnorm"],
            "error: --exclude-rules: no rule is named 'fold-batchnorm'; did you mean fold-batchnorm-conv, fold-batchnorm-linear, fold-batchnorm-conv-nobias? `hawkeye rules` lists them all",
        ),
        (
            &["--modules", "layer["],
            "error: --modules 'layer[' is not a glob (unclosed character class; missing ']'): give a module path pattern such as 'layer4.*' or '{layer3,layer4}.*'",
        ),
        (
            &["--allow-approx", "--error-metric", "l2"],
            "error: --error-metric 'l2' is not a metric: give relative, mean, max or argmax",
        ),
        (
            &["--allow-approx", "--samples", "0"],
            "error: --allow-approx measures each approximation's output error on the check inputs, and --samples 0 without --inputs leaves none: give --samples N or --inputs FILE, or --force to take every approximation unmeasured",
        ),
    ];
    for (extra, message) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let (code, _, stderr) = hawkeye(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end(), message, "{args:?}");
    }
}

#[test]
fn rules_are_listed_with_class_direction_and_why() {
    let (code, stdout, stderr) = hawkeye(&["rules"]);
    assert_eq!(code, 0, "{stderr}");
    let set = RuleSet::builtin().unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("rule ") && lines[0].ends_with("  why"));
    assert_eq!(lines.len(), set.rules.len() + 2);
    let approx = set
        .rules
        .iter()
        .filter(|r| r.class == hawkeye_mpc::optimize::RuleClass::Approx)
        .count();
    assert_eq!(
        lines[lines.len() - 1],
        format!(
            "{} rules: {} exact, {approx} approximate (only with --allow-approx)",
            set.rules.len(),
            set.rules.len() - approx
        )
    );
    let identity = lines
        .iter()
        .find(|l| l.starts_with("relu-to-identity "))
        .unwrap();
    let cells: Vec<&str> = identity.split("  ").filter(|c| !c.is_empty()).collect();
    assert_eq!(cells[1].trim(), "approx");
    assert_eq!(cells[2].trim(), "lhs -> rhs");
    assert!(cells[3].trim().starts_with("drop the relu"));

    let (code, stdout, _) = hawkeye(&["rules", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let listed = v.as_array().unwrap();
    assert_eq!(listed.len(), set.rules.len());
    let rev = listed
        .iter()
        .find(|r| r["name"].as_str().unwrap().ends_with("~rev"))
        .unwrap();
    assert_eq!(rev["direction"], "rhs -> lhs");
    assert_eq!(rev["class"], "exact");
}

/// PUMA's and Bumblebee's GeLU and softmax at the first layer of BERT-Tiny (sequence 16),
/// with the exact rules and no other approximation, at budget `max_error`.
fn puma_or_bumblebee(framework: &str, max_error: f64) -> budget::BudgetReport {
    let g = hawkeye_mpc::zoo::build(
        "bert-tiny",
        &hawkeye_mpc::zoo::ZooOptions {
            seq_len: Some(16),
            ..Default::default()
        },
    )
    .unwrap()
    .unwrap();
    let all = RuleSet::builtin().unwrap();
    let candidates = [
        "gelu-to-puma",
        "gelu-to-bumblebee",
        "softmax-to-puma",
        "softmax-to-bumblebee",
    ];
    let keep: Vec<&str> = all
        .rules
        .iter()
        .filter(|r| {
            r.class != hawkeye_mpc::optimize::RuleClass::Approx
                || candidates.contains(&r.name.as_str())
        })
        .map(|r| r.name.as_str())
        .collect();
    budget::search(
        &g,
        &cost::load_framework(framework, &[]).unwrap(),
        &all.subset(&keep),
        &Places::with_modules("encoder.layer.0.*", Spelling::Cli).unwrap(),
        &Options::default(),
        &BudgetOptions {
            max_error,
            metric: Metric::Relative,
            samples: 1,
            max_sites: 8,
        },
        &[],
    )
    .unwrap()
    .report
}

/// Each decision as (rule, accepted, saving in whole bytes, error alone, error cumulative,
/// reason), errors to three significant digits.
type Row = (String, bool, f64, Option<String>, Option<String>, String);

fn decided(r: &budget::BudgetReport) -> Vec<Row> {
    let e3 = |e: Option<f64>| e.map(|e| format!("{e:.2e}"));
    r.decisions
        .iter()
        .map(|d| {
            (
                d.rule.clone(),
                d.accepted,
                d.saving_bytes.round(),
                e3(d.error_alone),
                e3(d.error_cumulative),
                d.reason.clone(),
            )
        })
        .collect()
}

fn row(
    rule: &str,
    accepted: bool,
    saving: f64,
    alone: Option<&str>,
    cumulative: Option<&str>,
    reason: &str,
) -> Row {
    (
        rule.to_string(),
        accepted,
        saving,
        alone.map(str::to_string),
        cumulative.map(str::to_string),
        reason.to_string(),
    )
}

const WITHIN: &str = "within the budget";
const ALONE: &str = "over the budget alone";
const BEFORE: &str = "saves nothing over the sites accepted before";
const EXACT: &str = "saves nothing over the exact result (error not measured)";

/// Under spu-cheetah and spu-semi2k the budget chooses between PUMA's and Bumblebee's forms at
/// each place of BERT-Tiny's first layer, and the report lists every candidate with its saving
/// and error. Bumblebee's GeLU saves more than PUMA's at a sixth of its error, so it is taken
/// whenever it fits. Under spu-cheetah both softmaxes save bytes; PUMA's (8 squarings) is
/// accepted first for its lower error, and Bumblebee's (5) replaces it when the budget admits
/// the combined error (PUMA's is then reported superseded: the result does not use it); under
/// spu-semi2k neither softmax saves online time.
#[test]
fn the_budget_chooses_between_puma_and_bumblebee() {
    let (gb, gp, sb, sp) = (
        "gelu-to-bumblebee",
        "gelu-to-puma",
        "softmax-to-bumblebee",
        "softmax-to-puma",
    );
    let (gb_c, gp_c, sb_c, sp_c) = (109_696_221.0, 106_148_869.0, 8_090_809.0, 7_607_912.0);
    let (gb_e, gp_e, sb_e, sp_e) = (
        Some("4.17e-4"),
        Some("2.47e-3"),
        Some("4.54e-4"),
        Some("7.44e-5"),
    );
    let cheetah = |max_error| decided(&puma_or_bumblebee("spu-cheetah", max_error));
    let report = puma_or_bumblebee("spu-cheetah", 1e-1);
    let text = budget::text(&report);
    for line in [
        "accepted   gelu-to-bumblebee    encoder.layer.0.intermediate.intermediate_act_fn 109.70 MB",
        "accepted   softmax-to-bumblebee encoder.layer.0.attention.self                     8.09 MB",
        "superseded softmax-to-puma      encoder.layer.0.attention.self                     7.61 MB",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(text.contains("4.167e-4   4.167e-4"), "{text}");
    assert_eq!(
        decided(&report),
        [
            row(gb, true, gb_c, gb_e, gb_e, WITHIN),
            row(sb, true, sb_c, sb_e, Some("7.63e-4"), WITHIN),
            row(gp, false, gp_c, gp_e, None, BEFORE),
            row(sp, false, sp_c, sp_e, Some("4.24e-4"), budget::SUPERSEDED),
        ]
    );
    assert_eq!(
        cheetah(5e-4),
        [
            row(gb, true, gb_c, gb_e, gb_e, WITHIN),
            row(sp, true, sp_c, sp_e, Some("4.24e-4"), WITHIN),
            row(gp, false, gp_c, gp_e, None, ALONE),
            row(
                sb,
                false,
                sb_c,
                sb_e,
                Some("7.63e-4"),
                "over the budget combined with the sites accepted before"
            ),
        ]
    );
    assert_eq!(
        cheetah(3e-4),
        [
            row(sp, true, sp_c, sp_e, sp_e, WITHIN),
            row(gb, false, gb_c, gb_e, None, ALONE),
            row(gp, false, gp_c, gp_e, None, ALONE),
            row(sb, false, sb_c, sb_e, None, ALONE),
        ]
    );
    let semi2k = |max_error| decided(&puma_or_bumblebee("spu-semi2k", max_error));
    let (gb_s, gp_s) = (23_953_408.0, 22_003_712.0);
    assert_eq!(
        semi2k(1e-1),
        [
            row(gb, true, gb_s, gb_e, gb_e, WITHIN),
            row(gp, false, gp_s, gp_e, None, BEFORE),
            row(sb, false, 0.0, None, None, EXACT),
            row(sp, false, 0.0, None, None, EXACT),
        ]
    );
    assert_eq!(
        semi2k(3e-4),
        [
            row(gb, false, gb_s, gb_e, None, ALONE),
            row(gp, false, gp_s, gp_e, None, ALONE),
            row(sb, false, 0.0, None, None, EXACT),
            row(sp, false, 0.0, None, None, EXACT),
        ]
    );
}
