//! Synthetic graphs of any size, for measuring how the tools scale: a chain of linear + ReLU
//! layers (`blocks.{i}.fc`, `blocks.{i}.act`), layers of two sibling linears on one input
//! (every layer a sibling-merge candidate for the optimizer), and a small block nested in a
//! module path of any depth (`m.m.m...`).

use crate::graph::{ElemKind, Graph, GraphError, Op, ParamRole, ValueInfo, Visibility};

/// Width of every layer of the synthetic graphs.
pub const WIDTH: usize = 16;

/// Nodes per layer of [`linear_relu_chain`]: weight, bias, linear, relu.
pub const NODES_PER_LAYER: usize = 4;

/// A secret `1 x WIDTH` input followed by `layers` blocks of `Linear(WIDTH, WIDTH)` + ReLU, each
/// in module `blocks.{i}`: `1 + 4 * layers` nodes.
pub fn linear_relu_chain(layers: usize) -> Result<Graph, GraphError> {
    let mut g = Graph::new(format!("chain{layers}"));
    let mut x = input(&mut g)?;
    for i in 0..layers {
        x = linear_relu(&mut g, &format!("blocks.{i}"), x)?;
    }
    g.set_outputs(vec![x]);
    Ok(g)
}

/// Nodes per layer of [`sibling_layers`]: two weights, two linears, their sum, a ReLU.
pub const NODES_PER_SIBLING_LAYER: usize = 6;

/// A secret `1 x WIDTH` input followed by `layers` layers in which two bias-free
/// `Linear(WIDTH, WIDTH)` (`blocks.{i}.a`, `blocks.{i}.b`) read the same value and their sum
/// goes through a ReLU: `1 + 6 * layers` nodes.
pub fn sibling_layers(layers: usize) -> Result<Graph, GraphError> {
    let mut g = Graph::new(format!("siblings{layers}"));
    let mut x = input(&mut g)?;
    for i in 0..layers {
        let m = format!("blocks.{i}");
        let mut outs = Vec::with_capacity(2);
        for side in ["a", "b"] {
            let module = format!("{m}.{side}");
            let value = ValueInfo::new(vec![WIDTH, WIDTH], ElemKind::Real, Visibility::Secret);
            let w = g.add_source(
                format!("{module}.weight"),
                module.clone(),
                Op::Parameter {
                    role: ParamRole::Weight,
                },
                value,
            )?;
            outs.push(g.add(module.clone(), module, Op::Linear, &[x, w])?);
        }
        let sum = g.add(format!("{m}.sum"), m.clone(), Op::Add, &outs)?;
        x = g.add(format!("{m}.act"), m, Op::Relu, &[sum])?;
    }
    g.set_outputs(vec![x]);
    Ok(g)
}

/// One linear + ReLU block inside `depth` nested modules (`m.m. ... .m.fc` and `.act`, 2 bytes
/// per level): 5 nodes.
pub fn deep_module(depth: usize) -> Result<Graph, GraphError> {
    let mut g = Graph::new(format!("deep{depth}"));
    let x = input(&mut g)?;
    let module = vec!["m"; depth.max(1)].join(".");
    let y = linear_relu(&mut g, &module, x)?;
    g.set_outputs(vec![y]);
    Ok(g)
}

fn input(g: &mut Graph) -> Result<crate::graph::NodeId, GraphError> {
    let value = ValueInfo::new(vec![1, WIDTH], ElemKind::Real, Visibility::Secret);
    g.add_source("x", "", Op::Input, value)
}

fn linear_relu(
    g: &mut Graph,
    module: &str,
    x: crate::graph::NodeId,
) -> Result<crate::graph::NodeId, GraphError> {
    let param = |g: &mut Graph, name: &str, role: ParamRole, shape: Vec<usize>| {
        let value = ValueInfo::new(shape, ElemKind::Real, Visibility::Secret);
        g.add_source(
            format!("{module}.fc.{name}"),
            format!("{module}.fc"),
            Op::Parameter { role },
            value,
        )
    };
    let w = param(g, "weight", ParamRole::Weight, vec![WIDTH, WIDTH])?;
    let b = param(g, "bias", ParamRole::Bias, vec![WIDTH])?;
    let fc = g.add(
        format!("{module}.fc"),
        format!("{module}.fc"),
        Op::Linear,
        &[x, w, b],
    )?;
    g.add(
        format!("{module}.act"),
        format!("{module}.act"),
        Op::Relu,
        &[fc],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_paths() {
        let g = linear_relu_chain(3).unwrap();
        assert_eq!(g.len(), 1 + NODES_PER_LAYER * 3);
        let last = g.outputs()[0];
        assert_eq!(g.node(last).module, "blocks.2.act");
        assert_eq!(g.node(last).value.shape, vec![1, WIDTH]);
        let s = sibling_layers(3).unwrap();
        assert_eq!(s.len(), 1 + NODES_PER_SIBLING_LAYER * 3);
        assert_eq!(s.node(s.outputs()[0]).module, "blocks.2");
        let d = deep_module(4).unwrap();
        assert_eq!(d.len(), 5);
        assert_eq!(d.node(d.outputs()[0]).module, "m.m.m.m.act");
    }
}
