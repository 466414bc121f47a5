//! `hawkeye compare`: one row per framework, as a table, JSON or CSV.

use super::numbers::{number, Rounds, Units};
use super::{csv_field, percent, seconds};
use crate::profile::{Network, Profile};
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde_json::{json, Value};
use std::fmt::Write;

/// A comparison row: the framework's profile, or why it could not cost the model.
pub type CompareRow = (String, Result<Profile, String>);

/// The module instance with the most online communication: `layer3.1.conv2 conv2d (12.3%)`.
fn bottleneck(p: &Profile) -> Option<(String, &'static str, f64)> {
    p.layers()
        .into_iter()
        .max_by(|a, b| a.cost.online_bits.total_cmp(&b.cost.online_bits))
        .filter(|l| l.cost.online_bits > 0.0)
        .map(|l| {
            let path = if l.path.is_empty() {
                "(top)".to_string()
            } else {
                l.path
            };
            (path, l.op, l.cost.online_bits / p.total.online_bits)
        })
}

/// Why a framework could not cost the model: its first reason in full, and how many more.
fn reason(e: &str) -> String {
    let mut lines = e.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("unknown reason").trim().to_string();
    match lines.count() {
        0 => first,
        n => format!("{first} (and {n} more)"),
    }
}

/// The table: online and offline communication and rounds apart, the network time on each of
/// `networks`, and the top bottleneck module (or the reason the framework cannot cost it).
pub fn table(rows: &[CompareRow], networks: &[Network], units: Units) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    // wrapped to the terminal's width on one, whole lines in a pipe
    t.set_content_arrangement(ContentArrangement::Dynamic);
    let mut header: Vec<String> = ["framework", "online", "offline", "rounds on", "rounds off"]
        .map(String::from)
        .to_vec();
    header.extend(networks.iter().map(|n| format!("time {}", n.name)));
    header.push("top bottleneck (online)".into());
    t.set_header(header);
    let mut footnote = None;
    let mut reasons: Vec<String> = Vec::new();
    for (name, result) in rows {
        let mut row = vec![name.clone()];
        match result {
            Ok(p) => {
                let c = &p.total;
                let rounds = Rounds::of([c.online_rounds, c.offline_rounds]);
                if rounds.fractional {
                    footnote = Some(
                        "rounds with a decimal are per-party means (see `hawkeye frameworks NAME`)",
                    );
                }
                row.extend([
                    units.amount(c.online_bits),
                    units.amount(c.offline_bits),
                    rounds.fmt(c.online_rounds),
                    rounds.fmt(c.offline_rounds),
                ]);
                row.extend(
                    networks
                        .iter()
                        .map(|n| seconds(n.online_seconds(c) + n.offline_seconds(c))),
                );
                row.push(
                    bottleneck(p)
                        .map(|(path, op, share)| format!("{path} {op} ({})", percent(share, 1.0)))
                        .unwrap_or_default(),
                );
            }
            Err(e) => {
                row.extend(std::iter::repeat_n("-".to_string(), 4 + networks.len()));
                reasons.push(format!("[{}] {name}: {}", reasons.len() + 1, reason(e)));
                row.push(format!("cannot cost it [{}]", reasons.len()));
            }
        }
        t.add_row(row);
    }
    let mut out = format!("{t}\n");
    for r in &reasons {
        let _ = writeln!(out, "{r}");
    }
    if let Some(note) = footnote {
        let _ = writeln!(out, "{note}");
    }
    out
}

/// JSON: one object per framework (communication in bits, as `profile --format json`).
pub fn json(rows: &[CompareRow], networks: &[Network]) -> String {
    let items: Vec<Value> = rows
        .iter()
        .map(|(name, result)| match result {
            Ok(p) => {
                let c = &p.total;
                let times: Vec<Value> = networks
                    .iter()
                    .map(|n| {
                        json!({
                            "network": n,
                            "online_seconds": n.online_seconds(c),
                            "offline_seconds": n.offline_seconds(c),
                        })
                    })
                    .collect();
                json!({
                    "framework": name,
                    "online_bits": c.online_bits,
                    "offline_bits": c.offline_bits,
                    "online_rounds": c.online_rounds,
                    "offline_rounds": c.offline_rounds,
                    "times": times,
                    "bottleneck": bottleneck(p).map(|(path, op, share)| json!({
                        "path": path, "op": op, "online_share": share
                    })),
                })
            }
            Err(e) => json!({"framework": name, "error": e}),
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("serialisable") + "\n"
}

/// CSV: one row per framework; an empty `error` when it could cost the model.
pub fn csv(rows: &[CompareRow], networks: &[Network], units: Units) -> String {
    let u = units.name();
    let mut out = format!("framework,online_{u},offline_{u},online_rounds,offline_rounds");
    for n in networks {
        let _ = write!(out, ",seconds_{}", n.name);
    }
    out.push_str(",bottleneck,bottleneck_share,error\n");
    for (name, result) in rows {
        out.push_str(&csv_field(name));
        match result {
            Ok(p) => {
                let c = &p.total;
                let _ = write!(
                    out,
                    ",{},{},{},{}",
                    units.count(c.online_bits),
                    units.count(c.offline_bits),
                    number(c.online_rounds),
                    number(c.offline_rounds)
                );
                for n in networks {
                    let _ = write!(out, ",{:.6}", n.online_seconds(c) + n.offline_seconds(c));
                }
                match bottleneck(p) {
                    Some((path, _, share)) => {
                        let _ = writeln!(out, ",{},{share:.4},", csv_field(&path));
                    }
                    None => out.push_str(",,,\n"),
                }
            }
            Err(e) => {
                out.push_str(&",".repeat(4 + networks.len() + 2));
                let _ = writeln!(out, ",{}", csv_field(&reason(e)));
            }
        }
    }
    out
}
