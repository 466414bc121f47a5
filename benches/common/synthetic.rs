//! Synthetic graphs for the optimizer's scale benches (`benches/optimize.rs`) and for
//! `examples/synthetic_graph.rs`, which writes them as JSON for the command line.
//!
//! - `chain`: layer after layer, each a linear layer (8 x 8, with bias) and a ReLU on a secret
//!   4 x 8 input; four graph nodes per layer.
//! - `siblings`: each layer two bias-free linear layers read the same secret input, and their
//!   sum goes through a ReLU; six graph nodes per layer. Every layer is a sibling merge
//!   candidate, the case where pairing every layer with every other blew up.

use hawkeye_mpc::graph::{ElemKind, Graph, NodeId, Op, ParamRole, ValueInfo, Visibility};

fn weight(g: &mut Graph, name: String, module: &str, shape: Vec<usize>, role: ParamRole) -> NodeId {
    g.add_source(
        name,
        module,
        Op::Parameter { role },
        ValueInfo::new(shape, ElemKind::Real, Visibility::Secret),
    )
    .expect("fresh name")
}

/// A graph of about `nodes` nodes of the given kind (`chain` or `siblings`).
pub fn build(kind: &str, nodes: usize) -> Graph {
    let mut g = Graph::new(format!("{kind}{nodes}"));
    let mut x = g
        .add_source(
            "x",
            "",
            Op::Input,
            ValueInfo::new(vec![4, 8], ElemKind::Real, Visibility::Secret),
        )
        .expect("fresh name");
    let mut i = 0;
    while g.len() < nodes {
        let m = format!("l{i}");
        x = match kind {
            "chain" => {
                let w = weight(
                    &mut g,
                    format!("{m}.weight"),
                    &m,
                    vec![8, 8],
                    ParamRole::Weight,
                );
                let b = weight(&mut g, format!("{m}.bias"), &m, vec![8], ParamRole::Bias);
                let y = g.add(m.clone(), &m, Op::Linear, &[x, w, b]).expect("fits");
                g.add(format!("{m}.act"), &m, Op::Relu, &[y]).expect("fits")
            }
            _ => {
                let mut outs = Vec::new();
                for side in ["a", "b"] {
                    let module = format!("{m}.{side}");
                    let w = weight(
                        &mut g,
                        format!("{module}.weight"),
                        &module,
                        vec![8, 8],
                        ParamRole::Weight,
                    );
                    outs.push(
                        g.add(module.clone(), &module, Op::Linear, &[x, w])
                            .expect("fits"),
                    );
                }
                let s = g.add(format!("{m}.sum"), &m, Op::Add, &outs).expect("fits");
                g.add(format!("{m}.act"), &m, Op::Relu, &[s]).expect("fits")
            }
        };
        i += 1;
    }
    g.set_outputs(vec![x]);
    g
}
