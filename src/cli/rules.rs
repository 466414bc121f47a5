//! `hawkeye rules`: every rewrite rule with its class (exact or approximate), its direction
//! and its rationale, as a table or JSON.

use super::output::emit;
use crate::ShowFormat;
use anyhow::Result;
use clap::Args;
use hawkeye_mpc::optimize::RuleSet;
use hawkeye_mpc::report;
use std::path::PathBuf;

#[derive(Args)]
pub struct RulesArgs {
    /// Rule files to list after the built-in rules
    #[arg(long = "rules", value_name = "FILE", num_args = 1..)]
    rules: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
    format: ShowFormat,
}

pub fn run(a: RulesArgs) -> Result<i32> {
    let mut set = RuleSet::builtin()?;
    for file in &a.rules {
        set.add_file(file)?;
    }
    emit(&match a.format {
        ShowFormat::Json => report::catalog::rules_json(&set),
        ShowFormat::Table => report::catalog::rules_table(&set),
    })?;
    Ok(super::output::OK)
}
