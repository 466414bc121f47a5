//! The optimizer's search stops on counts of work, not on wall time: the same command writes
//! byte-identical files on an idle machine and on one loaded by busy threads, whatever the
//! thread count; and the limits that stop it are reported.

mod scratch;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn optimize(args: &[&str], threads: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hawkeye"))
        .arg("optimize")
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("runs")
}

/// Runs `f` while `n` threads spin.
fn under_load<T>(n: usize, f: impl FnOnce() -> T) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..n)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            })
        })
        .collect();
    let out = f();
    stop.store(true, Ordering::Relaxed);
    for s in spinners {
        s.join().unwrap();
    }
    out
}

#[test]
fn identical_files_under_load_and_other_thread_counts() {
    for (model, framework, weights) in [
        ("resnet18", "crypten", "public"),
        ("bert-base", "crypten", "secret"),
    ] {
        let dir = scratch::dir("determinism");
        let idle = dir.join(format!("{model}-idle.json"));
        let loaded = dir.join(format!("{model}-loaded.json"));
        let args = |out: &PathBuf| {
            vec![
                model.to_string(),
                "--framework".to_string(),
                framework.to_string(),
                "--weights".to_string(),
                weights.to_string(),
                "--samples".to_string(),
                "0".to_string(),
                "-o".to_string(),
                out.display().to_string(),
            ]
        };
        let a = args(&idle);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let first = optimize(&a, "1");
        assert!(first.status.success(), "{model}: {first:?}");
        let b = args(&loaded);
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        let second = under_load(4, || optimize(&b, "4"));
        assert!(second.status.success(), "{model}: {second:?}");
        let stdout = String::from_utf8_lossy(&first.stdout);
        assert!(
            stdout.contains("rewrites in the result"),
            "{model} must be rewritten for this test to mean anything:\n{stdout}"
        );
        assert!(!stdout.contains("TIME LIMIT"), "{stdout}");
        let (x, y) = (
            std::fs::read(&idle).unwrap(),
            std::fs::read(&loaded).unwrap(),
        );
        assert!(x == y, "{model}: the two runs wrote different files");
    }
}

#[test]
fn the_extraction_work_limit_is_reported() {
    let out = optimize(
        &[
            "resnet18",
            "--framework",
            "crypten",
            "--weights",
            "public",
            "--samples",
            "0",
            "--extract-work",
            "100",
        ],
        "1",
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "no cheaper equivalent graph: extraction found no acyclic choice within its work limit (100 units); input kept"
        ),
        "{stdout}"
    );
}

#[test]
fn the_wall_clock_safety_net_is_reported_loudly() {
    let out = optimize(
        &[
            "bert-base",
            "--framework",
            "crypten",
            "--samples",
            "0",
            "--time-limit",
            "0.000001",
        ],
        "1",
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "stopped: TIME LIMIT, the wall-clock safety net (0.0 s of 0.0 s): the result depends on machine load and may differ between runs"
        ),
        "{stdout}"
    );
}
