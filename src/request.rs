//! One request of a front end (the Python bindings): which model, which framework, which
//! options, carried out end to end with the library's stages (frontend > autograd > cost >
//! profile > optimize > report) and handed back as the library's own renderings.
//!
//! Errors are one message each, with a [`ErrorKind`] so that a front end can raise the right
//! exception (`FileNotFoundError` for a model file that does not exist, `ValueError` for any
//! other bad input).

use crate::autograd::{train_step, Loss, Optimizer, TrainOptions, Training};
use crate::cost::{self, CostModel};
use crate::frontend::{self, LoadOptions};
use crate::graph::{Graph, Visibility};
use crate::optimize::spelling::Spelling;
use crate::optimize::{self, Limits, Method, Objective, Options, RuleSet};
use crate::profile::{AttributionNode, GroupBy, Network, Profile};
use crate::report::{self, numbers::Units};
use crate::validate::{self, Verdict};
use std::path::Path;

/// What kind of bad input an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A model file that does not exist.
    FileNotFound,
    /// Anything else the caller gave that cannot be used.
    Value,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::FileNotFound => "file_not_found",
            ErrorKind::Value => "value",
        }
    }
}

/// A request that could not be carried out.
#[derive(Debug, Clone)]
pub struct RequestError {
    pub kind: ErrorKind,
    pub message: String,
}

impl RequestError {
    pub fn value(message: impl Into<String>) -> RequestError {
        RequestError {
            kind: ErrorKind::Value,
            message: message.into(),
        }
    }
}

fn value_err(e: impl std::fmt::Display) -> RequestError {
    RequestError::value(e.to_string())
}

/// A model: a zoo name or a file path, or the bytes of an ONNX file.
#[derive(Debug, Clone)]
pub enum ModelSource {
    Spec(String),
    OnnxBytes(Vec<u8>),
}

/// Training-step options by name, as the command line takes them.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// `ce` or `mse`.
    pub loss: String,
    /// `sgd`, `momentum`, `adam` or `adamw`.
    pub optimizer: String,
    pub lr: f64,
    /// An explicit gradient threshold.
    pub grad_threshold: Option<f64>,
    /// Use the framework's default gradient threshold.
    pub default_grad_threshold: bool,
    pub frozen_batchnorm: bool,
}

impl TrainRequest {
    /// The training options under `model`.
    pub fn options(&self, model: &CostModel) -> Result<TrainOptions, RequestError> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(RequestError::value(format!(
                "the learning rate (lr) must be a positive number, not {}",
                self.lr
            )));
        }
        let loss = match self.loss.to_ascii_lowercase().as_str() {
            "ce" | "cross_entropy" | "cross-entropy" => Loss::CrossEntropy,
            "mse" => Loss::Mse,
            other => {
                return Err(RequestError::value(format!(
                    "unknown loss '{other}' (use 'ce' or 'mse')"
                )))
            }
        };
        let grad_threshold =
            match (self.grad_threshold, self.default_grad_threshold) {
                (Some(_), true) => return Err(RequestError::value(
                    "give either a gradient threshold or ask for the framework's default, not both",
                )),
                (Some(t), false) if !(t.is_finite() && t > 0.0) => {
                    return Err(RequestError::value(format!(
                        "gradient threshold {t} is not a positive number"
                    )))
                }
                (Some(t), false) => Some(t),
                (None, true) => Some(model.training.grad_threshold.ok_or_else(|| {
                    RequestError::value(format!(
                        "{} has no default gradient threshold; give one (--grad-threshold T)",
                        model.framework.name
                    ))
                })?),
                (None, false) => None,
            };
        Ok(TrainOptions {
            loss,
            optimizer: Optimizer::named(&self.optimizer, self.lr).map_err(RequestError::value)?,
            grad_threshold,
            batch_stats: !self.frozen_batchnorm,
            training: Training::of(model),
        })
    }
}

/// The mode line of a profile header: `inference`, or the training step's loss, optimizer,
/// learning rate and batch (the first dim of `graph`'s first input, the forward graph).
pub fn mode(train: Option<&TrainRequest>, graph: &Graph) -> String {
    let Some(t) = train else {
        return "inference".to_string();
    };
    let batch = frontend::options::graph_inputs(graph)
        .first()
        .and_then(|(_, s)| s.first().copied())
        .unwrap_or(1);
    let loss = match t.loss.to_ascii_lowercase().as_str() {
        "mse" => "mse",
        _ => "cross-entropy",
    };
    format!(
        "training step (loss {loss}, optimizer {}, lr {}, batch {batch})",
        t.optimizer.to_ascii_lowercase(),
        t.lr
    )
}

/// Everything a costing request names.
#[derive(Debug, Clone)]
pub struct ProfileRequest {
    pub model: ModelSource,
    /// Framework name, alias or cost-model path.
    pub framework: String,
    /// `secret`, `public` or `server`; `None`: the framework's default.
    pub weights: Option<String>,
    /// `Some`: profile one training step.
    pub train: Option<TrainRequest>,
    pub batch: Option<usize>,
    /// Symbolic ONNX dims to bind.
    pub dims: Vec<(String, usize)>,
    pub resolution: Option<usize>,
    pub seq_len: Option<usize>,
    pub classes: Option<usize>,
    /// `lan`, `wan` or `BW,RTT`; `None`: LAN.
    pub network: Option<String>,
    /// Cost-model parameter overrides.
    pub overrides: Vec<(String, f64)>,
}

impl ProfileRequest {
    fn load_options(&self) -> Result<LoadOptions, RequestError> {
        let batch = self.batch.unwrap_or(1);
        if batch == 0 {
            return Err(RequestError::value("batch must be at least 1"));
        }
        if [self.resolution, self.seq_len, self.classes].contains(&Some(0)) {
            return Err(RequestError::value(
                "resolution, seq_len and classes must be at least 1",
            ));
        }
        let mut options = LoadOptions::new(self.batch, self.resolution, self.seq_len, self.classes);
        for (name, value) in &self.dims {
            options.dims = options.dims.bind(name.clone(), *value);
        }
        Ok(options)
    }

    /// Loads the model.
    pub fn graph(&self) -> Result<Graph, RequestError> {
        load(&self.model, &self.load_options()?)
    }

    /// Loads another model with this request's shape options.
    pub fn graph_of(&self, source: &ModelSource) -> Result<Graph, RequestError> {
        load(source, &self.load_options()?)
    }

    fn network(&self) -> Result<Network, RequestError> {
        self.network
            .as_deref()
            .unwrap_or("lan")
            .parse()
            .map_err(RequestError::value)
    }

    fn weights(&self, model: &CostModel) -> Result<Visibility, RequestError> {
        match self.weights.as_deref() {
            None => Ok(model.framework.default_weights),
            Some(w) => match w.to_ascii_lowercase().as_str() {
                "secret" => Ok(Visibility::Secret),
                "public" => Ok(Visibility::Public),
                "server" => Ok(Visibility::Server),
                other => Err(RequestError::value(format!(
                    "unknown weights visibility '{other}' (use 'secret', 'public' or 'server')"
                ))),
            },
        }
    }

    fn cost_model(&self, framework: &str) -> Result<CostModel, RequestError> {
        cost::load_framework(framework, &self.overrides).map_err(value_err)
    }

    /// Profiles `graph` under `model` with this request's training and weight options.
    fn profile_under(&self, graph: &Graph, model: &CostModel) -> Result<Profiled, RequestError> {
        let inputs = frontend::options::graph_inputs(graph);
        let mode = mode(self.train.as_ref(), graph);
        let refused = match &model.frontend {
            None => Vec::new(),
            Some(fe) => {
                let spec = match &self.model {
                    ModelSource::Spec(s) => s.as_str(),
                    ModelSource::OnnxBytes(_) => "<memory>",
                };
                frontend::refusals(spec, graph, fe).map_err(value_err)?
            }
        };
        let graph = match &self.train {
            None => graph.clone(),
            Some(t) => train_step(graph, &t.options(model)?).map_err(value_err)?,
        };
        let weights = self.weights(model)?;
        let graph = graph.with_parameter_visibility(weights);
        let profile = Profile::new(&graph, model).map_err(value_err)?;
        let tree = profile.attribution(GroupBy::Module);
        Ok(Profiled {
            profile,
            tree,
            graph,
            network: self.network()?,
            weights,
            rounds_meaning: model.framework.rounds.clone(),
            inputs,
            mode,
            refused,
        })
    }
}

fn load(source: &ModelSource, options: &LoadOptions) -> Result<Graph, RequestError> {
    match source {
        ModelSource::OnnxBytes(bytes) => {
            frontend::onnx::import_bytes(bytes, &options.dims).map_err(value_err)
        }
        ModelSource::Spec(spec) => frontend::load_model(spec, options).map_err(|e| {
            let looks_like_file = Path::new(spec).extension().is_some();
            RequestError {
                kind: if looks_like_file && !Path::new(spec).exists() {
                    ErrorKind::FileNotFound
                } else {
                    ErrorKind::Value
                },
                message: e.to_string(),
            }
        }),
    }
}

/// A profile with what its renderings need.
pub struct Profiled {
    pub profile: Profile,
    pub tree: AttributionNode,
    /// The graph that was profiled (the training step with `--train`).
    pub graph: Graph,
    pub network: Network,
    pub weights: Visibility,
    /// What one round is for the framework (its cost model's `rounds`).
    pub rounds_meaning: String,
    /// The model's inputs (name, shape), the mode line and the nodes the framework's real
    /// frontend refuses, for the header.
    pub inputs: Vec<(String, Vec<usize>)>,
    pub mode: String,
    pub refused: Vec<crate::cost::loadability::Refusal>,
}

impl Profiled {
    fn view(&self, depth: Option<usize>, top: Option<usize>) -> report::profile::View {
        report::profile::View {
            depth,
            top,
            network: self.network,
            weights: self.weights.to_string(),
            units: Units::Bytes,
            rounds_meaning: self.rounds_meaning.clone(),
            inputs: self.inputs.clone(),
            mode: self.mode.clone(),
            refused: self.refused.clone(),
        }
    }

    /// The profile JSON of the README.
    pub fn json(&self) -> String {
        report::profile::json(&self.profile, &self.tree, &self.view(None, None))
    }

    /// The command line's text view: its overview (summary, phases, top-level modules, the
    /// costliest layers) unless `depth` or `top` asks for the tree.
    pub fn text(&self, depth: Option<usize>, top: Option<usize>) -> String {
        let view = self.view(depth, top);
        if depth.is_none() && top.is_none() {
            let layers = report::layers::costliest(
                &self.graph,
                &self.profile,
                report::profile::OVERVIEW_LAYERS,
            );
            report::profile::overview(&self.profile, &self.tree, &layers, &view)
        } else {
            report::profile::text(&self.profile, &self.tree, &view)
        }
    }
}

/// Profiles the request's model under its framework.
pub fn run_profile(req: &ProfileRequest) -> Result<Profiled, RequestError> {
    let graph = req.graph()?;
    let model = req.cost_model(&req.framework)?;
    req.profile_under(&graph, &model)
}

/// Profiles the request's model under `frameworks` (all built-ins when `None`): a JSON list
/// with, per framework, its name and either `profile` (the profile JSON) or `error`.
pub fn run_compare(
    req: &ProfileRequest,
    frameworks: Option<&[String]>,
) -> Result<String, RequestError> {
    let graph = req.graph()?;
    let models: Vec<CostModel> = match frameworks {
        None => cost::builtin_frameworks().map_err(value_err)?,
        Some(names) => names
            .iter()
            .map(|f| req.cost_model(f))
            .collect::<Result<_, _>>()?,
    };
    let rows: Vec<serde_json::Value> = models
        .iter()
        .map(|m| {
            let name = m.framework.name.clone();
            match req.profile_under(&graph, m) {
                Ok(p) => {
                    let doc: serde_json::Value =
                        serde_json::from_str(&p.json()).expect("the profile JSON parses");
                    serde_json::json!({ "framework": name, "profile": doc })
                }
                Err(e) => serde_json::json!({ "framework": name, "error": e.message }),
            }
        })
        .collect();
    Ok(serde_json::Value::Array(rows).to_string())
}

/// An optimized model with its reports.
pub struct OptimizeDone {
    pub report_json: String,
    pub report_text: String,
    /// The optimized model as an ONNX file.
    pub onnx: Vec<u8>,
    pub before_json: String,
    pub after_json: String,
}

/// How to optimize: the options of `hawkeye optimize` a front end passes on.
#[derive(Debug, Clone)]
pub struct OptimizeSettings {
    /// `time`, `online-bits`, `rounds` or `total-bits`.
    pub objective: String,
    pub allow_approx: bool,
    /// Random check inputs.
    pub samples: usize,
    /// The error budget of approximations (default 0.01 with `allow_approx`).
    pub max_error: Option<f64>,
    /// `relative`, `mean`, `max` or `argmax`.
    pub error_metric: String,
    /// Approximation sites the budgeted search measures at most.
    pub max_sites: usize,
    /// Take every approximation the extractor prefers, whatever its error.
    pub force: bool,
    /// Only these rules (empty: all).
    pub rules_only: Vec<String>,
    pub exclude_rules: Vec<String>,
    /// Rewrite only nodes whose module path matches this glob.
    pub modules: Option<String>,
    /// The user's check inputs: a `.npy` or `.npz` file.
    pub check_inputs: Option<std::path::PathBuf>,
}

impl Default for OptimizeSettings {
    fn default() -> OptimizeSettings {
        OptimizeSettings {
            objective: "time".into(),
            allow_approx: false,
            samples: 2,
            max_error: None,
            error_metric: "relative".into(),
            max_sites: optimize::budget::DEFAULT_MAX_SITES,
            force: false,
            rules_only: Vec::new(),
            exclude_rules: Vec::new(),
            modules: None,
            check_inputs: None,
        }
    }
}

/// Optimizes the request's model as `hawkeye optimize` does ([`optimize::session`]: built-in
/// rules, the default count limits for its size, the result checked against the input; with
/// `allow_approx`, approximations are chosen per place within `max_error`, or with `force`
/// every approximation the extractor prefers is taken whatever its error). A result that must
/// not be written is an error.
pub fn run_optimize(
    req: &ProfileRequest,
    settings: &OptimizeSettings,
) -> Result<OptimizeDone, RequestError> {
    let s = settings;
    let (budget, metric) = optimize::session::approximation_options(
        s.allow_approx,
        s.max_error,
        s.force,
        &s.error_metric,
        Spelling::Python,
    )
    .map_err(RequestError::value)?;
    let places = match &s.modules {
        Some(glob) => optimize::places::Places::with_modules(glob, Spelling::Python)
            .map_err(RequestError::value)?,
        None => Default::default(),
    };
    let network = req.network()?;
    let objective = Objective::parse(&s.objective, network).map_err(RequestError::value)?;
    let model = req.cost_model(&req.framework)?;
    let weights = req.weights(&model)?;
    let graph = req.graph()?.with_parameter_visibility(weights);
    let given = match &s.check_inputs {
        Some(path) => vec![frontend::npy::read_inputs(&graph, path).map_err(RequestError::value)?],
        None => Vec::new(),
    };
    let rules = RuleSet::builtin().map_err(value_err)?;
    let rules = optimize::places::select(&rules, &s.rules_only, &s.exclude_rules, Spelling::Python)
        .map_err(RequestError::value)?;
    let session = optimize::session::run(
        &optimize::session::Request {
            graph: &graph,
            model: &model,
            rules: &rules,
            places: &places,
            options: Options {
                objective,
                allow_approx: s.allow_approx,
                limits: Limits::for_graph(graph.len()),
                method: Method::Greedy,
            },
            budget,
            metric,
            samples: s.samples,
            max_sites: s.max_sites,
            given: &given,
            spelling: Spelling::Python,
        },
        &mut optimize::session::Quiet,
    )
    .map_err(value_err)?;
    if let Err(why) = &session.verdict {
        return Err(RequestError::value(why.clone()));
    }
    let optimize::session::Session {
        out,
        budgeted,
        check,
        ..
    } = session;
    let view = report::optimize::View {
        depth: None,
        network,
        weights: weights.to_string(),
        places: 4,
    };
    let side = |p: &Profile| {
        let tree = p.attribution(GroupBy::Module);
        let view = report::profile::View {
            depth: None,
            top: None,
            network,
            weights: weights.to_string(),
            units: Units::Bytes,
            rounds_meaning: model.framework.rounds.clone(),
            inputs: frontend::options::graph_inputs(&graph),
            mode: mode(None, &graph),
            refused: Vec::new(),
        };
        report::profile::json(p, &tree, &view)
    };
    Ok(OptimizeDone {
        report_json: {
            let mut v = report::optimize::json(&out, &graph, &rules, &view, check.as_ref());
            if let Some(b) = &budgeted {
                v["budget"] = serde_json::to_value(b).map_err(value_err)?;
            }
            v.to_string()
        },
        report_text: report::optimize::text(&out, &graph, &rules, &view, check.as_ref())
            + &budgeted
                .as_ref()
                .map_or(String::new(), optimize::budget::text),
        onnx: frontend::onnx::export_bytes(&out.graph).map_err(value_err)?,
        before_json: side(&out.before),
        after_json: side(&out.after),
    })
}

/// The outcome of an equivalence check.
pub struct EquivDone {
    pub verdict: Verdict,
    pub max_rel: f64,
    pub text: String,
}

/// Checks that `variant` computes what the request's model computes, as `hawkeye equiv` does.
pub fn run_equiv(
    req: &ProfileRequest,
    variant: &ModelSource,
    samples: usize,
    seed: u64,
    tolerance: f64,
) -> Result<EquivDone, RequestError> {
    if !(tolerance.is_finite() && tolerance >= 0.0) {
        return Err(RequestError::value(
            "tolerance must be a non-negative number",
        ));
    }
    let model = req.cost_model(&req.framework)?;
    let (g0, g1) = (req.graph()?, req.graph_of(variant)?);
    let options = validate::EquivOptions {
        samples,
        seed,
        tolerance,
        weights: req.weights(&model)?,
    };
    let r = validate::check_equivalence(&g0, &g1, &model, &options).map_err(value_err)?;
    let label = |s: &ModelSource, g: &Graph| match s {
        ModelSource::Spec(s) => s.clone(),
        ModelSource::OnnxBytes(_) => g.name.clone(),
    };
    Ok(EquivDone {
        verdict: r.verdict,
        max_rel: r.max_rel,
        text: report::equiv::text(&r, &label(&req.model, &g0), &label(variant, &g1)),
    })
}
