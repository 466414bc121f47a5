//! How the command line ends: text to standard output that survives a closed pipe, one error
//! sentence on standard error, and the documented exit statuses.
//!
//! Exit statuses, the same for every command: 0 success; 1 a check that ran and failed
//! (`equiv`: the models differ, `check-rules`: a rule fails, `optimize`: the result differs
//! from the input); 2 a usage or input error (bad option, unreadable model, a framework that
//! cannot cost the model); `equiv` alone adds 3, approximately equal within `--tolerance`.

use std::io::{BufWriter, ErrorKind, Write};

/// Exit status of success.
pub const OK: i32 = 0;
/// Exit status of a check that ran and failed.
pub const CHECK_FAILED: i32 = 1;
/// Exit status of a usage or input error (clap's own usage errors are 2 as well).
pub const INPUT_ERROR: i32 = 2;

/// A check that ran and failed: exit status 1 instead of 2.
#[derive(Debug)]
pub struct CheckFailed(pub String);

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckFailed {}

/// Writes `text` to standard output. A reader that closed the pipe early (`| head`) wanted no
/// more: that is success, not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    emit_with(|out| out.write_all(text.as_bytes()))
}

/// Lets `write` write to a buffered standard output, as [`emit`] writes text: for output too
/// large to hold in memory first. The buffer goes straight to the file descriptor (a
/// duplicate of it), not through the standard library's line buffer, which would search
/// every 64 KB chunk for its last newline.
pub fn emit_with(
    write: impl FnOnce(&mut BufWriter<Box<dyn Write>>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, stdout_target());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| anyhow::anyhow!("cannot write to standard output: {e}")),
    }
}

/// Standard output as an unbuffered writer: a duplicate of its file descriptor where there is
/// one (Unix), else the locked handle.
fn stdout_target() -> Box<dyn Write> {
    let mut lock = std::io::stdout().lock();
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = lock
            .flush()
            .and_then(|()| lock.as_fd().try_clone_to_owned())
        {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(lock)
}

/// The exit status for an error.
pub fn exit_status(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<CheckFailed>().is_some() {
        CHECK_FAILED
    } else {
        INPUT_ERROR
    }
}

/// An error and its causes as one line, each cause once: a cause whose text its context
/// already quotes (`file: No such file (os error 2)` caused by `No such file (os error 2)`) is
/// not repeated.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if text.contains(&c) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&c);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn causes_are_not_repeated_and_checks_exit_1() {
        let io = std::io::Error::new(ErrorKind::NotFound, "gone (os error 2)");
        let e = Err::<(), _>(io)
            .context("m.onnx: gone (os error 2)")
            .context("cannot load")
            .unwrap_err();
        assert_eq!(error_text(&e), "cannot load: m.onnx: gone (os error 2)");
        assert_eq!(exit_status(&e), INPUT_ERROR);
        let e = anyhow::Error::new(CheckFailed("2 rules fail".into()));
        assert_eq!(exit_status(&e), CHECK_FAILED);
    }
}
