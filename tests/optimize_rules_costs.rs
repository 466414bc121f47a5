//! Rules on whole graphs under a real framework's costs: the dot-product rules turn a layer
//! norm's variance into dot products under aby3; Bumblebee's GeLU and softmax cost what their
//! operations cost under spu-semi2k.

use hawkeye_mpc::cost;
use hawkeye_mpc::graph::{ElemKind, Graph, NodeId, Op, ValueInfo, Visibility};
use hawkeye_mpc::interpret::fold::parameter_bindings;
use hawkeye_mpc::interpret::{evaluate, Arithmetic, Bindings, Tensor};
use hawkeye_mpc::optimize::{self, Objective, Options, RuleSet};

fn input(g: &mut Graph, shape: &[usize]) -> NodeId {
    g.add_source(
        "input",
        "",
        Op::Input,
        ValueInfo::new(shape.to_vec(), ElemKind::Real, Visibility::Secret),
    )
    .unwrap()
}

fn run(g: &Graph, inputs: &Bindings) -> Tensor {
    let mut b = parameter_bindings(g).unwrap();
    for (name, t) in inputs.iter() {
        b.insert(name, t.clone());
    }
    evaluate(g, &b, Arithmetic::Float).unwrap().remove(0)
}

/// `reduce_mean(x * x)` over the last axis of a secret 1x16x768 input (a layer norm's variance)
/// under aby3: 12,288 products (a resharing of 3 x 64 bits and a 64-bit truncation each) and
/// 16 truncations of the mean, 393,344 bytes, become 16 dot products (3 x 64 bits and a
/// truncation each) and the 16 truncations of the scale by 1/768: 640 bytes.
#[test]
fn a_sum_of_squares_becomes_dot_products_under_aby3() {
    let mut g = Graph::new("variance");
    let x = input(&mut g, &[1, 16, 768]);
    let sq = g.add("sq", "ln", Op::Mul, &[x, x]).unwrap();
    let var = g
        .add(
            "var",
            "ln",
            Op::ReduceMean {
                axes: vec![-1],
                keepdims: true,
            },
            &[sq],
        )
        .unwrap();
    g.set_outputs(vec![var]);
    let model = cost::load_framework("aby3", &[]).unwrap();
    let out = optimize::optimize(
        &g,
        &model,
        &RuleSet::builtin().unwrap(),
        &Options::default(),
        None,
    )
    .unwrap();
    assert_eq!(out.before.total.online_bits / 8.0, 393_344.0);
    assert_eq!(out.after.total.online_bits / 8.0, 640.0);
    assert!(
        out.rewrites.iter().any(|r| r.rule == "mean-of-products-3d"),
        "{:?}",
        out.rewrites.iter().map(|r| &r.rule).collect::<Vec<_>>()
    );
    let inputs = Bindings::random(&g, 0);
    let (a, b) = (run(&g, &inputs), run(&out.graph, &inputs));
    let diff = a
        .array()
        .iter()
        .zip(b.array().iter())
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(diff <= 1e-9 * a.max_abs(), "{diff}");
}

/// The graph `input` (secret, `shape`) -> `op` optimized under spu-semi2k with the rules `names`
/// only (approximate ones allowed), minimising online bytes: (bytes before, bytes after, the
/// rules in the result).
fn one_op_under_semi2k(op: Op, shape: &[usize], names: &[&str]) -> (f64, f64, Vec<String>) {
    let mut g = Graph::new("one_op");
    let x = input(&mut g, shape);
    let y = g.add("act", "act", op, &[x]).unwrap();
    g.set_outputs(vec![y]);
    let out = optimize::optimize(
        &g,
        &cost::load_framework("spu-semi2k", &[]).unwrap(),
        &RuleSet::builtin().unwrap().subset(names),
        &Options {
            objective: Objective::OnlineBits,
            allow_approx: true,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let mut rules: Vec<String> = out.rewrites.iter().map(|r| r.rule.clone()).collect();
    rules.sort();
    rules.dedup();
    (
        out.before.total.online_bits / 8.0,
        out.after.total.online_bits / 8.0,
        rules,
    )
}

/// Bumblebee's GeLU on BERT-Tiny's intermediate activation (1x16x512, n = 8192 elements) under
/// spu-semi2k (2 parties, 64-bit ring, 18 fractional bits), per element: two steps, each a clip
/// (two compare-selects: msb 2 (6 * 64 + 64) = 896 bits and a select 2 * 2 * 64 = 256 bits);
/// |x| (msb 896, the sign to arithmetic 2 * 8 = 16, a product 256); five secret products
/// (x^2, x^4, x^2 |x|, the two segment selections), each 256 and a truncation 2 * 32 = 64;
/// seven public products (0.5 x, the four coefficients, the two steps' 2^16), a truncation each.
#[test]
fn bumblebee_gelu_costs_its_steps_abs_and_products_under_semi2k() {
    let (before, after, rules) = one_op_under_semi2k(
        Op::Gelu { approximate: false },
        &[1, 16, 512],
        &["gelu-to-bumblebee"],
    );
    let per_element_bits = 2 * 2 * (896 + 256) + (896 + 16 + 256) + 5 * (256 + 64) + 7 * 64;
    assert_eq!(per_element_bits, 7824);
    assert_eq!(after, (8192 * per_element_bits / 8) as f64);
    assert_eq!(after, 8_011_776.0);
    assert!(before > after, "{before} {after}");
    assert!(
        rules.contains(&"gelu-to-bumblebee".to_string()),
        "{rules:?}"
    );
}

/// Bumblebee's softmax differs from PUMA's by its exponential: 5 squarings of 1 + d/32 where
/// PUMA has 8 of 1 + d/256 (both divide through one reciprocal per row, PUMA's by
/// `reciprocal-of-small-denominator`). On attention scores of 2 heads x 16 x 16 (n = 512) it
/// costs exactly 3 squarings per score less: 3 * 512 * (2 * 2 * 64 + 2 * 32) bits under spu-semi2k.
#[test]
fn bumblebee_softmax_saves_three_squarings_per_score_over_puma() {
    let shape = [1, 2, 16, 16];
    let softmax = || Op::Softmax { axis: -1 };
    let (before, puma, puma_rules) = one_op_under_semi2k(
        softmax(),
        &shape,
        &["softmax-to-puma", "reciprocal-of-small-denominator"],
    );
    let (_, bumblebee, bumblebee_rules) =
        one_op_under_semi2k(softmax(), &shape, &["softmax-to-bumblebee"]);
    assert!(
        puma_rules.contains(&"softmax-to-puma".to_string()),
        "{puma_rules:?}"
    );
    assert!(
        bumblebee_rules.contains(&"softmax-to-bumblebee".to_string()),
        "{bumblebee_rules:?}"
    );
    assert_eq!(puma - bumblebee, (3 * 512 * (256 + 64) / 8) as f64);
    assert!(bumblebee < before, "{bumblebee} {before}");
}
