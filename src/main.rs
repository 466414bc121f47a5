//! The `hawkeye` command line: argument parsing and dispatch only.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use hawkeye_mpc::autograd::{train_step, Loss, Optimizer, TrainOptions, Training};
use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::frontend;
use hawkeye_mpc::graph::{Graph, Visibility};
use hawkeye_mpc::profile::{GroupBy, Network, Profile};
use hawkeye_mpc::report;
use hawkeye_mpc::zoo::{self, ZooOptions};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "hawkeye",
    version,
    about = "Static MPC communication profiler for neural networks",
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
  hawkeye export resnet18 --batch 4 -o resnet18.json"
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
    Frameworks {
        /// Override cost-model parameters (NAME=VALUE, repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
    },
    /// Show a model's nodes: module path, op, shapes, visibility, parameters.
    #[command(
        after_help = "Examples:\n  hawkeye show lenet5\n  hawkeye show model.json --format json"
    )]
    Show {
        /// Zoo model name or model file (.json)
        model: String,
        #[command(flatten)]
        zoo: ZooArgs,
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
    },
    /// Write a model to a file in the native JSON format.
    #[command(after_help = "Example:\n  hawkeye export resnet50 --batch 8 -o resnet50.json")]
    Export {
        /// Zoo model name or model file (.json)
        model: String,
        #[command(flatten)]
        zoo: ZooArgs,
        /// Output file (.json)
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
        /// Zoo model name or model file (.json)
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
    /// Compare a model's communication across frameworks.
    #[command(
        after_help = "Examples:\n  hawkeye compare resnet18\n  hawkeye compare mlp --frameworks crypten,spu-semi2k"
    )]
    Compare {
        /// Zoo model name or model file (.json)
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
    /// Batch size (zoo models)
    #[arg(long, default_value_t = 1)]
    batch: usize,
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
    fn options(&self) -> Result<ZooOptions> {
        if self.batch == 0 {
            bail!("--batch must be at least 1");
        }
        if self.resolution == Some(0) || self.seq_len == Some(0) || self.classes == Some(0) {
            bail!("--resolution, --seq-len and --classes must be at least 1");
        }
        Ok(ZooOptions {
            batch: self.batch,
            resolution: self.resolution,
            seq_len: self.seq_len,
            classes: self.classes,
        })
    }

    fn load(&self, model: &str) -> Result<Graph> {
        Ok(frontend::load_model(model, &self.options()?)?)
    }
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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Models => print!("{}", report::catalog::models(zoo::MODELS)),
        Command::Frameworks { set } => {
            let models = cost::builtin_frameworks(&parse_overrides(&set)?)?;
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
            match output.extension().and_then(|e| e.to_str()) {
                Some(e) if e.eq_ignore_ascii_case("json") => {
                    frontend::json::write_file(&g, &output)?
                }
                _ => bail!("{}: the output must be a .json file", output.display()),
            }
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
            let g = train.graph(&g, &cm)?;
            let (p, vis) = profile(&g, &cm, costing.weights)?;
            let tree = p.attribution(group_by.into());
            let view = report::profile::View {
                depth,
                top,
                network,
                weights: vis.to_string(),
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
        Command::Compare {
            model,
            zoo,
            frameworks,
            weights,
            train,
        } => {
            let g = zoo.load(&model)?;
            let models: Vec<CostModel> = if frameworks == "all" {
                cost::builtin_frameworks(&[])?
            } else {
                frameworks
                    .split(',')
                    .map(|f| cost::load_framework(f.trim(), &[]))
                    .collect::<Result<_, _>>()?
            };
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
    }
    Ok(())
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
