//! `hawkeye optimize` output: before/after totals, the changed layers (aligned by structure,
//! [`super::optimize_layers`]) and per-module costs, the rewrites in the
//! result with their module paths, and the search summary; as text or JSON.

use super::layers::LayerRow;
use super::optimize_layers;
use super::{bytes, percent, seconds};
use crate::cost::Cost;
use crate::graph::Graph;
use crate::optimize::verify::Comparison;
use crate::optimize::{Objective, Optimized, RuleClass, RuleSet};
use crate::profile::{Network, Profile};
use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
use serde_json::json;
use std::fmt::Write;

/// What the reader asked to see.
#[derive(Debug, Clone)]
pub struct View {
    /// Module path components to group costs by in the per-module table (`layer3.1.conv2` at
    /// depth 2 is `layer3.1`); `None`: the text shows only the by-layer table, and the JSON's
    /// per-module rows are at the deepest grouping that changes at most [`AUTO_ROWS`] modules.
    pub depth: Option<usize>,
    pub network: Network,
    /// Weight visibility assumed (for the header).
    pub weights: String,
    /// Module paths listed per rule in the text rendering.
    pub places: usize,
}

/// Rows of the per-module table when the depth is chosen automatically, and of the by-layer
/// table in the text.
pub const AUTO_ROWS: usize = 24;

/// Module prefix of a path at a depth (`(top)` for the top level).
fn prefix(path: &str, depth: usize) -> String {
    if path.is_empty() {
        return "(top)".to_string();
    }
    path.split('.')
        .take(depth.max(1))
        .collect::<Vec<_>>()
        .join(".")
}

/// Online bits per module prefix, before and after, in execution order.
fn by_module(before: &Profile, after: &Profile, depth: usize) -> Vec<(String, f64, f64)> {
    let mut rows: Vec<(String, f64, f64)> = Vec::new();
    let mut add = |path: &str, bits: f64, after_side: bool| {
        let p = prefix(path, depth);
        let i = match rows.iter().position(|r| r.0 == p) {
            Some(i) => i,
            None => {
                rows.push((p, 0.0, 0.0));
                rows.len() - 1
            }
        };
        if after_side {
            rows[i].2 += bits;
        } else {
            rows[i].1 += bits;
        }
    };
    for l in before.layers() {
        add(&l.path, l.cost.online_bits, false);
    }
    for l in after.layers() {
        add(&l.path, l.cost.online_bits, true);
    }
    rows
}

/// The deepest module depth at which at most [`AUTO_ROWS`] modules change (at least 1).
fn auto_depth(o: &Optimized) -> usize {
    let deepest = o
        .before
        .layers()
        .iter()
        .chain(o.after.layers().iter())
        .map(|l| l.path.split('.').count())
        .max()
        .unwrap_or(1);
    (1..=deepest)
        .rev()
        .find(|&d| {
            by_module(&o.before, &o.after, d)
                .iter()
                .filter(|r| r.1 != r.2)
                .count()
                <= AUTO_ROWS
        })
        .unwrap_or(1)
}

/// Rewrites grouped by rule: (rule, class, node count, module paths in order).
fn by_rule(o: &Optimized, rules: &RuleSet) -> Vec<(String, Option<RuleClass>, usize, Vec<String>)> {
    let mut out: Vec<(String, Option<RuleClass>, usize, Vec<String>)> = Vec::new();
    for r in &o.rewrites {
        let i = match out.iter().position(|g| g.0 == r.rule) {
            Some(i) => i,
            None => {
                out.push((
                    r.rule.clone(),
                    rules.info(&r.rule).map(|i| i.class),
                    0,
                    Vec::new(),
                ));
                out.len() - 1
            }
        };
        out[i].2 += 1;
        let m = if r.module.is_empty() {
            "(top)".to_string()
        } else {
            r.module.clone()
        };
        if !out[i].3.contains(&m) {
            out[i].3.push(m);
        }
    }
    out
}

fn change(before: f64, after: f64) -> String {
    if before == after {
        "=".to_string()
    } else if before > 0.0 {
        format!("{:+.1}%", 100.0 * (after - before) / before)
    } else {
        format!("+{}", bytes(after))
    }
}

fn totals_row(t: &mut Table, what: &str, before: String, after: String, delta: String) {
    t.add_row(vec![what.to_string(), before, after, delta]);
}

/// A difference in the units of the outputs (`0`, `3.1e-15`, `0.0213`).
fn magnitude(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if !v.is_finite() || v.abs() < 1e-3 || v.abs() >= 1e4 {
        format!("{v:.2e}")
    } else {
        format!("{v:.4}")
    }
}

/// What the check ran on: `2 random inputs and 1 given input, with stored weights`.
fn inputs(c: &Comparison) -> String {
    let count = |n: usize, what: &str| match n {
        0 => None,
        1 => Some(format!("1 {what} input")),
        n => Some(format!("{n} {what} inputs")),
    };
    let samples: Vec<String> = [count(c.samples, "random"), count(c.given, "given")]
        .into_iter()
        .flatten()
        .collect();
    let mut text = if samples.is_empty() {
        "no inputs".to_string()
    } else {
        samples.join(" and ")
    };
    let _ = write!(text, ", with {}", c.weights);
    if c.computed_weights > 0 {
        let _ = write!(
            text,
            " ({} computed by the rewrites, stored as float32)",
            c.computed_weights
        );
    }
    text
}

/// The line(s) on how the result was checked against the input with the interpreter: the
/// exact check's outcome, or the approximation's output error next to the communication
/// saved. Empty without a check.
pub fn check_text(o: &Optimized, check: Option<&Comparison>) -> String {
    let mut out = String::new();
    if o.unchanged {
        if check.is_some() {
            let _ = writeln!(out, "check: the input came back unchanged");
        }
        return out;
    }
    let Some(c) = check else { return out };
    let worst = c
        .outputs
        .iter()
        .max_by(|a, b| a.max_abs.total_cmp(&b.max_abs));
    let skipped = if c.undefined > 0 {
        format!(
            "; {} output sample(s) skipped, not finite in the input",
            c.undefined
        )
    } else {
        String::new()
    };
    match c.tolerance {
        Some(t) if c.agrees => {
            let _ = writeln!(
                out,
                "check: the result computes the input's outputs on {} ({}): max |difference| {}, tolerance {t:e} (1 + |output|){skipped}",
                inputs(c),
                c.arithmetic,
                magnitude(c.max_abs())
            );
        }
        Some(t) => {
            let _ = writeln!(
                out,
                "check FAILED: the result differs from the input on {} ({}): max |difference| {}{} (tolerance {t:e} (1 + |output|){skipped}); a rule or the optimizer is wrong",
                inputs(c),
                c.arithmetic,
                magnitude(c.max_abs()),
                worst
                    .map(|w| format!(" at output '{}' (largest |output| {})", w.output, magnitude(w.reference_max_abs)))
                    .unwrap_or_default()
            );
        }
        None => {
            let (b, a) = (o.before.total.online_bits, o.after.total.online_bits);
            let scale = c.reference_max_abs();
            let _ = writeln!(
                out,
                "trade-off: {} online communication ({} -> {}) for an output error of max {}{}, mean {}",
                change(b, a),
                bytes(b),
                bytes(a),
                magnitude(c.max_abs()),
                match c.max_abs() / scale {
                    r if scale <= 0.0 || !r.is_finite() => String::new(),
                    r if r < 10.0 => format!(
                        " ({:.1}% of the largest |output|, {})",
                        100.0 * r,
                        magnitude(scale)
                    ),
                    r => format!(
                        " ({r:.1e} times the largest |output|, {}: the result overflows or diverges)",
                        magnitude(scale)
                    ),
                },
                magnitude(c.mean_abs()),
            );
            let _ = writeln!(
                out,
                "  input and result run on {} in {}{}{skipped}",
                inputs(c),
                c.arithmetic,
                if c.default_arithmetic {
                    " (the framework does not set both ring and frac; defaults 64 and 16)"
                } else {
                    ""
                }
            );
            if !c.agrees {
                let _ = writeln!(
                    out,
                    "warning: the result is not finite where the input is (overflow or a value outside a function's domain)"
                );
            }
        }
    }
    out
}

/// Approximations grouped by rule: (rule, ops, node count, module paths in order).
/// The first `shown` module paths, and how many more there are.
fn first_places(modules: &[String], shown: usize) -> String {
    let mut places = modules[..modules.len().min(shown)].join(", ");
    if modules.len() > shown {
        let _ = write!(places, " ... and {} more", modules.len() - shown);
    }
    places
}

fn approximations_by_rule(o: &Optimized) -> Vec<(String, Vec<String>, usize, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>, usize, Vec<String>)> = Vec::new();
    for a in &o.approximations {
        let i = match out.iter().position(|g| g.0 == a.rule) {
            Some(i) => i,
            None => {
                out.push((a.rule.clone(), Vec::new(), 0, Vec::new()));
                out.len() - 1
            }
        };
        let g = &mut out[i];
        g.2 += 1;
        if !g.1.contains(&a.op) {
            g.1.push(a.op.clone());
        }
        let m = if a.module.is_empty() {
            "(top)".to_string()
        } else {
            a.module.clone()
        };
        if !g.3.contains(&m) {
            g.3.push(m);
        }
    }
    out
}

/// The table of approximated nodes by the approximate rule at their origin (also when exact
/// rules rewrote them afterwards), with the rule's rationale; empty without any.
fn approximations_text(o: &Optimized, rules: &RuleSet, view: &View) -> String {
    let groups = approximations_by_rule(o);
    if groups.is_empty() {
        return String::new();
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["approximate rule", "nodes", "computed as", "where", "why"]);
    for (rule, ops, n, modules) in &groups {
        let places = first_places(modules, view.places);
        t.add_row(vec![
            rule.clone(),
            n.to_string(),
            ops.join(", "),
            places,
            rules.info(rule).map(|i| i.why.clone()).unwrap_or_default(),
        ]);
    }
    format!(
        "\napproximations in the result ({} node(s) whose value may differ from the input's; full list with --format json):\n{t}\nwarning: the model's function changed (retrain or distil before use)\n",
        o.approximations.len()
    )
}

/// The by-layer table: the layers the optimizer changed, aligned by structure (see
/// [`optimize_layers`]); empty when none changed.
fn layers_text(input: &Graph, o: &Optimized) -> String {
    let changes = optimize_layers::changes(input, o);
    if changes.is_empty() {
        return String::new();
    }
    let shown = optimize_layers::shown(&changes, AUTO_ROWS);
    let total = o.before.total.online_bits;
    let name = |r: &Option<LayerRow>| r.as_ref().map_or("-".to_string(), LayerRow::name);
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "layer before",
        "layer after",
        "online before",
        "after",
        "change",
        "share before",
        "what",
    ]);
    for c in &shown {
        let (bb, aa) = c.online_bits();
        t.add_row(vec![
            name(&c.before),
            name(&c.after),
            bytes(bb),
            bytes(aa),
            change(bb, aa),
            percent(bb, total),
            c.what(),
        ]);
    }
    for i in 2..6 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut text = format!(
        "\nby layer (aligned by structure; {} layer(s) changed):\n{t}\n",
        changes.len()
    );
    if shown.len() < changes.len() {
        let _ = writeln!(
            text,
            "({} of {} shown: the largest changes; all with --format json)",
            shown.len(),
            changes.len()
        );
    }
    text
}

/// The per-module table at a module depth (`--depth`): online communication by module prefix.
fn modules_text(o: &Optimized, depth: usize) -> String {
    let rows = by_module(&o.before, &o.after, depth);
    let changed: Vec<&(String, f64, f64)> = rows.iter().filter(|r| r.1 != r.2).collect();
    if changed.is_empty() {
        return String::new();
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["module", "online before", "after", "change", "share before"]);
    for (m, bb, aa) in &changed {
        t.add_row(vec![
            m.clone(),
            bytes(*bb),
            bytes(*aa),
            change(*bb, *aa),
            percent(*bb, o.before.total.online_bits),
        ]);
    }
    for i in 1..5 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    format!(
        "\nby module (depth {}, {} of {} changed):\n{t}\n",
        depth,
        changed.len(),
        rows.len()
    )
}

/// The human rendering; `check` is the result run against the input (see [`check_text`]).
pub fn text(
    o: &Optimized,
    input: &Graph,
    rules: &RuleSet,
    view: &View,
    check: Option<&Comparison>,
) -> String {
    let mut out = String::new();
    let (b, a) = (&o.before.total, &o.after.total);
    let net = &view.network;
    let _ = writeln!(
        out,
        "{} under {} (weights {}, objective {})",
        o.before.model, o.before.framework, view.weights, o.objective
    );
    if o.unchanged {
        let note = o.extraction.note.as_deref().unwrap_or("input kept");
        let _ = writeln!(out, "  no cheaper equivalent graph: {note}");
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["", "before", "after", "change"]);
    let time = |c: &Cost| net.online_seconds(c);
    totals_row(
        &mut t,
        "online",
        bytes(b.online_bits),
        bytes(a.online_bits),
        change(b.online_bits, a.online_bits),
    );
    totals_row(
        &mut t,
        "online rounds",
        format!("{}", b.online_rounds),
        format!("{}", a.online_rounds),
        change(b.online_rounds, a.online_rounds),
    );
    totals_row(
        &mut t,
        "offline",
        bytes(b.offline_bits),
        bytes(a.offline_bits),
        change(b.offline_bits, a.offline_bits),
    );
    totals_row(
        &mut t,
        &format!("online time ({})", net.name),
        seconds(time(b)),
        seconds(time(a)),
        change(time(b), time(a)),
    );
    let objective = |v: f64| match o.objective {
        Objective::Time(_) => seconds(v),
        Objective::OnlineBits | Objective::TotalBits => bytes(v),
        Objective::Rounds => format!("{v}"),
    };
    totals_row(
        &mut t,
        &format!("objective: {}", o.objective.name()),
        objective(o.before_cost),
        objective(o.after_cost),
        change(o.before_cost, o.after_cost),
    );
    for i in 1..4 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let _ = writeln!(out, "{t}");
    out.push_str(&check_text(o, check));

    out.push_str(&layers_text(input, o));
    if let Some(depth) = view.depth {
        out.push_str(&modules_text(o, depth));
    }

    let groups = by_rule(o, rules);
    if !groups.is_empty() {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header(["rewrite", "class", "nodes", "where"]);
        for (rule, class, n, modules) in &groups {
            let places = first_places(modules, view.places);
            t.add_row(vec![
                rule.clone(),
                class.map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
                n.to_string(),
                places,
            ]);
        }
        let _ = writeln!(
            out,
            "\nrewrites in the result (nodes rules made; full list with --format json):\n{t}"
        );
    }
    out.push_str(&approximations_text(o, rules, view));

    let s = &o.saturation;
    let _ = writeln!(
        out,
        "\nsearch: {} iterations, {} e-nodes, {} e-classes, stopped: {} ({})",
        s.iterations,
        s.enodes,
        s.eclasses,
        s.stop,
        seconds(s.seconds)
    );
    let fired: Vec<String> = s
        .fired
        .iter()
        .take(8)
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    if !fired.is_empty() {
        let more = s.fired.len().saturating_sub(8);
        let _ = writeln!(
            out,
            "  rules fired: {}{}",
            fired.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        );
    }
    let e = &o.extraction;
    let _ = write!(
        out,
        "  extraction: {}, {} work units ({})",
        e.method,
        e.work,
        seconds(e.seconds)
    );
    if let Some(ilp) = &e.ilp {
        let _ = write!(
            out,
            "; ILP {} variables, {} constraints, {} solve(s), {} cycle cut(s), {}{}",
            ilp.variables,
            ilp.constraints,
            ilp.solves,
            ilp.cycle_cuts,
            if ilp.optimal {
                "optimal"
            } else {
                "not proven optimal within --ilp-seconds (a wall-clock limit: the result may differ between runs)"
            },
            if ilp.improved {
                ", improved on greedy"
            } else {
                ""
            }
        );
    }
    out.push('\n');
    if let (Some(note), false) = (&e.note, o.unchanged) {
        let _ = writeln!(out, "  note: {note}");
    }
    out
}

/// The JSON rendering: totals, per-module rows, every rewritten node, the search summary, and
/// the check of the result against the input (`null` without one).
pub fn json(
    o: &Optimized,
    input: &Graph,
    rules: &RuleSet,
    view: &View,
    check: Option<&Comparison>,
) -> serde_json::Value {
    let depth = view.depth.unwrap_or_else(|| auto_depth(o));
    let rows: Vec<serde_json::Value> = by_module(&o.before, &o.after, depth)
        .into_iter()
        .map(|(m, b, a)| json!({ "module": m, "online_bits_before": b, "online_bits_after": a }))
        .collect();
    let rewrites: Vec<serde_json::Value> = o
        .rewrites
        .iter()
        .map(|r| {
            json!({
                "node": r.node,
                "op": r.op,
                "module": r.module,
                "rule": r.rule,
                "class": rules.info(&r.rule).map(|i| i.class.to_string()),
            })
        })
        .collect();
    json!({
        "model": o.before.model,
        "framework": o.before.framework,
        "weights": view.weights,
        "objective": o.objective.name(),
        "objective_before": o.before_cost,
        "objective_after": o.after_cost,
        "unchanged": o.unchanged,
        "before": o.before.total,
        "after": o.after.total,
        "modules": rows,
        "layers": optimize_layers::json(&optimize_layers::changes(input, o)),
        "rewrites": rewrites,
        "approximations": o.approximations.iter().map(|a| json!({
            "rule": a.rule,
            "why": rules.info(&a.rule).map(|i| i.why.clone()),
            "module": a.module,
            "op": a.op,
        })).collect::<Vec<_>>(),
        "search": o.saturation,
        "extraction": o.extraction,
        "check": check,
    })
}
