//! `hawkeye profile` output: a human tree with units and shares, JSON (schema in the README)
//! and CSV.

use super::{bytes, percent, seconds};
use crate::cost::Cost;
use crate::profile::{AttributionNode, Network, Profile};
use serde_json::{json, Value};
use std::fmt::Write;

/// What the reader asked to see.
#[derive(Debug, Clone)]
pub struct View {
    /// Levels of the tree below the root to show (`None`: all).
    pub depth: Option<usize>,
    /// Children shown per node, costliest first (`None`: all).
    pub top: Option<usize>,
    pub network: Network,
    /// Weight visibility the profile assumed (for the header).
    pub weights: String,
    /// The model's inputs, name and shape (for the header).
    pub inputs: Vec<(String, Vec<usize>)>,
    /// `inference`, or the training step's loss, optimizer and batch (for the header).
    pub mode: String,
    /// Nodes the framework's real frontend refuses; their cost is that of the closest
    /// runnable form.
    pub refused: Vec<crate::cost::loadability::Refusal>,
}

/// `name [d0, d1, ...]` per input, comma-separated.
fn inputs_text(inputs: &[(String, Vec<usize>)]) -> String {
    inputs
        .iter()
        .map(|(n, s)| {
            let dims: Vec<String> = s.iter().map(|d| d.to_string()).collect();
            format!("{n} [{}]", dims.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Totals block shared by the text and JSON renderings.
fn summary(p: &Profile, view: &View) -> String {
    let t = &p.total;
    let net = &view.network;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} under {} ({} parties, weights {}, network {})",
        p.model, p.framework, p.parties, view.weights, net
    );
    let _ = writeln!(s, "  inputs {}; {}", inputs_text(&view.inputs), view.mode);
    if !view.refused.is_empty() {
        let _ = writeln!(
            s,
            "  NOT RUNNABLE as given: the framework's frontend refuses {} node{} (see the warnings); their cost is that of the closest runnable form",
            view.refused.len(),
            if view.refused.len() == 1 { "" } else { "s" }
        );
    }
    let _ = writeln!(
        s,
        "  online   {:>10}  {:>6} rounds (critical path {})  time {}",
        bytes(t.online_bits),
        t.online_rounds,
        p.critical_path_rounds,
        seconds(net.online_seconds(t))
    );
    let _ = writeln!(
        s,
        "  offline  {:>10}  {:>6} rounds  time {}",
        bytes(t.offline_bits),
        t.offline_rounds,
        seconds(net.offline_seconds(t))
    );
    if !p.setup.is_zero() {
        let _ = writeln!(
            s,
            "  setup    {:>10}  {:>6} rounds (one-time, not in the totals above)",
            bytes(p.setup.online_bits),
            p.setup.online_rounds
        );
    }
    let parties: Vec<String> = t
        .party_online_bits
        .iter()
        .enumerate()
        .map(|(i, b)| format!("P{i} {}", bytes(*b)))
        .collect();
    let _ = writeln!(s, "  online per party: {}", parties.join(", "));
    let phases = p.phases();
    if phases.len() > 1 {
        let rows = phases
            .iter()
            .map(|(phase, c)| (phase.as_str(), c))
            .chain(std::iter::once(("total", t)));
        for (phase, c) in rows {
            let _ = writeln!(
                s,
                "  {:<8} {:>10}  {:>6} rounds  {}",
                phase,
                bytes(c.online_bits),
                c.online_rounds,
                percent(c.online_bits, t.online_bits)
            );
        }
    }
    s
}

/// The human rendering: totals, then the attribution tree.
pub fn text(p: &Profile, tree: &AttributionNode, view: &View) -> String {
    let mut out = summary(p, view);
    out.push('\n');
    let mut rows: Vec<(String, Cost)> = Vec::new();
    collect_rows(tree, "", "", 0, view, &mut rows);
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{:<width$}  {:>10}  {:>7}  {:>6}",
        "where (online)", "bytes", "rounds", "share"
    );
    for (label, c) in rows {
        let pad = width - label.chars().count();
        let _ = writeln!(
            out,
            "{label}{:pad$}  {:>10}  {:>7}  {:>6}",
            "",
            bytes(c.online_bits),
            c.online_rounds,
            percent(c.online_bits, tree.cost.online_bits)
        );
    }
    out
}

fn collect_rows(
    node: &AttributionNode,
    prefix: &str,
    branch: &str,
    depth: usize,
    view: &View,
    rows: &mut Vec<(String, Cost)>,
) {
    rows.push((format!("{prefix}{branch}{}", node.label), node.cost.clone()));
    if view.depth.is_some_and(|d| depth >= d) {
        return;
    }
    let shown = view.top.unwrap_or(usize::MAX).min(node.children.len());
    let hidden = node.children.len() - shown;
    let child_prefix = match branch {
        "├─ " => format!("{prefix}│  "),
        "└─ " => format!("{prefix}   "),
        _ => prefix.to_string(),
    };
    for (i, c) in node.children[..shown].iter().enumerate() {
        let last = i + 1 == shown && hidden == 0;
        collect_rows(
            c,
            &child_prefix,
            if last { "└─ " } else { "├─ " },
            depth + 1,
            view,
            rows,
        );
    }
    if hidden > 0 {
        let mut rest = Cost::zero(node.cost.party_online_bits.len());
        node.children[shown..]
            .iter()
            .for_each(|c| rest.add(&c.cost));
        rows.push((format!("{child_prefix}└─ ({hidden} more)"), rest));
    }
}

fn cost_json(c: &Cost) -> Value {
    json!({
        "online_bits": c.online_bits,
        "online_rounds": c.online_rounds,
        "offline_bits": c.offline_bits,
        "offline_rounds": c.offline_rounds,
    })
}

/// The JSON rendering (schema in the README).
pub fn json(p: &Profile, tree: &AttributionNode, view: &View) -> String {
    let t = &p.total;
    let layers: Vec<Value> = p
        .layers()
        .into_iter()
        .map(|l| {
            json!({
                "path": l.path,
                "op": l.op,
                "online_bits": l.cost.online_bits,
                "online_rounds": l.cost.online_rounds,
                "offline_bits": l.cost.offline_bits,
                "offline_rounds": l.cost.offline_rounds,
            })
        })
        .collect();
    let phases: Vec<Value> = p
        .phases()
        .into_iter()
        .map(|(ph, c)| {
            let mut v = cost_json(&c);
            v["phase"] = json!(ph.as_str());
            v
        })
        .collect();
    let doc = json!({
        "model": p.model,
        "framework": p.framework,
        "parties": p.parties,
        "weights": view.weights,
        "network": view.network,
        "inputs": view.inputs.iter().map(|(n, s)| json!({"name": n, "shape": s})).collect::<Vec<_>>(),
        "mode": view.mode,
        "refused": view.refused,
        "total": {
            "online_bits": t.online_bits,
            "offline_bits": t.offline_bits,
            "online_rounds": t.online_rounds,
            "offline_rounds": t.offline_rounds,
            "setup_bits": p.setup.online_bits,
            "setup_rounds": p.setup.online_rounds,
            "critical_path_rounds": p.critical_path_rounds,
            "online_seconds": view.network.online_seconds(t),
            "offline_seconds": view.network.offline_seconds(t),
        },
        "per_party_online_bits": t.party_online_bits,
        "phases": phases,
        "layers": layers,
        "tree": tree,
    });
    serde_json::to_string_pretty(&doc).expect("serialisable")
}

/// CSV: one row per tree node (path joined with ` > `), depth-first.
pub fn csv(tree: &AttributionNode) -> String {
    let mut out =
        String::from("path,depth,online_bits,online_rounds,offline_bits,offline_rounds\n");
    fn walk(n: &AttributionNode, path: &mut Vec<String>, out: &mut String) {
        path.push(n.label.replace('"', "'"));
        let c = &n.cost;
        let _ = writeln!(
            out,
            "\"{}\",{},{},{},{},{}",
            path.join(" > "),
            path.len() - 1,
            c.online_bits,
            c.online_rounds,
            c.offline_bits,
            c.offline_rounds
        );
        for ch in &n.children {
            walk(ch, path, out);
        }
        path.pop();
    }
    walk(tree, &mut Vec::new(), &mut out);
    out
}
