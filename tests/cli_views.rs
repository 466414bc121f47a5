//! The command line a researcher lives in: actionable errors and exit statuses, a closed pipe,
//! honest numbers, the default overview, the per-layer table, `compare` as data, the catalogs,
//! completions and `diff`. Human views are snapshot-tested (`tests/snapshots/`).

mod cli_run;
mod scratch;

use cli_run::hawkeye;
use std::io::Read;
use std::process::Stdio;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = hawkeye(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// The error line of a failing command, which must exit with `code`.
fn error(args: &[&str], code: i32) -> String {
    let (status, out, err) = hawkeye(args);
    assert_eq!(status, code, "{args:?}: {out}{err}");
    assert!(out.is_empty(), "{out}");
    err
}

fn temp_dir(tag: &str) -> scratch::Scratch {
    scratch::dir(&format!("views-{tag}"))
}

#[test]
fn input_errors_say_what_to_do_and_exit_2() {
    assert_eq!(
        error(&["profile", "resnt50", "-f", "crypten"], 2),
        "error: 'resnt50' is neither a zoo model nor a model file. Did you mean 'resnet50'? See `hawkeye models` for the zoo, or give a path to a .onnx or .json file.\n"
    );
    assert_eq!(
        error(&["profile", "resnet50", "-f", "crypton"], 2),
        "error: unknown framework 'crypton'. Did you mean 'crypten'? See `hawkeye frameworks` for the built-in ones, or give a path to a .toml cost model.\n"
    );
    assert_eq!(
        error(&["compare", "mlp", "--frameworks", "crypten,spu-semi2kk"], 2),
        "error: unknown framework 'spu-semi2kk'. Did you mean 'spu-semi2k'? See `hawkeye frameworks` for the built-in ones, or give a path to a .toml cost model.\n"
    );
    let dir = temp_dir("errors");
    let pt = dir.join("model.pt");
    std::fs::write(&pt, b"not onnx").unwrap();
    let pt = pt.to_str().unwrap();
    assert_eq!(
        error(&["profile", pt, "-f", "crypten"], 2),
        format!("error: {pt}: is a PyTorch checkpoint, which hawkeye cannot read; export it with torch.onnx.export(model, example_input, \"model.onnx\") and profile the .onnx file.\n")
    );
    let d = dir.to_str().unwrap();
    assert_eq!(
        error(&["show", d], 2),
        format!("error: {d}: is a directory, not a model file; give the .onnx or .json file inside it.\n")
    );
    let missing = dir.join("absent.onnx");
    let missing = missing.to_str().unwrap();
    // one sentence, no repeated OS error text
    assert_eq!(
        error(&["profile", missing, "-f", "crypten"], 2),
        format!(
            "error: {missing}: no such file; check the path (model files are .onnx or .json).\n"
        )
    );
    assert_eq!(
        error(&["profile", "mlp", "-f", "/nonexistent/fw.toml"], 2),
        "error: /nonexistent/fw.toml: no such cost-model file; check the path, or give a built-in framework name (see `hawkeye frameworks`).\n"
    );
    // clap's own usage errors are 2 as well
    assert_eq!(hawkeye(&["profile", "mlp"]).0, 2);
}

#[test]
fn equiv_tells_different_from_a_usage_error() {
    let (different, _, _) = hawkeye(&[
        "equiv",
        &fixture("equiv/relu_avgpool.json"),
        &fixture("equiv/avgpool_relu.json"),
        "-f",
        "crypten",
        "--samples",
        "2",
    ]);
    let (unusable, _, _) = hawkeye(&["equiv", "mlp", "/nonexistent.json", "-f", "crypten"]);
    assert_eq!((different, unusable), (1, 2));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("hawkeye"))
        .args(["profile", "bert-base", "-f", "spu-semi2k", "--full"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as `| head` does
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(0), ""));
}

/// A float printed with more decimals than any view uses (`1335.0000000000005`; CSV shares
/// have 4, CSV seconds 6).
fn raw_float(text: &str) -> Option<&str> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| w.split_once('.').is_some_and(|(_, f)| f.len() > 6))
}

#[test]
fn no_view_prints_a_raw_float() {
    for fw in ["spu-aby3", "spu-cheetah", "crypten", "falcon"] {
        for format in ["tree", "layers", "csv", "layers-csv"] {
            let out = ok(&["profile", "resnet18", "-f", fw, "--format", format]);
            assert_eq!(raw_float(&out), None, "{fw} {format}:\n{out}");
        }
    }
    let out = ok(&["compare", "resnet18", "--format", "csv"]);
    assert_eq!(raw_float(&out), None, "{out}");
}

#[test]
fn mean_rounds_get_one_decimal_and_a_footnote() {
    let out = ok(&["profile", "lenet5", "-f", "spu-aby3"]);
    assert!(
        out.contains(
            "  online      3.64 MB      85.3 rounds (critical path 85.3)  network time 46.17 ms"
        ),
        "{out}"
    );
    assert!(out.contains("\nrounds with a decimal are means, not counts: spu-aby3 counts a round as link messages received per party, averaged over the 3 parties"), "{out}");
    let counts = ok(&["profile", "lenet5", "-f", "spu-semi2k"]);
    assert!(
        counts.contains("        64 rounds (critical path 64)"),
        "{counts}"
    );
    assert!(!counts.contains("rounds with a decimal"), "{counts}");
}

#[test]
fn units_switch_between_bytes_and_bits() {
    let bytes = ok(&[
        "profile", "mlp", "-f", "semi2k", "--format", "csv", "--depth", "0",
    ]);
    assert_eq!(
        bytes,
        "path,depth,online_bytes,online_rounds,offline_bytes,offline_rounds\nmlp,0,1943888,22,0,0\n"
    );
    let bits = ok(&[
        "profile", "mlp", "-f", "semi2k", "--format", "csv", "--depth", "0", "--units", "bits",
    ]);
    assert!(bits.ends_with("\nmlp,0,15551104,22,0,0\n"), "{bits}");
    let tree = ok(&[
        "profile", "mlp", "-f", "semi2k", "--units", "bits", "--depth", "0",
    ]);
    assert!(
        tree.contains("mlp               15.55 Mb        22  100.0%"),
        "{tree}"
    );
}

#[test]
fn the_default_profile_fits_a_screen() {
    let out = ok(&["profile", "resnet50", "-f", "spu-semi2k"]);
    assert!(out.lines().count() <= 60, "{} lines", out.lines().count());
    insta::assert_snapshot!("profile_resnet50_overview", out);
    let full = ok(&["profile", "resnet50", "-f", "spu-semi2k", "--full"]);
    assert!(full.lines().count() > 1000, "--full shows the whole tree");
    assert!(full.contains("\n│  │  │        │  └─ msb_a2b "), "{full}");
}

#[test]
fn grouped_trees_align_headers_with_numbers() {
    let out = ok(&["profile", "mlp", "-f", "semi2k", "--group-by", "primitive"]);
    insta::assert_snapshot!("profile_mlp_by_primitive", out);
    let lines: Vec<&str> = out.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("where")).unwrap();
    let right_edge = |l: &str, word: &str| l.find(word).map(|i| i + word.len());
    assert_eq!(
        right_edge(lines[header], "bytes"),
        right_edge(lines[header + 1], "MB"),
        "{out}"
    );
}

#[test]
fn csv_honours_depth() {
    let out = ok(&[
        "profile", "resnet50", "-f", "crypten", "--format", "csv", "--depth", "1",
    ]);
    let depths: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    // the root and its 9 costed top-level modules (avgpool is free under CrypTen)
    assert_eq!(depths.len(), 10, "{out}");
    assert!(depths[1..].iter().all(|d| *d == "1"), "{out}");
    assert!(
        out.contains("\nresnet50 > layer1,1,1872408576,111,0,0\n"),
        "{out}"
    );
}

#[test]
fn per_layer_table_of_a_torch_sequential_export() {
    let cnn = fixture("onnx/cifar_cnn.onnx");
    let out = ok(&["profile", &cnn, "-f", "crypten", "--format", "layers"]);
    insta::assert_snapshot!("layers_cifar_cnn_crypten", out);
    let csv = ok(&["profile", &cnn, "-f", "crypten", "--format", "layers-csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "layer,type,output_shape,params,online_bytes,online_rounds,offline_bytes,offline_rounds,share,dominant_primitive"
    );
    assert_eq!(
        lines[1],
        "0,Conv2d,1x16x32x32,448,56064,1,0,0,0.0011,beaver_conv2d"
    );
    assert_eq!(lines.len(), 11, "{csv}");
    // the export's graph name `torch_jit` gives way to the file name
    let head = ok(&["profile", &cnn, "-f", "crypten"]);
    assert!(head.starts_with("cifar_cnn under crypten"), "{head}");
}

#[test]
fn compare_is_data() {
    let csv = ok(&[
        "compare",
        "mlp",
        "--frameworks",
        "crypten,aby",
        "--format",
        "csv",
        "--network",
        "wan",
    ]);
    assert_eq!(
        csv,
        "framework,online_bytes,offline_bytes,online_rounds,offline_rounds,seconds_wan,bottleneck,bottleneck_share,error\n\
         crypten,2023680,0,21,0,3.310827,fc1,0.7996,\n\
         aby,"
            .to_string()
            + csv.lines().nth(2).unwrap().strip_prefix("aby,").unwrap()
            + "\n"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "compare",
        "mlp",
        "--frameworks",
        "spu-aby3,spu-semi2k",
        "--format",
        "json",
        "--set",
        "ring=32",
    ]))
    .unwrap();
    assert_eq!(json[1]["framework"], "spu-semi2k");
    let alone: serde_json::Value = serde_json::from_str(&ok(&[
        "profile",
        "mlp",
        "-f",
        "spu-semi2k",
        "--set",
        "ring=32",
        "--format",
        "json",
    ]))
    .unwrap();
    // ring=32 reached spu-semi2k: its comparisons take log2(ring) rounds, 22 at ring 64
    assert_eq!(json[1]["online_rounds"], alone["total"]["online_rounds"]);
    assert_eq!(json[1]["online_rounds"], 20.0);
    // a framework that cannot cost the model says why, in full
    let table = ok(&["compare", "bert-tiny", "--frameworks", "crypten,cheetah"]);
    assert!(table.contains("cannot cost it [1]"), "{table}");
    assert!(
        table.contains("[1] cheetah: cost_models/cheetah.toml: unsupported.gather.*s: OpenCheetah's implementation has no lookup at secret indices, as embeddings are not among its layers; give the model embedded inputs or use --framework spu-cheetah (and 4 more)"),
        "{table}"
    );
    // sizes go up to TB
    let big = ok(&[
        "compare",
        "vgg16",
        "--frameworks",
        "crypten",
        "--train",
        "--batch",
        "128",
    ]);
    assert!(big.contains(" TB "), "{big}");
}

#[test]
fn catalogs_are_narrow_and_have_json() {
    for args in [["frameworks"], ["models"]] {
        let out = ok(&args);
        let widest = out.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= 100, "{args:?}: {widest} columns");
    }
    let one = ok(&["frameworks", "spu-aby3"]);
    assert!(
        one.contains("parameters   div_iters=2 exp_iters=8 frac=18 parties=3 ring=64"),
        "{one}"
    );
    let fws: serde_json::Value =
        serde_json::from_str(&ok(&["frameworks", "--format", "json"])).unwrap();
    assert_eq!(fws.as_array().unwrap().len(), 12);
    let models: serde_json::Value =
        serde_json::from_str(&ok(&["models", "--format", "json"])).unwrap();
    let resnet50 = models
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "resnet50")
        .unwrap();
    assert_eq!(resnet50["parameters"], 25_557_032);
}

#[test]
fn shell_completions() {
    for shell in ["bash", "zsh", "fish"] {
        let out = ok(&["completions", shell]);
        assert!(
            out.contains("hawkeye") && out.contains("frameworks"),
            "{shell}"
        );
    }
}

#[test]
fn diff_aligns_layers_of_two_torch_exports_by_structure() {
    let (a, b) = (
        fixture("onnx/cifar_cnn.onnx"),
        fixture("onnx/cifar_cnn_bn.onnx"),
    );
    let dir = temp_dir("diff");
    let svg = dir.join("diff.svg");
    let out = ok(&[
        "diff",
        &a,
        &b,
        "-f",
        "crypten",
        "--flamegraph",
        svg.to_str().unwrap(),
    ]);
    insta::assert_snapshot!("diff_cifar_cnn_bn_crypten", out);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<?xml") && text.contains("batch_norm"),
        "not a flame graph"
    );
    // the inserted batch norms are one row each; every other layer stays paired
    let csv = ok(&["diff", &a, &b, "-f", "crypten", "--format", "csv"]);
    assert_eq!(
        csv.lines().nth(2),
        Some(",,1,BatchNorm,0,524800,524800,,2"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().filter(|l| l.starts_with(',')).count(),
        2,
        "{csv}"
    );
}

#[test]
fn diff_across_frameworks_pairs_every_layer() {
    let out = ok(&[
        "diff",
        "lenet5",
        "lenet5",
        "-f",
        "crypten",
        "-f",
        "spu-semi2k",
        "--format",
        "csv",
    ]);
    let a = ok(&[
        "profile",
        "lenet5",
        "-f",
        "crypten",
        "--format",
        "layers-csv",
    ]);
    let b = ok(&[
        "profile",
        "lenet5",
        "-f",
        "spu-semi2k",
        "--format",
        "layers-csv",
    ]);
    assert_eq!(out.lines().count(), a.lines().count(), "{out}");
    let bytes = |csv: &str, i: usize| {
        csv.lines()
            .nth(i)
            .unwrap()
            .split(',')
            .nth(4)
            .unwrap()
            .to_string()
    };
    for i in 1..a.lines().count() {
        let row: Vec<&str> = out.lines().nth(i).unwrap().split(',').collect();
        assert_eq!(
            (row[4].to_string(), row[5].to_string()),
            (bytes(&a, i), bytes(&b, i))
        );
    }
    assert_eq!(
        error(&["diff", "mlp", "mlp", "-f", "crypten", "-f", "aby3", "-f", "falcon"], 2),
        "error: give --framework once (both models) or twice (A under the first, B under the second)\n"
    );
}
