//! `hawkeye optimize`: rewrite a model into a cheaper equivalent one (exact rules, or
//! approximations within an output-error budget), check it against the input, and write it.

use super::output::{emit, CheckFailed};
use crate::{
    loadability, number, parse_overrides, CostArgs, ExtractArg, ShowFormat, ZooArgs, MAX_SECONDS,
};
use anyhow::{bail, Context, Result};
use clap::Args;
use hawkeye_mpc::frontend;
use hawkeye_mpc::graph::Visibility;
use hawkeye_mpc::optimize::session::Stage;
use hawkeye_mpc::optimize::spelling::Spelling;
use hawkeye_mpc::optimize::{self, Limits, Method, Objective, Options, RuleSet};
use hawkeye_mpc::profile::{GroupBy, Network};
use hawkeye_mpc::report;
use std::path::PathBuf;

#[derive(Args)]
pub struct OptimizeArgs {
    /// Zoo model name or model file (.json)
    pub model: String,
    #[command(flatten)]
    pub zoo: ZooArgs,
    #[command(flatten)]
    pub costing: CostArgs,
    /// What to minimise: time (online, on --network), online-bits, rounds, total-bits
    #[arg(long, default_value = "time")]
    pub objective: String,
    /// Also apply approximate rules (polynomial activations ...): changes the model
    #[arg(long)]
    pub allow_approx: bool,
    /// Extra rule files (added to the built-in rules)
    #[arg(long = "rules", value_name = "FILE", num_args = 1..)]
    pub rules: Vec<PathBuf>,
    /// Extraction: greedy (DAG-aware) or ilp (greedy, then an exact ILP within --ilp-seconds)
    #[arg(long = "extract", value_enum, default_value_t = ExtractArg::Greedy)]
    pub extract: ExtractArg,
    /// Time limit of the ILP solver (with --extract ilp)
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub ilp_seconds: f64,
    /// Stop saturating above this many e-nodes
    #[arg(long)]
    pub node_limit: Option<usize>,
    /// Stop saturating after this many iterations
    #[arg(long)]
    pub iter_limit: Option<usize>,
    /// Work units the greedy extractor may spend (default 50,000,000)
    #[arg(long, value_name = "UNITS")]
    pub extract_work: Option<u64>,
    /// Wall-clock safety net of the search in seconds (default 120): the count limits
    /// normally stop first; when this one fires the summary says the result may differ
    /// between runs
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<f64>,
    /// Write the optimized graph (.json or .onnx)
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Also write a differential SVG flame graph of online bytes: frames as wide as in the
    /// input, blue where the result sends less (removed work in full blue), red where it
    /// sends more; work only the result does, as wide as in the result
    #[arg(long, value_name = "FILE.svg")]
    pub flamegraph_diff: Option<PathBuf>,
    /// Module path depth of the per-module table (default: the deepest that fits a screen)
    #[arg(long)]
    pub depth: Option<usize>,
    /// Text tables, or JSON with every rewritten node
    #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
    pub format: ShowFormat,
    /// Run the result against the input on N random inputs with the reference interpreter:
    /// an f64 check with exact rules (failing it is an error), the fixed-point output error
    /// with --allow-approx; 0 skips it
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub samples: usize,
    /// With --allow-approx: the error budget (default 0.01, in --error-metric's units):
    /// approximations are chosen per place, greedily by saving per unit of error, and the
    /// result's measured error on the check inputs stays within it
    #[arg(long, value_name = "E")]
    pub max_error: Option<f64>,
    /// How the budget measures the output error: relative (largest |difference| over the
    /// largest |output|), mean or max |difference|, argmax (fraction of rows whose argmax
    /// changes)
    #[arg(long, default_value = "relative", value_name = "METRIC")]
    pub error_metric: String,
    /// With --allow-approx: approximation sites measured at most (more are grouped by
    /// module path prefix)
    #[arg(long, default_value_t = optimize::budget::DEFAULT_MAX_SITES, value_name = "N")]
    pub max_sites: usize,
    /// With --allow-approx: skip the budgeted search, take every approximation the
    /// extractor prefers and write the result whatever its measured error
    #[arg(long)]
    pub force: bool,
    /// Only these rules (comma-separated names; `hawkeye rules` lists them)
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub rules_only: Vec<String>,
    /// Not these rules (comma-separated names)
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub exclude_rules: Vec<String>,
    /// Rewrite only nodes whose module path matches this glob (e.g. 'layer4.*')
    #[arg(long, value_name = "GLOB")]
    pub modules: Option<String>,
    /// Also run the check on these inputs: a .npy file (single-input models) or a .npz
    /// file with one array per graph input, named after it
    #[arg(long, value_name = "FILE.npy|FILE.npz")]
    pub inputs: Option<PathBuf>,
}

pub fn run(args: OptimizeArgs) -> Result<i32> {
    let OptimizeArgs {
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
    } = args;
    let (max_error, metric) = optimize::session::approximation_options(
        allow_approx,
        max_error,
        force,
        &error_metric,
        Spelling::Cli,
    )
    .map_err(anyhow::Error::msg)?;
    let places = match &modules {
        Some(glob) => optimize::places::Places::with_modules(glob, Spelling::Cli)
            .map_err(anyhow::Error::msg)?,
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
    let cm = super::framework::load(&costing.framework, &parse_overrides(&costing.set)?)?;
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
    let rule_set = optimize::places::select(&rule_set, &rules_only, &exclude_rules, Spelling::Cli)
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
    let session = optimize::session::run(
        &optimize::session::Request {
            graph: &g,
            model: &cm,
            rules: &rule_set,
            places: &places,
            options,
            budget: max_error,
            metric,
            samples,
            max_sites,
            given: &given,
            spelling: Spelling::Cli,
        },
        &mut Terminal::default(),
    )?;
    if let Some(why) = &session.check_skipped {
        // A model the interpreter cannot run is still optimized.
        eprintln!("warning: the check of the result was skipped: {why}");
    }
    let optimize::session::Session {
        out,
        budgeted,
        check,
        verdict,
        ..
    } = session;
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
    match verdict {
        Ok(Some(warning)) => eprintln!("warning: {warning}"),
        Ok(None) => {}
        Err(refusal) => return Err(CheckFailed(refusal).into()),
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
        hawkeye_mpc::output::write(&path, svg).with_context(|| format!("{}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(super::output::OK)
}

/// Progress on a terminal: a bar while saturating, spinners while measuring and checking.
#[derive(Default)]
struct Terminal {
    bar: Option<report::progress::SaturationBar>,
    spinner: Option<report::progress::Spinner>,
}

impl optimize::session::Watch for Terminal {
    fn saturation(&mut self, node_limit: usize) -> Option<optimize::ProgressFn> {
        let bar = report::progress::saturation_bar(node_limit);
        let callback = bar.callback();
        self.bar = Some(bar);
        callback
    }

    fn stage(&mut self, stage: Stage) {
        match stage {
            Stage::Budget => {
                self.spinner = Some(report::progress::spinner(
                    "measuring approximations within the error budget",
                ))
            }
            Stage::Check { runs, fixed_point } => {
                eprintln!(
                    "running the result against the input on {runs} input(s) with the interpreter{} (--samples 0 skips the random ones)",
                    if fixed_point { " in fixed point" } else { "" }
                );
                self.spinner = Some(report::progress::spinner(
                    "checking the result against the input",
                ));
            }
            Stage::Done => {
                if let Some(b) = self.bar.take() {
                    b.finish();
                }
                if let Some(s) = self.spinner.take() {
                    s.finish();
                }
            }
        }
    }
}
