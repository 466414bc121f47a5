//! Runs the `hawkeye` binary of this build for the command-line tests.
#![allow(dead_code)]

use std::process::Command;

/// Runs `hawkeye ARGS`; returns (exit code, or -1 when a signal ended it; stdout; stderr).
pub fn hawkeye(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hawkeye"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
