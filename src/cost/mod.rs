//! Framework cost models: data files that lower each IR op into protocol primitives with
//! closed-form communication, and the machinery that evaluates them.
//!
//! Built-in models are the files of `cost_models/`, compiled into the binary and found by name
//! or alias through a small index (only the wanted file is parsed); any other TOML
//! file of the same schema can be given by path, so a framework can be added or tuned without
//! recompiling. See [`spec`] for the schema. Files share entries by including others
//! ([`include`]): the built-in models include the embedded files of `cost_models/shared/`
//! ([`BUILTIN_INCLUDES`]), never files on disk.

pub mod fallback;
mod formula;
pub mod include;
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

/// A built-in file that cost models include (`include = [..]`): its path below `cost_models/`
/// and its text, compiled into the binary.
pub struct BuiltinInclude {
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! builtin_include {
    ($path:literal) => {
        BuiltinInclude {
            path: $path,
            text: include_str!(concat!("../../cost_models/", $path)),
        }
    };
}

/// The files the built-in models include: the only ones they can include.
pub const BUILTIN_INCLUDES: &[BuiltinInclude] = &[
    builtin_include!("shared/mpspdz-functions.toml"),
    builtin_include!("shared/mpspdz-ops.toml"),
];

impl Builtin {
    /// `cost_models/NAME.toml`, as errors name it.
    fn path(&self) -> String {
        format!("cost_models/{}", self.file)
    }

    /// Loads it. The built-in formulas are dry-run by the tests, not on every load; with
    /// `--set` overrides they are dry-run here, as the new values may break them.
    pub fn load(&self, overrides: &[(String, f64)]) -> Result<CostModel, CostModelError> {
        let model = CostModel::from_source(
            self.text,
            &self.path(),
            include::Source::Builtin(self.file),
            overrides,
        )?;
        if !overrides.is_empty() {
            model.check_formulas()?;
        }
        Ok(model)
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

    /// Loads a built-in model with every formula dry-run.
    fn checked(b: &Builtin) -> CostModel {
        let model = b.load(&[]).unwrap();
        model.check_formulas().unwrap();
        model
    }

    #[test]
    fn the_index_names_each_file_as_the_file_does() {
        for b in BUILTIN {
            assert!(b.text.len() as u64 <= include::MAX_FILE_BYTES, "{}", b.file);
            let model = checked(b);
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

    /// The names of the `.toml` files in `cost_models/FOLDER`, sorted.
    fn files_in(folder: &str) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("cost_models")
            .join(folder);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_builtin_formula_dry_runs_and_loading_skips_only_that() {
        let mut built_in: Vec<String> = BUILTIN.iter().map(|b| b.file.to_string()).collect();
        built_in.sort();
        assert_eq!(
            built_in,
            files_in(""),
            "every file of cost_models/ is built in"
        );
        let mut included: Vec<&str> = BUILTIN_INCLUDES.iter().map(|i| i.path).collect();
        included.sort();
        let shared: Vec<String> = files_in("shared")
            .iter()
            .map(|n| format!("shared/{n}"))
            .collect();
        assert_eq!(
            included, shared,
            "every file of cost_models/shared/ is built in"
        );
        for b in BUILTIN {
            // `Builtin::load` skips the dry run of the formulas, included ones too: it must
            // pass for every file; and the file read from disk with its includes is the same.
            let checked = checked(b);
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/cost_models/");
            let from_disk = CostModel::from_file(&Path::new(dir).join(b.file), &[]).unwrap();
            for loaded in [load_framework(b.name, &[]).unwrap(), from_disk] {
                assert_eq!(checked.params, loaded.params, "{}", b.file);
                let names = |m: &CostModel| {
                    let mut ops: Vec<String> = m.ops.keys().cloned().collect();
                    ops.sort();
                    let primitives = m.primitives.iter().map(|p| p.name.clone());
                    let functions = m.functions.iter().map(|f| f.name.clone());
                    (
                        primitives.collect::<Vec<_>>(),
                        functions.collect::<Vec<_>>(),
                        ops,
                    )
                };
                assert_eq!(names(&checked), names(&loaded), "{}", b.file);
            }
        }
    }

    #[test]
    fn each_included_file_names_its_includers_and_is_taken_in_whole() {
        for shared in BUILTIN_INCLUDES {
            assert!(
                shared.text.len() as u64 <= include::MAX_FILE_BYTES,
                "{}",
                shared.path
            );
            let mut includers: Vec<String> = BUILTIN
                .iter()
                .filter(|b| {
                    let spec: spec::FileSpec = spec::parse(b.text, b.file).unwrap();
                    spec.include.iter().any(|i| i == shared.path)
                })
                .map(|b| b.file.to_string())
                .collect();
            includers.sort();
            let stated = shared
                .text
                .lines()
                .find_map(|l| l.strip_prefix("# Included by: "))
                .unwrap_or_else(|| panic!("{} names no includers", shared.path));
            assert_eq!(stated, includers.join(", "), "{}", shared.path);
            // Every entry of the file is in each model that includes it.
            let fragment: spec::FragmentSpec = spec::parse(shared.text, shared.path).unwrap();
            for name in &includers {
                let model = load_framework(name.trim_end_matches(".toml"), &[]).unwrap();
                for op in fragment.ops.keys() {
                    assert!(model.ops.contains_key(op), "{name}: ops.{op}");
                }
                for f in fragment.functions.keys() {
                    assert!(model.functions.iter().any(|g| &g.name == f), "{name}: {f}");
                }
            }
        }
    }

    #[test]
    fn builtin_models_include_embedded_files_only() {
        // aby3.toml is a file of cost_models/ on disk, but not one a model can include.
        let text = BUILTIN[0].text.replacen(
            "\n[framework]\n",
            "\ninclude = [\"aby3.toml\"]\n[framework]\n",
            1,
        );
        let e = CostModel::from_source(
            &text,
            "cost_models/x.toml",
            include::Source::Builtin("x.toml"),
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cost_models/x.toml: include[0]: \"aby3.toml\" is not a built-in file that cost \
             models include (those are cost_models/shared/mpspdz-functions.toml, \
             cost_models/shared/mpspdz-ops.toml); name one of them"
        );
    }
}
