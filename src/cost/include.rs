//! Includes between cost-model files: a file lists, in a top-level `include = [..]`, files
//! whose `[primitives.*]`, `[functions.*]`, `[ops.*]` and `[unsupported]` entries it takes in,
//! so that frameworks sharing lowerings write them once (`cost_models/shared/`). The format and
//! the rules are documented for users in [`super::spec`]; here they are enforced:
//! - a path is relative to the folder of the file that includes it and stays in that folder or
//!   below: no absolute path, no `..`, and on disk the included file's canonical path (links
//!   resolved) must lie in the including file's canonical folder;
//! - an entry (`functions.exp`, `ops.relu`, `unsupported.mat_mul.ss` ...) is defined once over
//!   a model and all that it includes: a second definition is an error at the include that
//!   brings it, never an override;
//! - a file is included once (a cycle, or a file reached a second time, is an error), at most
//!   [`MAX_DEPTH`] levels deep, at most [`MAX_FILES`] files, each of at most
//!   [`MAX_FILE_BYTES`] and all together at most [`MAX_TOTAL_BYTES`];
//! - a built-in model includes from the embedded files ([`super::BUILTIN_INCLUDES`]) only,
//!   never from disk; a model given as text alone has no folder and includes nothing.

use super::model::CostModelError;
use super::spec::{self, FileSpec, FragmentSpec};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Most levels of includes below a model (its own includes are level 1).
pub const MAX_DEPTH: usize = 8;
/// Most files a model includes, at all levels.
pub const MAX_FILES: usize = 64;
/// Largest cost-model file read from disk, including or included (the largest built-in file
/// is under 64 KiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Largest total of the files a model includes.
pub const MAX_TOTAL_BYTES: u64 = 4 << 20;

/// Where a cost model's text comes from, which says where its includes are read from.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    /// Text given alone: no folder to include from.
    Text,
    /// A file on disk, by the path the user gave.
    Disk(&'a Path),
    /// A built-in file, by its path below `cost_models/`.
    Builtin(&'a str),
}

/// The included file that defines an entry, and the file that included it.
#[derive(Debug, Clone, PartialEq)]
struct Origin {
    file: String,
    by: String,
}

/// Which included file defines each entry a model took in, to name it in errors: an entry of
/// the model's own file has none.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Origins {
    files: Vec<Origin>,
    /// `functions.exp` to its file in `files`.
    entries: BTreeMap<String, usize>,
}

impl Origins {
    /// How errors name the file that defines what `entry` names (`functions.exp.steps[2]` is
    /// written where `functions.exp` is): `FILE (included by FILE)`, or `own` when the model's
    /// own file defines it.
    pub fn file_of(&self, entry: &str, own: &str) -> String {
        self.entries
            .iter()
            .filter(|(key, _)| {
                entry.strip_prefix(key.as_str()).is_some_and(|rest| {
                    rest.is_empty()
                        || (!key.starts_with("unsupported.") && rest.starts_with(['.', '[']))
                })
            })
            .max_by_key(|(key, _)| key.len())
            .map(|(_, &i)| format!("{} (included by {})", self.files[i].file, self.files[i].by))
            .unwrap_or_else(|| own.to_string())
    }
}

/// Identifies a file, to find cycles and files included twice.
#[derive(Clone, PartialEq)]
enum FileId {
    /// Canonical path.
    Disk(PathBuf),
    /// Path below `cost_models/`.
    Builtin(String),
}

/// A cost-model file found: what identifies it, how errors name it, and the path its includes
/// are relative to.
struct Located {
    id: FileId,
    shown: String,
    named: PathBuf,
}

/// Takes the files `spec` includes into it, checked; `file` names the model in errors. Returns
/// which file each entry taken in came from.
pub(super) fn resolve(
    spec: &mut FileSpec,
    file: &str,
    source: Source,
) -> Result<Origins, CostModelError> {
    if spec.include.is_empty() {
        return Ok(Origins::default());
    }
    let top =
        match source {
            Source::Text => return Err(error(
                file,
                "include".to_string(),
                "a cost model given as text has no folder to include files from; write it to a \
                 file and load that file"
                    .to_string(),
            )),
            Source::Disk(path) => Located {
                id: FileId::Disk(std::fs::canonicalize(path).map_err(|e| {
                    error(
                        file,
                        "include".to_string(),
                        format!("its path cannot be resolved ({e}); check the path"),
                    )
                })?),
                shown: file.to_string(),
                named: path.to_path_buf(),
            },
            Source::Builtin(rel) => Located {
                id: FileId::Builtin(rel.to_string()),
                shown: file.to_string(),
                named: PathBuf::from(rel),
            },
        };
    let includes = std::mem::take(&mut spec.include);
    let mut walk = Walk {
        top: file,
        stack: vec![(top.id.clone(), top.shown.clone())],
        seen: Vec::new(),
        bytes: 0,
        origins: Origins::default(),
    };
    walk.include_all(&top, &includes, 1, spec)?;
    Ok(walk.origins)
}

fn error(file: &str, entry: String, reason: String) -> CostModelError {
    CostModelError {
        file: file.to_string(),
        entry,
        reason,
    }
}

/// The state of a depth-first walk of the includes.
struct Walk<'a> {
    /// How errors name the model.
    top: &'a str,
    /// The files being included, the model first.
    stack: Vec<(FileId, String)>,
    /// The files included so far, with the file that included each.
    seen: Vec<(FileId, String)>,
    bytes: u64,
    origins: Origins,
}

impl Walk<'_> {
    fn include_all(
        &mut self,
        includer: &Located,
        entries: &[String],
        depth: usize,
        spec: &mut FileSpec,
    ) -> Result<(), CostModelError> {
        for (i, entry) in entries.iter().enumerate() {
            let at = |reason: String| error(&includer.shown, format!("include[{i}]"), reason);
            if depth > MAX_DEPTH {
                return Err(at(format!(
                    "\"{entry}\" would be included {depth} levels deep, over the limit of \
                     {MAX_DEPTH}; include it from a file nearer the model"
                )));
            }
            let relative = relative_path(entry).map_err(at)?;
            let (found, text) = includer.child(entry, &relative).map_err(at)?;
            if let Some(start) = self.stack.iter().position(|(id, _)| *id == found.id) {
                let chain: Vec<&str> = self.stack[start..]
                    .iter()
                    .map(|(_, shown)| shown.as_str())
                    .chain([found.shown.as_str()])
                    .collect();
                return Err(at(format!(
                    "\"{entry}\" includes a file that is already being included (include cycle: \
                     {}); remove one include of the cycle",
                    chain.join(" > ")
                )));
            }
            if let Some((_, by)) = self.seen.iter().find(|(id, _)| *id == found.id) {
                return Err(at(format!(
                    "\"{entry}\" is already included (by {by}); include each file once"
                )));
            }
            if self.seen.len() == MAX_FILES {
                return Err(at(format!(
                    "\"{entry}\" would be the {}th included file, over the limit of \
                     {MAX_FILES}; merge some of the included files",
                    MAX_FILES + 1
                )));
            }
            self.bytes += text.len() as u64;
            if self.bytes > MAX_TOTAL_BYTES {
                return Err(at(format!(
                    "\"{entry}\" brings the included files over {MAX_TOTAL_BYTES} bytes in all; \
                     include fewer or smaller files"
                )));
            }
            self.seen.push((found.id.clone(), includer.shown.clone()));
            let mut fragment: FragmentSpec = spec::parse(
                &text,
                &format!("{} (included by {})", found.shown, includer.shown),
            )?;
            self.origins.files.push(Origin {
                file: found.shown.clone(),
                by: includer.shown.clone(),
            });
            let origin = self.origins.files.len() - 1;
            self.take_all(spec, &mut fragment, entry, origin)
                .map_err(at)?;
            self.stack.push((found.id.clone(), found.shown.clone()));
            self.include_all(&found, &fragment.include, depth + 1, spec)?;
            self.stack.pop();
        }
        Ok(())
    }

    /// Moves the entries of an included file (`entry`, the file `origin` of [`Origins`]) into
    /// the model's tables; an entry defined already is an error (the reason).
    fn take_all(
        &mut self,
        spec: &mut FileSpec,
        fragment: &mut FragmentSpec,
        entry: &str,
        origin: usize,
    ) -> Result<(), String> {
        let primitives = std::mem::take(&mut fragment.primitives);
        self.take_in(
            "primitives",
            &mut spec.primitives,
            primitives,
            entry,
            origin,
        )?;
        let functions = std::mem::take(&mut fragment.functions);
        self.take_in("functions", &mut spec.functions, functions, entry, origin)?;
        let ops = std::mem::take(&mut fragment.ops);
        self.take_in("ops", &mut spec.ops, ops, entry, origin)?;
        let unsupported = std::mem::take(&mut fragment.unsupported);
        self.take_in(
            "unsupported",
            &mut spec.unsupported,
            unsupported,
            entry,
            origin,
        )
    }

    /// Moves the entries of one table of an included file (`entry`, the file `origin` of
    /// [`Origins`]) into the model's; an entry defined already is an error (the reason).
    fn take_in<V>(
        &mut self,
        table: &str,
        into: &mut BTreeMap<String, V>,
        from: BTreeMap<String, V>,
        entry: &str,
        origin: usize,
    ) -> Result<(), String> {
        for (name, value) in from {
            let key = format!("{table}.{name}");
            if into.contains_key(&name) {
                let first = match self.origins.entries.get(&key) {
                    Some(&i) => self.origins.files[i].file.as_str(),
                    None => self.top,
                };
                return Err(format!(
                    "\"{entry}\" defines {key}, which {first} defines too; an entry is defined \
                     in one file only, so remove one of the two"
                ));
            }
            into.insert(name, value);
            self.origins.entries.insert(key, origin);
        }
        Ok(())
    }
}

/// The path an include names, checked to stay in the including file's folder: relative, and
/// without `..`. Errors are the reason.
fn relative_path(entry: &str) -> Result<PathBuf, String> {
    let path = Path::new(entry);
    if entry.trim().is_empty() {
        return Err(
            "the path is empty; name a file relative to the folder of this file".to_string(),
        );
    }
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "\"{entry}\" goes up a folder with '..', and an include may not leave the \
                     folder of the file that includes it; move the file into this folder or \
                     below it"
                ))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "\"{entry}\" is an absolute path, and an include is relative to the folder \
                     of the file that includes it; move the file into this folder or below it \
                     and name it relative to this file"
                ))
            }
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(format!(
            "\"{entry}\" names a folder, not a file; name a file relative to the folder of \
             this file"
        ));
    }
    Ok(relative)
}

impl Located {
    /// The file an include of this file names (`relative`: the checked form of `entry`), and
    /// its text.
    fn child(&self, entry: &str, relative: &Path) -> Result<(Located, Cow<'static, str>), String> {
        let folder = self.named.parent().unwrap_or(Path::new(""));
        match self.id {
            FileId::Builtin(_) => {
                let path = folder
                    .join(relative)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let Some(builtin) = super::BUILTIN_INCLUDES.iter().find(|b| b.path == path) else {
                    let names: Vec<&str> = super::BUILTIN_INCLUDES.iter().map(|b| b.path).collect();
                    return Err(format!(
                        "\"{entry}\" is not a built-in file that cost models include (those are \
                         cost_models/{}); name one of them",
                        names.join(", cost_models/")
                    ));
                };
                let found = Located {
                    id: FileId::Builtin(path.clone()),
                    shown: format!("cost_models/{path}"),
                    named: PathBuf::from(path),
                };
                Ok((found, Cow::Borrowed(builtin.text)))
            }
            FileId::Disk(_) => {
                let named = folder.join(relative);
                let on_disk = if folder.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    folder
                };
                let unreadable = |e: std::io::Error| {
                    format!("\"{entry}\" cannot be read ({e}); check the file and its folder")
                };
                let canonical_folder = std::fs::canonicalize(on_disk).map_err(unreadable)?;
                let canonical = std::fs::canonicalize(&named).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        format!(
                            "\"{entry}\" does not exist (looked for {}); check the name, or copy \
                             the file there",
                            named.display()
                        )
                    } else {
                        unreadable(e)
                    }
                })?;
                if !canonical.starts_with(&canonical_folder) {
                    return Err(format!(
                        "\"{entry}\" leads out of the folder of this file through a symbolic \
                         link, and an include may not leave that folder; copy the file into the \
                         folder instead of linking to it"
                    ));
                }
                let text = read_file(&canonical).map_err(|r| format!("\"{entry}\" {r}"))?;
                let found = Located {
                    id: FileId::Disk(canonical),
                    shown: named.display().to_string(),
                    named,
                };
                Ok((found, Cow::Owned(text)))
            }
        }
    }
}

/// Reads a cost-model file from disk: a regular file of UTF-8 text of at most
/// [`MAX_FILE_BYTES`]. Errors are the end of a sentence whose subject is the file (`is not a
/// regular file; ...`).
pub(super) fn read_file(path: &Path) -> Result<String, String> {
    let too_large = || {
        format!(
            "is over {MAX_FILE_BYTES} bytes, the limit of a cost-model file; check that it is \
             the right file"
        )
    };
    let cannot = |e: std::io::Error| format!("cannot be read ({e}); check the path");
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err("is not a regular file; name a cost-model .toml file".to_string());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "is not UTF-8 text (byte {}); save it as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::CostModel;
    use super::*;

    #[test]
    fn a_model_given_as_text_includes_nothing() {
        let e = CostModel::from_toml(
            "include = [\"shared.toml\"]\n[framework]\nname = \"toy\"\ndescription = \"toy\"\n\
             provenance = \"test\"\nrounds = \"messages\"\ndefault_weights = \"secret\"\n\
             [params]\nparties = 2\n",
            "toy.toml",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "toy.toml: include: a cost model given as text has no folder to include files \
             from; write it to a file and load that file"
        );
    }

    #[test]
    fn an_entry_names_the_file_of_its_table_entry() {
        let origins = Origins {
            files: vec![Origin {
                file: "shared/a.toml".to_string(),
                by: "m.toml".to_string(),
            }],
            entries: [("functions.exp", 0), ("unsupported.mat_mul", 0)]
                .map(|(k, i)| (k.to_string(), i))
                .into(),
        };
        let of = |entry: &str| origins.file_of(entry, "m.toml");
        assert_eq!(of("functions.exp"), "shared/a.toml (included by m.toml)");
        assert_eq!(
            of("functions.exp.steps[2]"),
            "shared/a.toml (included by m.toml)"
        );
        // Another name that starts alike, and the model's own entries.
        assert_eq!(of("functions.exp2.steps[0]"), "m.toml");
        assert_eq!(of("ops.exp.s[0]"), "m.toml");
        assert_eq!(of("--set"), "m.toml");
        // An [unsupported] key is a whole entry: `mat_mul.ss` is not within `mat_mul`.
        assert_eq!(
            of("unsupported.mat_mul"),
            "shared/a.toml (included by m.toml)"
        );
        assert_eq!(of("unsupported.mat_mul.ss"), "m.toml");
    }

    #[test]
    fn paths_are_relative_and_stay_below() {
        assert_eq!(relative_path("./a/./b.toml"), Ok(PathBuf::from("a/b.toml")));
        assert_eq!(
            relative_path(" "),
            Err("the path is empty; name a file relative to the folder of this file".to_string())
        );
        assert_eq!(
            relative_path("./."),
            Err(
                "\"./.\" names a folder, not a file; name a file relative to the folder of \
                 this file"
                    .to_string()
            )
        );
        assert!(relative_path("a/../b.toml")
            .unwrap_err()
            .contains("goes up a folder"));
        assert!(relative_path("/b.toml")
            .unwrap_err()
            .contains("is an absolute path"));
    }
}
