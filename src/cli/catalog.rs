//! `hawkeye models` and `hawkeye frameworks [NAME]`: what the tool knows, as tables or JSON.

use super::output::emit;
use crate::ShowFormat;
use anyhow::Result;
use clap::Args;
use hawkeye_mpc::report::catalog;
use hawkeye_mpc::{cost, zoo};

#[derive(Args)]
pub struct ModelsArgs {
    #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
    format: ShowFormat,
}

#[derive(Args)]
pub struct FrameworksArgs {
    /// One framework (name, alias or .toml file) to show in full
    name: Option<String>,
    #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
    format: ShowFormat,
}

pub fn models(a: ModelsArgs) -> Result<i32> {
    emit(&match a.format {
        ShowFormat::Table => catalog::models(zoo::MODELS),
        ShowFormat::Json => catalog::models_json(zoo::MODELS),
    })?;
    Ok(super::output::OK)
}

pub fn frameworks(a: FrameworksArgs) -> Result<i32> {
    let models = match &a.name {
        Some(name) => vec![super::framework::load(name, &[])?],
        None => cost::builtin_frameworks()?,
    };
    emit(&match (a.format, &a.name) {
        (ShowFormat::Json, _) => catalog::frameworks_json(&models),
        (ShowFormat::Table, Some(_)) => catalog::framework(&models[0]),
        (ShowFormat::Table, None) => catalog::frameworks(&models),
    })?;
    Ok(super::output::OK)
}
