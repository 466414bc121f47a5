//! `hawkeye profile` output: a human tree with units and shares, JSON (schema in the README)
//! and CSV.

use super::{bytes, percent, seconds};
use crate::profile::{AttributionNode, Network, Profile};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write;

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

/// The human rendering, written to `out`: totals, then the attribution tree.
pub fn write_text(
    out: &mut impl Write,
    p: &Profile,
    tree: &AttributionNode,
    view: &View,
) -> std::io::Result<()> {
    out.write_all(summary(p, view).as_bytes())?;
    out.write_all(b"\n")?;
    let rows = TreeRows {
        view,
        total: tree.cost.online_bits,
    };
    let width = rows.width(tree, 0);
    let header = "where (online)";
    out.write_all(header.as_bytes())?;
    pad(out, width.saturating_sub(header.chars().count()))?;
    writeln!(out, "  {:>10}  {:>7}  {:>6}", "bytes", "rounds", "share")?;
    rows.write(out, tree, &mut String::new(), "", 0, width)
}

/// Writes `spaces` spaces (a format width cannot exceed 65,535 and a label, a full module path,
/// can).
fn pad(out: &mut impl Write, mut spaces: usize) -> std::io::Result<()> {
    const SPACES: &[u8; 64] = &[b' '; 64];
    while spaces > 0 {
        let n = spaces.min(SPACES.len());
        out.write_all(&SPACES[..n])?;
        spaces -= n;
    }
    Ok(())
}

/// The rows of the tree a view shows, written straight to the output: a first walk measures
/// the label column, a second writes the rows.
struct TreeRows<'a> {
    view: &'a View,
    /// Online bits of the root (100%).
    total: f64,
}

impl TreeRows<'_> {
    /// How many children of `node` (at `depth`) are shown, and how many are summed up as
    /// `(N more)`.
    fn shown(&self, node: &AttributionNode, depth: usize) -> (usize, usize) {
        if self.view.depth.is_some_and(|d| depth >= d) {
            return (0, 0);
        }
        let shown = self.view.top.unwrap_or(usize::MAX).min(node.children.len());
        (shown, node.children.len() - shown)
    }

    /// The widest label (in characters, indentation included) shown at or below `node`; each
    /// level indents by 3 characters.
    fn width(&self, node: &AttributionNode, depth: usize) -> usize {
        let mut width = 3 * depth + node.label.chars().count();
        let (shown, hidden) = self.shown(node, depth);
        for c in &node.children[..shown] {
            width = width.max(self.width(c, depth + 1));
        }
        if hidden > 0 {
            width = width.max(3 * (depth + 1) + format!("({hidden} more)").len());
        }
        width
    }

    fn write(
        &self,
        out: &mut impl Write,
        node: &AttributionNode,
        prefix: &mut String,
        branch: &str,
        depth: usize,
        width: usize,
    ) -> std::io::Result<()> {
        let label = format!("{prefix}{branch}{}", node.label);
        self.row(
            out,
            &label,
            width - 3 * depth - node.label.chars().count(),
            node.cost.online_bits,
            node.cost.online_rounds,
        )?;
        let (shown, hidden) = self.shown(node, depth);
        if shown + hidden == 0 {
            return Ok(());
        }
        let restore = prefix.len();
        match branch {
            "├─ " => prefix.push_str("│  "),
            "└─ " => prefix.push_str("   "),
            _ => {}
        }
        for (i, c) in node.children[..shown].iter().enumerate() {
            let last = i + 1 == shown && hidden == 0;
            let branch = if last { "└─ " } else { "├─ " };
            self.write(out, c, prefix, branch, depth + 1, width)?;
        }
        if hidden > 0 {
            let (mut bits, mut rounds) = (0.0, 0.0);
            for c in &node.children[shown..] {
                bits += c.cost.online_bits;
                rounds += c.cost.online_rounds;
            }
            let label = format!("{prefix}└─ ({hidden} more)");
            let used = 3 * (depth + 1) + format!("({hidden} more)").len();
            self.row(out, &label, width - used, bits, rounds)?;
        }
        prefix.truncate(restore);
        Ok(())
    }

    fn row(
        &self,
        out: &mut impl Write,
        label: &str,
        padding: usize,
        bits: f64,
        rounds: f64,
    ) -> std::io::Result<()> {
        out.write_all(label.as_bytes())?;
        pad(out, padding)?;
        writeln!(
            out,
            "  {:>10}  {:>7}  {:>6}",
            bytes(bits),
            rounds,
            percent(bits, self.total)
        )
    }
}

/// The JSON document (schema in the README), serialised straight from the profile's structs.
/// Keys are written in alphabetical order.
#[derive(Serialize)]
struct ProfileJson<'a> {
    framework: &'a str,
    layers: Vec<LayerJson>,
    model: &'a str,
    network: NetworkJson<'a>,
    parties: usize,
    per_party_online_bits: &'a [f64],
    phases: Vec<PhaseJson>,
    total: TotalJson,
    tree: TreeJson<'a>,
    weights: &'a str,
}

#[derive(Serialize)]
struct NetworkJson<'a> {
    bandwidth_bps: f64,
    name: &'a str,
    rtt_s: f64,
}

#[derive(Serialize)]
struct LayerJson {
    offline_bits: f64,
    offline_rounds: f64,
    online_bits: f64,
    online_rounds: f64,
    op: &'static str,
    path: String,
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
/// when `pretty`.
pub fn write_json(
    out: impl std::io::Write,
    p: &Profile,
    tree: &AttributionNode,
    view: &View,
    pretty: bool,
) -> serde_json::Result<()> {
    let t = &p.total;
    let layers = p
        .layers()
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
    let doc = ProfileJson {
        framework: &p.framework,
        layers,
        model: &p.model,
        network: NetworkJson {
            bandwidth_bps: view.network.bandwidth_bps,
            name: view.network.name,
            rtt_s: view.network.rtt_s,
        },
        parties: p.parties,
        per_party_online_bits: &t.party_online_bits,
        phases,
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
    };
    if pretty {
        serde_json::to_writer_pretty(out, &doc)
    } else {
        serde_json::to_writer(out, &doc)
    }
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
