//! Saturation: runs the rules over the e-graph within node, iteration and time limits, with
//! multi-pattern rules confined to the first iterations (they multiply the e-graph, as Tensat
//! found), and reports what happened.

use super::analysis::{EGraph, TensorAnalysis};
use super::language::TensorNode;
use egg::{BackoffScheduler, Rewrite, RewriteScheduler, Runner, SearchMatches, StopReason, Symbol};
use std::collections::HashSet;
use std::time::Duration;

/// Limits of saturation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Limits {
    /// Stop when the e-graph holds more e-nodes than this (checked after each rule's batch).
    pub nodes: usize,
    pub iterations: usize,
    /// Saturation time; the extractor's sharing pass may take half as long again.
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
            time: Duration::from_secs(5),
            multi_iterations: 2,
            match_limit: 2_000,
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
        Some(StopReason::TimeLimit(s)) => (format!("time limit ({s:.1} s)"), true),
        Some(StopReason::Other(s)) => (s.clone(), true),
        None => ("not run".to_string(), false),
    };
    let seconds = runner.iterations.iter().map(|i| i.total_time).sum();
    let saturation = Saturation {
        iterations: runner.iterations.len(),
        enodes: runner.egraph.total_number_of_nodes(),
        eclasses: runner.egraph.number_of_classes(),
        fired,
        stop,
        hit_limit,
        seconds,
    };
    (runner.egraph, saturation)
}
