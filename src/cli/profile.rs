//! `hawkeye profile`: one model under one framework, as an overview, a tree, a per-layer table,
//! JSON, CSV, folded stacks or a flame graph.

use super::output::{emit, emit_with};
use super::UnitsArg;
use crate::{CostArgs, GroupArg, TrainArgs, ZooArgs};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use hawkeye_mpc::profile::{GroupBy, Network};
use hawkeye_mpc::report::{self, layers};
use std::io::Write;

#[derive(Args)]
pub struct ProfileArgs {
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
    /// Show this many levels of the tree (also limits --format csv).
    #[arg(long)]
    depth: Option<usize>,
    /// Show the K costliest children of each node.
    #[arg(long)]
    top: Option<usize>,
    /// Show the whole tree (every level, every child).
    #[arg(long, conflicts_with_all = ["depth", "top"])]
    full: bool,
    /// tree: an overview by default, the tree with --depth/--top/--full; layers: one row per
    /// module instance; layers-csv: the same as CSV; json (bits); csv (the tree); folded.
    #[arg(long, value_enum, default_value_t = ProfileFormat::Tree)]
    format: ProfileFormat,
    /// Indent the JSON for people (--format json; compact otherwise).
    #[arg(long)]
    pretty: bool,
    /// Communication unit of text, CSV, folded stacks and flame graphs (JSON is in bits).
    #[arg(long, value_enum, default_value_t = UnitsArg::Bytes)]
    units: UnitsArg,
    /// Also write an SVG flame graph (online communication) to this file.
    #[arg(long, value_name = "FILE.svg")]
    flamegraph: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProfileFormat {
    Tree,
    Layers,
    LayersCsv,
    Json,
    Csv,
    Folded,
}

/// Children shown per node by a tree grouped by op, primitive or phase without --top/--full.
const DEFAULT_TOP: usize = 10;
/// Levels shown by a tree grouped by op or phase without --depth/--full.
const DEFAULT_DEPTH: usize = 2;

pub fn run(a: ProfileArgs) -> Result<i32> {
    if a.pretty && !matches!(a.format, ProfileFormat::Json) {
        anyhow::bail!("--pretty indents JSON output: use it with --format json");
    }
    let network: Network = a.costing.network.parse().map_err(anyhow::Error::msg)?;
    let spinner = report::progress::spinner(&format!("loading and profiling {}", a.model));
    let g = a.zoo.load(&a.model)?;
    let cm = super::framework::load(
        &a.costing.framework,
        &crate::parse_overrides(&a.costing.set)?,
    )?;
    let refused = crate::loadability(&a.model, &g, &cm, a.costing.strict)?;
    let inputs = hawkeye_mpc::frontend::options::graph_inputs(&g);
    let mode = a.train.mode(&g)?;
    let mut g = a.train.graph(g, &cm)?;
    let (p, vis) = crate::profile(&mut g, &cm, a.costing.weights)?;
    let group: GroupBy = a.group_by.into();
    let explicit = a.full || a.depth.is_some() || a.top.is_some();
    let overview = matches!(a.format, ProfileFormat::Tree) && group == GroupBy::Module && !explicit;
    // The layer tables are read off the graph; then the graph goes, so that the attribution
    // tree of a large model reuses its memory instead of adding to the peak.
    let layer_rows = match a.format {
        ProfileFormat::Tree if overview => {
            layers::costliest(&g, &p, report::profile::OVERVIEW_LAYERS)
        }
        ProfileFormat::Layers | ProfileFormat::LayersCsv => layers::rows(&g, &p),
        _ => Vec::new(),
    };
    drop(g);
    let tree = p.attribution(group);
    spinner.finish();
    let (depth, top) = match (a.full, group) {
        (true, _) => (None, None),
        (false, GroupBy::Module) => (a.depth, a.top),
        (false, _) if explicit => (a.depth, a.top),
        (false, _) => (Some(DEFAULT_DEPTH), Some(DEFAULT_TOP)),
    };
    let view = report::profile::View {
        depth,
        top,
        network,
        weights: vis.to_string(),
        units: a.units.into(),
        rounds_meaning: cm.framework.rounds.clone(),
        inputs,
        mode,
        refused,
    };
    let text = match a.format {
        ProfileFormat::Tree if overview => report::profile::overview(&p, &tree, &layer_rows, &view),
        ProfileFormat::Tree => report::profile::text(&p, &tree, &view),
        ProfileFormat::Layers => {
            let rounds =
                report::numbers::Rounds::of(layer_rows.iter().map(|r| r.cost.online_rounds));
            let mut out = layers::text(&layer_rows, &p.total, view.units, rounds);
            if let Some(note) = rounds.footnote(&p.framework, &view.rounds_meaning) {
                out.push_str(&format!("\n{note}\n"));
            }
            out
        }
        ProfileFormat::LayersCsv => layers::csv(&layer_rows, &p.total, view.units),
        ProfileFormat::Json => {
            emit_with(|out| {
                report::profile::write_json(&mut *out, &p, &tree, &view, a.pretty)?;
                out.write_all(b"\n")
            })?;
            String::new() // written: a large model's JSON is not held in memory first
        }
        ProfileFormat::Csv => report::profile::csv(&tree, &view),
        ProfileFormat::Folded => report::flame::folded(&tree, view.units),
    };
    emit(&text)?;
    if let Some(path) = a.flamegraph {
        let title = format!(
            "{} under {} (online {})",
            p.model,
            p.framework,
            view.units.name()
        );
        let svg = report::flame::svg(&tree, &title, view.units).map_err(anyhow::Error::msg)?;
        hawkeye_mpc::output::write(&path, svg)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    // The process ends next: leave the big structures to the OS instead of freeing them node
    // by node.
    std::mem::forget((p, tree, cm));
    Ok(super::output::OK)
}
