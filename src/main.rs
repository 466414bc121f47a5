//! The `hawkeye` command line: argument parsing and dispatch only.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use hawkeye_mpc::autograd::{train_step, Loss, Optimizer, TrainOptions, Training};
use hawkeye_mpc::cost::loadability::{warning, Refusal};
use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::frontend::{self, onnx::DimBindings, LoadOptions};
use hawkeye_mpc::graph::{Graph, Visibility};
use hawkeye_mpc::optimize::soundness::{self, CheckOptions};
use hawkeye_mpc::optimize::verify;
use hawkeye_mpc::optimize::{self, Limits, Method, Objective, Options, RuleSet};
use hawkeye_mpc::profile::{GroupBy, Network, Profile};
use hawkeye_mpc::report;
use hawkeye_mpc::validate;
use hawkeye_mpc::zoo::{self, ZooOptions};
use std::path::PathBuf;

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
  hawkeye check-rules my.rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the built-in models with parameter and MAC counts.
    Models,
    /// List the built-in frameworks (cost models) with their parameters and provenance.
    Frameworks,
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
  hawkeye profile mlp --framework crypten --weights public --group-by primitive
  hawkeye profile lenet5 --framework my_framework.toml --set ring=32 --format json
  hawkeye profile bert-tiny --framework semi2k --depth 3 --top 5 --flamegraph bert.svg
  hawkeye profile mlp --framework semi2k --train --batch 32 --group-by phase
  hawkeye profile vgg16 --framework semi2k --train --optimizer adam --loss mse")]
    Profile {
        /// Zoo model name or model file (.json, .onnx)
        model: String,
        #[command(flatten)]
        zoo: ZooArgs,
        #[command(flatten)]
        costing: CostArgs,
        #[command(flatten)]
        train: TrainArgs,
        /// How to arrange the costs.
        #[arg(long, value_enum, default_value_t = GroupArg::Module)]
        group_by: GroupArg,
        /// Show this many levels of the tree.
        #[arg(long)]
        depth: Option<usize>,
        /// Show the K costliest children of each node.
        #[arg(long)]
        top: Option<usize>,
        #[arg(long, value_enum, default_value_t = ProfileFormat::Tree)]
        format: ProfileFormat,
        /// Also write an SVG flame graph (online bits) to this file.
        #[arg(long, value_name = "FILE.svg")]
        flamegraph: Option<PathBuf>,
    },
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
        /// Stop saturating after this many seconds
        #[arg(long, value_name = "SECONDS")]
        time_limit: Option<f64>,
        /// Write the optimized graph (.json or .onnx)
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Also write a differential SVG flame graph (online bits, after vs before)
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
        after_help = "Examples:\n  hawkeye compare resnet18\n  hawkeye compare mlp --frameworks crypten,spu-semi2k"
    )]
    Compare {
        /// Zoo model name or model file (.json, .onnx)
        model: String,
        #[command(flatten)]
        zoo: ZooArgs,
        /// Frameworks to compare: `all` or a comma-separated list.
        #[arg(long, default_value = "all")]
        frameworks: String,
        /// Weight visibility (default: each framework's own).
        #[arg(long, value_enum)]
        weights: Option<WeightsArg>,
        #[command(flatten)]
        train: TrainArgs,
        /// Refuse (exit status 2) a model a framework's real frontend cannot load or run
        #[arg(long)]
        strict: bool,
    },
    /// Check that a variant of a model computes what the original does, and what it saves.
    #[command(
        long_about = "Checks that VARIANT computes what ORIGINAL computes, and compares their \
communication under a framework.

Both models must have the same inputs (names, shapes, kinds, visibilities) and as many outputs \
with the same shapes. Inputs get the same random values by name. A parameter is bound to the \
values its model file stores (ONNX weights), else by name to the original's value, else drawn \
from the seed. Outputs are compared on --samples random samples in f64 and in the framework's \
fixed-point arithmetic (its ring/frac, else 64/16).

Exit status: 0 equivalent (largest relative f64 error <= 1e-9), 1 approximately equal (<= \
--tolerance), 2 different, or the models could not be compared (an error).",
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
        /// Largest relative f64 error for "approximately equal" (exit status 1).
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
    /// Optimizer (momentum: SGD with momentum 0.9 and weight decay 5e-4).
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
}

impl TrainArgs {
    /// The graph to profile under `model`: the training step when `--train`, else `graph`.
    fn graph(&self, graph: &Graph, model: &CostModel) -> Result<Graph> {
        if !self.train {
            return Ok(graph.clone());
        }
        let name = match self.optimizer {
            OptimizerArg::Sgd => "sgd",
            OptimizerArg::Momentum => "momentum",
            OptimizerArg::Adam => "adam",
            OptimizerArg::Adamw => "adamw",
        };
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("--lr must be a positive number");
        }
        let grad_threshold = match self.grad_threshold.as_deref() {
            None => None,
            Some("default") => Some(model.training.grad_threshold.with_context(|| {
                format!(
                    "{} has no default gradient threshold; give one: --grad-threshold T",
                    model.framework.name
                )
            })?),
            Some(t) => Some(
                t.parse::<f64>()
                    .ok()
                    .filter(|t| t.is_finite() && *t > 0.0)
                    .with_context(|| format!("--grad-threshold '{t}' is not a positive number"))?,
            ),
        };
        let options = TrainOptions {
            loss: match self.loss {
                LossArg::Ce => Loss::CrossEntropy,
                LossArg::Mse => Loss::Mse,
            },
            optimizer: Optimizer::named(name, self.lr).map_err(anyhow::Error::msg)?,
            grad_threshold,
            batch_stats: !self.frozen_batchnorm,
            training: Training::of(model),
        };
        Ok(train_step(graph, &options)?)
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
enum ProfileFormat {
    Tree,
    Json,
    Csv,
    Folded,
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
        let mut dims = DimBindings::new().batch(batch);
        for d in &self.dims {
            dims.parse_binding(d).map_err(anyhow::Error::msg)?;
        }
        Ok(LoadOptions {
            batch_given: self.batch.is_some(),
            options_must_apply: true,
            zoo: ZooOptions {
                batch,
                resolution: self.resolution,
                seq_len: self.seq_len,
                classes: self.classes,
            },
            dims,
        })
    }

    fn load(&self, model: &str) -> Result<Graph> {
        Ok(frontend::load_model(model, &self.options()?)?)
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

/// The mode line of a profile header: inference, or the training step's loss, optimizer, batch.
fn mode(train: &TrainArgs, graph: &Graph) -> String {
    if !train.train {
        return "inference".to_string();
    }
    let batch = frontend::options::graph_inputs(graph)
        .first()
        .and_then(|(_, s)| s.first().copied())
        .unwrap_or(1);
    let loss = match train.loss {
        LossArg::Ce => "cross-entropy",
        LossArg::Mse => "mse",
    };
    let optimizer = match train.optimizer {
        OptimizerArg::Sgd => "sgd",
        OptimizerArg::Momentum => "momentum",
        OptimizerArg::Adam => "adam",
        OptimizerArg::Adamw => "adamw",
    };
    format!(
        "training step (loss {loss}, optimizer {optimizer}, lr {}, batch {batch})",
        train.lr
    )
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
    graph: &Graph,
    model: &CostModel,
    weights: Option<WeightsArg>,
) -> Result<(Profile, Visibility)> {
    let vis = weights
        .map(Visibility::from)
        .unwrap_or(model.framework.default_weights);
    let graph = graph.with_parameter_visibility(vis);
    Ok((Profile::new(&graph, model)?, vis))
}

/// Runs a command; `Ok` holds the exit status.
fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Models => print!("{}", report::catalog::models(zoo::MODELS)),
        Command::Frameworks => {
            let models = cost::builtin_frameworks()?;
            print!("{}", report::catalog::frameworks(&models));
        }
        Command::Show { model, zoo, format } => {
            let g = zoo.load(&model)?;
            match format {
                ShowFormat::Table => print!("{}", report::graph::table(&g)),
                ShowFormat::Json => println!("{}", report::graph::json(&g)),
            }
        }
        Command::Export { model, zoo, output } => {
            let g = zoo.load(&model)?;
            frontend::write_model(&g, &output)?;
            eprintln!("wrote {} ({} nodes)", output.display(), g.len());
        }
        Command::Profile {
            model,
            zoo,
            costing,
            train,
            group_by,
            depth,
            top,
            format,
            flamegraph,
        } => {
            let network: Network = costing.network.parse().map_err(anyhow::Error::msg)?;
            let g = zoo.load(&model)?;
            let cm = cost::load_framework(&costing.framework, &parse_overrides(&costing.set)?)?;
            let refused = loadability(&model, &g, &cm, costing.strict)?;
            let inputs = frontend::options::graph_inputs(&g);
            let mode = mode(&train, &g);
            let g = train.graph(&g, &cm)?;
            let (p, vis) = profile(&g, &cm, costing.weights)?;
            let tree = p.attribution(group_by.into());
            let view = report::profile::View {
                depth,
                top,
                network,
                weights: vis.to_string(),
                inputs,
                mode,
                refused,
            };
            match format {
                ProfileFormat::Tree => print!("{}", report::profile::text(&p, &tree, &view)),
                ProfileFormat::Json => println!("{}", report::profile::json(&p, &tree, &view)),
                ProfileFormat::Csv => print!("{}", report::profile::csv(&tree)),
                ProfileFormat::Folded => print!("{}", report::flame::folded(&tree)),
            }
            if let Some(path) = flamegraph {
                let title = format!("{} under {} (online bits)", p.model, p.framework);
                let svg = report::flame::svg(&tree, &title).map_err(anyhow::Error::msg)?;
                std::fs::write(&path, svg).with_context(|| format!("{}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
        }
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
            time_limit,
            output,
            flamegraph_diff,
            depth,
            format,
            samples,
        } => {
            let network: Network = costing.network.parse().map_err(anyhow::Error::msg)?;
            let objective = Objective::parse(&objective, network).map_err(anyhow::Error::msg)?;
            let g = zoo.load(&model)?;
            let cm = cost::load_framework(&costing.framework, &parse_overrides(&costing.set)?)?;
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
            let mut limits = Limits::default();
            limits.nodes = node_limit.unwrap_or(limits.nodes);
            limits.iterations = iter_limit.unwrap_or(limits.iterations);
            if let Some(t) = time_limit {
                if !(t.is_finite() && t > 0.0) {
                    bail!("--time-limit must be a positive number of seconds");
                }
                limits.time = std::time::Duration::from_secs_f64(t);
            }
            if !(ilp_seconds.is_finite() && ilp_seconds >= 0.0) {
                bail!("--ilp-seconds must be a number of seconds >= 0");
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
            let bar = report::progress::saturation_bar(limits.nodes);
            let out = optimize::optimize(&g, &cm, &rule_set, &options, bar.callback())?;
            bar.finish();
            if samples > 0 && !out.unchanged {
                eprintln!(
                    "running the result against the input on {samples} random input(s) with the interpreter{} (--samples 0 skips this)",
                    if allow_approx { " in fixed point" } else { "" }
                );
            }
            let check = if samples == 0 || out.unchanged {
                None
            } else {
                let checked = if allow_approx {
                    verify::approximation_error(&g, &out.graph, &cm, samples, 0)
                } else {
                    verify::check_exact(&g, &out.graph, samples, 0)
                };
                // A model the interpreter cannot run is still optimized.
                checked
                    .map_err(|e| eprintln!("warning: the result could not be checked: {e}"))
                    .ok()
            };
            let view = report::optimize::View {
                depth,
                network,
                weights: vis.to_string(),
                places: 4,
            };
            match format {
                ShowFormat::Table => print!(
                    "{}",
                    report::optimize::text(&out, &rule_set, &view, check.as_ref())
                ),
                ShowFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report::optimize::json(
                        &out,
                        &rule_set,
                        &view,
                        check.as_ref()
                    ))?
                ),
            }
            if check
                .as_ref()
                .is_some_and(|c| !c.agrees && c.tolerance.is_some())
            {
                bail!(
                    "the optimized graph differs from the input on random inputs (a rule or the optimizer is wrong); nothing written"
                );
            }
            if let Some(path) = output {
                frontend::write_model(&out.graph, &path)?;
                eprintln!("wrote {} ({} nodes)", path.display(), out.graph.len());
            }
            if let Some(path) = flamegraph_diff {
                let title = format!(
                    "{} under {}: optimized vs input (online bits; red grew, blue shrank)",
                    out.before.model, out.before.framework
                );
                let svg = report::flame::diff_svg(
                    &out.before.attribution(GroupBy::Module),
                    &out.after.attribution(GroupBy::Module),
                    &title,
                )
                .map_err(anyhow::Error::msg)?;
                std::fs::write(&path, svg).with_context(|| format!("{}", path.display()))?;
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
                ShowFormat::Table => print!("{}", report::soundness::text(&checks, &options)),
                ShowFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report::soundness::json(&checks, &options))?
                ),
            }
            let failed = checks.iter().filter(|c| c.failed()).count();
            if failed > 0 {
                bail!(
                    "{failed} rule{} fail{} the check",
                    if failed == 1 { "" } else { "s" },
                    if failed == 1 { "s" } else { "" }
                );
            }
        }
        Command::Compare {
            model,
            zoo,
            frameworks,
            weights,
            train,
            strict,
        } => {
            let g = zoo.load(&model)?;
            let models: Vec<CostModel> = if frameworks == "all" {
                cost::builtin_frameworks()?
            } else {
                frameworks
                    .split(',')
                    .map(|f| cost::load_framework(f.trim(), &[]))
                    .collect::<Result<_, _>>()?
            };
            for m in &models {
                loadability(&model, &g, m, strict)?;
            }
            let rows: Vec<report::compare::CompareRow> = models
                .iter()
                .map(|m| {
                    let r = train
                        .graph(&g, m)
                        .and_then(|g| profile(&g, m, weights))
                        .map(|(p, _)| p)
                        .map_err(|e| format!("{e:#}"));
                    (m.framework.name.clone(), r)
                })
                .collect();
            print!("{}", report::compare::table(&rows));
        }
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
            let cm = cost::load_framework(&framework, &parse_overrides(&set)?)?;
            // one set of options for two models: an option may apply to one of them only
            let mut options = zoo.options()?;
            options.options_must_apply = false;
            let load = |m: &str| {
                frontend::load_model(m, &options).with_context(|| format!("cannot load '{m}'"))
            };
            let (g0, g1) = (load(&original)?, load(&variant)?);
            let options = validate::EquivOptions {
                samples,
                seed,
                tolerance,
                weights: weights
                    .map(Visibility::from)
                    .unwrap_or(cm.framework.default_weights),
            };
            let r = validate::check_equivalence(&g0, &g1, &cm, &options)?;
            print!("{}", report::equiv::text(&r, &original, &variant));
            return Ok(r.verdict.exit_code());
        }
    }
    Ok(0)
}

fn main() {
    let cli = Cli::parse();
    // `equiv` keeps 1 for "approximately equal": a comparison that cannot be made is status 2.
    let error_status = match cli.command {
        Command::Equiv { .. } => 2,
        _ => 1,
    };
    match run(cli) {
        Ok(status) => std::process::exit(status),
        Err(e) => {
            eprintln!("error: {e:#}");
            let strict = e.downcast_ref::<NotLoadable>().is_some();
            std::process::exit(if strict { 2 } else { error_status });
        }
    }
}
