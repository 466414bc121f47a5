//! Linear∘conv and conv∘conv compositions end to end: a small linearised model (no
//! non-linearity between two linear layers) written as ONNX by our own writer with random
//! weights, `hawkeye optimize`d with public weights under spu-aby3 (where the middle
//! activation's truncation costs communication) and written with `-o`. The written file,
//! re-imported and interpreted, computes the original's outputs on the original's weights;
//! its initializer names are unique and the composed weight is a fresh initializer of the
//! composed shape.

mod cli_run;
mod scratch;

use cli_run::hawkeye;
use hawkeye_mpc::frontend::onnx::proto::ModelProto;
use hawkeye_mpc::frontend::{self, npy, LoadOptions};
use hawkeye_mpc::graph::WeightData;
use hawkeye_mpc::graph::{ElemKind, Graph, NodeId, Op, ParamRole, ValueInfo, Visibility};
use hawkeye_mpc::interpret::fold::parameter_bindings;
use hawkeye_mpc::interpret::{evaluate, Arithmetic, Tensor};
use prost::Message;
use std::collections::HashSet;
use std::path::Path;

/// Deterministic values in [-1, 1) (a linear congruential sequence).
fn values(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

fn conv(stride: usize, pad: usize) -> Op {
    Op::Conv2d {
        stride: [stride, stride],
        padding: [pad; 4],
        dilation: [1, 1],
        groups: 1,
    }
}

/// Builds a graph: one input, then layers, each `(module, op, weight shape, bias)`; the
/// weights get deterministic values.
struct Builder {
    g: Graph,
    last: NodeId,
    seed: u64,
}

impl Builder {
    fn new(input: &[usize]) -> Builder {
        let mut g = Graph::new("composed");
        let info = ValueInfo::new(input.to_vec(), ElemKind::Real, Visibility::Secret);
        let last = g.add_source("input", "", Op::Input, info).unwrap();
        Builder { g, last, seed: 1 }
    }

    fn param(&mut self, name: &str, module: &str, role: ParamRole, shape: &[usize]) -> NodeId {
        let info = ValueInfo::new(shape.to_vec(), ElemKind::Real, Visibility::Public);
        let id = self
            .g
            .add_source(name, module, Op::Parameter { role }, info)
            .unwrap();
        self.seed += 1;
        let n: usize = shape.iter().product();
        self.g
            .set_weight(name, WeightData::from_f32(&values(self.seed, n)));
        id
    }

    /// A layer with weight and bias of module `module`.
    fn layer(&mut self, module: &str, op: Op, weight: &[usize]) -> &mut Self {
        let w = self.param(
            &format!("{module}.weight"),
            module,
            ParamRole::Weight,
            weight,
        );
        let b = self.param(
            &format!("{module}.bias"),
            module,
            ParamRole::Bias,
            &weight[..1],
        );
        let name = format!(
            "/{module}/{}",
            if op == Op::Linear { "Gemm" } else { "Conv" }
        );
        self.last = self.g.add(name, module, op, &[self.last, w, b]).unwrap();
        self
    }

    fn op(&mut self, name: &str, op: Op) -> &mut Self {
        self.last = self.g.add(name, "", op, &[self.last]).unwrap();
        self
    }

    fn finish(&mut self) -> Graph {
        self.g.set_outputs(vec![self.last]);
        self.g.set_output_names(vec!["output".to_string()]);
        self.g.clone()
    }
}

/// The initializers of an ONNX file: (name, dims), in file order.
fn initializers(path: &Path) -> Vec<(String, Vec<i64>)> {
    let model = ModelProto::decode(std::fs::read(path).unwrap().as_slice()).unwrap();
    model
        .graph
        .unwrap()
        .initializer
        .iter()
        .map(|t| (t.name.clone().unwrap_or_default(), t.dims.clone()))
        .collect()
}

/// Writes `g` as ONNX, optimizes it under spu-aby3 with public weights, and checks the
/// written file: `rule` fired, every initializer name is unique, the file's outputs equal
/// the original's on the original's weights (three deterministic inputs). Returns the
/// written file's initializers.
fn optimize_and_check(g: &Graph, rule: &str) -> Vec<(String, Vec<i64>)> {
    let dir = scratch::dir("compose");
    let input = dir.join("model.onnx");
    let output = dir.join("model.opt.onnx");
    frontend::onnx::export_file(g, &input).unwrap();
    let (code, stdout, stderr) = hawkeye(&[
        "optimize",
        input.to_str().unwrap(),
        "-f",
        "spu-aby3",
        "--weights",
        "public",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(rule), "{rule} did not fire:\n{stdout}");

    let inits = initializers(&output);
    let names: HashSet<&str> = inits.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names.len(),
        inits.len(),
        "duplicate initializer names: {inits:?}"
    );

    let original = frontend::load_model(input.to_str().unwrap(), &LoadOptions::default()).unwrap();
    let written = frontend::load_model(output.to_str().unwrap(), &LoadOptions::default()).unwrap();
    let shape = g.node(g.find("input").unwrap()).value.shape.clone();
    let n: usize = shape.iter().product();
    for seed in 100..103 {
        let x = Tensor::new(&shape, values(seed, n)).unwrap();
        let run = |m: &Graph| {
            let mut b = parameter_bindings(m).unwrap();
            b.insert("input", x.clone());
            evaluate(m, &b, Arithmetic::Float).unwrap()
        };
        let (a, b) = (run(&original), run(&written));
        assert_eq!(a[0].shape(), b[0].shape());
        for (p, q) in a[0].array().iter().zip(b[0].array().iter()) {
            assert!((p - q).abs() <= 1e-5 * (1.0 + p.abs()), "{p} vs {q}");
        }
    }
    inits
}

fn named(name: &str, dims: &[i64]) -> (String, Vec<i64>) {
    (name.to_string(), dims.to_vec())
}

#[test]
fn linear_after_flattened_conv_is_one_linear_layer() {
    // 2x6x6 -> conv 3x3, padding 1 -> 3x6x6 -> flatten (108) -> linear 4.
    let g = Builder::new(&[1, 2, 6, 6])
        .layer("conv", conv(1, 1), &[3, 2, 3, 3])
        .op("/Flatten", Op::Flatten { axis: 1 })
        .layer("fc", Op::Linear, &[4, 108])
        .finish();
    let inits = optimize_and_check(&g, "compose-linear-after-conv");
    // One linear layer on the flattened input (72 features); the composed weight has a fresh
    // name, not `fc.weight` (4x108 in the input); the bias keeps its shape and the name of
    // the bias it is computed from.
    assert_eq!(
        inits,
        [named("fc.weight_1", &[4, 72]), named("fc.bias", &[4])]
    );
}

#[test]
fn conv_of_reshaped_linear_layer_is_one_linear_layer() {
    // 6 -> linear 50 -> reshape 2x5x5 -> conv 3x3, padding 1 -> 3x5x5.
    let g = Builder::new(&[1, 6])
        .layer("fc", Op::Linear, &[50, 6])
        .op(
            "/Reshape",
            Op::Reshape {
                shape: vec![1, 2, 5, 5],
            },
        )
        .layer("conv", conv(1, 1), &[3, 2, 3, 3])
        .finish();
    let inits = optimize_and_check(&g, "compose-conv-after-linear");
    // One linear layer of 75 outputs (3x5x5), reshaped: weight and bias of new shapes.
    assert_eq!(
        inits,
        [named("fc.weight_1", &[75, 6]), named("fc.bias_1", &[75])]
    );
}

#[test]
fn unpadded_conv_after_conv_is_one_conv_with_the_composed_kernel() {
    // 2x8x8 -> conv 3x3, padding 1 -> 4x8x8 -> conv 3x3, unpadded, stride 2 -> 3x3x3.
    let g = Builder::new(&[1, 2, 8, 8])
        .layer("conv1", conv(1, 1), &[4, 2, 3, 3])
        .layer("conv2", conv(2, 0), &[3, 4, 3, 3])
        .finish();
    let inits = optimize_and_check(&g, "compose-conv-after-conv");
    assert_eq!(
        inits,
        [
            named("conv2.weight_1", &[3, 2, 5, 5]),
            named("conv2.bias", &[3])
        ]
    );
}

#[test]
fn a_linearised_torch_export_composes_all_three_pairs() {
    // `tests/fixtures/onnx/make_linearised_cnn.py`: conv∘conv, linear∘conv and conv∘linear
    // pairs with no ReLU between them, exported by torch.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx");
    let model = fixtures.join("linearised_cnn.onnx");
    let input = fixtures.join("linearised_cnn.input.npy");
    let dir = scratch::dir("compose");
    let output = dir.join("linearised_cnn.opt.onnx");
    let (code, stdout, stderr) = hawkeye(&[
        "optimize",
        model.to_str().unwrap(),
        "-f",
        "spu-aby3",
        "--weights",
        "public",
        "--inputs",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let online = stdout
        .lines()
        .find(|l| l.starts_with("│ online "))
        .unwrap_or_else(|| panic!("no online row in:\n{stdout}"));
    let cells: Vec<&str> = online.split(['│', '┆']).map(str::trim).collect();
    assert_eq!(cells[1..5], ["online", "807.30 KB", "742.68 KB", "-8.0%"]);
    for rule in [
        "compose-conv-after-conv",
        "compose-linear-after-conv",
        "compose-conv-after-linear",
    ] {
        assert!(
            stdout.contains(&format!("changed: {rule}")),
            "{rule}:\n{stdout}"
        );
    }
    assert_eq!(
        initializers(&output),
        [
            named("conv1.weight", &[8, 3, 3, 3]),
            named("conv1.bias", &[8]),
            named("conv2.weight_1", &[8, 8, 5, 5]),
            named("conv2.bias", &[8]),
            named("fc1.weight_1", &[32, 1568]),
            named("fc1.bias", &[32]),
            named("fc2.weight", &[64, 32]),
            named("fc2.bias", &[64]),
            named("fc3.weight", &[10, 64]),
            named("fc3.bias", &[10]),
        ]
    );
    // The written file, interpreted, gives torch's output on the export's input.
    let written = frontend::load_model(output.to_str().unwrap(), &LoadOptions::default()).unwrap();
    let mut b = parameter_bindings(&written).unwrap();
    for (name, t) in npy::read_inputs(&written, &input).unwrap().iter() {
        b.insert(name, t.clone());
    }
    let y = evaluate(&written, &b, Arithmetic::Float).unwrap();
    let torch: ndarray::ArrayD<f32> =
        ndarray_npy::read_npy(fixtures.join("linearised_cnn.ref.npy")).unwrap();
    assert_eq!(y[0].shape(), torch.shape());
    for (p, q) in y[0].array().iter().zip(torch.iter()) {
        assert!(
            (p - f64::from(*q)).abs() <= 1e-5 * (1.0 + p.abs()),
            "{p} vs {q}"
        );
    }
}
