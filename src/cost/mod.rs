//! Framework cost models: data files that lower each IR op into protocol primitives with
//! closed-form communication, and the machinery that evaluates them.
//!
//! Built-in models are the files of `cost_models/`, compiled into the binary; any other TOML
//! file of the same schema can be given by path, so a framework can be added or tuned without
//! recompiling. See [`model`] for the schema.

pub mod fallback;
mod formula;
pub mod loadability;
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
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "spu-semi2k.toml",
        include_str!("../../cost_models/spu-semi2k.toml"),
    ),
    (
        "spu-aby3.toml",
        include_str!("../../cost_models/spu-aby3.toml"),
    ),
    (
        "spu-cheetah.toml",
        include_str!("../../cost_models/spu-cheetah.toml"),
    ),
    (
        "cryptflow2.toml",
        include_str!("../../cost_models/cryptflow2.toml"),
    ),
    (
        "cheetah.toml",
        include_str!("../../cost_models/cheetah.toml"),
    ),
    ("delphi.toml", include_str!("../../cost_models/delphi.toml")),
    ("aby.toml", include_str!("../../cost_models/aby.toml")),
    ("aby3.toml", include_str!("../../cost_models/aby3.toml")),
    ("spdz2k.toml", include_str!("../../cost_models/spdz2k.toml")),
    ("falcon.toml", include_str!("../../cost_models/falcon.toml")),
    (
        "secureml.toml",
        include_str!("../../cost_models/secureml.toml"),
    ),
    (
        "crypten.toml",
        include_str!("../../cost_models/crypten.toml"),
    ),
];

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
        // Find the file by name first: `--set` names parameters of the wanted framework only,
        // which the other files need not have.
        let file = format!("cost_models/{file}");
        let model = CostModel::from_toml(text, &file, &[])?;
        if model.framework.name == wanted || model.framework.aliases.contains(&wanted) {
            return if overrides.is_empty() {
                Ok(model)
            } else {
                CostModel::from_toml(text, &file, overrides)
            };
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

/// Loads every built-in framework with its default parameters.
pub fn builtin_frameworks() -> Result<Vec<CostModel>, CostModelError> {
    BUILTIN
        .iter()
        .map(|(file, text)| CostModel::from_toml(text, &format!("cost_models/{file}"), &[]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_to_the_named_framework_only() {
        let model = load_framework("cryptflow2", &[("ell".to_string(), 37.0)]).unwrap();
        assert_eq!(model.param("ell"), Some(37.0));
        let err = load_framework("cryptflow2", &[("nope".to_string(), 1.0)]).unwrap_err();
        assert!(err.to_string().contains("cryptflow2.toml"), "{err}");
        let set = |name: &str, v: f64| vec![(name.to_string(), v)];
        // a parameter only crypten.toml has
        let m = load_framework("crypten", &set("exp_iterations", 9.0)).unwrap();
        assert_eq!(m.param("exp_iterations"), Some(9.0));
        let e = load_framework("crypten", &set("no_such_param", 1.0)).unwrap_err();
        assert_eq!(e.file, "cost_models/crypten.toml");
        assert_eq!(e.entry, "--set");
    }
}
