//! Hostile and extreme inputs through the command line (issue 11): every case ends in one
//! clear error, or a correct figure, and never in a panic, an abort or a wrapped number.

mod cli_run;
mod scratch;

use cli_run::hawkeye;
use hawkeye_mpc::frontend::onnx::proto::ModelProto;
use prost::Message;
use std::path::{Path, PathBuf};

/// The error line of a failed command, checked to exit with `code`.
fn error(args: &[&str], code: i32) -> String {
    let (status, _, stderr) = hawkeye(args);
    assert_eq!(status, code, "{args:?}: {stderr}");
    stderr.trim_end().to_string()
}

/// A fresh folder for one test.
fn scratch(name: &str) -> scratch::Scratch {
    scratch::dir(&format!("hostile-{name}"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// tests/fixtures/onnx/external_data.onnx with `edit` applied, written to `dir/name`.
fn edited_model(dir: &Path, name: &str, edit: impl FnOnce(&mut ModelProto)) -> String {
    let bytes = std::fs::read(fixture("onnx/external_data.onnx")).unwrap();
    let mut model = ModelProto::decode(bytes.as_slice()).unwrap();
    edit(&mut model);
    let path = dir.join(name);
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    path.display().to_string()
}

/// The fixture with its external data located at `location`.
fn with_location(dir: &Path, name: &str, location: &str) -> String {
    edited_model(dir, name, |m| {
        let graph = m.graph.as_mut().unwrap();
        let mut set = 0;
        for t in &mut graph.initializer {
            for e in &mut t.external_data {
                if e.key.as_deref() == Some("location") {
                    e.value = Some(location.to_string());
                    set += 1;
                }
            }
        }
        assert!(set > 0, "the fixture has external data");
    })
}

fn escape_message(file: &str, location: &str, reason: &str) -> String {
    format!(
        "error: {file}: node '/conv/Conv' (Conv, opset 17): initializer 'conv.weight': external \
         data \
location '{location}' {reason}; external data is read only from inside the model's \
         folder: move the data file there and give its location relative to the model file"
    )
}

#[test]
fn external_data_outside_the_model_folder_is_refused_by_every_command() {
    let dir = scratch("escape");
    let out = dir.join("out.onnx").display().to_string();
    let mut cases = vec![
        (
            with_location(&dir, "up.onnx", "../../../../etc/passwd"),
            "../../../../etc/passwd",
            "climbs out of the model's folder with '..'",
        ),
        (
            with_location(&dir, "abs.onnx", "/etc/passwd"),
            "/etc/passwd",
            "is an absolute path",
        ),
    ];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc", dir.join("etc-link")).unwrap();
        cases.push((
            with_location(&dir, "link.onnx", "etc-link/passwd"),
            "etc-link/passwd",
            "goes through a symlink that does not resolve to a place inside the model's folder",
        ));
    }
    for (model, location, reason) in &cases {
        let expected = escape_message(model, location, reason);
        assert_eq!(error(&["profile", model, "-f", "semi2k"], 2), expected);
        assert_eq!(error(&["export", model, "-o", &out], 2), expected);
        assert_eq!(
            error(&["optimize", model, "-f", "semi2k", "-o", &out], 2),
            expected
        );
        assert_eq!(error(&["equiv", model, model, "-f", "semi2k"], 2), expected);
        assert!(!Path::new(&out).exists(), "nothing is written");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn profile_reveals_nothing_about_files_outside_the_folder() {
    let dir = scratch("reveal");
    // The same answer whether the outside file exists or not.
    let present = with_location(&dir, "a.onnx", "/etc/passwd");
    let absent = with_location(&dir, "b.onnx", "/etc/no-such-file-here");
    let a = error(&["profile", &present, "-f", "semi2k"], 2);
    let b = error(&["profile", &absent, "-f", "semi2k"], 2);
    assert_eq!(
        a.replace("/etc/passwd", "X").replace("a.onnx", "M"),
        b.replace("/etc/no-such-file-here", "X")
            .replace("b.onnx", "M")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn external_data_inside_the_folder_still_loads() {
    let dir = scratch("inside");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::copy(fixture("onnx/external_data.bin"), dir.join("data/w.bin")).unwrap();
    let model = with_location(&dir, "m.onnx", "./data/../data/w.bin");
    let (status, stdout, stderr) = hawkeye(&["profile", &model, "-f", "semi2k"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("under spu-semi2k"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn duplicate_initializers_and_non_positive_dims_are_errors() {
    let dir = scratch("onnx");
    let dup = edited_model(&dir, "dup.onnx", |m| {
        let g = m.graph.as_mut().unwrap();
        let first = g.initializer[0].clone();
        g.initializer.push(first);
    });
    let name = {
        let bytes = std::fs::read(&dup).unwrap();
        let m = ModelProto::decode(bytes.as_slice()).unwrap();
        m.graph.unwrap().initializer[0].name.clone().unwrap()
    };
    assert_eq!(
        error(&["profile", &dup, "-f", "semi2k"], 2),
        format!(
            "error: {dup}: not a valid ONNX model: two initializers are named '{name}' (which \
             values are meant is ambiguous); rename or remove one"
        )
    );
    for (file, dim) in [("zero.onnx", 0i64), ("negative.onnx", -3)] {
        let model = edited_model(&dir, file, |m| {
            use hawkeye_mpc::frontend::onnx::proto::{tensor_shape_proto, type_proto};
            let input = &mut m.graph.as_mut().unwrap().input[0];
            let Some(type_proto::Value::TensorType(t)) =
                input.r#type.as_mut().unwrap().value.as_mut()
            else {
                panic!("a tensor input")
            };
            t.shape.as_mut().unwrap().dim[0].value =
                Some(tensor_shape_proto::dimension::Value::DimValue(dim));
        });
        let err = error(&["profile", &model, "-f", "semi2k"], 2);
        assert!(
            err.starts_with(&format!("error: {model}: not a valid ONNX model: input '")),
            "{err}"
        );
        assert!(
            err.ends_with(&format!(
                "dim {dim} at axis 0 is not a positive size (a dim to be bound later needs a \
                 dim_param name)"
            )),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn json_model(dir: &Path, name: &str, nodes: &str, output: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            r#"{{"format": "hawkeye-graph", "version": 1, "name": "t", "nodes": [{nodes}], "outputs": ["{output}"]}}"#
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn shape_products_never_wrap() {
    let dir = scratch("overflow");
    let relu = json_model(
        &dir,
        "relu.json",
        r#"{"name": "x", "op": "input", "shape": [4294967296, 4294967296]},
           {"name": "relu", "op": "relu", "inputs": ["x"], "module": "relu"}"#,
        "relu",
    );
    assert_eq!(
        error(&["profile", &relu, "-f", "semi2k"], 2),
        format!(
            "error: {relu}: node 'x': a value of shape 4294967296x4294967296 would have more \
             than 2^48 elements (the limit of one tensor)"
        )
    );
    let pad = json_model(
        &dir,
        "pad.json",
        r#"{"name": "x", "op": "input", "shape": [1, 3, 8, 8]},
           {"name": "w", "op": "parameter", "shape": [4, 3, 3, 3]},
           {"name": "conv", "op": "conv2d", "inputs": ["x", "w"], "module": "conv",
            "padding": [18446744073709551615, 0, 0, 0]}"#,
        "conv",
    );
    assert_eq!(
        error(&["profile", &pad, "-f", "semi2k"], 2),
        format!(
            "error: {pad}: node 'conv' (module conv): window arithmetic overflows (input 8, \
             kernel 3, stride 1, padding 18446744073709551615, dilation 1)"
        )
    );
    let matmul = json_model(
        &dir,
        "matmul.json",
        r#"{"name": "a", "op": "input", "shape": [4294967296, 1]},
           {"name": "b", "op": "input", "shape": [1, 4294967296]},
           {"name": "mm", "op": "mat_mul", "inputs": ["a", "b"], "module": "mm"}"#,
        "mm",
    );
    assert_eq!(
        error(&["profile", &matmul, "-f", "semi2k"], 2),
        format!(
            "error: {matmul}: node 'mm' (module mm): a value of shape 4294967296x4294967296 \
             would have more than 2^48 elements (the limit of one tensor)"
        )
    );
    assert_eq!(
        error(
            &[
                "profile",
                "lenet5",
                "-f",
                "semi2k",
                "--batch",
                "4611686018427387904"
            ],
            2
        ),
        "error: zoo model 'lenet5': node 'input': a value of shape 4611686018427387904x1x28x28 \
         would have more than 2^48 elements (the limit of one tensor)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_large_batch_costs_what_small_batches_extrapolate_to() {
    let bytes = |batch: &str| -> f64 {
        let (status, stdout, stderr) = hawkeye(&[
            "profile", "mlp", "-f", "semi2k", "--batch", batch, "--format", "json",
        ]);
        assert_eq!(status, 0, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        v["total"]["online_bits"].as_f64().unwrap()
    };
    // The MLP's cost is affine in the batch (weights once, then every row): batch 2^30 costs
    // what batches 1 and 2 extrapolate to, not a wrapped-around figure.
    let (one, two) = (bytes("1"), bytes("2"));
    let expected = one + (two - one) * (1073741824.0 - 1.0);
    let got = bytes("1073741824");
    assert!(
        (got - expected).abs() <= 1e-12 * expected && got > one,
        "{got} vs {expected}"
    );
}

fn toy_cost_model(dir: &Path, name: &str, parties: &str, repeat: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[framework]\nname = \"toy\"\ndescription = \"toy\"\nprovenance = \"test\"\n\
             rounds = \"messages\"\ndefault_weights = \"secret\"\n\
             [params]\nparties = {parties}\nring = 64\n\
             [primitives.p]\nargs = [\"n\"]\nonline_bits = \"ring*n\"\nonline_rounds = \"1\"\n\
             [ops.relu]\ns = [{{ call = \"p\", n = \"out\", repeat = \"{repeat}\" }}]\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn cost_model_parameters_are_checked_against_their_ranges() {
    let dir = scratch("params");
    let relu = json_model(
        &dir,
        "relu.json",
        r#"{"name": "x", "op": "input", "shape": [10]},
           {"name": "relu", "op": "relu", "inputs": ["x"], "module": "relu"}"#,
        "relu",
    );
    let semi2k = "cost_models/spu-semi2k.toml";
    let declared = "(the range this file declares in [ranges])";
    for (set, message) in [
        (
            "parties=1e30",
            format!(
                "{semi2k}: --set: parties=1e30 is not supported: 'parties' must be 2 {declared}"
            ),
        ),
        (
            "ring=33",
            format!(
                "{semi2k}: --set: ring=33 is not supported: 'ring' must be one of 32, 64, 128 \
                 {declared}"
            ),
        ),
    ] {
        assert_eq!(
            error(&["profile", &relu, "-f", "semi2k", "--set", set], 2),
            format!("error: {message}")
        );
    }
    assert_eq!(
        error(
            &["profile", &relu, "-f", "crypten", "--set", "parties=1e5"],
            2
        ),
        format!(
            "error: cost_models/crypten.toml: --set: parties=100000 is not supported: 'parties' \
             must be a whole number from 2 to 16 {declared}"
        )
    );
    let default = "(the default range of a parameter without a [ranges] entry)";
    for (parties, shown) in [("1e30", "1e30"), ("1e5", "100000"), ("2.5", "2.5")] {
        let toml = toy_cost_model(&dir, &format!("p{parties}.toml"), parties, "1");
        assert_eq!(
            error(&["profile", &relu, "-f", &toml], 2),
            format!(
                "error: {toml}: params.parties: parties = {shown} is not supported: 'parties' \
                 must be a whole number from 2 to 64 {default}"
            )
        );
    }
    let nan = toy_cost_model(&dir, "nan.toml", "2", "(0/0)*0");
    assert_eq!(
        error(&["profile", &relu, "-f", &nan], 2),
        format!(
            "error: {nan}: ops.relu.s[0]: formula \"(0/0)*0\" has a constant part that is not a \
             finite number (such as 0/0 or inf - inf)"
        )
    );
    let inf = toy_cost_model(&dir, "inf.toml", "2", "0 * 1e400");
    assert_eq!(
        error(&["profile", &relu, "-f", &inf], 2),
        format!(
            "error: {inf}: ops.relu.s[0]: formula \"0 * 1e400\": the number 1e400 is too large \
             to be a finite number"
        )
    );
    // A whole repeat count is still costed: 3 x 10 elements x 64 bits.
    let three = toy_cost_model(&dir, "three.toml", "2", "3");
    let (status, stdout, _) = hawkeye(&["profile", &relu, "-f", &three, "--format", "json"]);
    assert_eq!(status, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["total"]["online_bits"].as_f64(), Some(1920.0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn durations_out_of_range_are_errors() {
    assert_eq!(
        error(
            &["optimize", "lenet5", "-f", "semi2k", "--time-limit", "1e30"],
            2
        ),
        "error: --time-limit 1e30 is out of range: give a number of seconds above 0 and at most \
         1000000"
    );
    assert_eq!(
        error(
            &["optimize", "lenet5", "-f", "semi2k", "--time-limit=-1"],
            2
        ),
        "error: --time-limit -1 is out of range: give a number of seconds above 0 and at most \
         1000000"
    );
    for value in ["1e30", "NaN", "-1"] {
        let arg = format!("--ilp-seconds={value}");
        assert_eq!(
            error(
                &[
                    "optimize",
                    "lenet5",
                    "-f",
                    "semi2k",
                    "--extract",
                    "ilp",
                    &arg
                ],
                2
            ),
            format!(
                "error: --ilp-seconds {} is out of range: give a number of seconds from 0 to \
                 1000000",
                value
            )
        );
    }
}

#[test]
fn rule_files_missing_required_attributes_fail_at_load() {
    let dir = scratch("rules");
    let pow = dir.join("pow.rules");
    std::fs::write(
        &pow,
        "rule square-to-pow exact\n  lhs (square ?x)\n  rhs (pow ?x)\n  why test\n",
    )
    .unwrap();
    let concat = dir.join("concat.rules");
    std::fs::write(
        &concat,
        "rule relu-concat exact\n  lhs (concat[?a] (relu ?x) (relu ?y))\n  \
         rhs (relu (concat ?x ?y))\n  why test\n",
    )
    .unwrap();
    let pow = pow.display().to_string();
    let concat = concat.display().to_string();
    let pow_error = format!(
        "error: {pow}:3: rule 'square-to-pow': the right-hand side's (pow ...) has no \
         'exponent', which pow needs: give it as (pow[exponent=...] ...), or copy a matched \
         pow's attributes with [?name]"
    );
    let concat_error = format!(
        "error: {concat}:3: rule 'relu-concat': the right-hand side's (concat ...) has no \
         'axis', which concat needs: give it as (concat[axis=...] ...), or copy a matched \
         concat's attributes with [?name]"
    );
    for (file, expected) in [(&pow, &pow_error), (&concat, &concat_error)] {
        assert_eq!(
            &error(&["optimize", "lenet5", "-f", "semi2k", "--rules", file], 2),
            expected
        );
        assert_eq!(&error(&["check-rules", file], 2), expected);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn models_too_large_to_interpret_are_refused_before_allocating() {
    let dir = scratch("interpret");
    let big = json_model(
        &dir,
        "big.json",
        r#"{"name": "x", "op": "input", "shape": [1000, 1000, 1000]},
           {"name": "relu", "op": "relu", "inputs": ["x"], "module": "relu"},
           {"name": "pool", "op": "max_pool2d", "inputs": ["relu"], "module": "pool",
            "kernel": [2, 2], "stride": [2, 2]},
           {"name": "relu2", "op": "relu", "inputs": ["pool"], "module": "relu2"}"#,
        "relu2",
    );
    let too_large = "node 'x' has shape 1000x1000x1000 (1000000000 elements): the interpreter \
                     evaluates values of at most 268435456 elements (2048 MiB as f64)";
    // optimize still optimizes, and says that the check was skipped.
    let out = dir.join("opt.json");
    let (status, stdout, stderr) = hawkeye(&[
        "optimize",
        &big,
        "-f",
        "semi2k",
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("-50.0%"), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "warning: the check of the result was skipped: {too_large}"
        )),
        "{stderr}"
    );
    assert!(out.exists());
    // equiv cannot answer without running the models: an error.
    assert_eq!(
        error(&["equiv", &big, &big, "-f", "semi2k"], 2),
        format!("error: the original is too large to evaluate: {too_large}")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_export_leaves_the_previous_file() {
    let dir = scratch("atomic");
    let out = dir.join("model.json");
    std::fs::write(&out, "previous").unwrap();
    // A model that fails to load writes nothing; one that loads replaces the file whole.
    let (status, _, _) = hawkeye(&["export", "no-such-model", "-o", &out.display().to_string()]);
    assert_eq!(status, 2);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    let (status, _, stderr) = hawkeye(&["export", "mlp", "-o", &out.display().to_string()]);
    assert_eq!(status, 0, "{stderr}");
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("{\n  \"format\": \"hawkeye-graph\""));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["model.json"], "no temporary file is left");
    std::fs::remove_dir_all(&dir).unwrap();
}
