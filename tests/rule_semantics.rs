//! The semantics of the rules and of the optimizer, checked with the reference interpreter.
//!
//! (a) Every exact rule preserves semantics: the soundness checker on the built-in rules, over
//!     proptest-drawn seeds and shape bounds; and the checker catches wrong rules (the
//!     fixtures `wrong.rules` and `mutants.rules`, built-in rules with a condition dropped).
//! (b) The optimizer's result with the exact rules computes the same function as its input: on
//!     every zoo model at small sizes, under crypten and the published-formula aby3, with public
//!     and secret weights, input and result run on the same random bindings (bound by node
//!     name: rules compute new values from existing parameters and never add parameters).
//! (d) Cost never increases under `optimize`: on the zoo, and on small random graphs (rule
//!     instances) under every objective, with and without the approximate rules.

use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::graph::{Graph, Visibility};
use hawkeye_mpc::interpret::{evaluate, fold, random, Arithmetic, Bindings, Tensor};
use hawkeye_mpc::optimize::soundness::{self, instance, CheckOptions, RuleCheck};
use hawkeye_mpc::optimize::{self, verify, Objective, OptimizeError, Options, RuleClass, RuleSet};
use hawkeye_mpc::profile::{Network, Profile};
use hawkeye_mpc::report;
use hawkeye_mpc::zoo::{self, ZooOptions};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use rand::SeedableRng;
use rand_pcg::Pcg64;

/// Proptest draws its cases from this seed, so every run (and CI) checks the same cases;
/// change it to explore others.
const PROPTEST_SEED: u64 = 0x4841_574B;

fn fixture(name: &str) -> RuleSet {
    let mut set = RuleSet::empty();
    set.add_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/fixtures/rules/{name}")),
    )
    .unwrap();
    set
}

/// The failing checks, rendered with their counterexamples.
fn failures(checks: &[RuleCheck], options: &CheckOptions) -> String {
    let failed: Vec<RuleCheck> = checks.iter().filter(|c| c.failed()).cloned().collect();
    report::soundness::text(&failed, options)
}

fn exact_builtin() -> RuleSet {
    let all = RuleSet::builtin().unwrap();
    let names: Vec<String> = all
        .rules
        .iter()
        .filter(|r| r.class == RuleClass::Exact)
        .map(|r| r.name.clone())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    all.subset(&names)
}

// ---------------------------------------------------------------------------------------------
// (a) rules

/// What `hawkeye check-rules` runs: every exact rule agrees on every instance, every rule is
/// instantiated the full number of times, approximate rules report finite errors.
#[test]
fn builtin_rules_pass_the_checker() {
    let rules = RuleSet::builtin().unwrap();
    let options = CheckOptions::default();
    let checks = soundness::check_rules(&rules, &options);
    assert_eq!(checks.len(), rules.rules.len());
    assert!(
        checks.iter().all(|c| !c.failed()),
        "{}",
        failures(&checks, &options)
    );
    for c in &checks {
        assert_eq!(
            c.instances, options.instances,
            "{}: too few instances",
            c.rule
        );
        assert!(c.draws > 0, "{}: no draw was defined", c.rule);
        if c.class == RuleClass::Approx {
            assert!(
                c.max_abs_error.is_finite() && c.max_abs_error > 0.0,
                "{}",
                c.rule
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, rng_seed: RngSeed::Fixed(PROPTEST_SEED), ..ProptestConfig::default() })]

    /// Every exact rule, over seeds and bounds on the dims of its instances.
    #[test]
    fn exact_rules_preserve_semantics(seed in any::<u64>(), max_dim in 1usize..=5) {
        let rules = exact_builtin();
        let options = CheckOptions { seed, max_dim, instances: 6, attempts: 150, draws: 2 };
        let checks = soundness::check_rules(&rules, &options);
        prop_assert!(checks.iter().all(|c| !c.failed()), "{}", failures(&checks, &options));
    }
}

/// The deliberately wrong rules fail, each with a minimal counterexample.
#[test]
fn wrong_rules_are_caught_with_minimal_counterexamples() {
    let rules = fixture("wrong.rules");
    let checks = soundness::check_rules(&rules, &CheckOptions::default());
    assert!(checks.iter().all(RuleCheck::failed));

    // relu(avg) != avg(relu): two elements of opposite signs in one window are the least.
    let c = checks[0].counterexample.as_ref().unwrap();
    assert_eq!(checks[0].rule, "relu-through-avgpool");
    assert_eq!(c.sources.len(), 1);
    let x = &c.sources[0];
    assert_eq!(x.values.len(), 2, "{c:?}");
    assert!(x.values.iter().any(|&v| v < 0.0) && x.values.iter().any(|&v| v > 0.0));
    assert_ne!(c.roots[0].lhs, c.roots[0].rhs);

    // 2x != 3x: a scalar, rounded to a whole number.
    let c = checks[1].counterexample.as_ref().unwrap();
    assert_eq!(c.lhs, ["(mul x 2)"]);
    assert_eq!(c.rhs, ["(add (add x x) x)"]);
    let x = c.sources[0].values[0];
    assert!(
        c.sources[0].shape.is_empty() && x != 0.0 && x.fract() == 0.0,
        "{c:?}"
    );
    assert_eq!(c.roots[0].lhs, [2.0 * x]);
    assert_eq!(c.roots[0].rhs, [3.0 * x]);
}

/// Built-in rules with a condition dropped or a detail changed are all caught: the random
/// instances reach the cases the conditions exclude.
#[test]
fn mutated_builtin_rules_are_caught() {
    let rules = fixture("mutants.rules");
    assert_eq!(rules.rules.len(), 10);
    for c in soundness::check_rules(&rules, &CheckOptions::default()) {
        assert!(c.failed(), "{} was not caught", c.rule);
        assert!(c.counterexample.is_some());
    }
}

// ---------------------------------------------------------------------------------------------
// (b), (d) the optimizer on the zoo

fn framework(name: &str) -> CostModel {
    cost::load_framework(name, &[]).unwrap()
}

/// A zoo model at batch 1, resolution 32 (64 where the model needs it), sequence length 8.
fn small(name: &str) -> Graph {
    [32, 64]
        .iter()
        .find_map(|&r| {
            let options = ZooOptions {
                resolution: Some(r),
                seq_len: Some(8),
                ..ZooOptions::default()
            };
            zoo::build(name, &options).unwrap().ok()
        })
        .unwrap_or_else(|| panic!("{name} does not build at a small size"))
}

fn within(reference: &[Tensor], got: &[Tensor], tolerance: f64) -> Result<f64, String> {
    let mut worst: f64 = 0.0;
    for (r, g) in reference.iter().zip(got) {
        let d = r
            .max_abs_diff(g)
            .ok_or_else(|| "outputs of different shapes".to_string())?;
        if d.is_nan() || d > tolerance * (1.0 + r.max_abs()) {
            return Err(format!(
                "max |difference| {d:e}, largest |output| {}",
                r.max_abs()
            ));
        }
        worst = worst.max(d);
    }
    Ok(worst)
}

/// Optimizes `name` under crypten and aby3 with public and secret weights, for online time
/// (LAN) and for online bits: never costlier,
/// the reported cost is the profile's, no new sources, and the same outputs as the input on
/// the same bindings. Returns how many results changed and which frameworks could cost it.
fn optimized_model_keeps_its_function(name: &str) -> (usize, Vec<String>) {
    let rules = RuleSet::builtin().unwrap();
    let g = small(name);
    // The optimizer runs on the model's own weights (a zoo model's deterministic
    // placeholders): inputs are drawn, parameters are those values.
    let inputs = Bindings::random(&g, 7);
    let with_weights = |graph: &Graph| {
        let mut b = inputs.clone();
        let params = fold::parameter_bindings(&random::with_placeholders(graph)).unwrap();
        for id in graph.node_ids() {
            let n = graph.node(id);
            if matches!(n.op, hawkeye_mpc::graph::Op::Parameter { .. }) {
                b.insert(n.name.clone(), params.get(&n.name).unwrap().clone());
            }
        }
        b
    };
    let reference = evaluate(&g, &with_weights(&g), Arithmetic::Float).unwrap();
    assert!(reference.iter().all(Tensor::is_finite), "{name}");
    let mut evaluated: Vec<Graph> = Vec::new();
    let mut costed = Vec::new();
    for fw in ["crypten", "aby3"] {
        let model = framework(fw);
        for (vis, objective) in [Visibility::Public, Visibility::Secret]
            .into_iter()
            .flat_map(|v| {
                [
                    (v, Objective::Time(Network::LAN)),
                    (v, Objective::OnlineBits),
                ]
            })
        {
            let options = Options {
                objective,
                ..Options::default()
            };
            let input = g.with_parameter_visibility(vis);
            let out = match optimize::optimize(&input, &model, &rules, &options, None) {
                Ok(o) => o,
                // The framework cannot cost the model (aby3: gather at secret token ids).
                Err(OptimizeError::Profile(_)) => continue,
                Err(e) => panic!("{name} under {fw} ({vis}): {e}"),
            };
            if !costed.contains(&format!("{fw} ({vis})")) {
                costed.push(format!("{fw} ({vis})"));
            }
            // (d) never costlier, and the figure is the result's profile.
            assert!(
                out.after_cost <= out.before_cost,
                "{name} under {fw} ({vis})"
            );
            let profiled = options
                .objective
                .of(&Profile::new(&out.graph, &model).unwrap().total);
            assert!((profiled - out.after_cost).abs() <= 1e-9 * profiled.abs());
            // The result reads the input's inputs, unchanged, and parameters that carry their
            // values: the input's, or weights the rewrites computed from them.
            for id in out.graph.node_ids() {
                let n = out.graph.node(id);
                match n.op {
                    hawkeye_mpc::graph::Op::Input => {
                        let original = input.find(&n.name).map(|i| input.node(i));
                        assert!(
                            original.is_some_and(|o| o.op == n.op && o.value == n.value),
                            "{name} under {fw} ({vis}): input '{}' is not the input's",
                            n.name
                        );
                    }
                    hawkeye_mpc::graph::Op::Parameter { .. } => assert!(
                        out.graph.weight(&n.name).is_some()
                            || input
                                .find(&n.name)
                                .is_some_and(|i| input.node(i).value == n.value),
                        "{name} under {fw} ({vis}): parameter '{}' has no values",
                        n.name
                    ),
                    _ => {}
                }
            }
            // (b) the same function.
            if out.unchanged {
                assert_eq!(out.graph, input);
                continue;
            }
            if evaluated.contains(&out.graph) {
                continue;
            }
            let got = evaluate(&out.graph, &with_weights(&out.graph), Arithmetic::Float).unwrap();
            // Weights the rewrites computed are stored as float32.
            let placeholders = random::with_placeholders(&input);
            let computed = out.graph.node_ids().any(|id| {
                let n = out.graph.node(id);
                matches!(n.op, hawkeye_mpc::graph::Op::Parameter { .. })
                    && out.graph.weight(&n.name) != placeholders.weight(&n.name)
            });
            let tolerance = if computed {
                verify::FLOAT32_TOLERANCE
            } else {
                verify::TOLERANCE
            };
            if let Err(e) = within(&reference, &got, tolerance) {
                panic!(
                    "{name} under {fw} ({vis}): the optimized graph differs from the input: {e}; rewrites {:?}",
                    out.rewrites.iter().map(|r| &r.rule).collect::<Vec<_>>()
                );
            }
            evaluated.push(out.graph);
        }
    }
    assert!(!costed.is_empty(), "{name}: no framework costs it");
    (evaluated.len(), costed)
}

/// The zoo in three groups (tests run in parallel); every model is in one.
const GROUPS: [&[&str]; 3] = [
    &[
        "mlp",
        "lenet5",
        "minionn",
        "alexnet",
        "vgg16",
        "vgg16-cifar",
        "resnet18",
    ],
    &[
        "resnet50",
        "resnet32",
        "densenet121",
        "mobilenetv2",
        "mobilenetv3-small",
        "shufflenetv2",
    ],
    &["bert-base", "bert-tiny", "gpt2-small", "vit-b16"],
];

#[test]
fn the_groups_cover_the_zoo() {
    let mut all: Vec<&str> = GROUPS.iter().flat_map(|g| g.iter().copied()).collect();
    all.sort();
    let mut zoo: Vec<&str> = zoo::MODELS.iter().map(|m| m.name).collect();
    zoo.sort();
    assert_eq!(all, zoo);
}

fn check_group(group: &[&str]) {
    let mut changed = 0;
    for name in group {
        let (n, costed) = optimized_model_keeps_its_function(name);
        println!("{name}: {n} distinct optimized graph(s) checked; costed by {costed:?}");
        changed += n;
    }
    assert!(changed > 0, "no model of {group:?} was rewritten");
}

#[test]
fn optimized_cnns_compute_the_same_function() {
    check_group(GROUPS[0]);
}

#[test]
fn optimized_efficient_cnns_compute_the_same_function() {
    check_group(GROUPS[1]);
}

#[test]
fn optimized_transformers_compute_the_same_function() {
    check_group(GROUPS[2]);
}

// ---------------------------------------------------------------------------------------------
// (d) small random graphs

const OBJECTIVES: [Objective; 4] = [
    Objective::OnlineBits,
    Objective::Rounds,
    Objective::TotalBits,
    Objective::Time(Network::LAN),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, rng_seed: RngSeed::Fixed(PROPTEST_SEED), ..ProptestConfig::default() })]

    /// Rule instances as small random graphs: optimizing never costs more, and with the exact
    /// rules the result computes the input's function.
    #[test]
    fn optimizing_small_graphs_never_costs_more(
        seed in any::<u64>(),
        rule in any::<prop::sample::Index>(),
        objective in 0..OBJECTIVES.len(),
        allow_approx in any::<bool>(),
    ) {
        let rules = RuleSet::builtin().unwrap();
        let def = rules.def(rule.index(rules.rules.len()));
        let mut rng = Pcg64::seed_from_u64(seed);
        let Some(inst) = (0..100).find_map(|_| instance::sample(def, 3, &mut rng)) else {
            return Ok(());
        };
        // A drawn instance may be undefined everywhere (`sqrt` of a negative constant): no
        // model computes that, and the optimizer rightly refuses to store a NaN weight.
        let defined = evaluate(&inst.graph, &Bindings::random(&inst.graph, seed), Arithmetic::Float)
            .is_ok_and(|outs| outs.iter().all(Tensor::is_finite));
        if !defined {
            return Ok(());
        }
        let options = Options { objective: OBJECTIVES[objective], allow_approx, ..Options::default() };
        for fw in ["crypten", "aby3"] {
            let model = framework(fw);
            let out = match optimize::optimize(&inst.graph, &model, &rules, &options, None) {
                Ok(o) => o,
                Err(OptimizeError::Profile(_)) => continue,
                Err(e) => panic!("{}: {e}", def.name),
            };
            prop_assert!(out.after_cost <= out.before_cost, "{} under {fw}", def.name);
            if !allow_approx && !out.unchanged {
                let c = verify::check_exact(&inst.graph, &out.graph, 2, seed, &[]).unwrap();
                prop_assert!(c.agrees, "{} under {fw}: {c:?}", def.name);
            }
        }
    }
}
