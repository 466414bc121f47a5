//! One `optimize` as a user asks for it, shared by the command line and the Python package:
//! the search (exact rules, or approximations chosen per place within an error budget,
//! [`super::budget`]), the check of the result against the input (random inputs and the
//! user's own), and the verdict on whether the result may be written.

use super::budget::{self, BudgetError, BudgetOptions, BudgetReport};
use super::error_budget::ErrorBudget;
use super::error_metric::Metric;
use super::places::Places;
use super::spelling::Spelling;
use super::verify::{self, Comparison};
use super::{optimize, OptimizeError, Optimized, Options, ProgressFn, RuleSet};
use crate::cost::CostModel;
use crate::graph::Graph;
use crate::interpret::Bindings;

/// What to optimize and how.
pub struct Request<'a> {
    pub graph: &'a Graph,
    pub model: &'a CostModel,
    /// The selected rules (`--rules-only`, `--exclude-rules` already applied).
    pub rules: &'a RuleSet,
    /// Where rewrites may apply (`--modules`).
    pub places: &'a Places,
    pub options: Options,
    /// The error budget of approximations (`None` without `--allow-approx`).
    pub budget: Option<ErrorBudget>,
    pub metric: Metric,
    /// Random check inputs (seeds 0, 1, ...).
    pub samples: usize,
    /// Approximation sites measured at most by the budgeted search.
    pub max_sites: usize,
    /// The user's check inputs (`--inputs`).
    pub given: &'a [Bindings],
    /// The option names of the front end's messages.
    pub spelling: Spelling,
}

/// The approximation options of a run, checked together: the error budget (`--allow-approx`,
/// `--max-error`, `--force`) and the metric it is measured in (`--error-metric`, which applies
/// to approximate results only). Errors are in `spelling`'s option names.
pub fn approximation_options(
    allow_approx: bool,
    max_error: Option<f64>,
    force: bool,
    metric: &str,
    spelling: Spelling,
) -> Result<(Option<ErrorBudget>, Metric), String> {
    let budget = ErrorBudget::new(allow_approx, max_error, force, spelling)?;
    let parsed = Metric::parse(metric, spelling)?;
    if !allow_approx && parsed != Metric::Relative {
        let approx = spelling.flag("allow-approx");
        return Err(format!(
            "{} applies to {approx} results only; add {approx} or drop {}",
            spelling.text("error-metric", metric),
            spelling.name("error-metric")
        ));
    }
    Ok((budget, parsed))
}

/// A stage of the run, for the caller's progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stage {
    /// The budgeted search measures approximations (can take minutes).
    Budget,
    /// The result runs against the input on `runs` inputs, in fixed point for approximations.
    Check { runs: usize, fixed_point: bool },
    /// A stage ended.
    Done,
}

/// What the caller shows while the run goes on: progress bars on a terminal, nothing in a
/// library call.
pub trait Watch {
    /// A callback fed by saturation with e-node counts, for a run of `node_limit` e-nodes.
    fn saturation(&mut self, node_limit: usize) -> Option<ProgressFn>;
    fn stage(&mut self, stage: Stage);
}

/// Shows nothing.
pub struct Quiet;

impl Watch for Quiet {
    fn saturation(&mut self, _: usize) -> Option<ProgressFn> {
        None
    }
    fn stage(&mut self, _: Stage) {}
}

/// A finished run.
pub struct Session {
    pub out: Optimized,
    /// The budgeted search's decisions (with an error budget, unless forced).
    pub budgeted: Option<BudgetReport>,
    /// The check of the result against the input, when it ran.
    pub check: Option<Comparison>,
    /// Why the check was skipped although asked for (the interpreter cannot run the model).
    pub check_skipped: Option<String>,
    /// Whether the result may be written: `Ok(None)`, `Ok(Some(warning))` when it is written
    /// with a warning, `Err(why)` when nothing may be written (a check that ran and failed).
    pub verdict: Result<Option<String>, String>,
}

/// Why a run could not finish.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    Request(String),
    #[error("{0}")]
    Search(#[from] OptimizeError),
    #[error("{0}")]
    Budget(#[from] BudgetError),
}

/// Runs the search, the check and the verdict.
pub fn run(req: &Request, watch: &mut dyn Watch) -> Result<Session, SessionError> {
    let allow_approx = req.options.allow_approx;
    let (out, budgeted) = match &req.budget {
        Some(b) if !b.force => {
            if req.samples + req.given.len() == 0 {
                let sp = req.spelling;
                return Err(SessionError::Request(format!(
                    "{} measures each approximation's output error on the check inputs, and {} without {} leaves none: give {} or {}, or {} to take every approximation unmeasured",
                    sp.flag("allow-approx"),
                    sp.value("samples", 0),
                    sp.name("inputs"),
                    sp.value("samples", "N"),
                    sp.value("inputs", "FILE"),
                    sp.flag("force"),
                )));
            }
            watch.stage(Stage::Budget);
            let found = budget::search(
                req.graph,
                req.model,
                req.rules,
                req.places,
                &req.options,
                &BudgetOptions {
                    max_error: b.max_relative,
                    metric: req.metric,
                    samples: req.samples,
                    max_sites: req.max_sites,
                },
                req.given,
            );
            watch.stage(Stage::Done);
            let found = found?;
            (found.optimized, Some(found.report))
        }
        _ => {
            let progress = watch.saturation(req.options.limits.nodes);
            let rules = req.rules.restricted(req.places);
            let out = optimize(req.graph, req.model, &rules, &req.options, progress);
            watch.stage(Stage::Done);
            (out?, None)
        }
    };
    let runs = req.samples + req.given.len();
    let (check, check_skipped) = if runs == 0 || out.unchanged {
        (None, None)
    } else {
        watch.stage(Stage::Check {
            runs,
            fixed_point: allow_approx,
        });
        let checked = if allow_approx {
            verify::approximation_error(req.graph, &out.graph, req.model, req.samples, 0, req.given)
        } else {
            verify::check_exact(req.graph, &out.graph, req.samples, 0, req.given)
        };
        watch.stage(Stage::Done);
        match checked {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e.to_string())),
        }
    };
    let verdict = verdict(req, &out, budgeted.as_ref(), check.as_ref());
    Ok(Session {
        out,
        budgeted,
        check,
        check_skipped,
        verdict,
    })
}

/// Whether the result may be written (see [`Session::verdict`]).
fn verdict(
    req: &Request,
    out: &Optimized,
    budgeted: Option<&BudgetReport>,
    check: Option<&Comparison>,
) -> Result<Option<String>, String> {
    if check.is_some_and(|c| !c.agrees && c.tolerance.is_some()) {
        return Err("the optimized graph differs from the input on random inputs (a rule or the optimizer is wrong); nothing written".into());
    }
    if let Some(b) = budgeted {
        if b.result.error > b.max_error {
            return Err(format!(
                "even the exact rules' result has a {} output error of {:.3e} (fixed-point rounding), above {}: nothing written (raise {})",
                b.metric.name(),
                b.result.error,
                req.spelling.value("max-error", b.max_error),
                req.spelling.name("max-error"),
            ));
        }
        return Ok(None);
    }
    match &req.budget {
        Some(budget) if !out.unchanged => budget.judge(check),
        _ => Ok(None),
    }
}
