//! The `--framework` argument: a built-in name or alias, or a cost-model file, with errors that
//! say what to do (a missing file, a directory, "did you mean" for a misspelt name).

use anyhow::{bail, Result};
use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::suggest;
use std::path::Path;

/// Whether `spec` names a file rather than a built-in framework (as `cost::load_framework`
/// decides).
fn is_path(spec: &str) -> bool {
    spec.ends_with(".toml") || spec.contains('/')
}

/// Loads the framework `spec` with `--set` overrides.
pub fn load(spec: &str, overrides: &[(String, f64)]) -> Result<CostModel> {
    if is_path(spec) {
        let path = Path::new(spec);
        if path.is_dir() {
            bail!("{spec}: is a directory, not a cost-model file; give the .toml file inside it.");
        }
        if !path.exists() {
            bail!(
                "{spec}: no such cost-model file; check the path, or give a built-in framework name (see `hawkeye frameworks`)."
            );
        }
        return Ok(cost::load_framework(spec, overrides)?);
    }
    match cost::load_framework(spec, overrides) {
        Ok(model) => Ok(model),
        Err(e) => {
            let builtins = cost::builtin_frameworks()?;
            let known: Vec<&str> = builtins
                .iter()
                .flat_map(|m| {
                    std::iter::once(m.framework.name.as_str())
                        .chain(m.framework.aliases.iter().map(String::as_str))
                })
                .collect();
            if known.iter().any(|k| k.eq_ignore_ascii_case(spec)) {
                return Err(e.into());
            }
            bail!(
                "unknown framework '{spec}'.{} See `hawkeye frameworks` for the built-in ones, or give a path to a .toml cost model.",
                suggest::did_you_mean(spec, known.iter().copied())
            )
        }
    }
}
