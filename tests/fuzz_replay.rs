//! Replays every fuzz corpus file and every past crash (`fuzz/corpus/TARGET`,
//! `fuzz/crashes/TARGET`) through the fuzz targets' own entry points, on stable Rust: a reader
//! may refuse an input with an error, but must not panic.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod entry;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for kind in ["corpus", "crashes"] {
        let dir = root.join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no corpus for fuzz target {target}");
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} panics", path.display());
    }
}

#[test]
fn onnx_corpus_and_crashes_replay_without_panic() {
    replay("onnx", entry::onnx);
}

#[test]
fn json_corpus_and_crashes_replay_without_panic() {
    replay("json", entry::json);
}

#[test]
fn rules_corpus_and_crashes_replay_without_panic() {
    replay("rules", entry::rules);
}

#[test]
fn cost_model_corpus_and_crashes_replay_without_panic() {
    replay("cost_model", entry::cost_model);
}
