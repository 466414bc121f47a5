//! Rules on whole graphs under a real framework's costs: the dot-product rules turn a layer
//! norm's variance into dot products under aby3.

use hawkeye_mpc::cost;
use hawkeye_mpc::graph::{ElemKind, Graph, NodeId, Op, ValueInfo, Visibility};
use hawkeye_mpc::interpret::fold::parameter_bindings;
use hawkeye_mpc::interpret::{evaluate, Arithmetic, Bindings, Tensor};
use hawkeye_mpc::optimize::{self, Options, RuleSet};

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
