//! Broadcasting done right: a broadcast operand of a product is opened once, not once per
//! copy, and its gradient is a set of dot products (`sum_product`), which frameworks with
//! HawkEye's optimized broadcast operator (here the ABY3 test model) cost per output of the
//! reduction, not per summand. Frameworks that multiply first and sum locally (CrypTen, SPU)
//! cost it as they run it.

use hawkeye_mpc::autograd::{backward, BackwardOptions};
use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::graph::{ElemKind, Graph, NodeId, Op, Phase, ValueInfo, Visibility};
use hawkeye_mpc::profile::Profile;

fn model(file: &str) -> CostModel {
    let path = format!(
        "{}/tests/fixtures/cost_models/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    cost::load_framework(&path, &[]).unwrap()
}

const N: usize = 64;
const C: usize = 8;

/// `y = x * b` with x (N, C) and b (C) broadcast over the rows, and the gradients of x and b
/// for a secret gradient of y.
fn scaled() -> (Graph, NodeId, NodeId) {
    let mut g = Graph::new("scale");
    let secret = |s: Vec<usize>| ValueInfo::new(s, ElemKind::Real, Visibility::Secret);
    let x = g
        .add_source("x", "", Op::Input, secret(vec![N, C]))
        .unwrap();
    let b = g.add_source("b", "", Op::Input, secret(vec![C])).unwrap();
    let y = g.add("y", "", Op::Mul, &[x, b]).unwrap();
    let dy = g
        .add_source("dy", "", Op::Input, secret(vec![N, C]))
        .unwrap();
    let grads = backward(&mut g, y, Some(dy), &[x, b], &BackwardOptions::default()).unwrap();
    (g, grads[0].unwrap(), grads[1].unwrap())
}

fn cost_of(p: &Profile, id: NodeId) -> f64 {
    p.nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap()
        .cost
        .online_bits
}

#[test]
fn broadcast_products_never_materialize_the_broadcast() {
    let (g, gx, gb) = scaled();
    assert!(g
        .node_ids()
        .all(|id| !matches!(g.node(id).op, Op::Expand { .. })));
    // the large operand's gradient multiplies by the small one as it is
    assert_eq!(g.node(gx).op, Op::Mul);
    assert_eq!(g.node(g.inputs(gx)[1]).value.shape, vec![C]);
    // the small operand's gradient is one dot product per element of it
    let sp = g.inputs(gb)[0];
    assert!(matches!(g.node(sp).op, Op::SumProduct { .. }));
    assert_eq!(g.node(sp).value.shape, vec![1, C]);
    assert_eq!(g.node(sp).phase, Phase::Backward);
}

#[test]
fn the_broadcast_gradient_costs_one_product_per_output_under_hawkeye_aby3() {
    let (g, _, gb) = scaled();
    let aby3 = model("aby3-hawkeye.toml");
    let p = Profile::new(&g, &aby3).unwrap();
    let ring = 64.0;
    let sp = g.inputs(gb)[0];
    // a product (3 l) and a truncation (l) per output of the reduction, C of them
    assert_eq!(cost_of(&p, sp), (3.0 * ring + ring) * C as f64);
    // the forward product: one vectorised product over the N x C output
    let y = g.find("y").unwrap();
    assert_eq!(cost_of(&p, y), (3.0 * ring + ring) * (N * C) as f64);
}

#[test]
fn crypten_opens_the_small_operand_once_and_multiplies_before_summing() {
    let (g, gx, gb) = scaled();
    let crypten = cost::load_framework("crypten", &[]).unwrap();
    let p = Profile::new(&g, &crypten).unwrap();
    // Beaver: epsilon and delta at the unbroadcast operand sizes, 8 bytes per element logged
    // twice (sent and received) by each of 2 parties, halved: 16 bytes per opened element
    let beaver = |a: usize, b: usize| 16.0 * 8.0 * (a + b) as f64;
    let y = g.find("y").unwrap();
    assert_eq!(cost_of(&p, y), beaver(N * C, C));
    assert_eq!(cost_of(&p, gx), beaver(N * C, C));
    // CrypTen's gradient of the broadcast operand: the full product, then a local sum
    let sp = g.inputs(gb)[0];
    assert_eq!(cost_of(&p, sp), beaver(N * C, N * C));
}

#[test]
fn batchnorm_scales_take_dot_product_gradients() {
    use hawkeye_mpc::autograd::{train_step, TrainOptions};
    let g = hawkeye_mpc::zoo::build("resnet18", &Default::default())
        .unwrap()
        .unwrap();
    let step = train_step(&g, &TrainOptions::default()).unwrap();
    let node = step
        .node_ids()
        .map(|id| step.node(id))
        .find(|n| n.module == "bn1" && matches!(n.op, Op::SumProduct { .. }))
        .expect("bn1's scale gradient");
    assert_eq!(node.value.shape, vec![1, 64, 1, 1]);
}
