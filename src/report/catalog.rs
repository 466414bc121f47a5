//! `hawkeye models`, `hawkeye frameworks` and `hawkeye rules`: what the tool knows.

use crate::cost::CostModel;
use crate::graph::shape_string;
use crate::optimize::RuleSet;
use crate::zoo::{ZooModel, ZooOptions};
use comfy_table::{
    presets::UTF8_FULL_CONDENSED, ColumnConstraint, ContentArrangement, Table, Width,
};
use serde_json::{json, Value};

/// Width the catalog tables are wrapped to.
const TABLE_WIDTH: u16 = 100;

/// One zoo model at default options.
struct ModelFacts {
    name: &'static str,
    params: Result<(u64, u128, String), String>,
    knobs: &'static str,
    description: &'static str,
}

fn facts(m: &ZooModel) -> ModelFacts {
    let params = (m.build)(&ZooOptions::default())
        .map(|g| {
            let input = g
                .node_ids()
                .find(|&id| matches!(g.node(id).op, crate::graph::Op::Input))
                .map(|id| shape_string(&g.node(id).value.shape))
                .unwrap_or_default();
            (g.parameter_count(), g.mac_count(), input)
        })
        .map_err(|e| e.to_string());
    ModelFacts {
        name: m.name,
        params,
        knobs: m.knobs,
        description: m.description,
    }
}

fn narrow_table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_width(TABLE_WIDTH);
    t.set_header(header.to_vec());
    if let Some(name) = t.column_mut(0) {
        name.set_constraint(ColumnConstraint::ContentWidth);
    }
    t
}

/// The zoo at default options: name, parameters, MACs, input shape, knobs, description.
pub fn models(models: &[ZooModel]) -> String {
    let mut t = narrow_table(&["model", "params", "MACs", "input", "knobs", "description"]);
    for f in models.iter().map(facts) {
        let (params, macs, input) = match f.params {
            Ok((p, m, i)) => (group_digits(p), group_digits(m), i),
            Err(e) => (format!("error: {e}"), String::new(), String::new()),
        };
        t.add_row([
            f.name.to_string(),
            params,
            macs,
            input,
            f.knobs.to_string(),
            f.description.to_string(),
        ]);
    }
    format!("{t}\n")
}

/// The zoo as JSON: one object per model at default options.
pub fn models_json(models: &[ZooModel]) -> String {
    let items: Vec<Value> = models
        .iter()
        .map(facts)
        .map(|f| {
            let mut v = json!({
                "name": f.name,
                "knobs": f.knobs,
                "description": f.description,
            });
            match f.params {
                Ok((params, macs, input)) => {
                    v["parameters"] = json!(params);
                    v["macs"] = json!(macs);
                    v["input_shape"] = json!(input);
                }
                Err(e) => v["error"] = json!(e),
            }
            v
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("serialisable") + "\n"
}

/// Frameworks, one line each: name, aliases, parties, default weights, description
/// (`hawkeye frameworks NAME` has the rest).
pub fn frameworks(models: &[CostModel]) -> String {
    let mut t = narrow_table(&["framework", "aliases", "parties", "weights", "description"]);
    if let Some(aliases) = t.column_mut(1) {
        aliases.set_constraint(ColumnConstraint::UpperBoundary(Width::Fixed(16)));
    }
    for m in models {
        t.add_row([
            m.framework.name.clone(),
            m.framework.aliases.join(", "),
            m.parties().to_string(),
            m.framework.default_weights.to_string(),
            m.framework.description.clone(),
        ]);
    }
    format!("{t}\nDetails of one (parameters, rounds, provenance): hawkeye frameworks NAME\n")
}

/// Everything about one framework, one field per paragraph.
pub fn framework(m: &CostModel) -> String {
    let f = &m.framework;
    let params = m
        .params
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let fields = [
        ("framework", f.name.clone()),
        ("aliases", f.aliases.join(", ")),
        ("description", f.description.clone()),
        ("parties", m.parties().to_string()),
        ("weights", format!("{} by default", f.default_weights)),
        (
            "parameters",
            format!("{params} (change with --set NAME=VALUE)"),
        ),
        ("a round is", f.rounds.clone()),
        ("provenance", f.provenance.clone()),
        ("file", m.file.clone()),
    ];
    let mut out = String::new();
    for (name, value) in fields {
        out.push_str(&format!("{name:<12} {}\n", wrap(&value, 86, 13)));
    }
    out
}

/// Frameworks as JSON, every field of `framework`.
pub fn frameworks_json(models: &[CostModel]) -> String {
    let items: Vec<Value> = models
        .iter()
        .map(|m| {
            let f = &m.framework;
            let params: serde_json::Map<String, Value> = m
                .params
                .iter()
                .map(|(n, v)| (n.clone(), json!(v)))
                .collect();
            json!({
                "name": f.name,
                "aliases": f.aliases,
                "description": f.description,
                "parties": m.parties(),
                "default_weights": f.default_weights.to_string(),
                "parameters": params,
                "rounds": f.rounds,
                "provenance": f.provenance,
                "file": m.file,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("serialisable") + "\n"
}

/// `text` wrapped at `width` columns, continuation lines indented by `indent`.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines.join(&format!("\n{:indent$}", ""))
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

/// One rule as `hawkeye rules` lists it.
#[derive(serde::Serialize)]
pub struct ListedRule<'a> {
    name: &'a str,
    class: String,
    /// `lhs -> rhs`; a `both` rule is listed twice, its reverse as `rhs -> lhs (NAME~rev)`.
    direction: &'static str,
    multi: bool,
    file: &'a str,
    line: usize,
    why: &'a str,
}

/// Every rule of `set` as listed, in order.
pub fn rules_listed(set: &RuleSet) -> Vec<ListedRule<'_>> {
    set.rules
        .iter()
        .enumerate()
        .map(|(i, r)| ListedRule {
            name: &r.name,
            class: r.class.to_string(),
            direction: if r.name.ends_with("~rev") {
                "rhs -> lhs"
            } else if set.def(i).both {
                "lhs -> rhs (both)"
            } else {
                "lhs -> rhs"
            },
            multi: r.multi,
            file: &r.file,
            line: r.line,
            why: &r.why,
        })
        .collect()
}

/// The rules as JSON (pretty-printed, with a final newline).
pub fn rules_json(set: &RuleSet) -> String {
    let listed = rules_listed(set);
    format!(
        "{}\n",
        serde_json::to_string_pretty(&listed).expect("rule listings serialise")
    )
}

/// The rules as a table: name, class, direction, why; and the count of each class.
pub fn rules_table(set: &RuleSet) -> String {
    let listed = &rules_listed(set);
    let width = |f: &dyn Fn(&ListedRule) -> usize, head: &str| {
        listed.iter().map(f).chain([head.len()]).max().unwrap_or(0)
    };
    let (n, c, d) = (
        width(&|l| l.name.chars().count(), "rule"),
        width(&|l| l.class.len(), "class"),
        width(&|l| l.direction.len(), "direction"),
    );
    let mut s = format!("{:n$}  {:c$}  {:d$}  why\n", "rule", "class", "direction");
    for l in listed {
        s += &format!(
            "{:n$}  {:c$}  {:d$}  {}\n",
            l.name, l.class, l.direction, l.why
        );
    }
    let approx = listed.iter().filter(|l| l.class == "approx").count();
    s += &format!(
        "{} rules: {} exact, {approx} approximate (only with --allow-approx)\n",
        listed.len(),
        listed.len() - approx
    );
    s
}
