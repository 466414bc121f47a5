//! `hawkeye profile` output: the default overview (totals, phases, top-level modules, the
//! costliest layers), the full tree with units and shares, JSON (schema in the README) and CSV.

use super::json_out::JsonOut;
use super::layers::LayerRow;
use super::numbers::{Rounds, Units};
use super::{percent, seconds};
use crate::cost::Cost;
use crate::profile::{AttributionNode, Network, Profile};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
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
    /// Unit of communication in text and CSV (JSON keeps bits).
    pub units: Units,
    /// What one round is for the framework (its cost model's `rounds`), for the footnote on
    /// rounds that are means.
    pub rounds_meaning: String,
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

/// Layers listed in the overview.
pub const OVERVIEW_LAYERS: usize = 10;
/// Top-level modules listed in the overview (the rest summed in one line).
const OVERVIEW_MODULES: usize = 12;

/// Totals block shared by the text renderings.
fn summary(p: &Profile, view: &View, rounds: Rounds) -> String {
    let t = &p.total;
    let net = &view.network;
    let u = view.units;
    let r = |x: f64| rounds.fmt(x);
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
        "  online   {:>10}  {:>8} rounds (critical path {})  network time {}",
        u.amount(t.online_bits),
        r(t.online_rounds),
        r(p.critical_path_rounds),
        seconds(net.online_seconds(t))
    );
    let _ = writeln!(
        s,
        "  offline  {:>10}  {:>8} rounds  network time {}",
        u.amount(t.offline_bits),
        r(t.offline_rounds),
        seconds(net.offline_seconds(t))
    );
    if !p.setup.is_zero() {
        let _ = writeln!(
            s,
            "  setup    {:>10}  {:>8} rounds (one-time, not in the totals above)",
            u.amount(p.setup.online_bits),
            r(p.setup.online_rounds)
        );
    }
    let parties: Vec<String> = t
        .party_online_bits
        .iter()
        .enumerate()
        .map(|(i, b)| format!("P{i} {}", u.amount(*b)))
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
                "  {:<8} {:>10}  {:>8} rounds  {}",
                phase,
                u.amount(c.online_bits),
                r(c.online_rounds),
                percent(c.online_bits, t.online_bits)
            );
        }
    }
    s
}

/// The rounds style of everything a text view prints.
fn rounds_style(p: &Profile, tree: &AttributionNode) -> Rounds {
    Rounds::of([
        p.total.online_rounds,
        p.total.offline_rounds,
        p.setup.online_rounds,
        p.critical_path_rounds,
    ])
    .or(Rounds::of_tree(tree))
}

fn footnote(p: &Profile, view: &View, rounds: Rounds, out: &mut String) {
    if let Some(note) = rounds.footnote(&p.framework, &view.rounds_meaning) {
        let _ = writeln!(out, "\n{note}");
    }
}

/// The human tree: totals, then the attribution tree to `view.depth` and `view.top`.
pub fn text(p: &Profile, tree: &AttributionNode, view: &View) -> String {
    let rounds = rounds_style(p, tree);
    let mut out = summary(p, view, rounds);
    out.push('\n');
    tree_rows(tree, view, rounds, &mut out);
    footnote(p, view, rounds, &mut out);
    out
}

/// The default view, about a screen: totals, phases, the top-level modules and the costliest
/// layers (the first [`OVERVIEW_LAYERS`] of `layers` by online bits: all rows from
/// [`super::layers::rows`], or just those from [`super::layers::costliest`]).
pub fn overview(p: &Profile, tree: &AttributionNode, layers: &[LayerRow], view: &View) -> String {
    let rounds = rounds_style(p, tree);
    let mut out = summary(p, view, rounds);
    out.push('\n');
    let top_level = View {
        depth: Some(1),
        top: Some(OVERVIEW_MODULES),
        ..view.clone()
    };
    tree_rows(tree, &top_level, rounds, &mut out);
    let mut costliest: Vec<&LayerRow> =
        layers.iter().filter(|l| l.cost.online_bits > 0.0).collect();
    costliest.sort_by(|a, b| b.cost.online_bits.total_cmp(&a.cost.online_bits));
    costliest.truncate(OVERVIEW_LAYERS);
    if !costliest.is_empty() {
        let names: Vec<String> = costliest.iter().map(|l| l.name()).collect();
        let title = format!("costliest {} layers (online)", costliest.len());
        let width = names
            .iter()
            .map(|n| n.chars().count())
            .chain([title.chars().count()])
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "\n{}  {:>10}  {:>8}  {:>6}  dominant primitive",
            super::pad_to(&title, width),
            view.units.name(),
            "rounds",
            "share"
        );
        for (l, name) in costliest.iter().zip(&names) {
            let _ = writeln!(
                out,
                "{}  {:>10}  {:>8}  {:>6}  {}",
                super::pad_to(name, width),
                view.units.amount(l.cost.online_bits),
                rounds.fmt(l.cost.online_rounds),
                percent(l.cost.online_bits, p.total.online_bits),
                l.primitive
            );
        }
    }
    let _ = writeln!(
        out,
        "\nmore: --depth N / --top K / --full (the whole tree), --format layers (every layer)"
    );
    footnote(p, view, rounds, &mut out);
    out
}

fn tree_rows(tree: &AttributionNode, view: &View, rounds: Rounds, out: &mut String) {
    let mut rows: Vec<(String, Cost)> = Vec::new();
    collect_rows(tree, "", "", 0, view, &mut rows);
    let title = "where (online)";
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .chain([title.chars().count()])
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{}  {:>10}  {:>8}  {:>6}",
        super::pad_to(title, width),
        view.units.name(),
        "rounds",
        "share"
    );
    for (label, c) in rows {
        let _ = writeln!(
            out,
            "{}  {:>10}  {:>8}  {:>6}",
            super::pad_to(&label, width),
            view.units.amount(c.online_bits),
            rounds.fmt(c.online_rounds),
            percent(c.online_bits, tree.cost.online_bits)
        );
    }
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

/// The JSON document (schema in the README), serialised straight from the profile's structs.
/// Keys are written in alphabetical order.
#[derive(Serialize)]
struct ProfileJson<'a> {
    framework: &'a str,
    inputs: Vec<InputJson<'a>>,
    layers: Vec<LayerJson<'a>>,
    mode: &'a str,
    model: &'a str,
    network: NetworkJson<'a>,
    parties: usize,
    per_party_online_bits: &'a [f64],
    phases: Vec<PhaseJson>,
    refused: &'a [crate::cost::loadability::Refusal],
    total: TotalJson,
    tree: TreeJson<'a>,
    weights: &'a str,
}

#[derive(Serialize)]
struct InputJson<'a> {
    name: &'a str,
    shape: &'a [usize],
}

#[derive(Serialize)]
struct NetworkJson<'a> {
    bandwidth_bps: f64,
    name: &'a str,
    rtt_s: f64,
}

#[derive(Serialize)]
struct LayerJson<'a> {
    offline_bits: f64,
    offline_rounds: f64,
    online_bits: f64,
    online_rounds: f64,
    op: &'static str,
    path: &'a str,
}

#[derive(Serialize)]
struct PhaseJson {
    offline_bits: f64,
    offline_rounds: f64,
    online_bits: f64,
    online_rounds: f64,
    phase: &'static str,
}

#[derive(Serialize)]
struct TotalJson {
    critical_path_rounds: f64,
    offline_bits: f64,
    offline_rounds: f64,
    offline_seconds: f64,
    online_bits: f64,
    online_rounds: f64,
    online_seconds: f64,
    setup_bits: f64,
    setup_rounds: f64,
}

/// An attribution node: `children` (left out when empty), `cost`, `label`.
struct TreeJson<'a>(&'a AttributionNode);

/// A node's cost with the per-party bits.
#[derive(Serialize)]
struct TreeCostJson<'a> {
    offline_bits: f64,
    offline_rounds: f64,
    online_bits: f64,
    online_rounds: f64,
    party_online_bits: &'a [f64],
}

impl Serialize for TreeJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        let c = &n.cost;
        let fields = if n.children.is_empty() { 2 } else { 3 };
        let mut s = serializer.serialize_struct("AttributionNode", fields)?;
        if !n.children.is_empty() {
            s.serialize_field("children", &TreeChildren(&n.children))?;
        }
        s.serialize_field(
            "cost",
            &TreeCostJson {
                offline_bits: c.offline_bits,
                offline_rounds: c.offline_rounds,
                online_bits: c.online_bits,
                online_rounds: c.online_rounds,
                party_online_bits: &c.party_online_bits,
            },
        )?;
        s.serialize_field("label", &n.label)?;
        s.end()
    }
}

struct TreeChildren<'a>(&'a [AttributionNode]);

impl Serialize for TreeChildren<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(TreeJson))
    }
}

/// Writes the JSON rendering (schema in the README) to `out`: compact, or indented for people
/// when `pretty`. `out` should be buffered: the compact form is written in small pieces.
pub fn write_json(
    out: impl std::io::Write,
    p: &Profile,
    tree: &AttributionNode,
    view: &View,
    pretty: bool,
) -> std::io::Result<()> {
    let doc = document(p, tree, view);
    if pretty {
        serde_json::to_writer_pretty(out, &doc).map_err(std::io::Error::from)
    } else {
        write_compact(&mut JsonOut::new(out), &doc)
    }
}

/// The JSON document of a profile.
fn document<'a>(p: &'a Profile, tree: &'a AttributionNode, view: &'a View) -> ProfileJson<'a> {
    let t = &p.total;
    let layers = p
        .layer_costs()
        .into_iter()
        .map(|l| LayerJson {
            offline_bits: l.cost.offline_bits,
            offline_rounds: l.cost.offline_rounds,
            online_bits: l.cost.online_bits,
            online_rounds: l.cost.online_rounds,
            op: l.op,
            path: l.path,
        })
        .collect();
    let phases = p
        .phases()
        .into_iter()
        .map(|(ph, c)| PhaseJson {
            offline_bits: c.offline_bits,
            offline_rounds: c.offline_rounds,
            online_bits: c.online_bits,
            online_rounds: c.online_rounds,
            phase: ph.as_str(),
        })
        .collect();
    ProfileJson {
        framework: &p.framework,
        inputs: view
            .inputs
            .iter()
            .map(|(name, shape)| InputJson { name, shape })
            .collect(),
        layers,
        mode: &view.mode,
        model: &p.model,
        network: NetworkJson {
            bandwidth_bps: view.network.bandwidth_bps,
            name: view.network.name,
            rtt_s: view.network.rtt_s,
        },
        parties: p.parties,
        per_party_online_bits: &t.party_online_bits,
        phases,
        refused: &view.refused,
        total: TotalJson {
            critical_path_rounds: p.critical_path_rounds,
            offline_bits: t.offline_bits,
            offline_rounds: t.offline_rounds,
            offline_seconds: view.network.offline_seconds(t),
            online_bits: t.online_bits,
            online_rounds: t.online_rounds,
            online_seconds: view.network.online_seconds(t),
            setup_bits: p.setup.online_bits,
            setup_rounds: p.setup.online_rounds,
        },
        tree: TreeJson(tree),
        weights: &view.weights,
    }
}

/// The compact document, byte for byte what serde_json writes for [`ProfileJson`] (a test
/// checks): the layers and the tree, nearly all of a large model's output, are written with
/// their keys as fixed byte strings; the small parts go through serde.
fn write_compact<W: std::io::Write>(
    out: &mut JsonOut<W>,
    doc: &ProfileJson,
) -> std::io::Result<()> {
    out.raw(b"{\"framework\":")?;
    out.str(doc.framework)?;
    out.raw(b",\"inputs\":")?;
    out.value(&doc.inputs)?;
    out.raw(b",\"layers\":[")?;
    for (i, l) in doc.layers.iter().enumerate() {
        out.raw(if i == 0 { b"{" } else { b",{" })?;
        write_amounts(
            out,
            [
                l.offline_bits,
                l.offline_rounds,
                l.online_bits,
                l.online_rounds,
            ],
        )?;
        out.raw(b",\"op\":")?;
        out.str(l.op)?;
        out.raw(b",\"path\":")?;
        out.str(l.path)?;
        out.raw(b"}")?;
    }
    out.raw(b"],\"mode\":")?;
    out.str(doc.mode)?;
    out.raw(b",\"model\":")?;
    out.str(doc.model)?;
    out.raw(b",\"network\":")?;
    out.value(&doc.network)?;
    out.raw(b",\"parties\":")?;
    out.value(&doc.parties)?;
    out.raw(b",\"per_party_online_bits\":")?;
    out.value(doc.per_party_online_bits)?;
    out.raw(b",\"phases\":")?;
    out.value(&doc.phases)?;
    out.raw(b",\"refused\":")?;
    out.value(doc.refused)?;
    out.raw(b",\"total\":")?;
    out.value(&doc.total)?;
    out.raw(b",\"tree\":")?;
    write_tree(out, doc.tree.0)?;
    out.raw(b",\"weights\":")?;
    out.str(doc.weights)?;
    out.raw(b"}")
}

/// The four amounts of a cost, `offline_bits`, `offline_rounds`, `online_bits`,
/// `online_rounds`, as the first fields of a JSON object (in serde's sorted order).
fn write_amounts<W: std::io::Write>(
    out: &mut JsonOut<W>,
    amounts: [f64; 4],
) -> std::io::Result<()> {
    const KEYS: [&[u8]; 4] = [
        b"\"offline_bits\":",
        b",\"offline_rounds\":",
        b",\"online_bits\":",
        b",\"online_rounds\":",
    ];
    for (key, x) in KEYS.iter().zip(amounts) {
        out.raw(key)?;
        out.f64(x)?;
    }
    Ok(())
}

/// One attribution node as [`TreeJson`] serialises it.
fn write_tree<W: std::io::Write>(out: &mut JsonOut<W>, n: &AttributionNode) -> std::io::Result<()> {
    if n.children.is_empty() {
        out.raw(b"{\"cost\":")?;
    } else {
        out.raw(b"{\"children\":[")?;
        for (i, c) in n.children.iter().enumerate() {
            if i > 0 {
                out.raw(b",")?;
            }
            write_tree(out, c)?;
        }
        out.raw(b"],\"cost\":")?;
    }
    let c = &n.cost;
    out.raw(b"{")?;
    write_amounts(
        out,
        [
            c.offline_bits,
            c.offline_rounds,
            c.online_bits,
            c.online_rounds,
        ],
    )?;
    out.raw(b",\"party_online_bits\":[")?;
    for (i, &b) in c.party_online_bits.iter().enumerate() {
        if i > 0 {
            out.raw(b",")?;
        }
        out.f64(b)?;
    }
    out.raw(b"]},\"label\":")?;
    out.str(&n.label)?;
    out.raw(b"}")
}

/// The compact JSON rendering as a string.
pub fn json(p: &Profile, tree: &AttributionNode, view: &View) -> String {
    let mut out = Vec::new();
    write_json(&mut out, p, tree, view, false).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// CSV: one row per tree node (path joined with ` > `), depth-first, down to `view.depth`
/// levels; communication in `view.units`.
pub fn csv(tree: &AttributionNode, view: &View) -> String {
    let u = view.units.name();
    let mut out = format!("path,depth,online_{u},online_rounds,offline_{u},offline_rounds\n");
    fn walk<'a>(n: &'a AttributionNode, path: &mut Vec<&'a str>, view: &View, out: &mut String) {
        path.push(&n.label);
        let c = &n.cost;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            super::csv_field(&path.join(" > ")),
            path.len() - 1,
            view.units.count(c.online_bits),
            super::numbers::number(c.online_rounds),
            view.units.count(c.offline_bits),
            super::numbers::number(c.offline_rounds)
        );
        if view.depth.is_none_or(|d| path.len() <= d) {
            for ch in &n.children {
                walk(ch, path, view, out);
            }
        }
        path.pop();
    }
    walk(tree, &mut Vec::new(), view, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::loadability::Refusal;
    use crate::graph::Phase;
    use crate::profile::GroupBy;

    #[test]
    fn compact_json_is_what_serde_writes() {
        let graph = crate::zoo::build("lenet5", &Default::default())
            .unwrap()
            .unwrap();
        for framework in ["spu-semi2k", "crypten", "spu-aby3"] {
            let model = crate::cost::load_framework(framework, &[]).unwrap();
            let mut p = Profile::new(&graph, &model).unwrap();
            // two phases, a refusal and labels that need escapes, to reach every branch
            let half = p.nodes.len() / 2;
            p.nodes[half..]
                .iter_mut()
                .for_each(|n| n.phase = Phase::Backward);
            let mut tree = p.attribution(GroupBy::Module);
            tree.children[0].label = "quote \" and \\ and \t".into();
            let view = View {
                depth: None,
                top: None,
                network: "wan".parse().unwrap(),
                weights: "secret".to_string(),
                units: Units::Bytes,
                rounds_meaning: String::new(),
                inputs: vec![("x".to_string(), vec![1, 1, 28, 28])],
                mode: "inference".to_string(),
                refused: vec![Refusal {
                    op: "Gather".to_string(),
                    node: "/emb/Gather".to_string(),
                    module: "emb".to_string(),
                    reason: "a \"reason\"".to_string(),
                    closest: "one-hot".to_string(),
                }],
            };
            let expected = serde_json::to_string(&document(&p, &tree, &view)).unwrap();
            assert_eq!(json(&p, &tree, &view), expected, "{framework}");
            assert!(expected.contains(r#""phase":"backward""#), "{framework}");
        }
    }
}
