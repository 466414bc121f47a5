//! Where an initializer's external data may live: inside the model file's folder only.
//!
//! A model file comes from someone else, and its `location` strings are theirs: read unchecked,
//! `../../../../etc/passwd` or `/etc/passwd` would make `export` copy a file of this machine
//! into its output, `equiv` read it as weights, and `profile` tell whether it exists. So a
//! location is first checked as text (no absolute path, no `..` that climbs out of the folder)
//! before anything touches the file system, and then walked component by component: a symlink
//! on the way must resolve to a place inside the folder. Only then is the file looked at.

use std::path::{Component, Path, PathBuf};

/// Why a location is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// An absolute path (or a Windows drive or UNC prefix).
    Absolute,
    /// A `..` component climbs above the model's folder.
    ParentDir,
    /// A symlink on the way resolves outside the folder, or does not resolve.
    Symlink,
}

impl Escape {
    /// What is wrong, as a phrase.
    pub fn reason(self) -> &'static str {
        match self {
            Escape::Absolute => "is an absolute path",
            Escape::ParentDir => "climbs out of the model's folder with '..'",
            Escape::Symlink => {
                "goes through a symlink that does not resolve to a place inside the model's folder"
            }
        }
    }
}

/// The location as components relative to the folder, `.` dropped and `..` applied, checked
/// as text only (no file system access).
fn normalize(location: &str) -> Result<Vec<&std::ffi::OsStr>, Escape> {
    let mut parts = Vec::new();
    for c in Path::new(location).components() {
        match c {
            Component::Prefix(_) | Component::RootDir => return Err(Escape::Absolute),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop().ok_or(Escape::ParentDir)?;
            }
            Component::Normal(p) => parts.push(p),
        }
    }
    Ok(parts)
}

/// Checks `location` as text: the checks that need no file system (so that a refused location
/// reveals nothing about the files of this machine).
pub fn check_text(location: &str) -> Result<(), Escape> {
    normalize(location).map(|_| ())
}

/// The path of `location` inside `dir`, or `None` when nothing is there. Every prefix of the
/// path that is a symlink must resolve inside `dir`; the returned path is `dir` joined with
/// the normalized location (no `..` left).
pub fn resolve(dir: &Path, location: &str) -> Result<Option<PathBuf>, Escape> {
    let parts = normalize(location)?;
    let root = std::fs::canonicalize(dir).map_err(|_| Escape::Symlink)?;
    let mut path = dir.to_path_buf();
    for part in parts {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Err(_) => return Ok(None),
            Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(&path) {
                Ok(target) if target.starts_with(&root) => {}
                _ => return Err(Escape::Symlink),
            },
            Ok(_) => {}
        }
    }
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_checked_as_text_first() {
        assert_eq!(check_text("w.bin"), Ok(()));
        assert_eq!(check_text("./sub/../w.bin"), Ok(()));
        assert_eq!(check_text("/etc/passwd"), Err(Escape::Absolute));
        assert_eq!(check_text("../../../../etc/passwd"), Err(Escape::ParentDir));
        assert_eq!(check_text("sub/../../w.bin"), Err(Escape::ParentDir));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_must_stay_inside_the_folder() {
        let dir = std::env::temp_dir().join(format!("hawkeye-external-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/w.bin"), [0u8; 4]).unwrap();
        std::os::unix::fs::symlink(dir.join("sub/w.bin"), dir.join("inside")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("out")).unwrap();
        std::os::unix::fs::symlink(dir.join("gone"), dir.join("dangling")).unwrap();
        assert_eq!(
            resolve(&dir, "./x/../sub/w.bin"),
            Ok(Some(dir.join("sub/w.bin")))
        );
        assert_eq!(resolve(&dir, "inside"), Ok(Some(dir.join("inside"))));
        assert_eq!(resolve(&dir, "missing.bin"), Ok(None));
        // Refused whether or not the target exists: nothing is revealed.
        assert_eq!(resolve(&dir, "out/passwd"), Err(Escape::Symlink));
        assert_eq!(resolve(&dir, "out/no-such-file"), Err(Escape::Symlink));
        assert_eq!(resolve(&dir, "dangling"), Err(Escape::Symlink));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
