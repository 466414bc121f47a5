//! The cheapest result within an output-error budget (`--allow-approx --max-error E`), with
//! approximations chosen per place.
//!
//! 1. The exact result: the graph optimized with the exact rules only (never worse than
//!    without `--allow-approx`), and its own error (fixed-point rounding only).
//! 2. The sites: every approximate rule at every module where its left-hand side matches the
//!    input graph (within `--modules`), in (rule, module) order. A node outside any module
//!    (ONNX files without module paths) is its own place, named by the node: it is given its
//!    name as module path for the search, and the result gets its empty path back. When there are more than
//!    [`BudgetOptions::max_sites`], modules are grouped by their path prefix, one level at a
//!    time (`layer1.0.relu` becomes `layer1.0`, then `layer1`, then the whole model), until
//!    they fit: a grouped site applies its rule everywhere under the prefix.
//! 3. Each site alone: the graph optimized with the exact rules plus that rule at that site;
//!    its saving is the objective's drop from the exact result (also shown as online bytes and
//!    rounds), its error the measured output error ([`Reference::error`]).
//! 4. Greedily, by saving per unit of error (sites without error first; ties in site order):
//!    a site over the budget alone is rejected; otherwise the graph with the accepted sites and
//!    this one is optimized and measured, since errors compound; the site is accepted when the
//!    combined error is within the budget and the combination is cheaper than the accepted
//!    sites alone, else rejected with that cumulative error.
//! 5. An accepted site the final result does not use (a cheaper form of the same place was
//!    accepted after it) is reported as superseded, not accepted.
//!
//! Work is bounded by counts: at most `1 + 2 * max_sites` optimizations, each measured with
//! one interpreter run per check input. Everything is in a fixed order and the random inputs
//! have fixed seeds, so the outcome is deterministic.

use super::error_metric::{Metric, Reference};
use super::places::{Places, Site};
use super::{convert, optimize, OptimizeError, Optimized, Options, RuleClass, RuleSet};
use crate::cost::CostModel;
use crate::graph::Graph;
use crate::interpret::{Bindings, InterpretError};
use crate::profile::Profile;
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// Sites measured at most (more are grouped by module prefix).
pub const DEFAULT_MAX_SITES: usize = 32;

/// Why a site accepted within the budget is not in the result.
pub const SUPERSEDED: &str =
    "accepted, then superseded: a site accepted after it does the same place more cheaply, and the result does not use it";

/// Relative tolerance of "cheaper".
const TOLERANCE: f64 = 1e-9;

/// Why the budgeted search failed.
#[derive(Debug, Error)]
pub enum BudgetError {
    #[error("{0}")]
    Optimize(#[from] OptimizeError),
    #[error("measuring the output error: {0}")]
    Measure(#[from] InterpretError),
}

/// What the search may do.
#[derive(Debug, Clone)]
pub struct BudgetOptions {
    /// The largest error accepted, in `metric`'s units.
    pub max_error: f64,
    pub metric: Metric,
    /// Random check inputs (seeds 0, 1, ...), besides the given ones.
    pub samples: usize,
    pub max_sites: usize,
}

/// A graph the search looked at: its objective value, online bytes and rounds, and error.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Point {
    pub objective: f64,
    pub online_bytes: f64,
    pub online_rounds: f64,
    pub error: f64,
}

/// What happened to one site.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Decision {
    pub rule: String,
    /// The module (prefix) where the rule was allowed; empty for the whole model.
    pub place: String,
    pub accepted: bool,
    /// Saving of the site alone against the exact result.
    pub saving_objective: f64,
    pub saving_bytes: f64,
    pub saving_rounds: f64,
    /// The error of the site alone (`None`: not measured, the site saves nothing).
    pub error_alone: Option<f64>,
    /// The error with the sites accepted before and this one (`None`: not combined).
    pub error_cumulative: Option<f64>,
    pub reason: String,
}

/// The search, for the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BudgetReport {
    pub max_error: f64,
    pub metric: Metric,
    /// Check inputs the errors were measured on.
    pub check_inputs: usize,
    pub sites_found: usize,
    /// Module path depth the sites were grouped at (`None`: one site per module).
    pub grouped_at_depth: Option<usize>,
    pub exact: Point,
    pub result: Point,
    pub decisions: Vec<Decision>,
    /// Optimizations run.
    pub optimizations: usize,
}

/// The cheapest graph found whose error is within the budget, and how it was found.
pub struct Budgeted {
    pub optimized: Optimized,
    pub report: BudgetReport,
}

/// Runs the search (see the module documentation). `rules` are the selected rules, `places`
/// the `--modules` restriction; `options.allow_approx` is ignored (set per step).
#[allow(clippy::too_many_arguments)]
pub fn search(
    graph: &Graph,
    model: &CostModel,
    rules: &RuleSet,
    places: &Places,
    options: &Options,
    budget: &BudgetOptions,
    given: &[Bindings],
) -> Result<Budgeted, BudgetError> {
    let reference = Reference::new(graph, model, budget.samples, given)?;
    let input = graph;
    let (relabeled, own_places) = node_places(graph);
    let graph = &relabeled;
    let mut optimizations = 0;
    // The graph optimized with the exact rules and `sites`, and its point; its error is
    // measured only when its objective is below `measure_below` (a graph that saves nothing
    // is rejected whatever its error, and the fixed-point run is most of a site's work).
    let mut run =
        |sites: &BTreeSet<Site>, measure_below: f64| -> Result<(Optimized, Point), BudgetError> {
            optimizations += 1;
            let restricted = rules.restricted(&places.at_sites(sites.clone()));
            let opts = Options {
                allow_approx: !sites.is_empty(),
                ..*options
            };
            let out = optimize(graph, model, &restricted, &opts, None)?;
            let error = if out.after_cost < measure_below {
                reference.error(&out.graph, budget.metric)?
            } else {
                f64::NAN
            };
            let point = Point {
                objective: out.after_cost,
                online_bytes: out.after.total.online_bits / 8.0,
                online_rounds: out.after.total.online_rounds,
                error,
            };
            Ok((out, point))
        };

    let (exact_out, exact) = run(&BTreeSet::new(), f64::INFINITY)?;
    let cheaper = |objective: f64| objective * (1.0 - TOLERANCE);
    let found = sites(graph, rules, places);
    let sites_found = found.len();
    let (candidates, grouped_at_depth) = group(&found, budget.max_sites);

    // Each site alone.
    let mut alone = Vec::new();
    let mut decisions = Vec::new();
    for site in candidates {
        let (out, p) = run(&BTreeSet::from([site.clone()]), cheaper(exact.objective))?;
        let mut d = Decision {
            rule: site.rule.clone(),
            place: site.module.clone(),
            accepted: false,
            saving_objective: exact.objective - p.objective,
            saving_bytes: exact.online_bytes - p.online_bytes,
            saving_rounds: exact.online_rounds - p.online_rounds,
            error_alone: (!p.error.is_nan()).then_some(p.error),
            error_cumulative: None,
            reason: String::new(),
        };
        if p.objective >= cheaper(exact.objective) {
            d.reason = "saves nothing over the exact result (error not measured)".into();
            decisions.push(d);
        } else if p.error > budget.max_error {
            d.reason = "over the budget alone".into();
            decisions.push(d);
        } else {
            alone.push((site, d, out, p));
        }
    }

    // Greedily by saving per unit of error.
    let ratio = |d: &Decision| match d.error_alone {
        Some(e) if e > 0.0 => d.saving_objective / e,
        _ => f64::INFINITY,
    };
    alone.sort_by(|a, b| ratio(&b.1).total_cmp(&ratio(&a.1)));
    let mut accepted: BTreeSet<Site> = BTreeSet::new();
    let (mut best_out, mut best) = (exact_out, exact);
    for (site, mut d, out, p) in alone {
        let (out, p) = if accepted.is_empty() {
            (out, p)
        } else {
            let mut with = accepted.clone();
            with.insert(site.clone());
            run(&with, cheaper(best.objective))?
        };
        if p.objective >= cheaper(best.objective) {
            d.reason = "saves nothing over the sites accepted before".into();
        } else if p.error > budget.max_error {
            d.error_cumulative = Some(p.error);
            d.reason = "over the budget combined with the sites accepted before".into();
        } else {
            d.error_cumulative = Some(p.error);
            d.accepted = true;
            d.reason = "within the budget".into();
            accepted.insert(site);
            best_out = out;
            best = p;
        }
        decisions.push(d);
    }
    // Two forms of one place (PUMA's and Bumblebee's softmax) can both be accepted, the later
    // one cheaper: the extractor then keeps only that one, and the earlier is not in the result.
    for d in decisions.iter_mut().filter(|d| d.accepted) {
        let site = Site {
            rule: d.rule.clone(),
            module: d.place.clone(),
        };
        let used = best_out
            .approximations
            .iter()
            .any(|a| a.rule == site.rule && site.covers(&a.module));
        if !used {
            d.accepted = false;
            d.reason = SUPERSEDED.into();
        }
    }
    decisions.sort_by(|a, b| {
        b.accepted
            .cmp(&a.accepted)
            .then(a.rule.cmp(&b.rule))
            .then(a.place.cmp(&b.place))
    });
    Ok(Budgeted {
        optimized: restore(best_out, input, model, &own_places)?,
        report: BudgetReport {
            max_error: budget.max_error,
            metric: budget.metric,
            check_inputs: reference.runs(),
            sites_found,
            grouped_at_depth,
            exact,
            result: best,
            decisions,
            optimizations,
        },
    })
}

/// `graph` with every op node outside any module moved into a module named like the node
/// (unless a module of that name exists), and the names so given.
fn node_places(graph: &Graph) -> (Graph, BTreeSet<String>) {
    let modules: BTreeSet<&str> = graph
        .node_ids()
        .map(|id| graph.node(id).module.as_str())
        .collect();
    let mut out = graph.clone();
    let mut given = BTreeSet::new();
    for id in graph.node_ids() {
        let n = graph.node(id);
        if n.module.is_empty() && !n.op.is_source() && !modules.contains(n.name.as_str()) {
            out.set_module(id, n.name.clone());
            given.insert(n.name.clone());
        }
    }
    (out, given)
}

/// `out` (found on the graph of [`node_places`]) with the module paths `given` emptied again,
/// and profiled against `input`.
fn restore(
    mut out: Optimized,
    input: &Graph,
    model: &CostModel,
    given: &BTreeSet<String>,
) -> Result<Optimized, OptimizeError> {
    if given.is_empty() {
        return Ok(out);
    }
    let ids: Vec<_> = out.graph.node_ids().collect();
    for id in ids {
        if given.contains(&out.graph.node(id).module) {
            out.graph.set_module(id, "");
        }
    }
    for m in out
        .rewrites
        .iter_mut()
        .map(|r| &mut r.module)
        .chain(out.approximations.iter_mut().map(|a| &mut a.module))
    {
        if given.contains(m.as_str()) {
            m.clear();
        }
    }
    out.before = Profile::new(input, model)?;
    out.after = Profile::new(&out.graph, model)?;
    Ok(out)
}

/// Every approximate rule at every module where it matches `graph` (within `places`).
pub fn sites(graph: &Graph, rules: &RuleSet, places: &Places) -> BTreeSet<Site> {
    let loaded = convert::load(graph);
    let mut out = BTreeSet::new();
    for (i, info) in rules.rules.iter().enumerate() {
        if info.class != RuleClass::Approx {
            continue;
        }
        for (class, planned) in rules.plan_matches(i, &loaded.egraph) {
            if !matches!(planned, Ok(Some(_))) {
                continue;
            }
            let module = loaded.egraph[class]
                .data
                .home
                .map_or("", |h| h.module.as_str())
                .to_string();
            if places.module_allowed(&module) {
                out.insert(Site {
                    rule: info.name.clone(),
                    module,
                });
            }
        }
    }
    out
}

/// The sites, grouped by module prefix until at most `max` remain: the sites and the depth
/// they were grouped at (`None` when they fit as they are).
pub fn group(sites: &BTreeSet<Site>, max: usize) -> (Vec<Site>, Option<usize>) {
    if sites.len() <= max {
        return (sites.iter().cloned().collect(), None);
    }
    let deepest = sites
        .iter()
        .map(|s| s.module.split('.').count())
        .max()
        .unwrap_or(0);
    for depth in (0..deepest).rev() {
        let grouped: BTreeSet<Site> = sites
            .iter()
            .map(|s| Site {
                rule: s.rule.clone(),
                module: prefix(&s.module, depth),
            })
            .collect();
        if grouped.len() <= max || depth == 0 {
            return (grouped.into_iter().collect(), Some(depth));
        }
    }
    (sites.iter().cloned().collect(), None)
}

/// The first `depth` segments of a module path.
fn prefix(module: &str, depth: usize) -> String {
    module.split('.').take(depth).collect::<Vec<_>>().join(".")
}

/// The report as text: the budget, the exact result, every site's decision, the result.
pub fn text(r: &BudgetReport) -> String {
    use crate::report::{bytes, numbers::Rounds};
    let rounds = Rounds::of(
        [r.exact.online_rounds, r.result.online_rounds]
            .into_iter()
            .chain(r.decisions.iter().map(|d| d.saving_rounds)),
    );
    let mut s = format!(
        "error budget: {} error <= {} on {} check input(s); {} approximation site(s) found{}, {} optimizations\n",
        r.metric.name(),
        r.max_error,
        r.check_inputs,
        r.sites_found,
        match r.grouped_at_depth {
            Some(0) => ", grouped per rule over the whole model".to_string(),
            Some(d) => format!(", grouped by module path prefix of depth {d}"),
            None => String::new(),
        },
        r.optimizations
    );
    s += &format!(
        "  exact rules only: {} online, {} rounds, error {:.3e}\n",
        bytes(r.exact.online_bytes * 8.0),
        rounds.fmt(r.exact.online_rounds),
        r.exact.error
    );
    let rows: Vec<[String; 7]> = r
        .decisions
        .iter()
        .map(|d| {
            [
                if d.accepted {
                    "accepted"
                } else if d.reason == SUPERSEDED {
                    "superseded"
                } else {
                    "rejected"
                }
                .to_string(),
                d.rule.clone(),
                if d.place.is_empty() {
                    "(whole model)".to_string()
                } else {
                    d.place.clone()
                },
                bytes(d.saving_bytes * 8.0),
                rounds.fmt(d.saving_rounds),
                d.error_alone
                    .map_or("-".to_string(), |e| format!("{e:.3e}")),
                d.error_cumulative
                    .map_or("-".to_string(), |e| format!("{e:.3e}")),
            ]
        })
        .collect();
    let head = [
        "",
        "rule",
        "place",
        "saving",
        "rounds",
        "error alone",
        "cumulative",
    ];
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut l = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if i >= 3 {
                l += &format!(" {}{c}", " ".repeat(pad));
            } else {
                l += &format!(" {c}{}", " ".repeat(pad));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    s += &line(&head.map(String::from));
    for (row, d) in rows.iter().zip(&r.decisions) {
        s += &line(row);
        if !d.accepted {
            s += &format!("    ({})\n", d.reason);
        }
    }
    let accepted: BTreeMap<&str, usize> =
        r.decisions
            .iter()
            .filter(|d| d.accepted)
            .fold(BTreeMap::new(), |mut m, d| {
                *m.entry(d.rule.as_str()).or_default() += 1;
                m
            });
    s += &format!(
        "  result: {} online, {} rounds, error {:.3e} ({} site(s) accepted)\n",
        bytes(r.result.online_bytes * 8.0),
        rounds.fmt(r.result.online_rounds),
        r.result.error,
        accepted.values().sum::<usize>()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(rule: &str, module: &str) -> Site {
        Site {
            rule: rule.into(),
            module: module.into(),
        }
    }

    #[test]
    fn sites_are_grouped_by_prefix_until_they_fit() {
        let all: BTreeSet<Site> = [
            site("a", "layer1.0.relu"),
            site("a", "layer1.1.relu"),
            site("a", "layer2.0.relu"),
            site("b", "layer2.0.relu"),
        ]
        .into();
        assert_eq!(group(&all, 4), (all.iter().cloned().collect(), None));
        assert_eq!(
            group(&all, 3),
            (
                vec![
                    site("a", "layer1"),
                    site("a", "layer2"),
                    site("b", "layer2")
                ],
                Some(1)
            )
        );
        assert_eq!(
            group(&all, 1),
            (vec![site("a", ""), site("b", "")], Some(0))
        );
    }
}
