//! The `hawkeye` binary on real exports: nodes CrypTen's `from_onnx` refuses are named in
//! warnings (an error with `--strict`), shape options that do not apply are errors naming the
//! model's real inputs, and the profile header states inputs and mode.

mod cli_run;

use cli_run::hawkeye;
use serde_json::Value;

fn real(name: &str) -> String {
    format!(
        "{}/tests/fixtures/onnx/realworld/{name}.onnx",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// (refused op, nodes) of each grouped warning: `refuses OP node 'n' (...) and K more ...`.
fn refused_ops(warnings: &[&str]) -> Vec<(String, usize)> {
    warnings
        .iter()
        .map(|l| {
            let after = l.split(" refuses ").nth(1).unwrap();
            let op = after.split(' ').next().unwrap().to_string();
            let more = after
                .split_once(") and ")
                .filter(|(_, rest)| rest.contains(" more "))
                .map_or(0, |(_, rest)| {
                    rest.split(' ').next().unwrap().parse::<usize>().unwrap()
                });
            (op, 1 + more)
        })
        .collect()
}

fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("warning: "))
        .collect()
}

#[test]
fn every_refused_node_is_named_with_crypten_s_reason() {
    // (file, refused op types in order, with their node counts) as measured: from_onnx
    // raised on the first of each
    for (name, ops) in [
        ("bert_layer", vec![("LayerNormalization", 2)]),
        ("bert_ids_op14", vec![("Gather", 1)]),
        ("gpt2_embeds_op14", vec![("Split", 2), ("Tanh", 2)]),
        ("bert_layer_op14_fresh", vec![("Identity", 7)]),
    ] {
        let file = real(name);
        let (code, out, err) = hawkeye(&["profile", &file, "-f", "crypten", "--depth", "0"]);
        assert_eq!(code, 0, "{err}");
        let w = warnings(&err);
        let want: Vec<(String, usize)> = ops.iter().map(|(o, n)| (o.to_string(), *n)).collect();
        assert_eq!(refused_ops(&w), want, "{name}: {err}");
        // the JSON lists every refused node
        let (_, json, _) = hawkeye(&["profile", &file, "-f", "crypten", "--format", "json"]);
        let json: Value = serde_json::from_str(&json).unwrap();
        let total: usize = ops.iter().map(|(_, n)| n).sum();
        assert_eq!(json["refused"].as_array().unwrap().len(), total, "{name}");
        assert!(out.contains("NOT RUNNABLE as given"), "{out}");
        // the measured error of the run is the reason of the first warning
        let measured: Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/tests/fixtures/groundtruth/results/realworld/{name}.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        let error = measured["error"].as_str().unwrap();
        assert!(w[0].contains(error), "{name}: '{error}' not in '{}'", w[0]);
    }
    let (_, _, err) = hawkeye(&["profile", &real("bert_layer"), "-f", "crypten"]);
    assert_eq!(
        warnings(&err)[0],
        "crypten.nn.from_onnx (CrypTen 0.4.1) refuses LayerNormalization node \
         '/encoder/layer.0/attention/output/LayerNorm/LayerNormalization' (module \
         encoder.layer.0.attention.output.LayerNorm) and 1 more LayerNormalization node \
         (encoder.layer.0.output.LayerNorm): ValueError: CrypTen does not support ONNX \
         op LayerNormalization. (crypten/nn/onnx_converter.py _get_operator_class; torch writes \
         it from opset 17); the cost shown is that of a layer norm written from MPCTensor ops, \
         (x - mean) * (var + eps).inv_sqrt() (export at opset 14 for the decomposed form \
         from_onnx runs)"
    );
}

#[test]
fn runnable_exports_and_other_frameworks_get_no_warning() {
    for name in ["cifar_cnn", "mobilenet_block", "bert_layer_op14"] {
        let (code, out, err) = hawkeye(&["profile", &real(name), "-f", "crypten", "--depth", "0"]);
        assert_eq!((code, warnings(&err).len()), (0, 0), "{name}: {err}");
        assert!(!out.contains("NOT RUNNABLE"));
    }
    // SPU runs a jax program, not the ONNX file: nothing to refuse
    let (code, _, err) = hawkeye(&["profile", &real("bert_layer"), "-f", "spu-semi2k"]);
    assert_eq!((code, warnings(&err).len()), (0, 0), "{err}");
}

#[test]
fn strict_makes_a_refusal_an_error_in_every_command() {
    let file = real("bert_ids_op14");
    for args in [
        vec!["profile", &file, "-f", "crypten", "--strict"],
        vec!["compare", &file, "--frameworks", "crypten", "--strict"],
        vec!["optimize", &file, "-f", "crypten", "--strict"],
    ] {
        let (code, out, err) = hawkeye(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(
            err.starts_with(&format!(
                "error: {file} cannot run under crypten (--strict):"
            )),
            "{err}"
        );
        assert!(err.contains("refuses Gather node '/bert/embeddings/word_embeddings/Gather'"));
    }
    // compare and optimize warn too
    let (code, _, err) = hawkeye(&["compare", &file, "--frameworks", "crypten,spu-semi2k"]);
    assert_eq!((code, warnings(&err).len()), (0, 1), "{err}");
}

#[test]
fn zoo_models_are_checked_as_they_would_be_exported() {
    let (code, _, err) = hawkeye(&["profile", "bert-tiny", "-f", "crypten", "--depth", "0"]);
    assert_eq!(code, 0);
    assert_eq!(
        refused_ops(&warnings(&err)),
        [
            ("Gather".to_string(), 1),
            ("LayerNormalization".to_string(), 5),
            ("Tanh".to_string(), 1)
        ]
    );
    let (code, _, err) = hawkeye(&["profile", "resnet18", "-f", "crypten", "--depth", "0"]);
    assert_eq!((code, warnings(&err).len()), (0, 0), "{err}");
}

#[test]
fn shape_options_that_do_not_apply_are_errors_naming_the_inputs() {
    let cnn = real("cifar_cnn");
    let bert = format!(
        "{}/tests/fixtures/onnx/bert_layer.onnx",
        env!("CARGO_MANIFEST_DIR")
    );
    for (args, want) in [
        (
            vec!["profile", cnn.as_str(), "-f", "crypten", "--batch", "8"],
            format!("error: {cnn}: --batch 8 does not apply: no input has a symbolic batch dim (inputs: input [1, 3, 32, 32]); export the model with a dynamic batch, e.g. torch.onnx.export(..., dynamic_axes={{'input': {{0: 'batch'}}}})\n"),
        ),
        (
            vec!["profile", bert.as_str(), "-f", "crypten", "--dim", "seq=64"],
            format!("error: {bert}: --dim seq=64 does not apply: no input has a symbolic dim 'seq' (inputs: input_ids [batch_size, sequence], attention_mask [batch_size, sequence]; symbolic dims: batch_size, sequence)\n"),
        ),
        (
            vec!["compare", cnn.as_str(), "--resolution", "64"],
            format!("error: {cnn}: --resolution 64 applies to zoo models only; bind a model file's symbolic dims with --batch N and --dim NAME=N (inputs: input [1, 3, 32, 32])\n"),
        ),
        (
            vec!["profile", "mlp", "-f", "crypten", "--resolution", "64"],
            "error: mlp: --resolution 64 does not apply: mlp takes batch, classes (inputs at the defaults: input [1, 784])\n".to_string(),
        ),
        (
            vec!["profile", "bert-tiny", "-f", "crypten", "--resolution", "64"],
            "error: bert-tiny: --resolution 64 does not apply: bert-tiny takes batch, seq_len (inputs at the defaults: input_ids [1, 128])\n".to_string(),
        ),
        (
            vec!["optimize", "resnet18", "-f", "crypten", "--dim", "seq=64"],
            "error: resnet18: --dim seq=64 does not apply to a zoo model, which takes batch, resolution, classes (inputs at the defaults: input [1, 3, 224, 224])\n".to_string(),
        ),
    ] {
        let (code, out, err) = hawkeye(&args);
        assert_eq!((code, out.as_str(), err.as_str()), (2, "", want.as_str()), "{args:?}");
    }
    // a --batch equal to the fixed batch, and bound symbolic dims, apply
    let (code, _, err) = hawkeye(&["profile", &cnn, "-f", "crypten", "--batch", "1"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = hawkeye(&[
        "profile",
        &bert,
        "-f",
        "spu-semi2k",
        "--batch",
        "2",
        "--dim",
        "sequence=8",
        "--depth",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().nth(1).unwrap(),
        "  inputs input_ids [2, 8], attention_mask [2, 8]; inference"
    );
}

#[test]
fn the_header_states_inputs_mode_weights_and_network() {
    let (code, out, err) = hawkeye(&[
        "profile",
        "mlp",
        "-f",
        "spu-semi2k",
        "--train",
        "--batch",
        "8",
        "--optimizer",
        "adam",
        "--network",
        "wan",
        "--depth",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");
    let head: Vec<&str> = out.lines().take(2).collect();
    assert_eq!(
        head,
        [
            "mlp under spu-semi2k (2 parties, weights secret, network wan (9 Mbit/s, 72 ms RTT))",
            "  inputs input [8, 784]; training step (loss cross-entropy, optimizer adam, lr 0.01, batch 8)",
        ]
    );
    let (_, out, _) = hawkeye(&[
        "profile",
        &real("mobilenet_block"),
        "-f",
        "crypten",
        "--format",
        "json",
        "--weights",
        "public",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["inputs"],
        serde_json::json!([{"name": "input", "shape": [1, 3, 16, 16]}])
    );
    assert_eq!(v["mode"], "inference");
    assert_eq!(v["weights"], "public");
    assert_eq!(v["refused"], serde_json::json!([]));
}
