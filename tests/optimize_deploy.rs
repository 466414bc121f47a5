//! `hawkeye optimize` results as a user reads and deploys them, on real `torch.onnx.export`
//! files: the by-layer table aligned by structure (a folded batch norm removed, its conv
//! changed), the flame graph of removed work, and results that load wherever the input does.

mod cli_run;
mod scratch;

use cli_run::hawkeye;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/onnx");

fn scratch(name: &str) -> scratch::Scratch {
    scratch::file("optimize-deploy", name)
}

/// `hawkeye optimize` of the CIFAR CNN with batch norms (a real `torch.onnx.export` file) under
/// SPU semi2k with public weights, without the equivalence samples, and the `extra` options;
/// checked to succeed. Returns its standard output.
fn optimize_cifar_cnn_bn(extra: &[&str]) -> String {
    let model = format!("{FIXTURES}/cifar_cnn_bn.onnx");
    let mut args = vec![
        "optimize",
        &model,
        "-f",
        "spu-semi2k",
        "--weights",
        "public",
        "--samples",
        "0",
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = hawkeye(&args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    stdout
}

/// The cells of the table that follows the line starting with `title`, one row per line.
fn table_after(stdout: &str, title: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(title))
        .unwrap_or_else(|| panic!("no '{title}' in:\n{stdout}"));
    lines[start + 1..]
        .iter()
        .take_while(|l| l.starts_with(['┌', '│', '╞', '├', '└']))
        .filter(|l| l.starts_with('│'))
        .map(|l| {
            l.trim_matches('│')
                .split('┆')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn by_layer_table_shows_the_folded_batchnorm_removed_and_its_conv_changed() {
    let stdout = optimize_cifar_cnn_bn(&[]);
    let rows = table_after(
        &stdout,
        "by layer (aligned by structure; 8 layer(s) changed):",
    );
    let expected: Vec<Vec<&str>> = vec![
        vec![
            "layer before",
            "layer after",
            "online before",
            "after",
            "change",
            "share before",
            "what",
        ],
        vec![
            "0 (Conv2d)",
            "0 (Conv2d)",
            "131.07 KB",
            "131.07 KB",
            "=",
            "2.0%",
            "changed: fold-batchnorm-conv",
        ],
        vec![
            "1 (BatchNorm)",
            "-",
            "131.07 KB",
            "0 B",
            "-100.0%",
            "2.0%",
            "removed",
        ],
        vec![
            "2 (ReLU)", "-", "2.36 MB", "0 B", "-100.0%", "35.8%", "removed",
        ],
        vec![
            "3 (MaxPool2d)",
            "3 (MaxPool2d+ReLU)",
            "1.77 MB",
            "2.36 MB",
            "+33.3%",
            "26.8%",
            "changed: relu-after-maxpool",
        ],
        vec![
            "4 (Conv2d)",
            "4 (Conv2d)",
            "65.54 KB",
            "65.54 KB",
            "=",
            "1.0%",
            "changed: fold-batchnorm-conv",
        ],
        vec![
            "5 (BatchNorm)",
            "-",
            "65.54 KB",
            "0 B",
            "-100.0%",
            "1.0%",
            "removed",
        ],
        vec![
            "6 (ReLU)", "-", "1.18 MB", "0 B", "-100.0%", "17.9%", "removed",
        ],
        vec![
            "7 (MaxPool2d)",
            "7 (MaxPool2d+ReLU)",
            "884.74 KB",
            "1.18 MB",
            "+33.3%",
            "13.4%",
            "changed: relu-after-maxpool",
        ],
    ];
    assert_eq!(rows, expected, "{stdout}");
    // The module-prefix table only on request.
    assert!(!stdout.contains("by module"), "{stdout}");
    let stdout = optimize_cifar_cnn_bn(&["--depth", "1"]);
    let modules = table_after(&stdout, "by module (depth 1, 6 of 12 changed):");
    assert_eq!(
        modules[1],
        ["1", "131.07 KB", "0 B", "-100.0%", "2.0%"],
        "{stdout}"
    );
}

#[test]
fn json_lists_every_changed_layer_with_its_type_and_rules() {
    let stdout = optimize_cifar_cnn_bn(&["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let layers = v["layers"].as_array().unwrap();
    let summary: Vec<(String, String, String, String)> = layers
        .iter()
        .map(|l| {
            let name = |side: &str| {
                l[side].as_object().map_or("-".to_string(), |s| {
                    format!(
                        "{} ({})",
                        s["layer"].as_str().unwrap(),
                        s["type"].as_str().unwrap()
                    )
                })
            };
            (
                l["change"].as_str().unwrap().to_string(),
                name("before"),
                name("after"),
                l["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(","),
            )
        })
        .collect();
    let s = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_string(), b.to_string(), c.to_string(), d.to_string())
    };
    assert_eq!(
        summary,
        vec![
            s("changed", "0 (Conv2d)", "0 (Conv2d)", "fold-batchnorm-conv"),
            s("removed", "1 (BatchNorm)", "-", ""),
            s("removed", "2 (ReLU)", "-", ""),
            s(
                "changed",
                "3 (MaxPool2d)",
                "3 (MaxPool2d+ReLU)",
                "relu-after-maxpool"
            ),
            s("changed", "4 (Conv2d)", "4 (Conv2d)", "fold-batchnorm-conv"),
            s("removed", "5 (BatchNorm)", "-", ""),
            s("removed", "6 (ReLU)", "-", ""),
            s(
                "changed",
                "7 (MaxPool2d)",
                "7 (MaxPool2d+ReLU)",
                "relu-after-maxpool"
            ),
        ]
    );
    // 2 (ReLU) on 1x16x32x32 sent 18,874,368 bits; after the pool, 4x fewer values.
    assert_eq!(layers[2]["before"]["online_bits"], 18874368.0);
    assert_eq!(layers[3]["after"]["online_bits"], 18874368.0);
}

#[test]
fn flame_graph_draws_the_removed_work() {
    let svg = scratch("cifar-removed.svg");
    optimize_cifar_cnn_bn(&["--flamegraph-diff", svg.to_str().unwrap()]);
    let text = std::fs::read_to_string(&svg).unwrap();
    // Frames are as wide as in the input (6,596,176 bytes) plus work only the result does
    // (884,736 bytes: the two ReLUs after their pools); module 2's ReLU (2,359,296 bytes =
    // 1,835,008 in msb_a2b + 524,288 in mul_a1b) is gone from the result: drawn in full, its
    // leaves blue (-100% of their width); the ReLU moved under module 3 (4x fewer values,
    // 458,752 bytes in msb_a2b) is drawn as wide as in the result, red.
    for title in [
        "<title>all (7,480,912 bytes, 100%)</title>",
        "<title>2 (2,359,296 bytes, 31.54%; 0.00%)</title>",
        "<title>msb_a2b (1,835,008 bytes, 24.53%; -24.53%)</title>",
        "<title>mul_a1b (524,288 bytes, 7.01%; -7.01%)</title>",
        "<title>msb_a2b (458,752 bytes, 6.13%; +6.13%)</title>",
    ] {
        assert!(
            text.contains(title),
            "no {title} in:\n{}",
            text.split("<title>")
                .skip(1)
                .filter_map(|t| t.split("</title>").next())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn a_result_loads_in_crypten_wherever_the_input_does() {
    // The explicit softmax (ReduceMax, Reciprocal) is cheaper under CrypTen's cost model, but
    // crypten.nn.from_onnx has no module for either: the optimizer must not write them.
    let model = format!("{FIXTURES}/realworld/bert_layer_op14.onnx");
    let out = scratch("bert_layer_op14-crypten.onnx");
    let (code, _, stderr) = hawkeye(&["profile", &model, "-f", "crypten", "--strict"]);
    assert_eq!(code, 0, "the input loads: {stderr}");
    let (code, stdout, stderr) = hawkeye(&[
        "optimize",
        &model,
        "-f",
        "crypten",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("softmax-explicit"), "{stdout}");
    let (code, _, stderr) = hawkeye(&[
        "profile",
        out.to_str().unwrap(),
        "-f",
        "crypten",
        "--strict",
    ]);
    assert_eq!(code, 0, "the result loads too: {stderr}");
}
