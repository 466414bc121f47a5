//! The by-layer table of `hawkeye optimize`: the layers (module instances, with their PyTorch
//! type) of the input and of the result aligned by structure, as `hawkeye diff` aligns two
//! models ([`super::diff::align_by`]), and what happened to each: a folded batch norm is
//! `removed` and the convolution it went into `changed`, layers that rules merged are
//! `merged`, new layers `added`.

use super::diff::{align_by, pair_stretch, Pair};
use super::layers::{rows, LayerRow};
use crate::graph::Graph;
use crate::optimize::Optimized;
use serde::Serialize;
use similar::Algorithm;
use std::fmt;

/// Layers (input and result together) up to which they are aligned by a text diff; larger
/// graphs are paired by module path in order.
const DIFF_ROWS: usize = 20_000;

/// What the optimizer did to a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// In the input only (folded into another layer, moved, or made redundant).
    Removed,
    /// In the result only.
    Added,
    /// In both, with another type, cost, or nodes that rules made.
    Changed,
    /// Made by a rule that merges layers (`merge-*`): its work is shared with other layers.
    Merged,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Change::Removed => "removed",
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Merged => "merged",
        })
    }
}

/// One layer the optimizer touched: as it was, as it is, and the rules that made its nodes.
#[derive(Debug, Clone)]
pub struct LayerChange {
    pub before: Option<LayerRow>,
    pub after: Option<LayerRow>,
    pub change: Change,
    /// Rules that made nodes of the layer in the result, in order of first use.
    pub rules: Vec<String>,
}

impl LayerChange {
    /// Online bits before and after.
    pub fn online_bits(&self) -> (f64, f64) {
        let bits = |r: &Option<LayerRow>| r.as_ref().map_or(0.0, |r| r.cost.online_bits);
        (bits(&self.before), bits(&self.after))
    }

    /// `changed: fold-batchnorm-conv`, `removed`.
    pub fn what(&self) -> String {
        if self.rules.is_empty() {
            self.change.to_string()
        } else {
            format!("{}: {}", self.change, self.rules.join(", "))
        }
    }
}

/// Whether a rule merges layers (its name says so: `merge-sibling-matmuls`, `merge-linears`).
fn merges(rule: &str) -> bool {
    rule.starts_with("merge-")
}

/// The layers of `input` (the graph `o.before` profiles) and of the result that differ, in
/// execution order. Layers are aligned by their sequence of (module path, type), diffed like
/// text (module paths are unique per layer, so with Patience); in a stretch that differs, a
/// layer is paired with the result's layer of the same module path. Above [`DIFF_ROWS`] layers,
/// layers are paired by module path in order only.
pub fn changes(input: &Graph, o: &Optimized) -> Vec<LayerChange> {
    let before = rows(input, &o.before);
    let after = rows(&o.graph, &o.after);
    let pairs = if before.len() + after.len() <= DIFF_ROWS {
        align_by(
            &before,
            &after,
            Algorithm::Patience,
            |r| (r.path.clone(), r.kind.clone()),
            |r| r.path.clone(),
        )
    } else {
        // The diff's unmatched stretches cost quadratic time (a graph whose every layer was
        // merged is one stretch): pair by module path in order, in linear time.
        let mut pairs = Vec::new();
        pair_stretch(&before, &after, &|r: &LayerRow| r.path.clone(), &mut pairs);
        pairs
    };
    pairs
        .iter()
        .filter_map(|p| change(o, p))
        .collect::<Vec<_>>()
}

fn change(o: &Optimized, p: &Pair) -> Option<LayerChange> {
    let mut rules: Vec<String> = Vec::new();
    if let Some(b) = p.b {
        for r in &o.rewrites {
            let module = if r.module.is_empty() {
                "(top)"
            } else {
                &r.module
            };
            if module == b.path && !rules.contains(&r.rule) {
                rules.push(r.rule.clone());
            }
        }
    }
    let change = match (p.a, p.b) {
        (Some(_), None) => Change::Removed,
        (None, Some(_)) if rules.iter().any(|r| merges(r)) => Change::Merged,
        (None, Some(_)) => Change::Added,
        (Some(_), Some(_)) if rules.iter().any(|r| merges(r)) => Change::Merged,
        (Some(a), Some(b))
            if a.kind != b.kind
                || a.cost.online_bits != b.cost.online_bits
                || a.cost.online_rounds != b.cost.online_rounds
                || a.cost.offline_bits != b.cost.offline_bits
                || !rules.is_empty() =>
        {
            Change::Changed
        }
        _ => return None,
    };
    Some(LayerChange {
        before: p.a.cloned(),
        after: p.b.cloned(),
        change,
        rules,
    })
}

/// The rows to print when at most `limit` fit: the largest changes of online communication
/// (ties in execution order), kept in execution order.
pub fn shown(changes: &[LayerChange], limit: usize) -> Vec<&LayerChange> {
    if changes.len() <= limit {
        return changes.iter().collect();
    }
    let mut order: Vec<(usize, f64)> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (b, a) = c.online_bits();
            (i, (a - b).abs())
        })
        .collect();
    order.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    let mut keep: Vec<usize> = order.into_iter().take(limit).map(|(i, _)| i).collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| &changes[i]).collect()
}

/// The JSON rows: every changed layer.
pub fn json(changes: &[LayerChange]) -> Vec<serde_json::Value> {
    let side = |r: &Option<LayerRow>| {
        r.as_ref().map(|r| {
            serde_json::json!({
                "layer": r.path,
                "type": r.kind,
                "output_shape": r.output,
                "online_bits": r.cost.online_bits,
                "online_rounds": r.cost.online_rounds,
            })
        })
    };
    changes
        .iter()
        .map(|c| {
            serde_json::json!({
                "change": c.change,
                "before": side(&c.before),
                "after": side(&c.after),
                "rules": c.rules,
            })
        })
        .collect()
}
