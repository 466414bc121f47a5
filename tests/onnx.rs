//! ONNX import and export: every fixture imports with the expected shapes and module paths,
//! export → import gives back the graph, bad inputs give clear errors and never panic.

mod scratch;

use hawkeye_mpc::frontend::onnx::proto::{
    attribute_proto::AttributeType, tensor_shape_proto, type_proto, AttributeProto, GraphProto,
    ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use hawkeye_mpc::frontend::onnx::{
    export_bytes, export_file, import_bytes, import_file, DimBindings, OnnxError,
};
use hawkeye_mpc::graph::{
    ConstValue, ElemKind, Graph, Node, NodeId, Op, ParamRole, Phase, ValueInfo, Visibility,
    WeightData,
};
use hawkeye_mpc::zoo::{self, ZooOptions};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use prost::Message;
use std::path::PathBuf;

/// Proptest draws its cases from this seed, so every run (and CI) checks the same cases;
/// change it to explore others.
const PROPTEST_SEED: u64 = 0x4841_574B;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
}

fn node<'g>(g: &'g Graph, name: &str) -> &'g Node {
    g.node(g.find(name).unwrap_or_else(|| panic!("no node '{name}'")))
}

fn count(g: &Graph, op: &str) -> usize {
    g.node_ids().filter(|&i| g.node(i).op.name() == op).count()
}

fn output_shape(g: &Graph) -> Vec<usize> {
    g.node(g.outputs()[0]).value.shape.clone()
}

/// Asserts structural equality, naming the first differing node.
fn assert_same(a: &Graph, b: &Graph, what: &str) {
    for (x, y) in a.node_ids().zip(b.node_ids()) {
        assert_eq!(a.node(x), b.node(y), "{what}: node differs");
        let (ix, iy): (Vec<&str>, Vec<&str>) = (
            a.inputs(x)
                .iter()
                .map(|&i| a.node(i).name.as_str())
                .collect(),
            b.inputs(y)
                .iter()
                .map(|&i| b.node(i).name.as_str())
                .collect(),
        );
        assert_eq!(ix, iy, "{what}: inputs of '{}' differ", a.node(x).name);
    }
    assert_eq!(a.len(), b.len(), "{what}: node counts differ");
    assert!(a == b, "{what}: graphs differ (outputs or name)");
}

fn round_trip(g: &Graph) -> Graph {
    let bytes = export_bytes(g).unwrap_or_else(|e| panic!("export of {}: {e}", g.name));
    import_bytes(&bytes, &DimBindings::new())
        .unwrap_or_else(|e| panic!("re-import of {}: {e}", g.name))
}

// ------------------------------------------------------------------ measured specs

#[test]
fn groundtruth_specs_import() {
    let cases: &[(&str, &[usize], u64)] = &[
        ("a_mlp_b1", &[1, 10], 118_282),
        ("b_mlp_b32", &[32, 10], 118_282),
        ("c_lenet_b1", &[1, 10], 33_542),
        ("d_relu_1000", &[1000], 0),
        ("d_relu_10000", &[10000], 0),
        ("e_matmul_64", &[64, 64], 4096),
        ("f_sigmoid_1000", &[1, 1000], 0),
        ("f_softmax_1000", &[1, 1000], 0),
        ("g_mlp_train_b32", &[32, 10], 118_282),
        ("h_mlp_b1_public_weights", &[1, 10], 118_282),
        ("i_misc_layers", &[2, 10], 790),
        ("j_layernorm", &[4, 64], 128),
        ("k_gelu_tanh_exp", &[4, 64], 0),
        ("l_attention", &[1, 16, 32], 4224),
        ("m_resblock", &[1, 8, 8, 8], 1200),
        ("n_depthwise", &[1, 16, 16, 16], 224),
    ];
    for (name, shape, params) in cases {
        let g = import_file(
            fixture(&format!("groundtruth/{name}.onnx")),
            &DimBindings::new(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(output_shape(&g), *shape, "{name}");
        assert_eq!(g.parameter_count(), *params, "{name}");
        // Weights are embedded in these files: every parameter carries its bytes.
        for id in g
            .node_ids()
            .filter(|&i| matches!(g.node(i).op, Op::Parameter { .. }))
        {
            let n = g.node(id);
            match g.weight(&n.name) {
                Some(WeightData::Inline {
                    data_type: 1,
                    bytes,
                }) => assert_eq!(bytes.len(), n.value.numel() * 4),
                other => panic!("{name}: {} has {other:?}", n.name),
            }
        }
    }
    let lenet = import_file(fixture("groundtruth/c_lenet_b1.onnx"), &DimBindings::new()).unwrap();
    assert_eq!(node(&lenet, "/0/Conv").module, "0");
    assert_eq!(node(&lenet, "0.weight").module, "0");
    assert_eq!(
        node(&lenet, "0.bias").op,
        Op::Parameter {
            role: ParamRole::Bias
        }
    );

    let gelu = import_file(
        fixture("groundtruth/k_gelu_tanh_exp.onnx"),
        &DimBindings::new(),
    )
    .unwrap();
    assert_eq!(count(&gelu, "gelu"), 1, "the Erf pattern is one gelu node");
    assert_eq!(gelu.len(), 4, "input, gelu, tanh, exp");
    assert_eq!(node(&gelu, "/0/Mul_1").op, Op::Gelu { approximate: false });

    let attn = import_file(fixture("groundtruth/l_attention.onnx"), &DimBindings::new()).unwrap();
    let q = node(&attn, "/0/q_proj/Add");
    assert_eq!((q.op.clone(), q.module.as_str()), (Op::Linear, "0.q_proj"));
    assert_eq!(count(&attn, "linear"), 4);
    assert_eq!(
        count(&attn, "transpose"),
        4,
        "weight transposes are fused into the linears"
    );
    assert_eq!(
        node(&attn, "/0/Reshape").op,
        Op::Reshape {
            shape: vec![1, 16, 4, 8]
        }
    );

    let res = import_file(fixture("groundtruth/m_resblock.onnx"), &DimBindings::new()).unwrap();
    assert_eq!(node(&res, "/0/layers/layers.0/Conv").module, "0.layers.0");
    assert_eq!(
        node(&res, "0.layers.1.running_var").op,
        Op::Parameter {
            role: ParamRole::RunningVar
        }
    );
    assert_eq!(node(&res, "0.layers.1.running_var").module, "0.layers.1");

    let ln = import_file(fixture("groundtruth/j_layernorm.onnx"), &DimBindings::new()).unwrap();
    assert_eq!(
        node(&ln, "/0/LayerNormalization").op,
        Op::LayerNorm {
            axis: -1,
            eps: 1e-5,
            form: hawkeye_mpc::graph::NormForm::Fused,
        }
    );

    let dw = import_file(fixture("groundtruth/n_depthwise.onnx"), &DimBindings::new()).unwrap();
    assert!(matches!(
        node(&dw, "/0/Conv").op,
        Op::Conv2d { groups: 8, .. }
    ));
}

// ------------------------------------------------------------------ generated models

#[test]
fn resnet18_imports_with_module_paths_and_batch() {
    for batch in [1, 3] {
        let g = import_file(fixture("resnet18.onnx"), &DimBindings::new().batch(batch)).unwrap();
        let conv = node(&g, "/layer1/layer1.0/conv1/Conv");
        assert_eq!(conv.module, "layer1.0.conv1");
        assert_eq!(conv.value.shape, vec![batch, 64, 56, 56]);
        assert_eq!(
            node(&g, "/layer2/layer2.0/downsample/downsample.0/Conv").module,
            "layer2.0.downsample.0"
        );
        assert_eq!(
            node(&g, "/layer4/layer4.1/Add").value.shape,
            vec![batch, 512, 7, 7]
        );
        assert_eq!(node(&g, "/Flatten").module, "");
        assert_eq!(output_shape(&g), vec![batch, 1000]);
        // Folded BatchNorm weights are named by the exporter; their module is the reader's.
        let w = &g.inputs(g.find("/layer1/layer1.0/conv1/Conv").unwrap())[1];
        assert_eq!(g.node(*w).module, "layer1.0.conv1");
        assert_eq!(node(&g, "fc.bias").module, "fc");
        assert_eq!(count(&g, "conv2d"), 20);
        assert_eq!(count(&g, "linear"), 1);
        // torchvision's 11,689,512 parameters, less one vector per folded BatchNorm (4,800).
        assert_eq!(g.parameter_count(), 11_684_712);
        assert!(
            g.weights().is_empty(),
            "weights are stripped (external file absent)"
        );
    }
    // A named binding works as well as the batch option.
    let g = import_file(
        fixture("resnet18.onnx"),
        &DimBindings::new().bind("batch_size", 2),
    )
    .unwrap();
    assert_eq!(output_shape(&g), vec![2, 1000]);
}

#[test]
fn mobilenet_v3_small_imports() {
    let g = import_file(fixture("mobilenet_v3_small.onnx"), &DimBindings::new()).unwrap();
    assert_eq!(output_shape(&g), vec![1, 1000]);
    let dw = node(&g, "/features/features.1/block/block.0/block.0.0/Conv");
    assert_eq!(dw.module, "features.1.block.0.0");
    assert!(matches!(
        dw.op,
        Op::Conv2d {
            groups: 16,
            stride: [2, 2],
            ..
        }
    ));
    let depthwise = g
        .node_ids()
        .filter(|&i| matches!(g.node(i).op, Op::Conv2d { groups, .. } if groups > 1))
        .count();
    assert_eq!(depthwise, 11);
    let se = node(&g, "/features/features.1/block/block.1/fc1/Conv");
    assert_eq!(
        (se.module.as_str(), se.value.shape.as_slice()),
        ("features.1.block.1.fc1", &[1, 8, 1, 1][..])
    );
    assert_eq!(
        node(&g, "features.1.block.1.fc1.weight").module,
        "features.1.block.1.fc1"
    );
    // HardSigmoid = min(relu(x/6 + 1/2), 1); HardSwish = x * HardSigmoid(x).
    let hs = node(
        &g,
        "/features/features.1/block/block.1/scale_activation/HardSigmoid",
    );
    assert_eq!(
        (hs.op.clone(), hs.module.as_str()),
        (Op::Min, "features.1.block.1.scale_activation")
    );
    assert_eq!(node(&g, "/classifier/classifier.1/HardSwish").op, Op::Mul);
    assert_eq!(
        node(&g, "/features/features.12/features.12.0/Conv")
            .value
            .shape,
        vec![1, 576, 7, 7]
    );
}

#[test]
fn bert_layer_fuses_gelu_and_layer_norm() {
    let b = DimBindings::new().batch(2).bind("sequence", 16);
    let g = import_file(fixture("bert_layer.onnx"), &b).unwrap();
    assert_eq!(output_shape(&g), vec![2, 16, 64]);
    assert_eq!(node(&g, "input_ids").value.kind, ElemKind::Int);
    assert_eq!(node(&g, "attention_mask").value.kind, ElemKind::Int);
    // The Erf GELU is one gelu node in the activation module.
    assert_eq!(count(&g, "gelu"), 1);
    let gelu = node(
        &g,
        "/encoder/layer.0/intermediate/intermediate_act_fn/Mul_1",
    );
    assert_eq!(gelu.op, Op::Gelu { approximate: false });
    assert_eq!(
        gelu.module,
        "encoder.layer.0.intermediate.intermediate_act_fn"
    );
    assert_eq!(gelu.value.shape, vec![2, 16, 128]);
    // Each decomposed layer norm is one layer_norm node with its weight and bias.
    assert_eq!(count(&g, "layer_norm"), 3);
    assert_eq!(
        count(&g, "reduce_mean") + count(&g, "sqrt") + count(&g, "square"),
        0
    );
    let ln = g
        .find("/encoder/layer.0/attention/output/LayerNorm/Add_1")
        .unwrap();
    assert_eq!(
        g.node(ln).op,
        Op::LayerNorm {
            axis: -1,
            eps: 1e-12,
            form: hawkeye_mpc::graph::NormForm::DecomposedPow,
        }
    );
    assert_eq!(
        g.node(ln).module,
        "encoder.layer.0.attention.output.LayerNorm"
    );
    let ln_inputs: Vec<&str> = g
        .inputs(ln)
        .iter()
        .map(|&i| g.node(i).name.as_str())
        .collect();
    assert_eq!(
        ln_inputs[1..],
        [
            "encoder.layer.0.attention.output.LayerNorm.weight",
            "encoder.layer.0.attention.output.LayerNorm.bias"
        ]
    );
    // Shape arithmetic folded to constants: reshapes have static targets.
    assert_eq!(
        node(&g, "/encoder/layer.0/attention/self/Reshape").op,
        Op::Reshape {
            shape: vec![2, 16, 4, 16]
        }
    );
    assert_eq!(
        count(&g, "reshape"),
        6,
        "4 head reshapes + 2 mask unsqueezes"
    );
    let q = node(&g, "/encoder/layer.0/attention/self/query/MatMul");
    assert_eq!(
        (q.module.as_str(), q.value.shape.as_slice()),
        ("encoder.layer.0.attention.self.query", &[2, 16, 64][..])
    );
    // Position ids are a sliced int buffer: a constant of the sequence length.
    let pos = g.inputs(g.find("/embeddings/position_embeddings/Gather").unwrap())[1];
    assert_eq!(g.node(pos).value.shape, vec![1, 16]);
    assert_eq!(g.node(pos).value.kind, ElemKind::Int);
}

#[test]
fn gpt2_block_imports() {
    let b = DimBindings::new().batch(1).bind("sequence_length", 8);
    let g = import_file(fixture("gpt2_block.onnx"), &b).unwrap();
    assert_eq!(output_shape(&g), vec![1, 8, 64]);
    assert_eq!(count(&g, "gelu"), 1);
    assert_eq!(
        node(&g, "/h.0/mlp/act/Mul_3").op,
        Op::Gelu { approximate: true }
    );
    assert_eq!(node(&g, "/h.0/mlp/act/Mul_3").module, "h.0.mlp.act");
    assert_eq!(count(&g, "layer_norm"), 3);
    // Split: one slice per output.
    assert_eq!(
        node(&g, "/h.0/attn/Split:2").op,
        Op::Slice {
            axis: 2,
            start: 128,
            end: 192,
            step: 1
        }
    );
    // Causal Where with a constant mask: one product and one sum.
    let w = g.find("/h.0/attn/Where").unwrap();
    assert_eq!(g.node(w).op, Op::Add);
    assert_eq!(g.node(w).value.shape, vec![1, 4, 8, 8]);
    assert_eq!(
        node(&g, "/h.0/attn/Where:mask").value.shape,
        vec![1, 1, 8, 8]
    );
    // Conv1D (addmm) without transposes: mat_mul + add on the flattened sequence.
    assert_eq!(
        node(&g, "/h.0/attn/c_attn/Gemm:matmul").value.shape,
        vec![8, 192]
    );
    assert_eq!(node(&g, "h.0.attn.c_attn.weight").module, "h.0.attn.c_attn");
    assert_eq!(
        node(&g, "/h.0/attn/c_attn/Reshape_1").op,
        Op::Reshape {
            shape: vec![1, 8, 192]
        }
    );
}

#[test]
fn external_data_is_referenced_not_read() {
    let path = fixture("external_data.onnx");
    let g = import_file(&path, &DimBindings::new()).unwrap();
    assert_eq!(output_shape(&g), vec![1, 10]);
    match g.weight("conv.weight") {
        Some(WeightData::External {
            data_type: 1,
            offset: 0,
            length: 72,
            path,
        }) => {
            assert!(path.ends_with("external_data.bin"))
        }
        other => panic!("conv.weight: {other:?}"),
    }
    assert!(
        g.weight("fc.weight").is_none(),
        "absent external file: stripped"
    );
    // Without a file location the external data cannot be found: all stripped.
    let mut mem = import_bytes(&std::fs::read(&path).unwrap(), &DimBindings::new()).unwrap();
    assert!(mem.weights().is_empty());
    // import_file names the graph after the file, import_bytes keeps the file's graph name.
    assert_eq!(g.name, "external_data");
    mem.name = g.name.clone();
    assert!(mem == g);

    // export_bytes embeds the bytes of the external file.
    let bytes = export_bytes(&g).unwrap();
    let model = ModelProto::decode(bytes.as_slice()).unwrap();
    let inits = &model.graph.as_ref().unwrap().initializer;
    let conv = inits
        .iter()
        .find(|t| t.name.as_deref() == Some("conv.weight"))
        .unwrap();
    let file = std::fs::read(fixture("external_data.bin")).unwrap();
    assert_eq!(conv.raw_data.as_deref(), Some(&file[..72]));
    let back = import_bytes(&bytes, &DimBindings::new()).unwrap();
    assert_same(&g, &back, "external_data via bytes");

    // export_file keeps external data external, in `<file>.data` beside the model.
    let dir = scratch::dir("onnx-ext");
    let out = dir.join("copy.onnx");
    export_file(&g, &out).unwrap();
    let data = std::fs::read(dir.join("copy.onnx.data")).unwrap();
    assert_eq!(&data[..80], &file[..], "conv weight and bias copied first");
    assert_eq!(
        data.len(),
        80 + (320 + 10) * 4,
        "then placeholders for the stripped linear"
    );
    let mut again = import_file(&out, &DimBindings::new()).unwrap();
    assert_eq!(again.name, "copy", "named after the file");
    again.name = g.name.clone();
    assert_same(&g, &again, "external_data via file");
    assert!(matches!(
        again.weight("fc.weight"),
        Some(WeightData::External { offset: 80, .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn large_external_model_imports_from_dims_only() {
    let path = fixture("large_external.onnx");
    assert!(std::fs::metadata(&path).unwrap().len() < 1024);
    let g = import_file(&path, &DimBindings::new().batch(4)).unwrap();
    assert_eq!(node(&g, "big.weight").value.shape, vec![65536, 65536]);
    assert_eq!(g.parameter_count(), 65536 * 65536 + 65536);
    assert_eq!(output_shape(&g), vec![4, 65536]);
    assert!(g.weights().is_empty());
    // 16 GiB of weights cannot go into one protobuf message.
    let e = export_bytes(&g).unwrap_err().to_string();
    assert!(e.contains("exceed the 2 GiB protobuf limit"), "{e}");
}

// ------------------------------------------------------------------ round trips

fn src(
    g: &mut Graph,
    name: &str,
    module: &str,
    op: Op,
    shape: Vec<usize>,
    kind: ElemKind,
    vis: Visibility,
) -> NodeId {
    g.add_source(name, module, op, ValueInfo::new(shape, kind, vis))
        .unwrap()
}
fn param(g: &mut Graph, name: &str, role: ParamRole, shape: Vec<usize>) -> NodeId {
    let module = name.rsplit_once('.').map(|(m, _)| m).unwrap_or("");
    src(
        g,
        name,
        module,
        Op::Parameter { role },
        shape,
        ElemKind::Real,
        Visibility::Secret,
    )
}

/// A graph using every IR op, with names and attributes that are awkward for ONNX.
fn kitchen_sink() -> Graph {
    let mut g = Graph::new("kitchen_sink");
    let x = src(
        &mut g,
        "x",
        "",
        Op::Input,
        vec![2, 3, 8, 8],
        ElemKind::Real,
        Visibility::Secret,
    );
    let ids = src(
        &mut g,
        "ids",
        "",
        Op::Input,
        vec![2, 5],
        ElemKind::Int,
        Visibility::Secret,
    );
    let w = param(&mut g, "conv.weight", ParamRole::Weight, vec![4, 3, 3, 3]);
    let b = param(&mut g, "conv.bias", ParamRole::Bias, vec![4]);
    let conv = g
        .add(
            "conv",
            "conv",
            Op::Conv2d {
                stride: [1, 2],
                padding: [1, 0, 1, 2],
                dilation: [1, 1],
                groups: 1,
            },
            &[x, w, b],
        )
        .unwrap();
    let bw = param(&mut g, "bn.weight", ParamRole::Weight, vec![4]);
    let bb = param(&mut g, "bn.bias", ParamRole::Bias, vec![4]);
    let bm = param(&mut g, "bn.running_mean", ParamRole::RunningMean, vec![4]);
    let bv = param(&mut g, "bn.running_var", ParamRole::RunningVar, vec![4]);
    let bn = g
        .add(
            "bn",
            "bn",
            Op::BatchNorm { eps: 1e-3 },
            &[conv, bw, bb, bm, bv],
        )
        .unwrap();
    let lr = g
        .add("act", "act", Op::LeakyRelu { alpha: 0.2 }, &[bn])
        .unwrap();
    let mp = g
        .add(
            "pool",
            "pool",
            Op::MaxPool2d {
                kernel: [2, 2],
                stride: [2, 2],
                padding: [0; 4],
                dilation: [1, 1],
                ceil_mode: true,
                argmax: false,
            },
            &[lr],
        )
        .unwrap();
    let ap = g
        .add(
            "avg",
            "avg",
            Op::AvgPool2d {
                kernel: [3, 3],
                stride: [1, 1],
                padding: [1; 4],
                ceil_mode: false,
                count_include_pad: true,
            },
            &[mp],
        )
        .unwrap();
    let ad = g
        .add(
            "adaptive",
            "adaptive",
            Op::AdaptiveAvgPool2d { output: [2, 2] },
            &[ap],
        )
        .unwrap();
    let gp = g.add("gap", "head", Op::GlobalAvgPool, &[ad]).unwrap();
    let fl = g.add("flat", "", Op::Flatten { axis: 1 }, &[gp]).unwrap();
    let fw = param(&mut g, "head.fc.weight", ParamRole::Weight, vec![6, 4]);
    let fc = g.add("head.fc", "head.fc", Op::Linear, &[fl, fw]).unwrap();
    // Sequence part: embedding, attention-like ops.
    let emb = param(&mut g, "embed.weight", ParamRole::Weight, vec![11, 6]);
    let e = g
        .add("embed", "embed", Op::Gather { axis: 0 }, &[emb, ids])
        .unwrap();
    let lw = param(&mut g, "blocks.0.ln.weight", ParamRole::Weight, vec![6]);
    let lb = param(&mut g, "blocks.0.ln.bias", ParamRole::Bias, vec![6]);
    let ln = g
        .add(
            "/blocks/blocks.0/ln/LayerNormalization",
            "blocks.0.ln",
            Op::LayerNorm {
                axis: -1,
                eps: 1e-12,
                form: hawkeye_mpc::graph::NormForm::Fused,
            },
            &[e, lw, lb],
        )
        .unwrap();
    let ln2 = g
        .add(
            "ln_plain",
            "blocks.0",
            Op::LayerNorm {
                axis: -1,
                eps: 1e-5,
                form: hawkeye_mpc::graph::NormForm::Fused,
            },
            &[ln],
        )
        .unwrap();
    let qw = param(&mut g, "blocks.0.q.weight", ParamRole::Weight, vec![6, 6]);
    let qb = param(&mut g, "blocks.0.q.bias", ParamRole::Bias, vec![6]);
    let q = g
        .add("blocks.0.q", "blocks.0.q", Op::Linear, &[ln2, qw, qb])
        .unwrap();
    let ge = g
        .add(
            "gelu",
            "blocks.0.mlp",
            Op::Gelu { approximate: false },
            &[q],
        )
        .unwrap();
    let gt = g
        .add(
            "gelu_tanh",
            "blocks.0.mlp",
            Op::Gelu { approximate: true },
            &[ge],
        )
        .unwrap();
    let kt = g
        .add(
            "kT",
            "blocks.0",
            Op::Transpose {
                perm: vec![0, 2, 1],
            },
            &[gt],
        )
        .unwrap();
    let sc = g.add("scores", "blocks.0", Op::MatMul, &[gt, kt]).unwrap();
    let scale = src(
        &mut g,
        "scale",
        "blocks.0",
        Op::Constant {
            value: ConstValue::Fill(1.0 / 6f64.sqrt()),
        },
        vec![],
        ElemKind::Real,
        Visibility::Public,
    );
    let ss = g.add("scaled", "blocks.0", Op::Mul, &[sc, scale]).unwrap();
    let mask = src(
        &mut g,
        "mask",
        "blocks.0",
        Op::Constant {
            value: ConstValue::CausalMask(-1e4),
        },
        vec![1, 5, 5],
        ElemKind::Real,
        Visibility::Public,
    );
    let ms = g.add("masked", "blocks.0", Op::Add, &[ss, mask]).unwrap();
    let sm = g
        .add("softmax", "blocks.0", Op::Softmax { axis: -1 }, &[ms])
        .unwrap();
    let lsm = g
        .add("log_softmax", "blocks.0", Op::LogSoftmax { axis: 1 }, &[sm])
        .unwrap();
    let data = src(
        &mut g,
        "table",
        "",
        Op::Constant {
            value: ConstValue::Data(vec![0.5, 0.25, 2.0, 0.1, 3.0]),
        },
        vec![5],
        ElemKind::Real,
        Visibility::Public,
    );
    let ad2 = g.add("plus_table", "", Op::Add, &[lsm, data]).unwrap();
    let pos = src(
        &mut g,
        "pos",
        "",
        Op::Constant {
            value: ConstValue::Data(vec![0., 1., 2., 3., 4.]),
        },
        vec![5],
        ElemKind::Int,
        Visibility::Public,
    );
    let posf = g.add("pos_plus", "", Op::Add, &[ad2, pos]).unwrap();
    let sl = g
        .add(
            "slice",
            "",
            Op::Slice {
                axis: 2,
                start: 1,
                end: i64::MAX,
                step: 2,
            },
            &[posf],
        )
        .unwrap();
    let rs = g
        .add("reshape", "", Op::Reshape { shape: vec![0, -1] }, &[sl])
        .unwrap();
    let f2 = g
        .add("flatten0", "", Op::Flatten { axis: 0 }, &[rs])
        .unwrap();
    let ex = g
        .add("expand", "", Op::Expand { shape: vec![3, 20] }, &[f2])
        .unwrap();
    let cc = g
        .add("concat", "", Op::Concat { axis: 0 }, &[ex, ex])
        .unwrap();
    let rsum = g
        .add(
            "rsum",
            "",
            Op::ReduceSum {
                axes: vec![1],
                keepdims: true,
            },
            &[cc],
        )
        .unwrap();
    let rmean = g
        .add(
            "rmean",
            "",
            Op::ReduceMean {
                axes: vec![],
                keepdims: false,
            },
            &[cc],
        )
        .unwrap();
    let rmax = g
        .add(
            "rmax",
            "",
            Op::ReduceMax {
                axes: vec![-1],
                keepdims: false,
            },
            &[cc],
        )
        .unwrap();
    let am = g
        .add(
            "argmax",
            "",
            Op::ArgMax {
                axis: -1,
                keepdims: false,
            },
            &[cc],
        )
        .unwrap();
    let un = [
        Op::Neg,
        Op::Relu,
        Op::Sigmoid,
        Op::Tanh,
        Op::Exp,
        Op::Log,
        Op::Reciprocal,
        Op::Sqrt,
        Op::Rsqrt,
        Op::Square,
        Op::Pow { exponent: 3.0 },
        Op::Pow { exponent: 2.0 },
        Op::Pow { exponent: 0.1 },
        Op::Abs,
        Op::Identity,
        Op::Dropout { p: 0.1 },
        Op::Dropout { p: 0.0 },
    ];
    let mut y = rsum;
    for (i, op) in un.into_iter().enumerate() {
        y = g.add(format!("u{i}"), "unary", op, &[y]).unwrap();
    }
    let y = g.add("sub", "", Op::Sub, &[y, rmean]).unwrap();
    let y = g.add("div", "", Op::Div, &[y, rmax]).unwrap();
    let y = g.add("max", "", Op::Max, &[y, am]).unwrap();
    let y = g.add("min", "", Op::Min, &[y, rmax]).unwrap();
    g.set_phase(Phase::Loss);
    let t = src(
        &mut g,
        "target",
        "",
        Op::Input,
        vec![6, 6],
        ElemKind::Real,
        Visibility::Secret,
    );
    let ce = g.add("ce", "loss", Op::CrossEntropy, &[y, t]).unwrap();
    let mse = g.add("mse", "loss", Op::Mse, &[y, t]).unwrap();
    let total = g.add("total", "loss", Op::Add, &[ce, mse]).unwrap();
    g.set_phase(Phase::Forward);
    let unused = param(&mut g, "unused.weight", ParamRole::Weight, vec![3]);
    let _ = unused;
    g.set_outputs(vec![total, y, fc]);
    g
}

#[test]
fn kitchen_sink_round_trips() {
    let g = kitchen_sink();
    let bytes = export_bytes(&g).unwrap();
    if let Ok(dir) = std::env::var("HAWKEYE_ONNX_DUMP") {
        // For checking exported files with onnx.checker / onnxruntime by hand.
        std::fs::write(format!("{dir}/kitchen_sink.onnx"), &bytes).unwrap();
        for m in zoo::MODELS {
            let z = (m.build)(&ZooOptions::default()).unwrap();
            std::fs::write(format!("{dir}/{}.onnx", m.name), export_bytes(&z).unwrap()).unwrap();
        }
    }
    let back = import_bytes(&bytes, &DimBindings::new()).unwrap();
    assert_same(&g, &back, "kitchen sink");
    assert_eq!(back.node(back.find("ce").unwrap()).phase, Phase::Loss);
}

#[test]
fn imported_fixtures_round_trip() {
    let b = DimBindings::new()
        .batch(2)
        .bind("sequence", 8)
        .bind("sequence_length", 8);
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture("groundtruth"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in [
        "resnet18",
        "mobilenet_v3_small",
        "bert_layer",
        "gpt2_block",
        "external_data",
    ] {
        files.push(fixture(&format!("{f}.onnx")));
    }
    for f in files {
        let g = import_file(&f, &b).unwrap_or_else(|e| panic!("{e}"));
        let bytes = export_bytes(&g).unwrap();
        let back = import_bytes(&bytes, &DimBindings::new()).unwrap();
        assert_same(&g, &back, &f.display().to_string());
        // Imported names are already ONNX-style: a second export is the same file.
        assert!(export_bytes(&back).unwrap() == bytes, "{}", f.display());
    }
}

#[test]
fn imported_weights_are_carried_through_export() {
    let path = fixture("groundtruth/a_mlp_b1.onnx");
    let original = ModelProto::decode(std::fs::read(&path).unwrap().as_slice()).unwrap();
    let g = import_file(&path, &DimBindings::new()).unwrap();
    let exported = ModelProto::decode(export_bytes(&g).unwrap().as_slice()).unwrap();
    let inits = |m: &ModelProto| -> Vec<(String, Vec<i64>, Vec<u8>)> {
        let mut v: Vec<_> = m
            .graph
            .as_ref()
            .unwrap()
            .initializer
            .iter()
            .map(|t| {
                (
                    t.name.clone().unwrap(),
                    t.dims.clone(),
                    t.raw_data.as_deref().unwrap_or_default().to_vec(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(inits(&original), inits(&exported));
}

#[test]
fn export_names_nodes_pytorch_style() {
    let g = (zoo::find("lenet5").unwrap().build)(&ZooOptions::default()).unwrap();
    let m = ModelProto::decode(export_bytes(&g).unwrap().as_slice()).unwrap();
    assert_eq!(m.opset_import[0].version, Some(17));
    let graph = m.graph.unwrap();
    let names: Vec<&str> = graph
        .node
        .iter()
        .map(|n| n.name.as_deref().unwrap())
        .collect();
    assert!(names.contains(&"/conv1/Conv"), "{names:?}");
    assert!(names.contains(&"/fc2/Gemm"), "{names:?}");
    assert!(names.contains(&"/relu1/Relu"), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with('/')), "{names:?}");
    let inits: Vec<&str> = graph
        .initializer
        .iter()
        .map(|t| t.name.as_deref().unwrap())
        .collect();
    assert!(
        inits.contains(&"conv1.weight") && inits.contains(&"fc2.bias"),
        "{inits:?}"
    );
    // Placeholder weights: deterministic, drawn as PyTorch initialises the conv's weight
    // (uniform within 1/sqrt(fan-in), fan-in 1 x 5 x 5).
    let w = graph
        .initializer
        .iter()
        .find(|t| t.name.as_deref() == Some("conv1.weight"))
        .unwrap();
    let vals: Vec<f32> = w
        .raw_data
        .as_ref()
        .unwrap()
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(vals.len(), 16 * 25);
    assert!(vals.iter().all(|v| v.abs() <= 0.2) && vals.iter().any(|&v| v.abs() > 0.1));
    assert_eq!(export_bytes(&g).unwrap(), export_bytes(&g).unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, rng_seed: RngSeed::Fixed(PROPTEST_SEED), ..ProptestConfig::default() })]

    /// Every zoo model at any batch size survives export and import unchanged.
    #[test]
    fn zoo_models_round_trip(index in 0..zoo::MODELS.len(), batch in 1usize..=8) {
        let m = &zoo::MODELS[index];
        let g = (m.build)(&ZooOptions { batch, ..ZooOptions::default() }).unwrap();
        let back = round_trip(&g);
        assert_same(&g, &back, m.name);
    }
}

// ------------------------------------------------------------------ bad inputs

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}
fn attr_str(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::String as i32),
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}
fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn onode(
    op: &str,
    name: &str,
    ins: &[&str],
    outs: &[&str],
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: outs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

enum D {
    V(i64),
}

fn vinfo(name: &str, elem: i32, dims: &[D]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                D::V(v) => tensor_shape_proto::dimension::Value::DimValue(*v),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn float_init(name: &str, dims: &[i64]) -> TensorProto {
    let n: i64 = dims.iter().product();
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(1),
        float_data: vec![0.5; n as usize],
        ..Default::default()
    }
}

fn int_init(name: &str, v: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: vec![v.len() as i64],
        data_type: Some(7),
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

fn model(
    opset: i64,
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    inits: Vec<TensorProto>,
) -> Vec<u8> {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }],
        graph: Some(GraphProto {
            node: nodes,
            name: Some("test".into()),
            initializer: inits,
            input: inputs,
            output: outputs,
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn x_in() -> ValueInfoProto {
    vinfo("x", 1, &[D::V(1), D::V(4)])
}

fn err(bytes: &[u8]) -> String {
    import_bytes(bytes, &DimBindings::new())
        .map(|_| ())
        .expect_err("import should fail")
        .to_string()
}

#[test]
fn truncated_and_random_bytes_are_rejected() {
    let bytes = std::fs::read(fixture("bert_layer.onnx")).unwrap();
    let e = err(&bytes[..bytes.len() / 2]);
    assert!(
        e.starts_with("<memory>: not a valid ONNX model: protobuf decoding failed"),
        "{e}"
    );
    let mut state = 0x1234_5678u32;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let e = err(&random);
    assert!(e.contains("not a valid ONNX model"), "{e}");
    assert_eq!(
        err(b""),
        "<memory>: not a valid ONNX model: the model has no graph"
    );
    let e = import_file(fixture("no_such_file.onnx"), &DimBindings::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no_such_file.onnx") && e.contains("No such file"),
        "{e}"
    );
}

#[test]
fn unsupported_ops_are_listed_together() {
    let nodes = vec![
        onode("Relu", "/a/Relu", &["x"], &["r"], vec![]),
        onode("LSTM", "/rnn/LSTM", &["r"], &["h"], vec![]),
        onode("Relu", "/b/Relu", &["h"], &["r2"], vec![]),
        onode(
            "ConvTranspose",
            "/up/ConvTranspose",
            &["r2"],
            &["u"],
            vec![],
        ),
        NodeProto {
            domain: Some("com.microsoft".into()),
            ..onode("FusedGemm", "/f/FusedGemm", &["u"], &["y"], vec![])
        },
    ];
    let e = err(&model(
        13,
        nodes,
        vec![x_in()],
        vec![vinfo("y", 1, &[])],
        vec![],
    ));
    assert_eq!(
        e,
        "<memory>: 3 unsupported ops: LSTM (node '/rnn/LSTM', opset 13), ConvTranspose (node \
         '/up/ConvTranspose', opset 13), com.microsoft::FusedGemm (node '/f/FusedGemm', opset 0)"
    );
}

#[test]
fn missing_initializer_is_named() {
    let nodes = vec![onode(
        "Gemm",
        "/fc/Gemm",
        &["x", "fc.weight", "fc.bias"],
        &["y"],
        vec![attr_int("transB", 1)],
    )];
    let e = err(&model(
        17,
        nodes,
        vec![x_in()],
        vec![vinfo("y", 1, &[])],
        vec![float_init("fc.weight", &[3, 4])],
    ));
    assert_eq!(
        e,
        "<memory>: node '/fc/Gemm' (Gemm, opset 17): input 'fc.bias' is neither a graph input, an \
         initializer nor a node output (missing initializer?)"
    );
}

#[test]
fn unbound_symbolic_dim_is_named() {
    let e = import_file(fixture("resnet18.onnx"), &DimBindings::new())
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("resnet18.onnx: input 'input' has symbolic dim 'batch_size' (axis 0) with no binding; bind it with `--dim batch_size=N` or a batch size"), "{e}");
    let e = import_file(fixture("bert_layer.onnx"), &DimBindings::new().batch(1)).unwrap_err();
    assert!(
        matches!(&e, OnnxError::UnboundDim { input, dim, axis: 1, .. } if input == "input_ids" && dim == "sequence"),
        "{e}"
    );
}

#[test]
fn cyclic_graph_is_rejected() {
    let nodes = vec![
        onode("Relu", "/a/Relu", &["x"], &["a"], vec![]),
        onode("Add", "/b/Add", &["a", "c"], &["b"], vec![]),
        onode("Relu", "/c/Relu", &["b"], &["c"], vec![]),
        onode("Relu", "/d/Relu", &["b"], &["y"], vec![]),
    ];
    let e = err(&model(
        17,
        nodes,
        vec![x_in()],
        vec![vinfo("y", 1, &[])],
        vec![],
    ));
    assert_eq!(
        e,
        "<memory>: the graph has a cycle through nodes '/b/Add', '/c/Relu', '/d/Relu'"
    );
}

#[test]
fn inconsistent_shapes_and_bad_attributes_are_reported() {
    // Declared output shape disagrees with the computed one.
    let nodes = vec![onode(
        "Gemm",
        "/fc/Gemm",
        &["x", "w"],
        &["y"],
        vec![attr_int("transB", 1)],
    )];
    let e = err(&model(
        17,
        nodes,
        vec![x_in()],
        vec![vinfo("y", 1, &[D::V(1), D::V(7)])],
        vec![float_init("w", &[3, 4])],
    ));
    assert_eq!(e, "<memory>: node '/fc/Gemm' (Gemm, opset 17): inconsistent shapes: value 'y' is declared 1x7 but computes to 1x3");
    // Operands that do not fit.
    let nodes = vec![onode("MatMul", "/mm/MatMul", &["x", "w"], &["y"], vec![])];
    let e = err(&model(
        17,
        nodes,
        vec![x_in()],
        vec![vinfo("y", 1, &[])],
        vec![float_init("w", &[5, 2])],
    ));
    assert_eq!(e, "<memory>: node '/mm/MatMul' (MatMul, opset 17): mat_mul inner dims differ: 1x4 @ 5x2 (4 vs 5)");
    // Attribute values the IR cannot express.
    let x4 = vinfo("x", 1, &[D::V(1), D::V(1), D::V(4), D::V(4)]);
    let nodes = vec![onode(
        "Conv",
        "/c/Conv",
        &["x", "w"],
        &["y"],
        vec![attr_str("auto_pad", "SIDEWAYS")],
    )];
    let e = err(&model(
        17,
        nodes,
        vec![x4.clone()],
        vec![vinfo("y", 1, &[])],
        vec![float_init("w", &[2, 1, 3, 3])],
    ));
    assert_eq!(
        e,
        "<memory>: node '/c/Conv' (Conv, opset 17): unsupported attribute value auto_pad=SIDEWAYS"
    );
    let nodes = vec![onode(
        "Slice",
        "/s/Slice",
        &["x", "st", "en", "ax", "sp"],
        &["y"],
        vec![],
    )];
    let inits = vec![
        int_init("st", &[3]),
        int_init("en", &[0]),
        int_init("ax", &[3]),
        int_init("sp", &[-1]),
    ];
    let e = err(&model(17, nodes, vec![x4], vec![vinfo("y", 1, &[])], inits));
    assert_eq!(e, "<memory>: node '/s/Slice' (Slice, opset 17): unsupported slice step -1 (only positive steps)");
    // Opsets outside 11..=21.
    let e = err(&model(
        9,
        vec![onode("Relu", "r", &["x"], &["y"], vec![])],
        vec![x_in()],
        vec![vinfo("y", 1, &[])],
        vec![],
    ));
    assert_eq!(e, "<memory>: not a valid ONNX model: opset 9 is not supported (the importer reads opsets 11 to 21)");
}

#[test]
fn axes_as_inputs_and_attributes() {
    // Opset 18: ReduceMean takes its axes as an input; the decomposed layer norm still fuses.
    let x = vinfo("x", 1, &[D::V(2), D::V(3), D::V(8)]);
    let nodes = vec![
        onode(
            "ReduceMean",
            "/ln/ReduceMean",
            &["x", "axes"],
            &["m"],
            vec![],
        ),
        onode("Sub", "/ln/Sub", &["x", "m"], &["d"], vec![]),
        onode("Pow", "/ln/Pow", &["d", "two"], &["p"], vec![]),
        onode(
            "ReduceMean",
            "/ln/ReduceMean_1",
            &["p", "axes"],
            &["v"],
            vec![],
        ),
        onode("Add", "/ln/Add", &["v", "eps"], &["e"], vec![]),
        onode("Sqrt", "/ln/Sqrt", &["e"], &["s"], vec![]),
        onode("Div", "/ln/Div", &["d", "s"], &["n"], vec![]),
        onode(
            "ReduceSum",
            "/sum/ReduceSum",
            &["n", "axes1"],
            &["y"],
            vec![attr_int("keepdims", 0)],
        ),
    ];
    let scalar = |name: &str, v: f32| TensorProto {
        name: Some(name.into()),
        data_type: Some(1),
        float_data: vec![v],
        ..Default::default()
    };
    let inits = vec![
        int_init("axes", &[-1]),
        int_init("axes1", &[1]),
        scalar("two", 2.0),
        scalar("eps", 1e-6),
    ];
    for opset in [18, 21] {
        let g = import_bytes(
            &model(
                opset,
                nodes.clone(),
                vec![x.clone()],
                vec![vinfo("y", 1, &[D::V(2), D::V(8)])],
                inits.clone(),
            ),
            &DimBindings::new(),
        )
        .unwrap();
        assert_eq!(
            node(&g, "/ln/Div").op,
            Op::LayerNorm {
                axis: -1,
                eps: 1e-6,
                form: hawkeye_mpc::graph::NormForm::DecomposedPow,
            }
        );
        assert_eq!(
            node(&g, "/sum/ReduceSum").op,
            Op::ReduceSum {
                axes: vec![1],
                keepdims: false
            }
        );
        assert_eq!(g.len(), 3, "input, layer_norm, reduce_sum");
    }
    // Opset 11: Unsqueeze/ReduceSum axes are attributes, Softmax flattens from its axis.
    let nodes = vec![
        onode(
            "Unsqueeze",
            "/u/Unsqueeze",
            &["x"],
            &["u"],
            vec![attr_ints("axes", &[0])],
        ),
        onode(
            "Softmax",
            "/s/Softmax",
            &["u"],
            &["s"],
            vec![attr_int("axis", 2)],
        ),
        onode(
            "ReduceSum",
            "/r/ReduceSum",
            &["s"],
            &["y"],
            vec![attr_ints("axes", &[0, 1])],
        ),
    ];
    let g = import_bytes(
        &model(
            11,
            nodes,
            vec![x],
            vec![vinfo("y", 1, &[D::V(1), D::V(1), D::V(3), D::V(8)])],
            vec![],
        ),
        &DimBindings::new(),
    )
    .unwrap();
    assert_eq!(
        node(&g, "/u/Unsqueeze").op,
        Op::Reshape {
            shape: vec![1, 2, 3, 8]
        }
    );
    assert_eq!(node(&g, "/s/Softmax:softmax").op, Op::Softmax { axis: -1 });
    assert_eq!(node(&g, "/s/Softmax").value.shape, vec![1, 2, 3, 8]);
    assert_eq!(
        node(&g, "/r/ReduceSum").op,
        Op::ReduceSum {
            axes: vec![0, 1],
            keepdims: true
        }
    );
}

#[test]
fn dim_bindings_parse() {
    let mut b = DimBindings::new();
    b.parse_binding("seq=128").unwrap();
    assert_eq!(b.dims["seq"], 128);
    assert!(b.parse_binding("seq").is_err());
    assert!(b.parse_binding("seq=0").is_err());
}

// ------------------------------------------------------------------ fuzz

fn small_fixtures() -> Vec<Vec<u8>> {
    [
        "groundtruth/l_attention.onnx",
        "groundtruth/i_misc_layers.onnx",
        "groundtruth/k_gelu_tanh_exp.onnx",
        "bert_layer.onnx",
        "gpt2_block.onnx",
        "resnet18.onnx",
    ]
    .iter()
    .map(|f| std::fs::read(fixture(f)).unwrap())
    .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Overwrite(usize, u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), any::<u64>()).prop_map(|(i, v)| Mutation::Overwrite(i, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, rng_seed: RngSeed::Fixed(PROPTEST_SEED), ..ProptestConfig::default() })]

    /// Whatever the bytes, the importer returns a graph or an error, never panics.
    #[test]
    fn mutated_fixtures_never_panic(which in 0usize..6, muts in prop::collection::vec(mutation(), 1..4)) {
        let mut bytes = small_fixtures().swap_remove(which);
        for m in muts {
            let n = bytes.len().max(1);
            match m {
                Mutation::Flip(i, b) => { let i = i % n; if i < bytes.len() { bytes[i] ^= b; } }
                Mutation::Truncate(i) => bytes.truncate(i % n),
                Mutation::Insert(i, v) => { let i = i % (bytes.len() + 1); bytes.splice(i..i, v); }
                Mutation::Overwrite(i, v) => {
                    let i = i % n;
                    for (k, b) in v.to_le_bytes().iter().enumerate() {
                        if let Some(x) = bytes.get_mut(i + k) { *x = *b; }
                    }
                }
            }
        }
        let b = DimBindings::new().batch(2).bind("sequence", 4).bind("sequence_length", 4);
        if let Ok(g) = import_bytes(&bytes, &b) {
            // Whatever imports also exports.
            let _ = export_bytes(&g);
        }
    }
}
