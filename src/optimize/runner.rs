//! Saturation: runs the rules over the e-graph within counted limits (e-nodes, iterations,
//! matches per rule), with multi-pattern rules confined to the first iterations (they multiply
//! the e-graph, as Tensat found), and reports what happened.
//!
//! Every limit that shapes the result is a count of work, so the same command on the same
//! input gives the same e-graph on a loaded or an idle machine. The wall-clock limit is only a
//! safety net: when it fires, the summary says so, and that the result may differ between
//! runs.

use super::analysis::{EGraph, TensorAnalysis};
use super::language::TensorNode;
use egg::{BackoffScheduler, Rewrite, RewriteScheduler, Runner, SearchMatches, StopReason, Symbol};
use std::collections::HashSet;
use std::time::Duration;

/// Limits of saturation and extraction.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Limits {
    /// Stop when the e-graph holds more e-nodes than this (checked after each rule's batch).
    pub nodes: usize,
    pub iterations: usize,
    /// Work units the greedy extractor may spend (e-node evaluations, set-merge steps and
    /// e-class visits); past it, its sharing pass stops and the summary says so.
    pub extraction_work: u64,
    /// Wall-clock safety net over saturation and extraction together; the count limits
    /// above normally stop first. When it fires the result depends on machine load.
    #[serde(with = "seconds")]
    pub time: Duration,
    /// Multi-pattern rules run in the first this-many iterations only.
    pub multi_iterations: usize,
    /// Matches a rule may have in one iteration before it is banned for a while (egg's
    /// backoff scheduler).
    pub match_limit: usize,
}

mod seconds {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

impl Default for Limits {
    /// Limits that keep ResNet-50 and BERT-base within a few seconds.
    fn default() -> Limits {
        Limits {
            nodes: 50_000,
            iterations: 12,
            extraction_work: 50_000_000,
            time: Duration::from_secs(120),
            multi_iterations: 2,
            match_limit: 2_000,
        }
    }
}

impl Limits {
    /// The default limits for a graph of `nodes` nodes: the e-node limit grows with the graph
    /// (eight e-nodes per graph node, at least the default: a graph whose every layer is a
    /// sibling merge saturates at about 4.2), and so does the number of matches
    /// a rule may have in one iteration before the scheduler bans it (one per graph node), so
    /// that a large graph is rewritten throughout rather than stopped as soon as it is loaded.
    pub fn for_graph(nodes: usize) -> Limits {
        let default = Limits::default();
        Limits {
            nodes: default.nodes.max(nodes.saturating_mul(8)),
            match_limit: default.match_limit.max(nodes),
            ..default
        }
    }
}

/// The state of saturation at the start of an iteration, for progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub iteration: usize,
    pub enodes: usize,
    pub eclasses: usize,
    pub seconds: f64,
}

/// A progress callback.
pub type ProgressFn = Box<dyn FnMut(&Progress)>;

/// What saturation did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Saturation {
    pub iterations: usize,
    pub enodes: usize,
    pub eclasses: usize,
    /// Times each rule changed the e-graph, most first.
    pub fired: Vec<(String, usize)>,
    /// Why it stopped: saturated, or which limit.
    pub stop: String,
    /// Whether the stop was a limit (not saturation).
    pub hit_limit: bool,
    /// Whether the wall-clock safety net stopped it (the result may differ between runs).
    pub wall_clock: bool,
    pub seconds: f64,
}

/// egg's backoff scheduler, with multi-pattern rules switched off after some iterations.
struct PhasedScheduler {
    inner: BackoffScheduler,
    multi: HashSet<Symbol>,
    multi_iterations: usize,
}

impl RewriteScheduler<TensorNode, TensorAnalysis> for PhasedScheduler {
    fn can_stop(&mut self, iteration: usize) -> bool {
        RewriteScheduler::<TensorNode, TensorAnalysis>::can_stop(&mut self.inner, iteration)
    }

    fn search_rewrite<'a>(
        &mut self,
        iteration: usize,
        egraph: &EGraph,
        rewrite: &'a Rewrite<TensorNode, TensorAnalysis>,
    ) -> Vec<SearchMatches<'a, TensorNode>> {
        if iteration >= self.multi_iterations && self.multi.contains(&rewrite.name) {
            return Vec::new();
        }
        self.inner.search_rewrite(iteration, egraph, rewrite)
    }
}

/// Saturates `egraph` with `rules`; `multi` names the multi-pattern rules.
pub fn saturate(
    egraph: EGraph,
    rules: &[&Rewrite<TensorNode, TensorAnalysis>],
    multi: HashSet<Symbol>,
    limits: &Limits,
    progress: Option<ProgressFn>,
) -> (EGraph, Saturation) {
    let scheduler = PhasedScheduler {
        inner: BackoffScheduler::default().with_initial_match_limit(limits.match_limit),
        multi,
        multi_iterations: limits.multi_iterations,
    };
    let mut runner: Runner<TensorNode, TensorAnalysis> = Runner::default()
        .with_egraph(egraph)
        .with_node_limit(limits.nodes)
        .with_iter_limit(limits.iterations)
        .with_time_limit(limits.time)
        .with_scheduler(scheduler);
    if let Some(mut report) = progress {
        let start = std::time::Instant::now();
        runner = runner.with_hook(move |r| {
            report(&Progress {
                iteration: r.iterations.len(),
                enodes: r.egraph.total_number_of_nodes(),
                eclasses: r.egraph.number_of_classes(),
                seconds: start.elapsed().as_secs_f64(),
            });
            Ok(())
        });
    }
    let runner = runner.run(rules.iter().copied());
    let mut fired: Vec<(String, usize)> = Vec::new();
    for it in &runner.iterations {
        for (name, &n) in &it.applied {
            match fired.iter_mut().find(|(r, _)| r == name.as_str()) {
                Some((_, total)) => *total += n,
                None => fired.push((name.to_string(), n)),
            }
        }
    }
    fired.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (stop, hit_limit) = match &runner.stop_reason {
        Some(StopReason::Saturated) => ("saturated".to_string(), false),
        Some(StopReason::IterationLimit(n)) => (format!("iteration limit ({n})"), true),
        Some(StopReason::NodeLimit(n)) => (format!("e-node limit ({n} e-nodes)"), true),
        Some(StopReason::TimeLimit(s)) => (
            format!(
                "TIME LIMIT, the wall-clock safety net ({s:.1} s of {:.1} s): the result depends on machine load and may differ between runs; lower --node-limit or --iter-limit, or raise --time-limit",
                limits.time.as_secs_f64()
            ),
            true,
        ),
        Some(StopReason::Other(s)) => (s.clone(), true),
        None => ("not run".to_string(), false),
    };
    let wall_clock = matches!(runner.stop_reason, Some(StopReason::TimeLimit(_)));
    let seconds = runner.iterations.iter().map(|i| i.total_time).sum();
    let saturation = Saturation {
        iterations: runner.iterations.len(),
        enodes: runner.egraph.total_number_of_nodes(),
        eclasses: runner.egraph.number_of_classes(),
        fired,
        stop,
        hit_limit,
        wall_clock,
        seconds,
    };
    (runner.egraph, saturation)
}
