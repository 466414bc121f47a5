//! `hawkeye diff A B -f F [-f G]`: two models (or one model under two frameworks) side by
//! side, layers aligned by structure, with a two-sided flame graph.

use super::output::emit;
use super::UnitsArg;
use crate::{WeightsArg, ZooArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use hawkeye_mpc::profile::{GroupBy, Network};
use hawkeye_mpc::report::{self, diff, layers};

#[derive(Args)]
pub struct DiffArgs {
    /// The first model (A): zoo name or model file (.json, .onnx)
    a: String,
    /// The second model (B)
    b: String,
    #[command(flatten)]
    zoo: ZooArgs,
    /// Framework of both, or give it twice: A under the first, B under the second
    #[arg(short, long, num_args = 1, required = true)]
    framework: Vec<String>,
    /// Weight visibility (default: each framework's own).
    #[arg(long, value_enum)]
    weights: Option<WeightsArg>,
    /// Override cost-model parameters of both (NAME=VALUE, repeatable)
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Network for the time line: lan, wan or BW,RTT
    #[arg(long, default_value = "lan")]
    network: String,
    /// Show only the K aligned layers that change most (in execution order)
    #[arg(long)]
    top: Option<usize>,
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
    #[arg(long, value_enum, default_value_t = UnitsArg::Bytes)]
    units: UnitsArg,
    /// Also write a two-sided SVG flame graph: frames as wide as in B, red where B sends more
    /// than A, blue where it sends less
    #[arg(long, value_name = "FILE.svg")]
    flamegraph: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiffFormat {
    Text,
    Csv,
}

pub fn run(a: DiffArgs) -> Result<i32> {
    let (fa, fb) = match a.framework.as_slice() {
        [f] => (f, f),
        [f, g] => (f, g),
        _ => bail!(
            "give --framework once (both models) or twice (A under the first, B under the second)"
        ),
    };
    let network: Network = a.network.parse().map_err(anyhow::Error::msg)?;
    let overrides = crate::parse_overrides(&a.set)?;
    let (ma, mb) = (
        super::framework::load(fa, &overrides)?,
        super::framework::load(fb, &overrides)?,
    );
    let (mut ga, mut gb) = (a.zoo.load(&a.a)?, a.zoo.load(&a.b)?);
    let (pa, _) = crate::profile(&mut ga, &ma, a.weights)?;
    let (pb, _) = crate::profile(&mut gb, &mb, a.weights)?;
    let (la, lb) = (layers::rows(&ga, &pa), layers::rows(&gb, &pb));
    let pairs = diff::align(&la, &lb);
    let units = a.units.into();
    emit(&match a.format {
        DiffFormat::Text => diff::text(
            &pa,
            &pb,
            &pairs,
            &diff::View {
                network,
                units,
                top: a.top,
            },
        ),
        DiffFormat::Csv => diff::csv(&pairs, units),
    })?;
    if let Some(path) = a.flamegraph {
        let title = format!(
            "B ({} under {}) vs A ({} under {}): online {}; red grew, blue shrank",
            pb.model,
            pb.framework,
            pa.model,
            pa.framework,
            units.name()
        );
        let svg = report::flame::diff_svg(
            &diff::common_root(&pa.attribution(GroupBy::Module)),
            &diff::common_root(&pb.attribution(GroupBy::Module)),
            &title,
            units,
        )
        .map_err(anyhow::Error::msg)?;
        std::fs::write(&path, svg).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(super::output::OK)
}
