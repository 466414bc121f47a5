//! The `hawkeye` command line: argument parsing and dispatch only.

use anyhow::{bail, Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use hawkeye_mpc::autograd::train_step;
use hawkeye_mpc::cost::loadability::{warning, Refusal};
use hawkeye_mpc::cost::CostModel;
use hawkeye_mpc::frontend::{self, LoadOptions};
use hawkeye_mpc::graph::{Graph, Visibility};
use hawkeye_mpc::optimize::soundness::{self, CheckOptions};
use hawkeye_mpc::optimize::verify;
use hawkeye_mpc::optimize::{self, Limits, Method, Objective, Options, RuleSet};
use hawkeye_mpc::profile::{GroupBy, Network, Profile};
use hawkeye_mpc::report;
use hawkeye_mpc::request::TrainRequest;
use hawkeye_mpc::validate;
use std::path::PathBuf;

mod cli;
use cli::output::{emit, CheckFailed};

#[derive(Parser)]
#[command(
    name = "hawkeye",
    version,
    about = "Static MPC communication profiler and optimizer for neural networks",
    long_about = "Predicts, without running any cryptography, how many bytes and rounds a neural \
network costs under secure multi-party computation frameworks, and where they are spent.",
    after_help = "Examples:
  hawkeye models
  hawkeye show resnet18 --batch 2
  hawkeye profile resnet50 --framework spu-semi2k --network wan
  hawkeye profile mlp --framework crypten --format json
  hawkeye profile lenet5 --framework semi2k --group-by primitive --flamegraph lenet.svg
  hawkeye compare bert-tiny --frameworks all
  hawkeye profile lenet5 --framework semi2k --train --optimizer adam --batch 128
  hawkeye profile model.onnx --framework crypten --batch 8 --dim seq=128
  hawkeye export resnet18 --batch 4 -o resnet18.json
  hawkeye optimize resnet18 --framework semi2k --weights public -o resnet18-opt.onnx
  hawkeye equiv model.onnx model_quad_gelu.onnx --framework crypten --tolerance 0.1
  hawkeye check-rules my.rules

Exit status (every command): 0 success; 1 a check that ran and failed (equiv: the models \
differ; check-rules: a rule fails; optimize: the result differs from the input); 2 a usage or \
input error; equiv also exits 3 for \"approximately equal within --tolerance\"."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// List the built-in models with parameter and MAC counts.
    Models(cli::catalog::ModelsArgs),
    /// List the built-in frameworks (cost models), or one framework's details.
    #[command(
        after_help = "Examples:\n  hawkeye frameworks\n  hawkeye frameworks spu-aby3\n  hawkeye frameworks --format json"
    )]
    Frameworks(cli::catalog::FrameworksArgs),
    /// List the rewrite rules: name, class (exact or approx), direction and why.
    #[command(
        after_help = "Examples:\n  hawkeye rules\n  hawkeye rules --format json\n  hawkeye rules --rules my.rules"
    )]
    Rules(cli::rules::RulesArgs),
    /// Print a shell completion script: hawkeye completions bash > ~/.local/share/bash-completion/completions/hawkeye
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Show a model's nodes: module path, op, shapes, visibility, parameters.
    #[command(
        after_help = "Examples:\n  hawkeye show lenet5\n  hawkeye show model.json --format json"
    )]
    Show {
        /// Zoo model name or model file (.json, .onnx)
        model: String,
        #[command(flatten)]
        zoo: ZooArgs,
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
    },
    /// Write a model to a file: native JSON (.json) or ONNX (.onnx).
    #[command(
        after_help = "Examples:\n  hawkeye export resnet50 --batch 8 -o resnet50.json\n  hawkeye export bert-tiny --seq-len 64 -o bert.onnx"
    )]
    Export {
        /// Zoo model name or model file (.json, .onnx)
        model: String,
        #[command(flatten)]
        zoo: ZooArgs,
        /// Output file (.json or .onnx)
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Profile a model's communication under one framework.
    #[command(after_help = "Examples:
  hawkeye profile resnet50 --framework spu-semi2k
  hawkeye profile resnet50 -f crypten --format layers
  hawkeye profile resnet50 -f crypten --full --units bits
  hawkeye profile mlp --framework crypten --weights public --group-by primitive
  hawkeye profile lenet5 --framework my_framework.toml --set ring=32 --format json
  hawkeye profile bert-tiny --framework semi2k --depth 3 --top 5 --flamegraph bert.svg
  hawkeye profile mlp --framework semi2k --train --batch 32 --group-by phase
  hawkeye profile vgg16 --framework semi2k --train --optimizer adam --loss mse")]
    Profile(cli::profile::ProfileArgs),
    /// Rewrite a model into an equivalent one that communicates less (e-graph optimization).
    #[command(after_help = "Examples:
  hawkeye optimize resnet50 --framework spu-semi2k --weights public -o resnet50-opt.json
  hawkeye optimize bert-base --framework semi2k --network wan --objective time
  hawkeye optimize lenet5 --framework my.toml --allow-approx --rules my.rules --extract ilp
  hawkeye optimize vgg16 --framework semi2k --flamegraph-diff vgg16-diff.svg")]
    Optimize {
        /// Zoo model name or model file (.json)
        model: String,
        #[command(flatten)]
        zoo: ZooArgs,
        #[command(flatten)]
        costing: CostArgs,
        /// What to minimise: time (online, on --network), online-bits, rounds, total-bits
        #[arg(long, default_value = "time")]
        objective: String,
        /// Also apply approximate rules (polynomial activations ...): changes the model
        #[arg(long)]
        allow_approx: bool,
        /// Extra rule files (added to the built-in rules)
        #[arg(long = "rules", value_name = "FILE", num_args = 1..)]
        rules: Vec<PathBuf>,
        /// Extraction: greedy (DAG-aware) or ilp (greedy, then an exact ILP within --ilp-seconds)
        #[arg(long = "extract", value_enum, default_value_t = ExtractArg::Greedy)]
        extract: ExtractArg,
        /// Time limit of the ILP solver (with --extract ilp)
        #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
        ilp_seconds: f64,
        /// Stop saturating above this many e-nodes
        #[arg(long)]
        node_limit: Option<usize>,
        /// Stop saturating after this many iterations
        #[arg(long)]
        iter_limit: Option<usize>,
        /// Work units the greedy extractor may spend (default 50,000,000)
        #[arg(long, value_name = "UNITS")]
        extract_work: Option<u64>,
        /// Wall-clock safety net of the search in seconds (default 120): the count limits
        /// normally stop first; when this one fires the summary says the result may differ
        /// between runs
        #[arg(long, value_name = "SECONDS")]
        time_limit: Option<f64>,
        /// Write the optimized graph (.json or .onnx)
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Also write a differential SVG flame graph of online bytes: frames as wide as in the
        /// input, blue where the result sends less (removed work in full blue), red where it
        /// sends more; work only the result does, as wide as in the result
        #[arg(long, value_name = "FILE.svg")]
        flamegraph_diff: Option<PathBuf>,
        /// Module path depth of the per-module table (default: the deepest that fits a screen)
        #[arg(long)]
        depth: Option<usize>,
        /// Text tables, or JSON with every rewritten node
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
        /// Run the result against the input on N random inputs with the reference interpreter:
        /// an f64 check with exact rules (failing it is an error), the fixed-point output error
        /// with --allow-approx; 0 skips it
        #[arg(long, default_value_t = 2, value_name = "N")]
        samples: usize,
        /// With --allow-approx: the error budget (default 0.01, in --error-metric's units):
        /// approximations are chosen per place, greedily by saving per unit of error, and the
        /// result's measured error on the check inputs stays within it
        #[arg(long, value_name = "E")]
        max_error: Option<f64>,
        /// How the budget measures the output error: relative (largest |difference| over the
        /// largest |output|), mean or max |difference|, argmax (fraction of rows whose argmax
        /// changes)
        #[arg(long, default_value = "relative", value_name = "METRIC")]
        error_metric: String,
        /// With --allow-approx: approximation sites measured at most (more are grouped by
        /// module path prefix)
        #[arg(long, default_value_t = optimize::budget::DEFAULT_MAX_SITES, value_name = "N")]
        max_sites: usize,
        /// With --allow-approx: skip the budgeted search, take every approximation the
        /// extractor prefers and write the result whatever its measured error
        #[arg(long)]
        force: bool,
        /// Only these rules (comma-separated names; `hawkeye rules` lists them)
        #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
        rules_only: Vec<String>,
        /// Not these rules (comma-separated names)
        #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
        exclude_rules: Vec<String>,
        /// Rewrite only nodes whose module path matches this glob (e.g. 'layer4.*')
        #[arg(long, value_name = "GLOB")]
        modules: Option<String>,
        /// Also run the check on these inputs: a .npy file (single-input models) or a .npz
        /// file with one array per graph input, named after it
        #[arg(long, value_name = "FILE.npy|FILE.npz")]
        inputs: Option<PathBuf>,
    },
    /// Check rewrite rules against the reference interpreter on random instances.
    #[command(
        after_help = "Each rule's left-hand side is instantiated on random shapes and values that \
satisfy its conditions, its right-hand side is built by the optimizer's own rule code, and both \
are evaluated with the reference interpreter. Exact rules must agree within \
1e-9 (1 + |value|); approximate rules report their error on values from U(-4, 4). The exit \
status is non-zero when a rule fails.

Examples:
  hawkeye check-rules
  hawkeye check-rules my.rules --instances 100
  hawkeye check-rules --format json"
    )]
    CheckRules {
        /// Rule files to check (default: the built-in rules)
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Instances (random shapes the rule applies to) to check per rule
        #[arg(long, default_value_t = 24)]
        instances: usize,
        /// Value draws per instance
        #[arg(long, default_value_t = 4)]
        draws: usize,
        /// Seed of the random shapes and values
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Text table, or JSON with every counterexample's values
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
    },
    /// Compare a model's communication across frameworks.
    #[command(
        after_help = "Examples:\n  hawkeye compare resnet18\n  hawkeye compare mlp --frameworks crypten,spu-semi2k --network wan\n  hawkeye compare resnet50 --set ring=64 --format csv\n  hawkeye compare lenet5 --train --optimizer adam --format json"
    )]
    Compare(cli::compare::CompareArgs),
    /// Compare two models that are not equivalent (or one under two frameworks), layer by layer.
    #[command(
        after_help = "Layers are aligned by structure (the sequence of layer types), so an \
inserted or removed layer is one row and the others stay paired.

Examples:
  hawkeye diff cnn.onnx cnn_fewer_relus.onnx -f crypten
  hawkeye diff resnet18 resnet18 -f crypten -f spu-semi2k --top 10
  hawkeye diff a.onnx b.onnx -f semi2k --flamegraph diff.svg --format csv"
    )]
    Diff(cli::diff::DiffArgs),
    /// Check that a variant of a model computes what the original does, and what it saves.
    #[command(
        long_about = "Checks that VARIANT computes what ORIGINAL computes, and compares their \
communication under a framework.

Both models must have the same inputs (names, shapes, kinds, visibilities) and as many outputs \
with the same shapes. Inputs get the same random values by name. A parameter is bound to the \
values its model file stores (ONNX weights), else by name to the original's value, else drawn \
from the seed. Outputs are compared on --samples random samples in f64 and in the framework's \
fixed-point arithmetic (its ring/frac, else 64/16).

Exit status: 0 equivalent (largest relative f64 error <= 1e-9), 1 different, 2 a usage or \
input error (the models could not be compared), 3 approximately equal (<= --tolerance).",
        after_help = "Examples:
  hawkeye equiv model.json model_rewritten.json --framework crypten
  hawkeye equiv bert.onnx bert_quad_gelu.onnx -f crypten --dim batch_size=1 --dim sequence=16 --tolerance 0.5"
    )]
    Equiv {
        /// The original model: zoo name or model file (.json, .onnx)
        original: String,
        /// The variant to check against it: zoo name or model file (.json, .onnx)
        variant: String,
        #[command(flatten)]
        zoo: ZooArgs,
        /// Framework name or alias (see `hawkeye frameworks`), or a path to a cost-model .toml
        #[arg(short, long)]
        framework: String,
        /// Weight visibility for profiling (default: the framework's own).
        #[arg(long, value_enum)]
        weights: Option<WeightsArg>,
        /// Override cost-model parameters (NAME=VALUE, repeatable), e.g. --set frac=12
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Number of random samples to compare on.
        #[arg(long, default_value_t = 8)]
        samples: usize,
        /// Seed of the first sample (sample i uses SEED + i).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Largest relative f64 error for "approximately equal" (exit status 3).
        #[arg(long, default_value_t = 1e-2)]
        tolerance: f64,
    },
}

#[derive(Args)]
struct TrainArgs {
    /// Profile one training step (forward, loss against secret labels, backward, optimizer
    /// update) instead of inference; the model's last output is the prediction.
    #[arg(long)]
    train: bool,
    /// Training loss.
    #[arg(long, value_enum, default_value_t = LossArg::Ce, requires = "train")]
    loss: LossArg,
    /// Optimizer (momentum: SGD with momentum 0.9 and weight decay 5e-4; adam, adamw:
    /// PyTorch's form at step 1, p - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), a square
    /// root and a secret division per parameter; adam-optax: optax's form at step 1,
    /// p - lr m_hat / (sqrt(v_hat) + eps) with eps 1e-8, which SPU's compiler runs as
    /// p - lr m_hat rsqrt(v_hat + eps), an inverse square root and a product).
    #[arg(long, value_enum, default_value_t = OptimizerArg::Sgd, requires = "train")]
    optimizer: OptimizerArg,
    /// Learning rate.
    #[arg(long, default_value_t = 0.01, requires = "train")]
    lr: f64,
    /// Zero gradients whose square reaches T^2 before the update, as CrypTen's
    /// update_parameters does; without a value, the framework's default (CrypTen: 100).
    #[arg(
        long,
        value_name = "T",
        num_args = 0..=1,
        default_missing_value = "default",
        requires = "train"
    )]
    grad_threshold: Option<String>,
    /// Keep batch normalization's running statistics (a frozen-batchnorm step) instead of
    /// batch statistics.
    #[arg(long, requires = "train")]
    frozen_batchnorm: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum LossArg {
    /// Cross-entropy of the softmax of the logits against one-hot labels
    Ce,
    /// Mean squared error
    Mse,
}

#[derive(Clone, Copy, ValueEnum)]
enum OptimizerArg {
    Sgd,
    Momentum,
    Adam,
    Adamw,
    AdamOptax,
}

impl TrainArgs {
    /// The graph to profile under `model`: the training step when `--train`, else `graph`.
    /// The training options by name; `None` without `--train`.
    fn request(&self) -> Result<Option<TrainRequest>> {
        if !self.train {
            return Ok(None);
        }
        let (grad_threshold, default_grad_threshold) = match self.grad_threshold.as_deref() {
            None => (None, false),
            Some("default") => (None, true),
            Some(t) => (
                Some(
                    t.parse::<f64>()
                        .ok()
                        .with_context(|| format!("--grad-threshold '{t}' is not a number"))?,
                ),
                false,
            ),
        };
        Ok(Some(TrainRequest {
            loss: match self.loss {
                LossArg::Ce => "ce",
                LossArg::Mse => "mse",
            }
            .to_string(),
            optimizer: match self.optimizer {
                OptimizerArg::Sgd => "sgd",
                OptimizerArg::Momentum => "momentum",
                OptimizerArg::Adam => "adam",
                OptimizerArg::Adamw => "adamw",
                OptimizerArg::AdamOptax => "adam-optax",
            }
            .to_string(),
            lr: self.lr,
            grad_threshold,
            default_grad_threshold,
            frozen_batchnorm: self.frozen_batchnorm,
        }))
    }

    /// The mode line of a profile header for `graph` (the forward graph).
    fn mode(&self, graph: &Graph) -> Result<String> {
        Ok(hawkeye_mpc::request::mode(self.request()?.as_ref(), graph))
    }

    /// The graph to profile under `model`: the training step when `--train`, else `graph`.
    fn graph(&self, graph: Graph, model: &CostModel) -> Result<Graph> {
        let Some(request) = self.request()? else {
            return Ok(graph);
        };
        let options = request
            .options(model)
            .map_err(|e| anyhow::anyhow!(e.message))?;
        Ok(train_step(&graph, &options)?)
    }
}

#[derive(Args)]
struct ZooArgs {
    /// Batch size (zoo models; binds the symbolic batch dim of ONNX inputs) [default: 1]
    #[arg(long)]
    batch: Option<usize>,
    /// Bind a symbolic ONNX input dim (NAME=VALUE, repeatable), e.g. --dim seq=128
    #[arg(long = "dim", value_name = "NAME=VALUE")]
    dims: Vec<String>,
    /// Input resolution (vision zoo models)
    #[arg(long)]
    resolution: Option<usize>,
    /// Sequence length (language zoo models)
    #[arg(long)]
    seq_len: Option<usize>,
    /// Number of classes (classifier zoo models)
    #[arg(long)]
    classes: Option<usize>,
}

#[derive(Args)]
struct CostArgs {
    /// Framework name or alias (see `hawkeye frameworks`), or a path to a cost-model .toml
    #[arg(short, long)]
    framework: String,
    /// Weight visibility (default: the framework's own).
    #[arg(long, value_enum)]
    weights: Option<WeightsArg>,
    /// Override cost-model parameters (NAME=VALUE, repeatable), e.g. --set ring=32
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Network for time estimates: lan (1 Gbit/s, 0.2 ms), wan (9 Mbit/s, 72 ms) or BW,RTT (e.g. 100Mbit,10ms)
    #[arg(long, default_value = "lan")]
    network: String,
    /// Refuse (exit status 2) a model the framework's real frontend cannot load or run,
    /// instead of warning and showing the cost of the closest runnable form
    #[arg(long)]
    strict: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExtractArg {
    Greedy,
    Ilp,
}

#[derive(Clone, Copy, ValueEnum)]
enum ShowFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum GroupArg {
    Module,
    Op,
    Primitive,
    Phase,
}

#[derive(Clone, Copy, ValueEnum)]
enum WeightsArg {
    Secret,
    Public,
    Server,
}

impl From<WeightsArg> for Visibility {
    fn from(w: WeightsArg) -> Visibility {
        match w {
            WeightsArg::Secret => Visibility::Secret,
            WeightsArg::Public => Visibility::Public,
            WeightsArg::Server => Visibility::Server,
        }
    }
}

impl From<GroupArg> for GroupBy {
    fn from(g: GroupArg) -> GroupBy {
        match g {
            GroupArg::Module => GroupBy::Module,
            GroupArg::Op => GroupBy::Op,
            GroupArg::Primitive => GroupBy::Primitive,
            GroupArg::Phase => GroupBy::Phase,
        }
    }
}

impl ZooArgs {
    fn options(&self) -> Result<LoadOptions> {
        let batch = self.batch.unwrap_or(1);
        if batch == 0 {
            bail!("--batch must be at least 1");
        }
        if self.resolution == Some(0) || self.seq_len == Some(0) || self.classes == Some(0) {
            bail!("--resolution, --seq-len and --classes must be at least 1");
        }
        let mut options = LoadOptions::new(self.batch, self.resolution, self.seq_len, self.classes);
        for d in &self.dims {
            options.dims.parse_binding(d).map_err(anyhow::Error::msg)?;
        }
        Ok(options)
    }

    fn load(&self, model: &str) -> Result<Graph> {
        Ok(frontend::load_model(model, &self.options()?)?)
    }
}

/// Largest time limit a command line may give (about 11.6 days), in seconds.
const MAX_SECONDS: f64 = 1e6;

/// A number as it would be typed: `2.5`, `1e30`.
fn number(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e16 {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A model the framework's real frontend cannot load or run, under `--strict` (exit status 2).
#[derive(Debug)]
struct NotLoadable(String);

impl std::fmt::Display for NotLoadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotLoadable {}

/// Warns on stderr about every node the framework's real frontend refuses (op, node, module,
/// the framework's reason, the form whose cost is shown); with `strict` that is an error.
fn loadability(model: &str, graph: &Graph, cm: &CostModel, strict: bool) -> Result<Vec<Refusal>> {
    let Some(fe) = &cm.frontend else {
        return Ok(Vec::new());
    };
    let refused = frontend::refusals(model, graph, fe)?;
    if strict && !refused.is_empty() {
        let lines: Vec<String> = refused.iter().map(|r| warning(&fe.name, r)).collect();
        return Err(NotLoadable(format!(
            "{model} cannot run under {} (--strict):\n  {}",
            cm.framework.name,
            lines.join("\n  ")
        ))
        .into());
    }
    for r in &refused {
        eprintln!("warning: {}", warning(&fe.name, r));
    }
    Ok(refused)
}

fn parse_overrides(set: &[String]) -> Result<Vec<(String, f64)>> {
    set.iter()
        .map(|s| {
            let (name, value) = s
                .split_once('=')
                .with_context(|| format!("--set '{s}' is not NAME=VALUE"))?;
            let v: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .with_context(|| format!("--set '{s}': '{value}' is not a number"))?;
            Ok((name.trim().to_string(), v))
        })
        .collect()
}

/// Profiles `graph` under `model` with the given weight visibility.
fn profile(
    graph: &mut Graph,
    model: &CostModel,
    weights: Option<WeightsArg>,
) -> Result<(Profile, Visibility)> {
    let vis = weights
        .map(Visibility::from)
        .unwrap_or(model.framework.default_weights);
    graph.set_parameter_visibility(vis);
    Ok((Profile::new(graph, model)?, vis))
}

/// Runs a command; `Ok` holds the exit status.
fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Models(args) => return cli::catalog::models(args),
        Command::Rules(args) => return cli::rules::run(args),
        Command::Frameworks(args) => return cli::catalog::frameworks(args),
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "hawkeye", &mut text);
            emit(&String::from_utf8_lossy(&text))?;
        }
        Command::Show { model, zoo, format } => {
            let g = zoo.load(&model)?;
            match format {
                ShowFormat::Table => emit(&report::graph::table(&g))?,
                ShowFormat::Json => emit(&format!("{}\n", report::graph::json(&g)))?,
            }
        }
        Command::Export { model, zoo, output } => {
            let g = zoo.load(&model)?;
            frontend::write_model(&g, &output)?;
            eprintln!("wrote {} ({} nodes)", output.display(), g.len());
        }
        Command::Profile(args) => return cli::profile::run(args),
        Command::Optimize {
            model,
            zoo,
            costing,
            objective,
            allow_approx,
            rules,
            extract,
            ilp_seconds,
            node_limit,
            iter_limit,
            extract_work,
            time_limit,
            output,
            flamegraph_diff,
            depth,
            format,
            samples,
            max_error,
            error_metric,
            max_sites,
            force,
            rules_only,
            exclude_rules,
            modules,
            inputs,
        } => {
            let max_error =
                optimize::error_budget::ErrorBudget::new(allow_approx, max_error, force)
                    .map_err(anyhow::Error::msg)?;
            let metric =
                optimize::error_metric::Metric::parse(&error_metric).map_err(anyhow::Error::msg)?;
            if !allow_approx && metric != optimize::error_metric::Metric::Relative {
                bail!("--error-metric {error_metric} applies to --allow-approx results only; add --allow-approx or drop --error-metric");
            }
            let places = match &modules {
                Some(glob) => {
                    optimize::places::Places::with_modules(glob).map_err(anyhow::Error::msg)?
                }
                None => Default::default(),
            };
            let network: Network = costing.network.parse().map_err(anyhow::Error::msg)?;
            let objective = Objective::parse(&objective, network).map_err(anyhow::Error::msg)?;
            let g = zoo.load(&model)?;
            let given = match &inputs {
                Some(path) => {
                    vec![frontend::npy::read_inputs(&g, path).map_err(anyhow::Error::msg)?]
                }
                None => Vec::new(),
            };
            let cm = cli::framework::load(&costing.framework, &parse_overrides(&costing.set)?)?;
            loadability(&model, &g, &cm, costing.strict)?;
            let vis = costing
                .weights
                .map(Visibility::from)
                .unwrap_or(cm.framework.default_weights);
            let g = g.with_parameter_visibility(vis);
            let mut rule_set = RuleSet::builtin()?;
            for file in &rules {
                rule_set.add_file(file)?;
            }
            let rule_set = optimize::places::select(&rule_set, &rules_only, &exclude_rules)
                .map_err(anyhow::Error::msg)?;
            let mut limits = Limits::for_graph(g.len());
            limits.nodes = node_limit.unwrap_or(limits.nodes);
            limits.iterations = iter_limit.unwrap_or(limits.iterations);
            limits.extraction_work = extract_work.unwrap_or(limits.extraction_work);
            if let Some(t) = time_limit {
                if !(t > 0.0 && t <= MAX_SECONDS) {
                    bail!(
                        "--time-limit {} is out of range: give a number of seconds above 0 and at most {MAX_SECONDS}",
                        number(t)
                    );
                }
                limits.time = std::time::Duration::from_secs_f64(t);
            }
            if !(0.0..=MAX_SECONDS).contains(&ilp_seconds) {
                bail!(
                    "--ilp-seconds {} is out of range: give a number of seconds from 0 to {MAX_SECONDS}",
                    number(ilp_seconds)
                );
            }
            let options = Options {
                objective,
                allow_approx,
                limits,
                method: match extract {
                    ExtractArg::Greedy => Method::Greedy,
                    ExtractArg::Ilp => Method::Ilp {
                        seconds: ilp_seconds,
                    },
                },
            };
            let (out, budgeted) = match &max_error {
                Some(budget) if !force => {
                    if samples + given.len() == 0 {
                        bail!("--allow-approx measures each approximation's output error on the check inputs, and --samples 0 without --inputs leaves none: give --samples N or --inputs FILE, or --force to take every approximation unmeasured");
                    }
                    let b = optimize::budget::search(
                        &g,
                        &cm,
                        &rule_set,
                        &places,
                        &options,
                        &optimize::budget::BudgetOptions {
                            max_error: budget.max_relative,
                            metric,
                            samples,
                            max_sites,
                        },
                        &given,
                    )?;
                    (b.optimized, Some(b.report))
                }
                _ => {
                    let bar = report::progress::saturation_bar(limits.nodes);
                    let out = optimize::optimize(
                        &g,
                        &cm,
                        &rule_set.restricted(&places),
                        &options,
                        bar.callback(),
                    )?;
                    bar.finish();
                    (out, None)
                }
            };
            let spinner = report::progress::spinner("checking the result against the input");
            let runs = samples + given.len();
            if runs > 0 && !out.unchanged {
                eprintln!(
                    "running the result against the input on {runs} input(s) with the interpreter{} (--samples 0 skips the random ones)",
                    if allow_approx { " in fixed point" } else { "" }
                );
            }
            let check = if runs == 0 || out.unchanged {
                None
            } else {
                let checked = if allow_approx {
                    verify::approximation_error(&g, &out.graph, &cm, samples, 0, &given)
                } else {
                    verify::check_exact(&g, &out.graph, samples, 0, &given)
                };
                // A model the interpreter cannot run is still optimized.
                checked
                    .map_err(|e| eprintln!("warning: the check of the result was skipped: {e}"))
                    .ok()
            };
            spinner.finish();
            let view = report::optimize::View {
                depth,
                network,
                weights: vis.to_string(),
                places: 4,
            };
            match format {
                ShowFormat::Table => {
                    emit(&report::optimize::text(
                        &out,
                        &g,
                        &rule_set,
                        &view,
                        check.as_ref(),
                    ))?;
                    if let Some(b) = &budgeted {
                        emit(&optimize::budget::text(b))?;
                    }
                }
                ShowFormat::Json => {
                    let mut v = report::optimize::json(&out, &g, &rule_set, &view, check.as_ref());
                    if let Some(b) = &budgeted {
                        v["budget"] = serde_json::to_value(b)?;
                    }
                    emit(&format!("{}\n", serde_json::to_string_pretty(&v)?))?
                }
            }
            if check
                .as_ref()
                .is_some_and(|c| !c.agrees && c.tolerance.is_some())
            {
                return Err(CheckFailed(
                    "the optimized graph differs from the input on random inputs (a rule or the optimizer is wrong); nothing written".into(),
                )
                .into());
            }
            if let Some(b) = &budgeted {
                if b.result.error > b.max_error {
                    return Err(CheckFailed(format!(
                        "even the exact rules' result has a {} output error of {:.3e} (fixed-point rounding), above --max-error {}: nothing written (raise --max-error)",
                        b.metric.name(), b.result.error, b.max_error
                    ))
                    .into());
                }
            } else if let Some(budget) = &max_error {
                if !out.unchanged {
                    match budget.judge(check.as_ref()) {
                        Ok(Some(warning)) => eprintln!("warning: {warning}"),
                        Ok(None) => {}
                        Err(refusal) => return Err(CheckFailed(refusal).into()),
                    }
                }
            }
            if let Some(path) = output {
                frontend::write_model(&out.graph, &path)?;
                eprintln!("wrote {} ({} nodes)", path.display(), out.graph.len());
            }
            if let Some(path) = flamegraph_diff {
                let title = format!(
                    "{} under {}: the input's online bytes, blue where the optimized graph sends less (removed: full blue), red more",
                    out.before.model, out.before.framework
                );
                let svg = report::flame::removed_svg(
                    &out.before.attribution(GroupBy::Module),
                    &out.after.attribution(GroupBy::Module),
                    &title,
                    report::numbers::Units::Bytes,
                )
                .map_err(anyhow::Error::msg)?;
                hawkeye_mpc::output::write(&path, svg)
                    .with_context(|| format!("{}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
        Command::CheckRules {
            files,
            instances,
            draws,
            seed,
            format,
        } => {
            if instances == 0 || draws == 0 {
                bail!("--instances and --draws must be at least 1");
            }
            let rule_set = if files.is_empty() {
                RuleSet::builtin()?
            } else {
                let mut set = RuleSet::empty();
                for file in &files {
                    set.add_file(file)?;
                }
                set
            };
            let options = CheckOptions {
                seed,
                instances,
                draws,
                attempts: instances.saturating_mul(25),
                ..CheckOptions::default()
            };
            let checks = soundness::check_rules(&rule_set, &options);
            match format {
                ShowFormat::Table => emit(&report::soundness::text(&checks, &options))?,
                ShowFormat::Json => emit(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&report::soundness::json(&checks, &options))?
                ))?,
            }
            let failed = checks.iter().filter(|c| c.failed()).count();
            if failed > 0 {
                return Err(CheckFailed(format!(
                    "{failed} rule{} fail{} the check",
                    if failed == 1 { "" } else { "s" },
                    if failed == 1 { "s" } else { "" }
                ))
                .into());
            }
        }
        Command::Compare(args) => return cli::compare::run(args),
        Command::Diff(args) => return cli::diff::run(args),
        Command::Equiv {
            original,
            variant,
            zoo,
            framework,
            weights,
            set,
            samples,
            seed,
            tolerance,
        } => {
            if !(tolerance.is_finite() && tolerance >= 0.0) {
                bail!("--tolerance must be a non-negative number");
            }
            let cm = cli::framework::load(&framework, &parse_overrides(&set)?)?;
            // one set of options for two models: an option may apply to one of them only
            let mut options = zoo.options()?;
            options.options_must_apply = false;
            let load = |m: &str| frontend::load_model(m, &options);
            let (g0, g1) = (load(&original)?, load(&variant)?);
            let options = validate::EquivOptions {
                samples,
                seed,
                tolerance,
                weights: weights
                    .map(Visibility::from)
                    .unwrap_or(cm.framework.default_weights),
            };
            let spinner = report::progress::spinner("comparing the models");
            let r = validate::check_equivalence(&g0, &g1, &cm, &options);
            spinner.finish();
            let r = r?;
            emit(&report::equiv::text(&r, &original, &variant))?;
            return Ok(r.verdict.exit_code());
        }
    }
    Ok(cli::output::OK)
}

/// Exit statuses (`cli::output`): 0 ok, 1 a failed check, 2 a usage or input error (and 3
/// for `equiv`'s "approximately equal").
fn main() {
    hawkeye_mpc::interpret::allocator::keep_freed_memory();
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => std::process::exit(status),
        Err(e) => {
            eprintln!("error: {}", cli::output::error_text(&e));
            std::process::exit(cli::output::exit_status(&e));
        }
    }
}
