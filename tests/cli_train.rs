//! `hawkeye profile --train`: training steps from the command line, per phase and in total.

mod cli_run;
mod scratch;

use cli_run::hawkeye;
use serde_json::Value;

fn profile_json(args: &[&str]) -> Value {
    let mut all = vec!["profile"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let (code, out, err) = hawkeye(&all);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn training_profile_reports_each_phase_and_the_total() {
    let p = profile_json(&["mlp", "-f", "spu-semi2k", "--train", "--batch", "32"]);
    let phases: Vec<(&str, f64)> = p["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["phase"].as_str().unwrap(),
                v["online_bits"].as_f64().unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = phases.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["forward", "loss", "backward", "update"]);
    let total = p["total"]["online_bits"].as_f64().unwrap();
    assert_eq!(phases.iter().map(|(_, b)| b).sum::<f64>(), total);
    // the measured SPU 0.9.5 SEMI2K training step (g_mlp_train_b32)
    assert_eq!(total / 8.0, 7_112_984.0);

    let (code, text, _) = hawkeye(&["profile", "mlp", "-f", "semi2k", "--train", "--depth", "0"]);
    assert_eq!(code, 0);
    for phase in ["forward", "loss", "backward", "update", "total"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(phase)),
            "no {phase} line in\n{text}"
        );
    }
}

#[test]
fn every_optimizer_and_loss_runs() {
    let mut update = Vec::new();
    for opt in ["sgd", "momentum", "adam", "adamw"] {
        for loss in ["ce", "mse"] {
            let p = profile_json(&[
                "lenet5",
                "-f",
                "semi2k",
                "--train",
                "--optimizer",
                opt,
                "--loss",
                loss,
            ]);
            let u = p["phases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["phase"] == "update")
                .unwrap()["online_bits"]
                .as_f64()
                .unwrap();
            update.push((opt, loss, u));
        }
    }
    let of = |opt: &str| update.iter().find(|u| u.0 == opt && u.1 == "ce").unwrap().2;
    // SGD: one truncation per parameter; momentum: three; Adam: square root and division
    assert!(of("sgd") < of("momentum") && of("momentum") < of("adam"));
}

#[test]
fn model_files_train_like_zoo_models() {
    let dir = scratch::dir("cli-train");
    let file = dir.join("mlp.json");
    let file = file.to_str().unwrap();
    let (code, _, err) = hawkeye(&["export", "mlp", "--batch", "32", "-o", file]);
    assert_eq!(code, 0, "{err}");
    let from_file = profile_json(&[file, "-f", "semi2k", "--train"]);
    let from_zoo = profile_json(&["mlp", "-f", "semi2k", "--train", "--batch", "32"]);
    assert_eq!(from_file["total"], from_zoo["total"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn training_options_are_checked() {
    let (code, _, err) = hawkeye(&["profile", "mlp", "-f", "semi2k", "--optimizer", "adam"]);
    assert!(code == 2 && err.contains("--train"), "{err}");
    let (code, _, err) = hawkeye(&[
        "profile",
        "mlp",
        "-f",
        "semi2k",
        "--train",
        "--grad-threshold",
    ]);
    assert!(
        code == 2 && err.contains("no default gradient threshold"),
        "{err}"
    );
    let (code, _, err) = hawkeye(&[
        "profile",
        "mlp",
        "-f",
        "semi2k",
        "--train",
        "--grad-threshold",
        "zero",
    ]);
    assert!(
        code == 2 && err.contains("--grad-threshold 'zero' is not a number"),
        "{err}"
    );
}
