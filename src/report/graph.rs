//! `hawkeye show`: a graph's nodes as a table or JSON.

use crate::graph::{shape_string, Graph, Op};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::json;

/// One row per node: module path, name, op, input shapes, output shape, visibility, params.
pub fn table(graph: &Graph) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "#",
        "module",
        "name",
        "op",
        "inputs",
        "output",
        "visibility",
        "params",
    ]);
    for (i, id) in graph.node_ids().enumerate() {
        let n = graph.node(id);
        let inputs = graph
            .input_values(id)
            .iter()
            .map(|v| shape_string(&v.shape))
            .collect::<Vec<_>>()
            .join(", ");
        let params = match n.op {
            Op::Parameter { role } if role.is_trainable() => n.value.numel().to_string(),
            _ => String::new(),
        };
        t.add_row([
            i.to_string(),
            n.module.clone(),
            n.name.clone(),
            n.op.name().to_string(),
            inputs,
            shape_string(&n.value.shape),
            n.value.visibility.to_string(),
            params,
        ]);
    }
    format!(
        "{t}\n{}: {} nodes, {} parameters, {} MACs\n",
        graph.name,
        graph.len(),
        graph.parameter_count(),
        graph.mac_count()
    )
}

/// The same rows as JSON.
pub fn json(graph: &Graph) -> String {
    let nodes: Vec<_> = graph
        .node_ids()
        .map(|id| {
            let n = graph.node(id);
            json!({
                "module": n.module,
                "name": n.name,
                "op": n.op.name(),
                "inputs": graph.inputs(id).iter().map(|&i| graph.node(i).name.clone()).collect::<Vec<_>>(),
                "input_shapes": graph.input_values(id).iter().map(|v| v.shape.clone()).collect::<Vec<_>>(),
                "shape": n.value.shape,
                "kind": n.value.kind.as_str(),
                "visibility": n.value.visibility,
                "phase": n.phase.as_str(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&json!({
        "name": graph.name,
        "parameters": graph.parameter_count(),
        "macs": graph.mac_count(),
        "nodes": nodes,
    }))
    .expect("serialisable")
}
