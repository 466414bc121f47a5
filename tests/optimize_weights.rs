//! The optimizer's written results on real `torch.onnx.export` files with their weights: the
//! rewrites' weight arithmetic is folded into new weights computed from the model's own
//! values, the file keeps the model's interface and only its own ops, and it computes the
//! original's outputs on the original's weights; a corrupted weight fails the check and equiv.

mod scratch;

use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::frontend::{self, npy, LoadOptions};
use hawkeye_mpc::graph::{Graph, Op, Visibility, WeightData};
use hawkeye_mpc::interpret::fold::{has_parameter_only_ops, parameter_bindings};
use hawkeye_mpc::interpret::{evaluate, Arithmetic, Bindings, Tensor};
use hawkeye_mpc::optimize::{self, verify, Options, RuleSet};
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::validate::{self, EquivOptions, Verdict};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
}

fn scratch(name: &str) -> scratch::Scratch {
    scratch::file("weights", name)
}

fn load(path: &Path) -> Graph {
    frontend::load_model(path.to_str().unwrap(), &LoadOptions::default()).unwrap()
}

fn semi2k() -> CostModel {
    cost::load_framework("spu-semi2k", &[]).unwrap()
}

/// The outputs of `g` on its own weights and the given inputs.
fn run(g: &Graph, inputs: &Bindings) -> Vec<Tensor> {
    let mut b = parameter_bindings(g).unwrap();
    for (name, t) in inputs.iter() {
        b.insert(name, t.clone());
    }
    evaluate(g, &b, Arithmetic::Float).unwrap()
}

/// Largest |a - b| relative to the largest |a|.
fn relative(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let diff = a
        .array()
        .iter()
        .zip(b.array().iter())
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    diff / a.max_abs()
}

/// Optimizes a real export with public weights under spu-semi2k, writes the result as ONNX
/// and checks it against the original on the export's own input and weights. Returns the
/// rules of the rewrites in the result.
fn optimize_and_compare(stem: &str) -> Vec<String> {
    let original = load(&fixture(&format!("{stem}.onnx")));
    assert_eq!(original.name, stem, "graphs are named after the file");
    let g = original.with_parameter_visibility(Visibility::Public);
    let model = semi2k();
    let out = optimize::optimize(
        &g,
        &model,
        &RuleSet::builtin().unwrap(),
        &Options::default(),
        None,
    )
    .unwrap();
    assert!(!out.unchanged, "{stem}: a rewrite applies");
    let path = scratch(&format!("{stem}.opt.onnx"));
    frontend::write_model(&out.graph, &path).unwrap();
    let written = load(&path).with_parameter_visibility(Visibility::Public);

    // The interface of the export: input and output names, order and shapes.
    let interface = |g: &Graph| {
        let inputs: Vec<(String, Vec<usize>)> = g
            .node_ids()
            .filter(|&i| matches!(g.node(i).op, Op::Input))
            .map(|i| (g.node(i).name.clone(), g.node(i).value.shape.clone()))
            .collect();
        let outputs: Vec<Vec<usize>> = g
            .outputs()
            .iter()
            .map(|&o| g.node(o).value.shape.clone())
            .collect();
        (inputs, g.output_names().to_vec(), outputs)
    };
    assert_eq!(interface(&written), interface(&original), "{stem}");
    assert_eq!(written.output_names(), ["output"]);
    assert_eq!(written.name, format!("{stem}.opt"));
    // Only the model's own ops: no arithmetic over weights.
    assert!(!has_parameter_only_ops(&written), "{stem}");
    // The file re-profiles to the reported figure.
    let again = Profile::new(&written, &model).unwrap();
    assert_eq!(again.total, out.after.total, "{stem}");

    // Same outputs as the original, on the export's input, with the file's own weights.
    let inputs = npy::read_inputs(&original, &fixture(&format!("{stem}.input.npy"))).unwrap();
    let a = run(&original, &inputs);
    let b = run(&written, &inputs);
    let r = relative(&a[0], &b[0]);
    assert!(r < 1e-5, "{stem}: relative difference {r}");
    // And the original interpreted is torch's output.
    let reference = npy::read_inputs(&original, &fixture(&format!("{stem}.input.npy"))).unwrap();
    let torch: ndarray::ArrayD<f32> =
        ndarray_npy::read_npy(fixture(&format!("{stem}.ref.npy"))).unwrap();
    let torch = Tensor::from_array(torch.mapv(f64::from), hawkeye_mpc::graph::ElemKind::Real);
    let r = relative(&torch, &run(&original, &reference)[0]);
    assert!(r < 1e-4, "{stem}: interpreter against torch {r}");

    // The built-in check agrees (random inputs and the given one, the model's weights).
    let c = verify::check_exact(&g, &out.graph, 2, 0, &[inputs]).unwrap();
    assert!(c.agrees, "{stem}: {c:?}");
    assert_eq!((c.samples, c.given, c.weights), (2, 1, "stored weights"));
    let mut rules: Vec<String> = out.rewrites.iter().map(|r| r.rule.clone()).collect();
    rules.sort();
    rules.dedup();
    rules
}

#[test]
fn a_cnn_with_batchnorm_folded_keeps_its_function() {
    let rules = optimize_and_compare("cifar_cnn_bn");
    assert!(
        rules.contains(&"fold-batchnorm-conv".to_string()),
        "{rules:?}"
    );
}

#[test]
fn a_resnet_block_with_batchnorm_folded_keeps_its_function() {
    let rules = optimize_and_compare("resblock_bn");
    assert!(
        rules.contains(&"fold-batchnorm-conv-nobias".to_string()),
        "{rules:?}"
    );
}

#[test]
fn a_bert_encoder_with_merged_projections_keeps_its_function() {
    let rules = optimize_and_compare("bert_encoder");
    assert!(
        rules.contains(&"merge-sibling-matmuls".to_string()),
        "{rules:?}"
    );
}

#[test]
fn folded_weights_are_named_and_placed_like_the_layers_parameters() {
    let g = load(&fixture("cifar_cnn_bn.onnx")).with_parameter_visibility(Visibility::Public);
    let out = optimize::optimize(
        &g,
        &semi2k(),
        &RuleSet::builtin().unwrap(),
        &Options::default(),
        None,
    )
    .unwrap();
    let r = &out.graph;
    // The first conv absorbed batch norm `1`: it keeps its name and module, its weight and
    // (new) bias are `0.weight` and `0.bias`; the batch norm's parameters are gone.
    let conv = r.find("/0/Conv").unwrap();
    assert_eq!(r.node(conv).module, "0");
    let operands: Vec<&str> = r
        .inputs(conv)
        .iter()
        .map(|&i| r.node(i).name.as_str())
        .collect();
    assert_eq!(operands, ["input", "0.weight", "0.bias"]);
    assert!(r.find("1.running_var").is_none());
    assert_eq!(r.node(r.find("0.bias").unwrap()).module, "0");
    // 0.weight = original weight * gamma / sqrt(var + eps), per output channel.
    let value = |g: &Graph, name: &str| g.weight(name).unwrap().to_f64().unwrap();
    let (w, gamma, var) = (
        value(&g, "0.weight"),
        value(&g, "1.weight"),
        value(&g, "1.running_var"),
    );
    let folded = value(r, "0.weight");
    let per_channel = w.len() / gamma.len();
    for (i, (&f, &w)) in folded.iter().zip(&w).enumerate() {
        let c = i / per_channel;
        let want = w * gamma[c] / (var[c] + 1e-5).sqrt();
        assert!(
            (f - want).abs() <= 1e-6 * want.abs().max(1e-3),
            "element {i}: {f} vs {want}"
        );
    }
    // Weights the rewrites did not touch keep their stored bytes.
    assert_eq!(g.weight("9.weight"), r.weight("9.weight"));
}

#[test]
fn a_corrupted_weight_fails_the_check_and_equiv() {
    let original = load(&fixture("cifar_cnn_bn.onnx"));
    let g = original.with_parameter_visibility(Visibility::Public);
    let model = semi2k();
    let out = optimize::optimize(
        &g,
        &model,
        &RuleSet::builtin().unwrap(),
        &Options::default(),
        None,
    )
    .unwrap();
    let path = scratch("cifar_cnn_bn.corrupt.onnx");
    frontend::write_model(&out.graph, &path).unwrap();
    let mut corrupt = load(&path);
    // One weight of the folded first conv, negated.
    let mut values = corrupt.weight("0.weight").unwrap().to_f64().unwrap();
    values[5] = -values[5];
    corrupt.set_weight("0.weight", WeightData::from_f32(&values));
    frontend::write_model(&corrupt, &path).unwrap();
    let corrupt = load(&path);

    let c = verify::check_exact(&g, &corrupt, 2, 0, &[]).unwrap();
    assert!(!c.agrees, "{c:?}");
    assert!(c.max_abs() > 1e-3, "{c:?}");
    let options = EquivOptions {
        samples: 2,
        seed: 0,
        tolerance: 1e-2,
        weights: Visibility::Public,
    };
    let r = validate::check_equivalence(&original, &corrupt, &model, &options).unwrap();
    assert_eq!(r.verdict, Verdict::Different);
    // The uncorrupted file is equal within float32 rounding of its folded weights.
    let good = scratch("cifar_cnn_bn.good.onnx");
    frontend::write_model(&out.graph, &good).unwrap();
    let r = validate::check_equivalence(&original, &load(&good), &model, &options).unwrap();
    assert_ne!(r.verdict, Verdict::Different);
}

#[test]
fn a_zoo_model_is_written_with_folded_placeholders() {
    let opts = LoadOptions {
        zoo: hawkeye_mpc::zoo::ZooOptions {
            resolution: Some(32),
            ..Default::default()
        },
        ..Default::default()
    };
    let zoo = frontend::load_model("resnet18", &opts).unwrap();
    let g = zoo.with_parameter_visibility(Visibility::Public);
    let out = optimize::optimize(
        &g,
        &semi2k(),
        &RuleSet::builtin().unwrap(),
        &Options::default(),
        None,
    )
    .unwrap();
    assert!(out
        .rewrites
        .iter()
        .any(|r| r.rule.starts_with("fold-batchnorm")));
    let c = verify::check_exact(&g, &out.graph, 1, 0, &[]).unwrap();
    assert!(c.agrees, "{c:?}");
    assert_eq!(c.weights, "placeholder weights");
    // The written file holds the placeholders the check used: it computes what the zoo
    // model computes with them.
    let path = scratch("resnet18.opt.onnx");
    frontend::write_model(&out.graph, &path).unwrap();
    let c = verify::check_exact(&g, &load(&path), 1, 0, &[]).unwrap();
    assert!(c.agrees, "{c:?}");
}

#[test]
fn user_inputs_are_checked_against_the_inputs_of_the_model() {
    let g = load(&fixture("cifar_cnn_bn.onnx"));
    let wrong = scratch("wrong.npy");
    ndarray_npy::write_npy(&wrong, &ndarray::Array2::<f32>::zeros((2, 3))).unwrap();
    assert_eq!(
        npy::read_inputs(&g, &wrong).unwrap_err(),
        format!(
            "{}: the array for input 'input' has shape 2x3, the model's input is 1x3x32x32; \
             save an array of that shape (or bind the model's dims with --batch / --dim)",
            wrong.display()
        )
    );
    let npz = scratch("named.npz");
    let mut w = ndarray_npy::NpzWriter::new(std::fs::File::create(&npz).unwrap());
    w.add_array("image", &ndarray::Array4::<f64>::zeros((1, 3, 32, 32)))
        .unwrap();
    w.finish().unwrap();
    assert_eq!(
        npy::read_inputs(&g, &npz).unwrap_err(),
        format!(
            "{}: holds arrays image, the model's inputs are input; save one array per input, \
             named after it (np.savez(FILE, input=...))",
            npz.display()
        )
    );
    let good = fixture("cifar_cnn_bn.input.npy");
    let b = npy::read_inputs(&g, &good).unwrap();
    assert_eq!(b.get("input").unwrap().shape(), &[1, 3, 32, 32]);
}
