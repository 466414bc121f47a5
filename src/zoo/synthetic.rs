//! Synthetic graphs of any size, for measuring how the tools scale: a chain of linear + ReLU
//! layers (`blocks.{i}.fc`, `blocks.{i}.act`), and a small block nested in a module path of
//! any depth (`m.m.m...`).

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
        let d = deep_module(4).unwrap();
        assert_eq!(d.len(), 5);
        assert_eq!(d.node(d.outputs()[0]).module, "m.m.m.m.act");
    }
}
