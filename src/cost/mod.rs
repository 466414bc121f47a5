//! Framework cost models: data files that lower each IR op into protocol primitives with
//! closed-form communication, and the machinery that evaluates them.
//!
//! Built-in models are the files of `cost_models/`, compiled into the binary; any other TOML
//! file of the same schema can be given by path, so a framework can be added or tuned without
//! recompiling. See [`model`] for the schema.

pub mod fallback;
mod formula;
mod lowering;
pub mod model;
mod tree;
mod vars;

pub use formula::{Formula, Vars};
pub use lowering::{lower_op, Lowered};
pub use model::{AutogradStyle, BatchNormStyle, CostModel, CostModelError, TrainingSpec};
pub use tree::{Cost, CostKind, CostNode};
pub use vars::{op_vars, var_names};

use std::path::Path;

/// The built-in cost models: (file name, contents).
pub const BUILTIN: &[(&str, &str)] = &[(
    "spu-semi2k.toml",
    include_str!("../../cost_models/spu-semi2k.toml"),
)];

/// Loads a framework by name or alias (built-in) or by path to a `.toml` file.
pub fn load_framework(
    spec: &str,
    overrides: &[(String, f64)],
) -> Result<CostModel, CostModelError> {
    if spec.ends_with(".toml") || spec.contains('/') {
        return CostModel::from_file(Path::new(spec), overrides);
    }
    let wanted = spec.to_ascii_lowercase();
    for (file, text) in BUILTIN {
        let model = CostModel::from_toml(text, &format!("cost_models/{file}"), overrides)?;
        if model.framework.name == wanted || model.framework.aliases.contains(&wanted) {
            return Ok(model);
        }
    }
    Err(CostModelError {
        file: "cost_models".to_string(),
        entry: "framework".to_string(),
        reason: format!(
            "unknown framework '{spec}' (see `hawkeye frameworks`, or give a path to a .toml cost model)"
        ),
    })
}

/// Loads every built-in framework.
pub fn builtin_frameworks(overrides: &[(String, f64)]) -> Result<Vec<CostModel>, CostModelError> {
    BUILTIN
        .iter()
        .map(|(file, text)| CostModel::from_toml(text, &format!("cost_models/{file}"), overrides))
        .collect()
}
