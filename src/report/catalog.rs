//! `hawkeye models` and `hawkeye frameworks`: what the tool knows.

use crate::cost::CostModel;
use crate::graph::shape_string;
use crate::zoo::{ZooModel, ZooOptions};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

/// The zoo at default options: name, parameters, MACs, input shape, knobs, description.
pub fn models(models: &[ZooModel]) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["model", "params", "MACs", "input", "knobs", "description"]);
    for m in models {
        let (params, macs, input) = match (m.build)(&ZooOptions::default()) {
            Ok(g) => {
                let input = g
                    .node_ids()
                    .find(|&id| matches!(g.node(id).op, crate::graph::Op::Input))
                    .map(|id| shape_string(&g.node(id).value.shape))
                    .unwrap_or_default();
                (
                    group_digits(g.parameter_count()),
                    group_digits(g.mac_count()),
                    input,
                )
            }
            Err(e) => (format!("error: {e}"), String::new(), String::new()),
        };
        t.add_row([
            m.name.to_string(),
            params,
            macs,
            input,
            m.knobs.to_string(),
            m.description.to_string(),
        ]);
    }
    format!("{t}\n")
}

/// Frameworks with their parameters and provenance.
pub fn frameworks(models: &[CostModel]) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "framework",
        "aliases",
        "parties",
        "weights",
        "parameters",
        "provenance",
    ]);
    for m in models {
        let params = m
            .params
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        t.add_row([
            format!("{}\n{}", m.framework.name, m.framework.description),
            m.framework.aliases.join(", "),
            m.parties().to_string(),
            m.framework.default_weights.to_string(),
            params,
            m.framework.provenance.clone(),
        ]);
    }
    format!("{t}\n")
}

/// The zoo as JSON: a list of `{name, description, knobs}`.
pub fn models_json(models: &[ZooModel]) -> String {
    let rows: Vec<serde_json::Value> = models
        .iter()
        .map(|m| {
            serde_json::json!({
                "name": m.name,
                "description": m.description,
                "knobs": m.knobs,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// Frameworks as JSON: a list of `{name, aliases, description, provenance, parties, rounds,
/// default_weights, params}`.
pub fn frameworks_json(models: &[CostModel]) -> String {
    let rows: Vec<serde_json::Value> = models
        .iter()
        .map(|m| {
            let params: serde_json::Map<String, serde_json::Value> = m
                .params
                .iter()
                .map(|(n, v)| (n.clone(), serde_json::json!(v)))
                .collect();
            serde_json::json!({
                "name": m.framework.name,
                "aliases": m.framework.aliases,
                "description": m.framework.description,
                "provenance": m.framework.provenance,
                "parties": m.parties(),
                "rounds": m.framework.rounds,
                "default_weights": m.framework.default_weights.to_string(),
                "params": params,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// 25557032 -> 25,557,032
pub fn group_digits(n: impl std::fmt::Display) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
