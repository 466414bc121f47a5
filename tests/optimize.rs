//! The optimizer end to end: graphs in, cheaper equivalent graphs out, costs re-profiled.
//!
//! Costs come from a toy Beaver-triple 2PC model (tests/fixtures/cost_models/beaver2pc.toml)
//! so that these tests do not depend on the real framework files.

use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::graph::{ElemKind, Graph, Op, ParamRole, ValueInfo, Visibility};
use hawkeye_mpc::optimize::spelling::Spelling;
use hawkeye_mpc::optimize::{self, Limits, Method, Objective, Options, RuleSet};
use hawkeye_mpc::profile::{Network, Profile};
use hawkeye_mpc::zoo::{self, ZooOptions};
use std::time::Duration;

fn beaver() -> CostModel {
    cost::load_framework(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/cost_models/beaver2pc.toml"
        ),
        &[],
    )
    .unwrap()
}

fn secret(shape: Vec<usize>) -> ValueInfo {
    ValueInfo::new(shape, ElemKind::Real, Visibility::Secret)
}

fn param(
    g: &mut Graph,
    name: &str,
    shape: Vec<usize>,
    vis: Visibility,
) -> hawkeye_mpc::graph::NodeId {
    g.add_source(
        name,
        name.rsplit_once('.').map(|(m, _)| m).unwrap_or(""),
        Op::Parameter {
            role: ParamRole::Weight,
        },
        ValueInfo::new(shape, ElemKind::Real, vis),
    )
    .unwrap()
}

fn options(objective: Objective) -> Options {
    Options {
        objective,
        ..Options::default()
    }
}

/// Attention-style projections: three linear layers read the same secret input.
fn qkv(weights: Visibility) -> Graph {
    let mut g = Graph::new("qkv");
    let x = g
        .add_source("x", "", Op::Input, secret(vec![8, 16]))
        .unwrap();
    let mut outs = Vec::new();
    for p in ["query", "key", "value"] {
        let w = param(&mut g, &format!("attn.{p}.weight"), vec![16, 16], weights);
        let b = param(&mut g, &format!("attn.{p}.bias"), vec![16], weights);
        outs.push(
            g.add(
                format!("attn.{p}"),
                format!("attn.{p}"),
                Op::Linear,
                &[x, w, b],
            )
            .unwrap(),
        );
    }
    g.set_outputs(outs);
    g
}

#[test]
fn sibling_projections_open_the_input_once() {
    let model = beaver();
    let rules = RuleSet::builtin().unwrap();
    let g = qkv(Visibility::Secret);
    let out =
        optimize::optimize(&g, &model, &rules, &options(Objective::OnlineBits), None).unwrap();
    // Beaver: each product opens both operands (64-bit ring, 2 parties) and truncates.
    let (x, w, y) = (8.0 * 16.0, 16.0 * 16.0, 8.0 * 16.0);
    let bits = |n: f64| 2.0 * 64.0 * n;
    assert_eq!(out.before.total.online_bits, 3.0 * bits(x + w + y));
    assert_eq!(out.after.total.online_bits, bits(x + 3.0 * w + 3.0 * y));
    assert!(out
        .rewrites
        .iter()
        .any(|r| r.rule.starts_with("merge-sibling-linears")));
    // New nodes live in the modules of the layers they replace.
    assert!(
        out.rewrites.iter().all(|r| r.module.starts_with("attn.")),
        "{:?}",
        out.rewrites
    );
    // With public weights nothing is opened, and merging gains nothing: the input comes back.
    let g = qkv(Visibility::Public);
    let out =
        optimize::optimize(&g, &model, &rules, &options(Objective::OnlineBits), None).unwrap();
    assert!(out.unchanged);
    assert_eq!(out.graph, g);
}

/// A residual block: the shared input is used twice, which tree cost would pay twice.
#[test]
fn extraction_pays_shared_subgraphs_once() {
    let model = beaver();
    let rules = RuleSet::builtin().unwrap();
    let mut g = Graph::new("residual");
    let x = g
        .add_source("x", "", Op::Input, secret(vec![1, 4, 8, 8]))
        .unwrap();
    let w = param(&mut g, "conv.weight", vec![4, 4, 3, 3], Visibility::Secret);
    let r = g.add("act", "act", Op::Relu, &[x]).unwrap();
    let conv = Op::Conv2d {
        stride: [1, 1],
        padding: [1, 1, 1, 1],
        dilation: [1, 1],
        groups: 1,
    };
    let c = g.add("conv", "conv", conv, &[r, w]).unwrap();
    let s = g.add("sum", "", Op::Add, &[c, r]).unwrap();
    let pool = Op::MaxPool2d {
        kernel: [2, 2],
        stride: [2, 2],
        padding: [0; 4],
        dilation: [1, 1],
        ceil_mode: false,
        argmax: false,
    };
    let p = g.add("pool", "pool", pool, &[r]).unwrap();
    g.set_outputs(vec![s, p]);
    let out =
        optimize::optimize(&g, &model, &rules, &options(Objective::OnlineBits), None).unwrap();
    // relu(x) is needed by the convolution anyway, so pooling first would add a second relu:
    // the DAG-aware extractor keeps the graph.
    assert!(out.unchanged, "{:?}", out.rewrites);
    assert_eq!(out.after_cost, out.before_cost);
}

/// The built-in rules without `relu-to-identity`.
fn without_relu_removal() -> RuleSet {
    optimize::places::select(
        &RuleSet::builtin().unwrap(),
        &[],
        &["relu-to-identity".to_string()],
        Spelling::Cli,
    )
    .unwrap()
}

#[test]
fn approximate_rules_only_with_allow_approx_and_are_reported() {
    let model = beaver();
    // Without ReLU removal, whose result (one linear layer) has a single approximation.
    let rules = without_relu_removal();
    let g = zoo::build("mlp", &ZooOptions::default()).unwrap().unwrap();
    let g = g.with_parameter_visibility(Visibility::Public);
    let exact =
        optimize::optimize(&g, &model, &rules, &options(Objective::OnlineBits), None).unwrap();
    assert!(exact.approximations.is_empty());
    let approx_options = Options {
        allow_approx: true,
        ..options(Objective::OnlineBits)
    };
    let approx = optimize::optimize(&g, &model, &rules, &approx_options, None).unwrap();
    let applied = &approx.approximations;
    assert!(!applied.is_empty());
    let relus = g.node_ids().filter(|&id| g.node(id).op == Op::Relu).count();
    assert_eq!(applied.len(), relus, "{applied:?}");
    assert!(approx.after_cost < exact.after_cost);
}

#[test]
fn ilp_extraction_is_never_worse_than_greedy() {
    let model = beaver();
    let rules = RuleSet::builtin().unwrap();
    let g = zoo::build("lenet5", &ZooOptions::default())
        .unwrap()
        .unwrap();
    let g = g.with_parameter_visibility(Visibility::Secret);
    let greedy =
        optimize::optimize(&g, &model, &rules, &options(Objective::OnlineBits), None).unwrap();
    let ilp_options = Options {
        method: Method::Ilp { seconds: 5.0 },
        ..options(Objective::OnlineBits)
    };
    let ilp = optimize::optimize(&g, &model, &rules, &ilp_options, None).unwrap();
    assert!(ilp.after_cost <= greedy.after_cost);
    let report = ilp.extraction.ilp.as_ref().unwrap();
    assert!(report.optimal, "{report:?}");
}

/// Every objective: the extractor's figure is the re-profiled cost (optimize() checks and
/// fails otherwise), and the result is never costlier.
#[test]
fn objectives_agree_with_the_profiler() {
    let model = beaver();
    let rules = RuleSet::builtin().unwrap();
    let g = zoo::build("minionn", &ZooOptions::default())
        .unwrap()
        .unwrap();
    let g = g.with_parameter_visibility(Visibility::Server);
    for objective in [
        Objective::Time(Network::WAN),
        Objective::OnlineBits,
        Objective::Rounds,
        Objective::TotalBits,
    ] {
        let out = optimize::optimize(&g, &model, &rules, &options(objective), None).unwrap();
        let reprofiled = objective.of(&Profile::new(&out.graph, &model).unwrap().total);
        assert!((reprofiled - out.after_cost).abs() <= 1e-9 * reprofiled.abs());
        assert!(out.after_cost <= out.before_cost, "{objective}");
    }
}

/// Every zoo model, weights public and secret: within limits, never costlier, and the graph
/// that comes back profiles to the figure the optimizer reports.
#[test]
fn every_zoo_model_optimizes_within_limits() {
    let model = beaver();
    let rules = RuleSet::builtin().unwrap();
    let limits = Limits {
        time: Duration::from_secs(20),
        ..Limits::default()
    };
    for m in zoo::MODELS {
        let small = ZooOptions {
            seq_len: Some(16),
            ..ZooOptions::default()
        };
        let g = (m.build)(&small).unwrap();
        for weights in [Visibility::Public, Visibility::Secret] {
            let g = g.with_parameter_visibility(weights);
            let options = Options {
                limits,
                ..options(Objective::OnlineBits)
            };
            let out = optimize::optimize(&g, &model, &rules, &options, None)
                .unwrap_or_else(|e| panic!("{} ({weights}): {e}", m.name));
            assert!(
                out.after_cost <= out.before_cost,
                "{} ({weights}): {} > {}",
                m.name,
                out.after_cost,
                out.before_cost
            );
            assert!(
                out.saturation.enodes <= limits.nodes + limits.nodes / 2,
                "{}",
                m.name
            );
            assert_eq!(out.graph.outputs().len(), g.outputs().len());
        }
    }
}

/// Why extraction must be DAG-aware: egg's tree-cost extractor pays a residual block's input
/// once per use, so on ResNet-18 (no rewrites at all) its figure is off by orders of
/// magnitude, while the DAG cost is the profile.
#[test]
fn tree_cost_overcounts_residual_graphs() {
    use egg::{CostFunction, Extractor, Language};
    use hawkeye_mpc::optimize::{convert, extract, language::TensorNode, NodeCosts};
    use std::collections::HashMap;

    let model = beaver();
    let g = zoo::build("resnet18", &ZooOptions::default())
        .unwrap()
        .unwrap();
    let loaded = convert::load(&g);
    let eg = &loaded.egraph;
    let costs = NodeCosts::new(eg, &model, Objective::OnlineBits);
    let mut own: HashMap<TensorNode, f64> = HashMap::new();
    for class in eg.classes() {
        for (n, c) in class.nodes.iter().zip(costs.of(class.id)) {
            own.insert(n.clone(), *c);
        }
    }
    struct Tree(HashMap<TensorNode, f64>);
    impl CostFunction<TensorNode> for Tree {
        type Cost = f64;
        fn cost<C: FnMut(egg::Id) -> f64>(&mut self, enode: &TensorNode, mut child: C) -> f64 {
            self.0[enode] + enode.children().iter().map(|&c| child(c)).sum::<f64>()
        }
    }
    let (tree, _) = Extractor::new(eg, Tree(own)).find_best(loaded.root);
    let choice: HashMap<egg::Id, usize> = eg.classes().map(|c| (c.id, 0)).collect();
    let dag = extract::dag_cost(eg, &costs, loaded.root, &choice);
    let profiled = Profile::new(&g, &model).unwrap().total.online_bits;
    assert!((dag - profiled).abs() <= 1e-9 * profiled);
    println!(
        "resnet18 online bits: tree cost {tree:.4e}, DAG cost {dag:.4e} ({:.0}x)",
        tree / dag
    );
    assert!(tree > 10.0 * dag, "tree {tree} vs DAG {dag}");
}

/// Tight limits stop saturation early; what was found is still extracted soundly.
#[test]
fn limits_stop_saturation_and_the_result_stays_sound() {
    let model = beaver();
    let rules = RuleSet::builtin().unwrap();
    let g = zoo::build(
        "bert-tiny",
        &ZooOptions {
            seq_len: Some(16),
            ..ZooOptions::default()
        },
    )
    .unwrap()
    .unwrap();
    for (limits, stop) in [
        (
            Limits {
                nodes: 300,
                ..Limits::default()
            },
            "e-node limit",
        ),
        (
            Limits {
                iterations: 1,
                ..Limits::default()
            },
            "iteration limit",
        ),
    ] {
        let options = Options {
            limits,
            ..options(Objective::OnlineBits)
        };
        let out = optimize::optimize(&g, &model, &rules, &options, None).unwrap();
        assert!(
            out.saturation.stop.starts_with(stop),
            "{}",
            out.saturation.stop
        );
        assert!(out.saturation.hit_limit);
        assert!(out.after_cost <= out.before_cost);
    }
}

/// E-graphs have cycles (a rule like relu(relu(x)) = relu(x) puts relu(C) into C itself);
/// extraction never returns one, even when the cyclic e-node is free and listed first.
#[test]
fn extraction_avoids_cycles() {
    use egg::Symbol;
    use hawkeye_mpc::optimize::analysis::{EGraph, SourceInfo, TensorAnalysis};
    use hawkeye_mpc::optimize::rules::add_term;
    use hawkeye_mpc::optimize::{extract, NodeCosts};
    use std::collections::HashMap;

    let mut sources = HashMap::new();
    sources.insert(
        Symbol::from("x"),
        SourceInfo {
            op: Op::Input,
            value: secret(vec![4]),
            module: String::new(),
            phase: hawkeye_mpc::graph::Phase::Forward,
        },
    );
    let mut eg = EGraph::new(TensorAnalysis::new(sources));
    // c = relu(x) and d = identity(c), then c = d: the class holds identity(itself).
    let c = add_term(&mut eg, "(relu x)").unwrap();
    let d = add_term(&mut eg, "(identity (relu x))").unwrap();
    eg.union(c, d);
    eg.rebuild();
    let root = eg.add(hawkeye_mpc::optimize::language::TensorNode {
        op: hawkeye_mpc::optimize::language::TensorOp::Outputs,
        children: vec![c],
    });
    eg.rebuild();
    let model = beaver();
    let costs = NodeCosts::new(&eg, &model, Objective::OnlineBits);
    let budget = extract::greedy::Budget {
        work: 1_000_000,
        deadline: None,
    };
    let out = extract::greedy::extract(&eg, &costs, root, &Default::default(), budget)
        .unwrap()
        .unwrap();
    assert_eq!(out.stopped, None);
    let out = out.extracted;
    let chosen = &eg[eg.find(c)].nodes[out.choice[&eg.find(c)]];
    assert_eq!(format!("{chosen}"), "relu");
    // ILP too.
    let (ilp, _) = extract::ilp::extract(&eg, &costs, root, &out, 2.0);
    assert_eq!(ilp.cost, out.cost);
}

/// ResNet-18 with the approximate rules under semi2k: every ReLU becomes `x * x`, by
/// `relu-to-square` and then the exact `square-as-product`; the approximations name the
/// approximate rule at the origin of every one of them, not the exact rule that came last.
#[test]
fn approximations_name_their_approximate_origin_through_exact_rewrites() {
    let model = cost::load_framework("semi2k", &[]).unwrap();
    // Without ReLU removal, which is cheaper than any ReLU approximation.
    let rules = without_relu_removal();
    let g = zoo::build(
        "resnet18",
        &ZooOptions {
            resolution: Some(32),
            ..ZooOptions::default()
        },
    )
    .unwrap()
    .unwrap()
    .with_parameter_visibility(Visibility::Public);
    let options = Options {
        allow_approx: true,
        ..options(Objective::Time(Network::LAN))
    };
    let out = optimize::optimize(&g, &model, &rules, &options, None).unwrap();
    let relus = g.node_ids().filter(|&id| g.node(id).op == Op::Relu).count();
    assert_eq!(relus, 17);
    let squares = out
        .rewrites
        .iter()
        .filter(|r| r.rule == "square-as-product")
        .count();
    assert_eq!(squares, relus, "{:?}", out.rewrites);
    let from_relu: Vec<_> = out
        .approximations
        .iter()
        .filter(|a| a.rule == "relu-to-square")
        .collect();
    assert_eq!(from_relu.len(), relus, "{:?}", out.approximations);
    assert!(from_relu.iter().all(|a| a.op == "mul"));
    for a in &out.approximations {
        assert_eq!(
            rules.info(&a.rule).map(|i| i.class),
            Some(optimize::RuleClass::Approx),
            "{a:?}"
        );
    }
    assert_eq!(out.approximations.len(), relus + 1, "and the max pool");
}

/// Sibling ReLUs on the branches of an Inception-style block run as two calls instead of four
/// under CrypTen (rounds per call), and the sibling 1x1 convolutions merge.
#[test]
fn sibling_relus_on_branches_run_as_one_call() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/graphs/inception_block.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let g = hawkeye_mpc::frontend::json::from_json(&text, path).unwrap();
    let crypten = cost::load_framework("crypten", &[]).unwrap();
    let rules = RuleSet::builtin().unwrap();
    let out = optimize::optimize(
        &g,
        &crypten,
        &rules,
        &options(Objective::Time(Network::LAN)),
        None,
    )
    .unwrap();
    assert_eq!(
        (
            out.before.total.online_rounds,
            out.after.total.online_rounds
        ),
        (40.0, 21.0)
    );
    let batched: Vec<&str> = out
        .rewrites
        .iter()
        .filter(|r| r.rule == optimize::batch::RULE)
        .map(|r| r.node.as_str())
        .collect();
    // Branches 1 and 3 start with a merged convolution (their ReLUs batch on the early
    // schedule); branch 2's ReLU and branch 3's second meet in the concatenation (late).
    assert_eq!(
        batched,
        ["branch1.act.batched", "branch2.act.batched"],
        "{:?}",
        out.rewrites
    );
    for name in batched {
        let op = out.graph.find(name).unwrap();
        let concat = out.graph.inputs(op)[0];
        assert_eq!(out.graph.node(concat).op, Op::Concat { axis: 0 });
        assert_eq!(out.graph.inputs(concat).len(), 2);
    }
}
