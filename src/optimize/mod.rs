//! The optimizer: a model graph goes into an e-graph (egg), MPC-aware rewrite rules saturate
//! it, and the equivalent graph that costs least under a framework's cost model comes back
//! out, with its profile.
//!
//! One concept per file:
//! - [`language`]: the e-graph language (IR ops, attributes as leaves, sources by name);
//! - [`analysis`]: the e-class analysis (value = shape, kind, visibility; constants; module);
//! - [`sign`]: the sign facts of the analysis (values known non-negative);
//! - [`rules`]: rules as data (the rule-file format, conditions, the checked applier);
//! - [`runner`]: saturation within limits;
//! - [`cost`]: the cost of an e-node under a framework and an [`Objective`];
//! - [`loadable`]: e-nodes the framework's model loader would refuse, never extracted;
//! - [`extract`]: DAG-cost extraction (greedy, and an exact ILP);
//! - [`convert`]: graph to e-graph and back;
//! - [`batch`]: sibling non-linear layers batched into one call (after extraction);
//! - [`places`]: which rules run and where (`--rules-only`, `--exclude-rules`, `--modules`,
//!   approximation sites);
//! - [`budget`]: the cheapest result within an output-error budget, approximations chosen
//!   per place;
//! - [`provenance`]: which e-nodes an approximate rule is at the origin of;
//! - [`soundness`]: every rule checked against the reference interpreter on random instances;
//! - [`verify`]: a result run against its input with the reference interpreter;
//! - [`error_budget`]: whether an approximate result's measured error allows writing it;
//! - [`session`]: one `optimize` as a user asks for it (search, check, verdict);
//! - [`spelling`]: the option names of a front end's messages (`--max-error`, `max_error=`).
//!
//! The extracted graph is rebuilt with the input's parameter values (stored, or deterministic
//! placeholders for models without weights) and re-profiled: its cost under the objective
//! equals the extractor's figure. Its parameter-only subgraphs (the weight arithmetic of the
//! rewrites: folded batch norm, concatenated and scaled weights) are then evaluated into new
//! parameters ([`crate::interpret::fold`]), which gives the result as a model file holds it;
//! the `after` profile is of that graph, so a written result re-profiles to exactly `after`.
//! The result is never costlier than the input (when the extractor finds nothing cheaper, the
//! input comes back unchanged).
//!
//! ```
//! use hawkeye_mpc::graph::{ElemKind, Graph, Op, ValueInfo, Visibility};
//! use hawkeye_mpc::{cost, optimize};
//!
//! // relu then a 2x2 max pool: the optimizer pools first and runs relu on 4x fewer values.
//! let mut g = Graph::new("tiny");
//! let x = g.add_source("x", "", Op::Input,
//!     ValueInfo::new(vec![1, 1, 4, 4], ElemKind::Real, Visibility::Secret)).unwrap();
//! let r = g.add("act", "act", Op::Relu, &[x]).unwrap();
//! let pool = Op::MaxPool2d { kernel: [2, 2], stride: [2, 2], padding: [0; 4],
//!                            dilation: [1, 1], ceil_mode: false, argmax: false };
//! let p = g.add("pool", "pool", pool, &[r]).unwrap();
//! g.set_outputs(vec![p]);
//!
//! let model = cost::CostModel::from_toml(r#"
//!     [framework]
//!     name = "toy"
//!     description = "relu and max pool by comparisons"
//!     provenance = "example"
//!     rounds = "messages"
//!     default_weights = "public"
//!     [params]
//!     parties = 2
//!     [primitives.cmp]
//!     args = ["n"]
//!     online_bits = "64 * n"
//!     online_rounds = "1"
//!     [ops.relu]
//!     s = [{ call = "cmp", n = "out" }]
//!     [ops.max_pool2d]
//!     s = [{ call = "cmp", n = "windows * (kh * kw - 1)" }]
//! "#, "toy.toml", &[]).unwrap();
//!
//! let rules = optimize::RuleSet::builtin().unwrap();
//! let options = optimize::Options { objective: optimize::Objective::OnlineBits, ..Default::default() };
//! let out = optimize::optimize(&g, &model, &rules, &options, None).unwrap();
//! assert_eq!(out.before.total.online_bits, 64.0 * (16.0 + 4.0 * 3.0));
//! assert_eq!(out.after.total.online_bits, 64.0 * (4.0 * 3.0 + 4.0));
//! assert_eq!(out.rewrites[0].rule, "relu-after-maxpool");
//! ```

pub mod analysis;
pub mod batch;
pub mod budget;
pub mod convert;
pub mod cost;
pub mod error_budget;
pub mod error_metric;
pub mod extract;
pub mod language;
pub mod loadable;
pub mod places;
pub mod provenance;
pub mod rules;
pub mod runner;
pub mod session;
pub mod sign;
pub mod soundness;
pub mod spelling;
pub mod verify;

pub use analysis::EGraph;
pub use convert::Rewritten;
pub use cost::{NodeCosts, Objective};
pub use extract::ilp::IlpReport;
pub use extract::Method;
pub use provenance::Approximation;
pub use rules::{RuleClass, RuleError, RuleInfo, RuleSet};
pub use runner::{Limits, Progress, ProgressFn, Saturation};

use crate::cost::CostModel;
use crate::graph::{Graph, GraphError};
use crate::profile::{Profile, ProfileError};
use egg::Language;
use rustc_hash::FxHashSet;
use std::collections::HashSet;
use std::time::Instant;
use thiserror::Error;

/// Why a graph could not be optimized.
#[derive(Debug, Error)]
pub enum OptimizeError {
    /// The framework cannot cost the input graph.
    #[error("{0}")]
    Profile(#[from] ProfileError),
    /// The extracted graph could not be rebuilt (a bug).
    #[error("rebuilding the extracted graph: {0}")]
    Graph(#[from] GraphError),
    /// Rules merged e-classes of different values, or built wrong right-hand sides (a bug of
    /// a rule file; debug builds panic instead).
    #[error("inconsistent rewrites:\n{}", .0.join("\n"))]
    Inconsistent(Vec<String>),
    /// The parameter-only subgraphs of the result could not be evaluated (unreadable stored
    /// weights, or weight arithmetic without a finite value).
    #[error("computing the result's weights: {0}")]
    Fold(#[from] crate::interpret::fold::FoldError),
    /// The extractor's figure differs from the re-profiled cost of its graph (a bug).
    #[error(
        "the extracted graph costs {profiled} when re-profiled, the extractor said {extracted}"
    )]
    CostMismatch { extracted: f64, profiled: f64 },
}

/// How to optimize.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub objective: Objective,
    /// Run approximate rules too.
    pub allow_approx: bool,
    pub limits: Limits,
    pub method: Method,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            objective: Objective::Time(crate::profile::Network::LAN),
            allow_approx: false,
            limits: Limits::default(),
            method: Method::Greedy,
        }
    }
}

/// How extraction went.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExtractionReport {
    pub method: &'static str,
    pub seconds: f64,
    /// The extractor's figure for the chosen graph (objective units).
    pub cost: f64,
    pub ilp: Option<IlpReport>,
    /// Work units the greedy extractor spent (see [`Limits::extraction_work`]).
    pub work: u64,
    /// Why extraction stopped short, if it did.
    pub note: Option<String>,
}

/// An optimized graph with its profile and how it was found.
#[derive(Debug, Clone)]
pub struct Optimized {
    pub graph: Graph,
    pub before: Profile,
    pub after: Profile,
    pub objective: Objective,
    /// Objective values of the input and of the result, re-profiled.
    pub before_cost: f64,
    pub after_cost: f64,
    /// Nodes of the result that rules made, with the rule and module.
    pub rewrites: Vec<Rewritten>,
    /// Nodes of the result whose value may differ from the input's, with the approximate rule
    /// at their origin (empty with exact rules only).
    pub approximations: Vec<Approximation>,
    pub saturation: Saturation,
    pub extraction: ExtractionReport,
    /// Whether the input came back unchanged (nothing cheaper was found).
    pub unchanged: bool,
}

/// How a stop of the extractor reads in the summary.
fn stopped_by(stop: extract::greedy::Stopped, limits: &Limits) -> String {
    match stop {
        extract::greedy::Stopped::Work => format!(
            "its work limit ({} units)",
            limits.extraction_work
        ),
        extract::greedy::Stopped::WallClock => format!(
            "the WALL-CLOCK SAFETY NET ({:.1} s for the whole search): the result depends on machine load and may differ between runs",
            limits.time.as_secs_f64()
        ),
    }
}

/// Relative tolerance of cost comparisons (sums in different orders).
const TOLERANCE: f64 = 1e-9;

/// Optimizes `graph` (parameter visibilities already set) under `model`.
pub fn optimize(
    graph: &Graph,
    model: &CostModel,
    rules: &RuleSet,
    options: &Options,
    progress: Option<ProgressFn>,
) -> Result<Optimized, OptimizeError> {
    let objective = options.objective;
    let before = Profile::new(graph, model)?;
    let before_cost = objective.of(&before.total);

    let loaded = convert::load(graph);
    let rewrites = rules.rewrites(options.allow_approx);
    let multi: HashSet<egg::Symbol> = rules
        .rules
        .iter()
        .filter(|r| r.multi)
        .map(|r| egg::Symbol::from(r.name.as_str()))
        .collect();
    let started = Instant::now();
    let (egraph, saturation) =
        runner::saturate(loaded.egraph, &rewrites, multi, &options.limits, progress);
    let mut problems = egraph.analysis.conflicts.clone();
    problems.extend(egraph.analysis.rule_errors.iter().cloned());
    if !problems.is_empty() {
        return Err(OptimizeError::Inconsistent(problems));
    }

    let start = Instant::now();
    let mut costs = NodeCosts::new(&egraph, model, objective);
    let original: FxHashSet<language::TensorNode> = loaded
        .originals
        .iter()
        .map(|(n, _)| n.clone().map_children(|c| egraph.find(c)))
        .collect();
    if let Some(frontend) = &model.frontend {
        loadable::exclude_refused(&egraph, frontend, &original, &mut costs);
    }
    let unchanged = |saturation: Saturation, note: String| Optimized {
        graph: graph.clone(),
        after: before.clone(),
        before: before.clone(),
        objective,
        before_cost,
        after_cost: before_cost,
        rewrites: Vec::new(),
        approximations: Vec::new(),
        saturation,
        extraction: ExtractionReport {
            method: "none",
            seconds: start.elapsed().as_secs_f64(),
            cost: before_cost,
            ilp: None,
            work: 0,
            note: Some(note),
        },
        unchanged: true,
    };
    let budget = extract::greedy::Budget {
        work: options.limits.extraction_work,
        deadline: Some(started + options.limits.time),
    };
    let greedy = match extract::greedy::extract(&egraph, &costs, loaded.root, &original, budget) {
        Ok(Some(outcome)) => outcome,
        Ok(None) => {
            return Ok(unchanged(
                saturation,
                "no acyclic extraction exists; input kept".to_string(),
            ))
        }
        Err(stop) => {
            return Ok(unchanged(
                saturation,
                format!(
                    "extraction found no acyclic choice within {}; input kept",
                    stopped_by(stop, &options.limits)
                ),
            ))
        }
    };
    let note = greedy.stopped.map(|stop| {
        format!(
            "the sharing pass stopped at {}; the result is the best found until then",
            stopped_by(stop, &options.limits)
        )
    });
    let work = greedy.work;
    let greedy = greedy.extracted;
    let (chosen, method, ilp) = match options.method {
        Method::Greedy => (greedy, "greedy DAG", None),
        Method::Ilp { seconds } => {
            let (best, report) =
                extract::ilp::extract(&egraph, &costs, loaded.root, &greedy, seconds);
            (best, "greedy DAG + ILP", Some(report))
        }
    };
    let nodes = extract::chosen_nodes(&egraph, loaded.root, &chosen.choice);
    let approximations = provenance::in_choice(&egraph, &nodes);
    let (rebuilt, rewritten) = convert::rebuild_graph(
        &egraph,
        loaded.root,
        &nodes,
        &crate::interpret::random::with_placeholders(graph),
        &loaded.originals,
        &egraph.analysis.created,
    )?;
    let extracted_cost = objective.of(&Profile::new(&rebuilt, model)?.total);
    if (extracted_cost - chosen.cost).abs()
        > TOLERANCE * extracted_cost.abs().max(chosen.cost.abs())
    {
        return Err(OptimizeError::CostMismatch {
            extracted: chosen.cost,
            profiled: extracted_cost,
        });
    }
    // The weight arithmetic of the rewrites, evaluated: the graph a model file holds.
    let folded = crate::interpret::fold::fold_parameters(&rebuilt)?;
    // Sibling non-linear layers batched into one call where that is cheaper.
    let (batched_graph, batched) = batch::batch_nonlinear(&folded, model, objective)?;
    let new_graph = batched_graph.into_owned();
    let rewritten: Vec<Rewritten> = rewritten
        .into_iter()
        .filter(|r| new_graph.find(&r.node).is_some())
        .chain(batched)
        .collect();
    let after = Profile::new(&new_graph, model)?;
    let after_cost = objective.of(&after.total);
    let extraction = ExtractionReport {
        method,
        seconds: start.elapsed().as_secs_f64(),
        cost: chosen.cost,
        ilp,
        work,
        note,
    };
    if after_cost >= before_cost * (1.0 - TOLERANCE) {
        let mut out = unchanged(
            saturation,
            "nothing cheaper than the input was found; input kept".to_string(),
        );
        out.extraction.method = method;
        out.extraction.ilp = extraction.ilp;
        out.extraction.work = work;
        if let Some(n) = extraction.note {
            out.extraction.note = Some(format!(
                "{n}; nothing cheaper than the input was found; input kept"
            ));
        }
        return Ok(out);
    }
    Ok(Optimized {
        graph: new_graph,
        before,
        after,
        objective,
        before_cost,
        after_cost,
        rewrites: rewritten,
        approximations,
        saturation,
        extraction,
        unchanged: false,
    })
}
