//! `hawkeye rules`: every rewrite rule with its class (exact or approximate), its direction
//! and its rationale, as a table or JSON.

use super::output::emit;
use crate::ShowFormat;
use anyhow::Result;
use clap::Args;
use hawkeye_mpc::optimize::RuleSet;
use std::path::PathBuf;

#[derive(Args)]
pub struct RulesArgs {
    /// Rule files to list after the built-in rules
    #[arg(long = "rules", value_name = "FILE", num_args = 1..)]
    rules: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
    format: ShowFormat,
}

/// One rule as listed.
#[derive(serde::Serialize)]
struct Listed<'a> {
    name: &'a str,
    class: String,
    /// `lhs -> rhs`; a `both` rule is listed twice, its reverse as `rhs -> lhs (NAME~rev)`.
    direction: &'static str,
    multi: bool,
    file: &'a str,
    line: usize,
    why: &'a str,
}

pub fn run(a: RulesArgs) -> Result<i32> {
    let mut set = RuleSet::builtin()?;
    for file in &a.rules {
        set.add_file(file)?;
    }
    let listed: Vec<Listed> = set
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| Listed {
            name: &r.name,
            class: r.class.to_string(),
            direction: if r.name.ends_with("~rev") {
                "rhs -> lhs"
            } else if set.def(i).both {
                "lhs -> rhs (both)"
            } else {
                "lhs -> rhs"
            },
            multi: r.multi,
            file: &r.file,
            line: r.line,
            why: &r.why,
        })
        .collect();
    emit(&match a.format {
        ShowFormat::Json => format!("{}\n", serde_json::to_string_pretty(&listed)?),
        ShowFormat::Table => table(&listed),
    })?;
    Ok(super::output::OK)
}

fn table(listed: &[Listed]) -> String {
    let width = |f: &dyn Fn(&Listed) -> usize, head: &str| {
        listed.iter().map(f).chain([head.len()]).max().unwrap_or(0)
    };
    let (n, c, d) = (
        width(&|l| l.name.chars().count(), "rule"),
        width(&|l| l.class.len(), "class"),
        width(&|l| l.direction.len(), "direction"),
    );
    let mut s = format!("{:n$}  {:c$}  {:d$}  why\n", "rule", "class", "direction");
    for l in listed {
        s += &format!(
            "{:n$}  {:c$}  {:d$}  {}\n",
            l.name, l.class, l.direction, l.why
        );
    }
    let approx = listed.iter().filter(|l| l.class == "approx").count();
    s += &format!(
        "{} rules: {} exact, {approx} approximate (only with --allow-approx)\n",
        listed.len(),
        listed.len() - approx
    );
    s
}
