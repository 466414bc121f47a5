//! `hawkeye compare`: a model under several frameworks, as a table, JSON or CSV.

use super::output::emit;
use super::UnitsArg;
use crate::{TrainArgs, WeightsArg, ZooArgs};
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::profile::Network;
use hawkeye_mpc::report::{self, compare::CompareRow};

#[derive(Args)]
pub struct CompareArgs {
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
    /// Override a cost-model parameter (NAME=VALUE, repeatable) in every framework that has it.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Network for the time column: lan, wan or BW,RTT (default: a column for each of lan and wan).
    #[arg(long)]
    network: Option<String>,
    #[command(flatten)]
    train: TrainArgs,
    /// table, json (bits, as profile --format json) or csv.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    format: CompareFormat,
    /// Communication unit of the table and CSV.
    #[arg(long, value_enum, default_value_t = UnitsArg::Bytes)]
    units: UnitsArg,
    /// Refuse (exit status 2) a model a framework's real frontend cannot load or run
    #[arg(long)]
    strict: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum CompareFormat {
    Table,
    Json,
    Csv,
}

/// The frameworks to compare, each with the `--set` overrides it declares.
fn frameworks(list: &str, overrides: &[(String, f64)]) -> Result<Vec<CostModel>> {
    let names: Vec<String> = if list == "all" {
        cost::BUILTIN.iter().map(|b| b.name.to_string()).collect()
    } else {
        list.split(',').map(|f| f.trim().to_string()).collect()
    };
    let plain: Vec<CostModel> = names
        .iter()
        .map(|n| super::framework::load(n, &[]))
        .collect::<Result<_>>()?;
    for (name, _) in overrides {
        if !plain.iter().any(|m| m.param(name).is_some()) {
            bail!(
                "--set {name}: none of the compared frameworks has a parameter '{name}'; see `hawkeye frameworks NAME` for each one's parameters."
            );
        }
    }
    names
        .iter()
        .zip(plain)
        .map(|(name, model)| {
            let own: Vec<(String, f64)> = overrides
                .iter()
                .filter(|(p, _)| model.param(p).is_some())
                .cloned()
                .collect();
            if own.is_empty() {
                Ok(model)
            } else {
                super::framework::load(name, &own)
            }
        })
        .collect()
}

pub fn run(a: CompareArgs) -> Result<i32> {
    let networks: Vec<Network> = match &a.network {
        Some(n) => vec![n.parse().map_err(anyhow::Error::msg)?],
        None => vec![Network::LAN, Network::WAN],
    };
    let g = a.zoo.load(&a.model)?;
    let models = frameworks(&a.frameworks, &crate::parse_overrides(&a.set)?)?;
    for m in &models {
        crate::loadability(&a.model, &g, m, a.strict)?;
    }
    let bar = report::progress::count_bar(models.len(), "costing under");
    let rows: Vec<CompareRow> = models
        .iter()
        .map(|m| {
            bar.step(&m.framework.name);
            let r = a
                .train
                .graph(g.clone(), m)
                .and_then(|mut g| crate::profile(&mut g, m, a.weights))
                .map(|(p, _)| p)
                .map_err(|e| super::output::error_text(&e));
            (m.framework.name.clone(), r)
        })
        .collect();
    bar.finish();
    let units = a.units.into();
    emit(&match a.format {
        CompareFormat::Table => report::compare::table(&rows, &networks, units),
        CompareFormat::Json => report::compare::json(&rows, &networks),
        CompareFormat::Csv => report::compare::csv(&rows, &networks, units),
    })?;
    Ok(super::output::OK)
}
