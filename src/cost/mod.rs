//! Framework cost models: data files that lower each IR op into protocol primitives with
//! closed-form communication, and the machinery that evaluates them.
//!
//! Built-in models are the files of `cost_models/`, compiled into the binary and found by name
//! or alias through a small index (only the wanted file is parsed); any other TOML
//! file of the same schema can be given by path, so a framework can be added or tuned without
//! recompiling. See [`model`] for the schema.

pub mod fallback;
mod formula;
pub mod loadability;
mod lowering;
pub mod model;
mod operands;
pub mod ranges;
pub mod spec;
mod tree;
mod vars;

pub use formula::{Formula, Vars};
pub use lowering::{lower_op, Lowered};
pub use model::{
    AutogradStyle, BatchNormStyle, CostModel, CostModelError, GeluStyle, MaxPoolStyle, SqrtPlusEps,
    TrainingSpec,
};
pub use tree::{Cost, CostKind, CostNode, PerParty};
pub use vars::{op_vars, var_names};

use std::path::Path;

/// A built-in cost model: the file, the name and aliases it answers to (checked against the
/// file's `[framework]` by the tests), and its text, compiled into the binary.
pub struct Builtin {
    pub file: &'static str,
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub text: &'static str,
}

macro_rules! builtin {
    ($name:literal, [$($alias:literal),*]) => {
        Builtin {
            file: concat!($name, ".toml"),
            name: $name,
            aliases: &[$($alias),*],
            text: include_str!(concat!("../../cost_models/", $name, ".toml")),
        }
    };
}

/// The built-in cost models, found by name or alias without parsing the others.
pub const BUILTIN: &[Builtin] = &[
    builtin!("spu-semi2k", ["semi2k"]),
    builtin!("spu-aby3", []),
    builtin!("spu-cheetah", []),
    builtin!("cryptflow2", ["cf2", "crypTFlow2", "sci-ot", "ezpc"]),
    builtin!("cheetah", ["opencheetah"]),
    builtin!("delphi", []),
    builtin!("aby", []),
    builtin!("aby3", ["aby3-paper"]),
    builtin!("spdz2k", ["spdz-2k", "spdz"]),
    builtin!("falcon", []),
    builtin!("secureml", []),
    builtin!("crypten", []),
];

impl Builtin {
    /// `cost_models/NAME.toml`, as errors name it.
    fn path(&self) -> String {
        format!("cost_models/{}", self.file)
    }

    /// Loads it. The built-in formulas are dry-run by the tests, not on every load; with
    /// `--set` overrides they are dry-run here, as the new values may break them.
    pub fn load(&self, overrides: &[(String, f64)]) -> Result<CostModel, CostModelError> {
        if overrides.is_empty() {
            CostModel::from_toml_unchecked(self.text, &self.path(), overrides)
        } else {
            CostModel::from_toml(self.text, &self.path(), overrides)
        }
    }
}

/// Loads a framework by name or alias (built-in) or by path to a `.toml` file.
pub fn load_framework(
    spec: &str,
    overrides: &[(String, f64)],
) -> Result<CostModel, CostModelError> {
    if spec.ends_with(".toml") || spec.contains('/') {
        return CostModel::from_file(Path::new(spec), overrides);
    }
    let wanted = spec.to_ascii_lowercase();
    match BUILTIN
        .iter()
        .find(|b| b.name == wanted || b.aliases.contains(&wanted.as_str()))
    {
        Some(builtin) => builtin.load(overrides),
        None => Err(CostModelError {
            file: "cost_models".to_string(),
            entry: "framework".to_string(),
            reason: format!(
                "unknown framework '{spec}' (see `hawkeye frameworks`, or give a path to a .toml cost model)"
            ),
        }),
    }
}

/// Loads every built-in framework with its default parameters.
pub fn builtin_frameworks() -> Result<Vec<CostModel>, CostModelError> {
    BUILTIN.iter().map(|b| b.load(&[])).collect()
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

    #[test]
    fn the_index_names_each_file_as_the_file_does() {
        for b in BUILTIN {
            let model = CostModel::from_toml(b.text, &b.path(), &[]).unwrap();
            assert_eq!(model.framework.name, b.name, "{}", b.file);
            assert_eq!(model.framework.aliases, b.aliases, "{}", b.file);
            assert_eq!(model.file, format!("cost_models/{}.toml", b.name));
        }
        let names: std::collections::HashSet<&str> = BUILTIN
            .iter()
            .flat_map(|b| std::iter::once(b.name).chain(b.aliases.iter().copied()))
            .collect();
        let count: usize = BUILTIN.iter().map(|b| 1 + b.aliases.len()).sum();
        assert_eq!(names.len(), count, "a name or alias is used twice");
    }

    #[test]
    fn every_builtin_formula_dry_runs_and_loading_skips_only_that() {
        // `Builtin::load` skips the dry run that `from_toml` makes: it must pass for every file.
        let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/cost_models"))
            .unwrap()
            .count();
        assert_eq!(
            BUILTIN.len(),
            files,
            "every file of cost_models/ is built in"
        );
        for b in BUILTIN {
            let checked = CostModel::from_toml(b.text, &b.path(), &[]).unwrap();
            let loaded = load_framework(b.name, &[]).unwrap();
            assert_eq!(checked.params, loaded.params, "{}", b.file);
            assert_eq!(
                checked.primitives.len(),
                loaded.primitives.len(),
                "{}",
                b.file
            );
            assert_eq!(checked.ops.len(), loaded.ops.len(), "{}", b.file);
        }
    }
}
