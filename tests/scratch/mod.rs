//! Scratch folders and files for tests, removed when the value is dropped: the tests write
//! models of up to a gigabyte, and a folder per process left them behind in the system's
//! temporary directory after every run.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A path in a fresh temporary folder that is removed with this value.
pub struct Scratch {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// A fresh empty folder named `hawkeye-{tag}-...`.
pub fn dir(tag: &str) -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix(&format!("hawkeye-{tag}-"))
        .tempdir()
        .expect("a temporary folder");
    let path = dir.path().to_path_buf();
    Scratch { _dir: dir, path }
}

/// The path of a file `name` (not created) in a fresh folder named `hawkeye-{tag}-...`.
pub fn file(tag: &str, name: &str) -> Scratch {
    let Scratch { _dir, path } = dir(tag);
    Scratch {
        path: path.join(name),
        _dir,
    }
}

impl Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<OsStr> for Scratch {
    fn as_ref(&self) -> &OsStr {
        self.path.as_os_str()
    }
}
