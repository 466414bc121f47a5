//! Runs the `hawkeye` binary of this build for the command-line tests.
#![allow(dead_code)]

use std::process::Command;

/// Runs `hawkeye ARGS` (in the package's folder, as `cargo test` does); returns (exit status,
/// stdout, stderr). A run ended by a signal (a crash, an abort) fails the test.
pub fn hawkeye(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hawkeye"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status
            .code()
            .unwrap_or_else(|| panic!("hawkeye {args:?} was ended by a signal: {}", out.status)),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
