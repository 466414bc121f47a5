//! The `hawkeye` command line: argument parsing and dispatch only.

use anyhow::{bail, Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use hawkeye_mpc::autograd::train_step;
use hawkeye_mpc::cost::loadability::{warnings, Refusal};
use hawkeye_mpc::cost::CostModel;
use hawkeye_mpc::frontend::{self, LoadOptions};
use hawkeye_mpc::graph::{Graph, Visibility};
use hawkeye_mpc::optimize::soundness::{self, CheckOptions};
use hawkeye_mpc::optimize::RuleSet;
use hawkeye_mpc::profile::{GroupBy, Profile};
use hawkeye_mpc::report;
use hawkeye_mpc::request::TrainRequest;
use hawkeye_mpc::validate;
use std::path::PathBuf;

mod cli;
use cli::output::{emit, CheckFailed};

/// mimalloc, not the system's malloc: a profile makes millions of small allocations (names,
/// call chains, tree nodes), which it serves faster, and it reuses freed blocks where glibc
/// unmaps large ones and faults them in again (a 1M-node graph: 35 % less CPU; the
/// interpreter's tensors in the optimizer's check: 30 % less system time than glibc tuned to
/// keep them). Built without transparent huge pages (`no_thp`): faulting them in made system
/// time vary tenfold.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Optimize(cli::optimize::OptimizeArgs),
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

/// Warns on stderr about the nodes the framework's real frontend refuses (op, node, module,
/// the framework's reason, the form whose cost is shown; one warning per kind of refusal);
/// with `strict` that is an error.
fn loadability(model: &str, graph: &Graph, cm: &CostModel, strict: bool) -> Result<Vec<Refusal>> {
    let Some(fe) = &cm.frontend else {
        return Ok(Vec::new());
    };
    let refused = frontend::refusals(model, graph, fe)?;
    if strict && !refused.is_empty() {
        let lines = warnings(&fe.name, &refused);
        return Err(NotLoadable(format!(
            "{model} cannot run under {} (--strict):\n  {}",
            cm.framework.name,
            lines.join("\n  ")
        ))
        .into());
    }
    for w in warnings(&fe.name, &refused) {
        eprintln!("warning: {w}");
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
        Command::Optimize(args) => return cli::optimize::run(args),
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
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => std::process::exit(status),
        Err(e) => {
            eprintln!("error: {}", cli::output::error_text(&e));
            std::process::exit(cli::output::exit_status(&e));
        }
    }
}
