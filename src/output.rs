//! Output files, written atomically: the bytes go to a temporary file in the destination's
//! folder, which replaces the destination (a rename) only once it is complete and flushed. A
//! write that fails midway (a full disk, an error while producing the content) leaves the
//! previous file as it was and no temporary file behind. Every file the tool writes (models,
//! external weight data, flame graphs) goes through here.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// An output file being written: nothing is visible at its path until [`commit`].
///
/// [`commit`]: AtomicFile::commit
pub struct AtomicFile {
    path: PathBuf,
    out: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing `path`: creates a temporary file beside it.
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let prefix = format!(".{}.", name.to_string_lossy());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // As `std::fs::write` would create it: 0o666 less the umask, not tempfile's 0o600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        Ok(AtomicFile {
            path: path.to_path_buf(),
            out: BufWriter::new(builder.tempfile_in(dir)?),
        })
    }

    /// Where the content goes.
    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    /// Flushes the content to disk and puts it at the destination path, replacing what was
    /// there.
    pub fn commit(self) -> io::Result<()> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.as_file().sync_all()?;
        file.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.writer().write_all(bytes.as_ref())?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hawkeye-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_that_fails_midway_leaves_the_previous_file() {
        let dir = scratch("fail");
        let path = dir.join("model.json");
        write(&path, "previous good content").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.writer().write_all(&[b'x'; 100_000]).unwrap();
        // The producer fails here: the file is dropped without a commit.
        drop(file);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "previous good content"
        );
        assert_eq!(entries(&dir), vec!["model.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_committed_write_replaces_the_file() {
        let dir = scratch("commit");
        let path = dir.join("out.svg");
        write(&path, "old").unwrap();
        write(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(entries(&dir), vec!["out.svg"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let dir = scratch("missing");
        let err = write(&dir.join("no/such/dir/out.json"), "x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
