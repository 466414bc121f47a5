//! The model zoo against its references: exact parameter counts (published, or derived from
//! the architecture), torchvision's published MAC counts, the size knobs, and PyTorch module
//! paths.

use hawkeye_mpc::graph::{Graph, Node, Op};
use hawkeye_mpc::zoo::{self, ZooOptions, MODELS};

fn build(name: &str, options: ZooOptions) -> Graph {
    zoo::build(name, &options)
        .unwrap_or_else(|| panic!("no zoo model '{name}'"))
        .unwrap_or_else(|e| panic!("{name} does not build: {e}"))
}

fn default(name: &str) -> Graph {
    build(name, ZooOptions::default())
}

/// The op node of a module whose op has the given name (`conv2d`, `layer_norm`, ...).
fn op_in<'g>(g: &'g Graph, module: &str, op: &str) -> &'g Node {
    g.node_ids()
        .map(|id| g.node(id))
        .find(|n| n.module == module && n.op.name() == op)
        .unwrap_or_else(|| panic!("{}: no {op} node in module '{module}'", g.name))
}

/// The shape of a named node (parameters are named as in the PyTorch `state_dict`).
fn shape_of(g: &Graph, name: &str) -> Vec<usize> {
    let id = g
        .find(name)
        .unwrap_or_else(|| panic!("{}: no node '{name}'", g.name));
    g.node(id).value.shape.clone()
}

fn output_shapes(g: &Graph) -> Vec<Vec<usize>> {
    g.outputs()
        .iter()
        .map(|&o| g.node(o).value.shape.clone())
        .collect()
}

/// Conv parameters (weight and bias) of 3x3 convs with the given channel sequence.
fn conv3x3_params(channels: &[u64]) -> u64 {
    channels.windows(2).map(|c| c[0] * c[1] * 9 + c[1]).sum()
}

#[test]
fn parameter_counts_match_the_references() {
    // ResNet-32 (option A: shortcuts have no parameters): conv1 and bn1, then per stage of
    // width w entered with w_in channels, blocks of two bias-free 3x3 convs and two batchnorms,
    // then the linear classifier.
    let basic_block = |cin: u64, w: u64| cin * w * 9 + w * w * 9 + 4 * w;
    let resnet32 = 3 * 16 * 9
        + 2 * 16
        + [(16, 16), (16, 32), (32, 64)]
            .iter()
            .map(|&(cin, w)| basic_block(cin, w) + 4 * basic_block(w, w))
            .sum::<u64>()
        + 64 * 10
        + 10;
    // VGG-16 for CIFAR: the 13 3x3 convs with bias, a batchnorm (scale and shift) after each,
    // linear 512 -> 10.
    let vgg16_widths = [
        3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512,
    ];
    let vgg16_cifar =
        conv3x3_params(&vgg16_widths) + 2 * vgg16_widths[1..].iter().sum::<u64>() + 512 * 10 + 10;
    // AlexNet: convs 3->64 (11x11), 64->192 (5x5), 192->384, 384->256, 256->256 (3x3), all with
    // bias; linears 256·6·6 -> 4096 -> 4096 -> 1000 with bias. torchvision lists 61,100,840.
    let alexnet = (3 * 64 * 121 + 64)
        + (64 * 192 * 25 + 192)
        + conv3x3_params(&[192, 384, 256, 256])
        + (9216 * 4096 + 4096)
        + (4096 * 4096 + 4096)
        + (4096 * 1000 + 1000);
    assert_eq!(alexnet, 61_100_840);
    let expected: &[(&str, u64)] = &[
        // 784·128+128 + 128·128+128 + 128·10+10
        ("mlp", 118_282),
        // conv 1->16 k5 (400+16), conv 16->16 k5 (6400+16), fc 256·100+100, fc 100·10+10
        ("lenet5", 33_542),
        // conv 3->64 k3 (1,792), four convs 64->64 k3 (36,928 each), 1x1 convs 64->64
        // (4,160) and 64->16 (1,040), fc 1024·10+10 (10,250)
        ("minionn", 164_954),
        ("alexnet", alexnet),
        ("vgg16", 138_357_544),
        ("vgg16-cifar", vgg16_cifar),
        ("resnet18", 11_689_512),
        ("resnet50", 25_557_032),
        ("resnet32", resnet32),
        ("densenet121", 7_978_856),
        ("mobilenetv2", 3_504_872),
        ("mobilenetv3-small", 2_542_856),
        ("shufflenetv2", 2_278_604),
        ("bert-base", 109_482_240),
        ("bert-tiny", 4_385_920),
        // GPT2LMHeadModel: lm_head shares transformer.wte.weight, counted once
        ("gpt2-small", 124_439_808),
        ("vit-b16", 86_567_656),
    ];
    assert_eq!(expected.len(), MODELS.len(), "every zoo model has a count");
    for &(name, params) in expected {
        assert_eq!(default(name).parameter_count(), params, "{name}");
    }
}

#[test]
fn mac_counts_match_torchvision() {
    // torchvision's "GFLOPS" (multiply-accumulates, batch 1, 224x224), given to 2 decimals.
    // Its ViT-B/16 figure includes the attention products q·kᵀ and p·v, as does ours.
    let published = [
        ("alexnet", "0.71"),
        ("vgg16", "15.47"),
        ("resnet18", "1.81"),
        ("resnet50", "4.09"),
        ("densenet121", "2.83"),
        ("mobilenetv2", "0.30"),
        ("mobilenetv3-small", "0.06"),
        ("shufflenetv2", "0.14"),
        ("vit-b16", "17.56"),
    ];
    for (name, gmacs) in published {
        let macs = default(name).mac_count();
        assert_eq!(format!("{:.2}", macs as f64 / 1e9), gmacs, "{name}: {macs}");
    }
}

#[test]
fn transformer_mac_counts_follow_their_closed_forms() {
    // Per layer at sequence length s, width h, feed-forward width f: the q, k, v and output
    // projections 4·s·h², the products q·kᵀ and p·v 2·s²·h, the feed-forward 2·s·h·f.
    let layer = |s: u128, h: u128, f: u128| 4 * s * h * h + 2 * s * s * h + 2 * s * h * f;
    // BERT adds the pooler (h² on the first token).
    let bert_base = 12 * layer(128, 768, 3072) + 768 * 768;
    assert_eq!(default("bert-base").mac_count(), bert_base);
    let bert_tiny = 2 * layer(128, 128, 512) + 128 * 128;
    assert_eq!(default("bert-tiny").mac_count(), bert_tiny);
    // GPT-2 adds the vocabulary projection at every position.
    let gpt2 = 12 * layer(128, 768, 3072) + 128 * 768 * 50257;
    assert_eq!(default("gpt2-small").mac_count(), gpt2);
    // ViT-B/16 at 224: the patch embedding (196 patches of 3·16·16 to 768), 12 layers over 197
    // tokens, and the head on the class token.
    let vit = 196 * 768 * 768 + 12 * layer(197, 768, 3072) + 768 * 1000;
    assert_eq!(default("vit-b16").mac_count(), vit);
}

/// Models whose output is `[batch, classes]`.
fn is_classifier(name: &str) -> bool {
    !matches!(name, "bert-base" | "bert-tiny" | "gpt2-small")
}

#[test]
fn every_model_builds_at_batch_1_and_3() {
    for m in MODELS {
        for batch in [1, 3] {
            let g = build(
                m.name,
                ZooOptions {
                    batch,
                    ..ZooOptions::default()
                },
            );
            let outputs = output_shapes(&g);
            assert!(!outputs.is_empty(), "{}: no outputs", m.name);
            for shape in &outputs {
                assert_eq!(shape[0], batch, "{}: output {shape:?}", m.name);
            }
            if is_classifier(m.name) {
                assert!(m.knobs.contains("classes"), "{}", m.name);
                let classes = 7;
                let g = build(
                    m.name,
                    ZooOptions {
                        batch,
                        classes: Some(classes),
                        ..ZooOptions::default()
                    },
                );
                assert_eq!(output_shapes(&g), vec![vec![batch, classes]], "{}", m.name);
            }
        }
    }
}

#[test]
fn language_models_output_hidden_states_or_logits() {
    let opts = ZooOptions {
        batch: 3,
        seq_len: Some(64),
        ..ZooOptions::default()
    };
    let bert = build("bert-base", opts);
    assert_eq!(output_shapes(&bert), vec![vec![3, 64, 768], vec![3, 768]]);
    let gpt2 = build("gpt2-small", opts);
    assert_eq!(output_shapes(&gpt2), vec![vec![3, 64, 50257]]);
}

#[test]
fn declared_knobs_reach_the_inputs() {
    let opts = ZooOptions {
        resolution: Some(64),
        seq_len: Some(64),
        ..ZooOptions::default()
    };
    for m in MODELS {
        let g = build(m.name, opts);
        if m.knobs.contains("resolution") {
            assert_eq!(shape_of(&g, "input")[2..], [64, 64], "{}", m.name);
        }
        if m.knobs.contains("seq_len") {
            assert_eq!(shape_of(&g, "input_ids"), [1, 64], "{}", m.name);
        }
    }
}

#[test]
fn sizes_beyond_the_reference_are_refused() {
    let seq = |s| ZooOptions {
        seq_len: Some(s),
        ..ZooOptions::default()
    };
    assert!(zoo::build("bert-base", &seq(512)).unwrap().is_ok());
    let err = zoo::build("bert-base", &seq(513)).unwrap().unwrap_err();
    assert!(err.to_string().contains("512 positions"), "{err}");
    assert!(zoo::build("gpt2-small", &seq(1025)).unwrap().is_err());
    let res = ZooOptions {
        resolution: Some(200),
        ..ZooOptions::default()
    };
    assert!(zoo::build("vit-b16", &res).unwrap().is_err());
}

fn conv_groups(n: &Node) -> usize {
    match n.op {
        Op::Conv2d { groups, .. } => groups,
        _ => panic!("{} is not a conv", n.name),
    }
}

#[test]
fn module_paths_follow_pytorch() {
    let resnet50 = default("resnet50");
    assert_eq!(
        op_in(&resnet50, "layer4.2.conv3", "conv2d").value.shape,
        [1, 2048, 7, 7]
    );
    assert_eq!(
        shape_of(&resnet50, "layer1.0.downsample.0.weight"),
        [256, 64, 1, 1]
    );
    assert_eq!(shape_of(&resnet50, "layer3.5.bn2.running_var"), [256]);
    assert_eq!(shape_of(&resnet50, "fc.weight"), [1000, 2048]);

    let resnet18 = default("resnet18");
    assert_eq!(
        shape_of(&resnet18, "layer2.0.downsample.0.weight"),
        [128, 64, 1, 1]
    );
    assert!(resnet18.find("layer1.0.downsample.0.weight").is_none());

    let resnet32 = default("resnet32");
    assert_eq!(
        op_in(&resnet32, "layer3.0.shortcut", "concat").value.shape,
        [1, 64, 8, 8]
    );
    assert_eq!(shape_of(&resnet32, "linear.weight"), [10, 64]);

    let bert = default("bert-base");
    op_in(&bert, "encoder.layer.11.output.LayerNorm", "layer_norm");
    assert_eq!(
        shape_of(&bert, "embeddings.word_embeddings.weight"),
        [30522, 768]
    );
    assert_eq!(
        shape_of(&bert, "encoder.layer.0.attention.self.query.weight"),
        [768, 768]
    );
    op_in(&bert, "pooler.activation", "tanh");

    let gpt2 = default("gpt2-small");
    assert_eq!(
        shape_of(&gpt2, "transformer.h.0.attn.c_attn.weight"),
        [768, 2304]
    );
    assert_eq!(
        shape_of(&gpt2, "transformer.h.11.mlp.c_proj.weight"),
        [3072, 768]
    );
    let lm_head = gpt2.find("lm_head").expect("lm_head");
    let wte = gpt2.find("transformer.wte.weight").expect("wte");
    assert_eq!(gpt2.inputs(lm_head)[1], wte, "lm_head is tied to wte");

    let vit = default("vit-b16");
    assert_eq!(
        shape_of(
            &vit,
            "encoder.layers.encoder_layer_11.self_attention.in_proj_weight"
        ),
        [2304, 768]
    );
    assert_eq!(shape_of(&vit, "class_token"), [1, 1, 768]);
    assert_eq!(shape_of(&vit, "encoder.pos_embedding"), [1, 197, 768]);
    assert_eq!(shape_of(&vit, "heads.head.weight"), [1000, 768]);

    let densenet = default("densenet121");
    assert_eq!(
        op_in(
            &densenet,
            "features.denseblock4.denselayer16.conv2",
            "conv2d"
        )
        .value
        .shape,
        [1, 32, 7, 7]
    );
    op_in(&densenet, "features.transition3.pool", "avg_pool2d");

    let mobilenetv3 = default("mobilenetv3-small");
    let depthwise = op_in(&mobilenetv3, "features.4.block.1.0", "conv2d");
    assert_eq!(conv_groups(depthwise), 96);
    assert_eq!(depthwise.value.shape, [1, 96, 14, 14]);
    assert_eq!(
        shape_of(&mobilenetv3, "features.4.block.2.fc1.weight"),
        [24, 96, 1, 1]
    );
    assert_eq!(shape_of(&mobilenetv3, "classifier.3.weight"), [1000, 1024]);

    let mobilenetv2 = default("mobilenetv2");
    assert_eq!(
        conv_groups(op_in(&mobilenetv2, "features.1.conv.0.0", "conv2d")),
        32
    );
    assert_eq!(
        shape_of(&mobilenetv2, "features.18.0.weight"),
        [1280, 320, 1, 1]
    );

    let shufflenet = default("shufflenetv2");
    assert_eq!(
        conv_groups(op_in(&shufflenet, "stage2.0.branch1.0", "conv2d")),
        24
    );
    assert_eq!(
        shape_of(&shufflenet, "stage4.3.branch2.5.weight"),
        [232, 232, 1, 1]
    );

    assert_eq!(
        shape_of(&default("alexnet"), "classifier.6.weight"),
        [1000, 4096]
    );
    assert_eq!(
        shape_of(&default("vgg16"), "features.28.weight"),
        [512, 512, 3, 3]
    );
    assert_eq!(
        shape_of(&default("vgg16-cifar"), "features.41.running_mean"),
        [512]
    );
    assert_eq!(
        shape_of(&default("minionn"), "conv.14.weight"),
        [16, 64, 1, 1]
    );
}
