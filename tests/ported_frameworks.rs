//! Cost models ported from published formulas (CrypTFlow2, Cheetah, Delphi, ABY, ABY3,
//! SPDZ2k, Falcon, SecureML): closed forms recomputed independently, cross-checks against
//! HawkEye's recorded static outputs, and orderings the papers report.

use hawkeye_mpc::cost::{self, CostModel};
use hawkeye_mpc::graph::Graph;
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::{self, ZooOptions};

const PORTED: &[&str] = &[
    "cryptflow2",
    "cheetah",
    "delphi",
    "aby",
    "aby3",
    "spdz2k",
    "falcon",
    "secureml",
];

fn load(name: &str) -> CostModel {
    cost::load_framework(name, &[]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Profiles `graph` with the framework's default weight visibility.
fn profile(graph: &Graph, model: &CostModel) -> Profile {
    let g = graph.with_parameter_visibility(model.framework.default_weights);
    Profile::new(&g, model).unwrap_or_else(|e| panic!("{}: {e}", model.framework.name))
}

#[test]
fn every_ported_framework_profiles_mlp_and_lenet5() {
    for name in PORTED {
        let model = load(name);
        for zoo_name in ["mlp", "lenet5"] {
            let graph = zoo::build(zoo_name, &ZooOptions::default())
                .unwrap()
                .unwrap();
            if *name == "delphi" && zoo_name == "lenet5" {
                // Delphi has no max pooling in its protocol.
                continue;
            }
            let p = profile(&graph, &model);
            assert!(p.total.online_bits > 0.0, "{name} {zoo_name}");
            assert!(p.total.online_rounds > 0.0, "{name} {zoo_name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HawkEye's evaluation models, built as in its artifact's .mpc programs
// (wqruan/HawkEye Programs/Source): batch 1.
// ---------------------------------------------------------------------------------------------

use hawkeye_mpc::zoo::{Conv, ModelBuilder};

/// `autograd_minionn.mpc`: CIFAR-10 MiniONN with average pooling.
fn minionn() -> Graph {
    let mut b = ModelBuilder::new("minionn");
    let mut x = b.input("input", vec![1, 3, 32, 32]).unwrap();
    let convs: [(usize, usize, usize, bool); 7] = [
        (64, 3, 1, false),
        (64, 3, 1, true),
        (64, 3, 1, false),
        (64, 3, 1, true),
        (64, 3, 1, false),
        (64, 1, 0, false),
        (16, 1, 0, false),
    ];
    for (i, (out, k, pad, pool)) in convs.into_iter().enumerate() {
        x = b
            .conv2d(&format!("conv{i}"), x, Conv::new(out, k).padding(pad))
            .unwrap();
        x = b.scope(&format!("relu{i}"), |b| b.relu(x)).unwrap();
        if pool {
            x = b
                .scope(&format!("pool{i}"), |b| b.avg_pool(x, 2, 2))
                .unwrap();
        }
    }
    let x = b.flatten(x).unwrap();
    let y = b.linear("fc", x, 10, true).unwrap();
    b.finish(vec![y])
}

/// `autograd_resnet_32_dephi.mpc`: HawkEye's "ResNet-32" for Delphi and Cheetah: 3 stages of 5
/// two-conv blocks WITHOUT residual additions, a conv before each stage, average pooling.
fn resnet32_hawkeye() -> Graph {
    let mut b = ModelBuilder::new("resnet32");
    let x = b.input("input", vec![1, 3, 32, 32]).unwrap();
    let conv = |c: usize, s: usize| Conv::new(c, 3).stride(s).padding(1).no_bias();
    let mut x = b.conv2d("conv1", x, conv(16, 1)).unwrap();
    x = b.scope("relu", |b| b.relu(x)).unwrap();
    for (stage, (c, s)) in [(16, 1), (32, 2), (64, 2)].into_iter().enumerate() {
        x = b
            .conv2d(&format!("tmp{}", stage + 1), x, conv(c, s))
            .unwrap();
        for blk in 0..5 {
            let name = format!("stage{}.{blk}", stage + 1);
            x = b
                .scope(&name, |b| {
                    let y = b.conv2d("conv1", x, conv(c, 1))?;
                    let y = b.scope("relu1", |b| b.relu(y))?;
                    let y = b.conv2d("conv2", y, conv(c, 1))?;
                    b.scope("relu2", |b| b.relu(y))
                })
                .unwrap();
        }
    }
    let x = b.scope("avgpool", |b| b.avg_pool(x, 2, 2)).unwrap();
    let x = b.flatten(x).unwrap();
    let y = b.linear("fc", x, 10, true).unwrap();
    b.finish(vec![y])
}

/// `autograd_resnet.mpc`: ResNet-50 (v1, stride in the first 1x1 conv, a ReLU after bn3 AND
/// after the residual addition), ImageNet 224x224.
fn resnet50_hawkeye() -> Graph {
    let mut b = ModelBuilder::new("resnet50");
    let x = b.input("input", vec![1, 3, 224, 224]).unwrap();
    let mut x = b
        .conv2d("conv1", x, Conv::new(64, 7).stride(2).padding(3).no_bias())
        .unwrap();
    x = b.batchnorm("bn1", x).unwrap();
    x = b.scope("relu", |b| b.relu(x)).unwrap();
    x = b.scope("maxpool", |b| b.max_pool(x, 3, 2, 1)).unwrap();
    let mut inplane = 64;
    for (stage, (plane, blocks, stride)) in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]
        .into_iter()
        .enumerate()
    {
        for blk in 0..blocks {
            let s = if blk == 0 { stride } else { 1 };
            let name = format!("stage{}.{blk}", stage + 1);
            let down = blk == 0 && (s != 1 || inplane != plane * 4);
            x = b
                .scope(&name, |b| {
                    let y = b.conv2d("conv1", x, Conv::new(plane, 1).stride(s).no_bias())?;
                    let y = b.batchnorm("bn1", y)?;
                    let y = b.scope("relu1", |b| b.relu(y))?;
                    let y = b.conv2d("conv2", y, Conv::new(plane, 3).padding(1).no_bias())?;
                    let y = b.batchnorm("bn2", y)?;
                    let y = b.scope("relu2", |b| b.relu(y))?;
                    let y = b.conv2d("conv3", y, Conv::new(plane * 4, 1).no_bias())?;
                    let y = b.batchnorm("bn3", y)?;
                    let y = b.scope("relu3", |b| b.relu(y))?;
                    let r = if down {
                        let r =
                            b.conv2d("downsample", x, Conv::new(plane * 4, 1).stride(s).no_bias())?;
                        b.batchnorm("downsample_bn", r)?
                    } else {
                        x
                    };
                    let y = b.add(y, r)?;
                    b.scope("relu4", |b| b.relu(y))
                })
                .unwrap();
            inplane = plane * 4;
        }
    }
    let x = b.scope("avgpool", |b| b.avg_pool(x, 7, 7)).unwrap();
    let x = b.flatten(x).unwrap();
    let y = b.linear("fc", x, 1000, true).unwrap();
    b.finish(vec![y])
}

/// Online bits, offline bits and online rounds of the nodes whose op is in `ops`.
fn class(p: &Profile, ops: &[&str]) -> (f64, f64, f64) {
    p.nodes
        .iter()
        .filter(|n| ops.contains(&n.op))
        .fold((0.0, 0.0, 0.0), |(a, b, c), n| {
            (
                a + n.cost.online_bits,
                b + n.cost.offline_bits,
                c + n.cost.online_rounds,
            )
        })
}

const MB: f64 = 8.0 * 1024.0 * 1024.0;
const GB: f64 = 8.0 * 1024.0 * 1024.0 * 1024.0;

/// Relative difference of `ours` from `theirs`.
fn rel(ours: f64, theirs: f64) -> f64 {
    (ours - theirs).abs() / theirs
}

// HawkEye's static outputs below are those its artifact prints (reference notes
// hawkeye-method.md section 4.4 and 5.1, reproduced by running the artifact); GB and MB there
// are binary units (7.71e12 bits = 898 GB).

#[test]
fn cryptflow2_resnet50_matches_hawkeye_and_the_measured_rounds() {
    let p = profile(&resnet50_hawkeye(), &load("cryptflow2"));
    // Total 7.71e12 bits, Conv2d 863.11 GB, Non-linear 16.25 GB (ell = 60, f = 23). The conv
    // OT cross term is the same closed form up to l(l+1)/2 vs l*ceil((l+1)/2) (1.6%), so 3%;
    // ReLU is modelled differently (DReLU + OT select vs LTZ + generic product, MaxPool as
    // 8 sequential ReLUs vs a tree) and only happens to land close: 5%.
    assert!(
        rel(p.total.online_bits, 7.71e12) < 0.03,
        "{}",
        p.total.online_bits
    );
    let conv = class(&p, &["conv2d"]);
    assert!(rel(conv.0, 863.11 * GB) < 0.03, "{}", conv.0 / GB);
    let nonlin = class(&p, &["relu", "max_pool2d"]);
    assert!(rel(nonlin.0, 16.25 * GB) < 0.05, "{}", nonlin.0 / GB);
    // Rounds: Conv2d 7148 (HawkEye) / 7155 (measured CrypTFlow2); Non-linear 438 measured,
    // = (65 ReLU layers + 8 sequential MaxPool ReLUs) x 6, which we reproduce exactly.
    assert!(rel(conv.2, 7155.0) < 0.02, "{}", conv.2);
    assert_eq!(nonlin.2, 438.0);
    // Other linear (BatchNorm here) is our own figure: one hadamard cross term plus the
    // truncation a BatchNorm, dearer than HawkEye's 18.43 GB / 575 rounds.
    let other = class(&p, &["batch_norm", "avg_pool2d", "linear"]);
    assert!(
        other.0 > 18.43 * GB && other.0 < 2.0 * 18.43 * GB,
        "{}",
        other.0 / GB
    );
}

#[test]
fn cheetah_minionn_and_resnet32_match_hawkeye() {
    let model = load("cheetah");
    // (model, Conv2d MB, Non-linear MB, total rounds) from HawkEye (ell = 64, f = 18).
    for (graph, conv_mb, nonlin_mb, rounds) in [
        (minionn(), 18.34, 17.18, 78.0),
        (resnet32_hawkeye(), 52.87, 30.10, 328.0),
    ] {
        let p = profile(&graph, &model);
        assert_eq!(p.total.online_rounds, rounds, "{}", graph.name);
        // Our HE conv uses OpenCheetah's HomConv2DSS ciphertext counts (N = 4096, 109-bit
        // queries, 60-bit answers), HawkEye an im2col matmul partition with N = 8192 and
        // moduli 59,55,49,45: the two agree to 20%.
        let conv = class(&p, &["conv2d"]);
        assert!(
            rel(conv.0, conv_mb * MB) < 0.20,
            "{}: {}",
            graph.name,
            conv.0 / MB
        );
        // Silent-OT ReLU: ours 906 bits an element, HawkEye 13 ell + 1 plus an HE product.
        let nonlin = class(&p, &["relu", "max_pool2d"]);
        assert!(
            rel(nonlin.0, nonlin_mb * MB) < 0.10,
            "{}: {}",
            graph.name,
            nonlin.0 / MB
        );
    }
}

#[test]
fn delphi_minionn_and_resnet32_match_hawkeye_where_the_formulas_agree() {
    let model = load("delphi");
    // (model, online Conv2d MB, online Non-linear MB, offline Conv2d MB, offline Non-linear MB)
    for (graph, conv_on, relu_on, conv_off, relu_off) in [
        (minionn(), 0.87, 195.41, 64.29, 3148.73),
        (resnet32_hawkeye(), 2.52, 342.25, 195.86, 5516.39),
    ] {
        let p = profile(&graph, &model);
        let conv = class(&p, &["conv2d"]);
        let relu = class(&p, &["relu"]);
        // Online conv: the client's masked input, the same formula (HawkEye prints 2 decimals).
        assert!(rel(conv.0, conv_on * MB) < 0.01, "{}", conv.0 / MB);
        // Offline ReLU: the same garbled-circuit size; HawkEye adds the offline part of the
        // select's product (under 1%).
        assert!(rel(relu.1, relu_off * MB) < 0.02, "{}", relu.1 / MB);
        // Online ReLU: 42 labels of 128 bits (Delphi's gc.rs) instead of HawkEye's 148 * 64.
        assert!(
            rel(relu.0, relu_on * MB * 5376.0 / 9472.0) < 0.01,
            "{}",
            relu.0 / MB
        );
        // Offline conv: HawkEye multiplies the input ciphertexts by kh*kw; the client encrypts
        // its mask once, so ours is 3-5x lower.
        assert!(conv.1 < conv_off * MB / 3.0 && conv.1 > conv_off * MB / 5.0);
    }
}

#[test]
fn security_models_on_resnet50_match_hawkeye() {
    let graph = resnet50_hawkeye();
    // (framework, online GB, offline GB, online rounds, offline rounds, tolerance) from
    // HawkEye's security-model case study (ell = 64). ABY, ABY3 and Falcon use HawkEye's
    // primitive formulas: within 3% (the composites differ slightly). SPDZ2k's comparison is
    // our closed form of MP-SPDZ's ring LTZ (HawkEye expands it instruction by instruction):
    // 6%.
    for (name, online, offline, r_on, r_off, tol) in [
        ("aby", 225.0, 9309.0, 452.0, Some(490.0), 0.03),
        ("aby3", 2.05, 0.0, 836.0, Some(0.0), 0.03),
        ("falcon", 4.65, 30.8, 1043.0, Some(2832.0), 0.03),
        ("spdz2k", 337.0, 3.0e5, 836.0, None, 0.06),
    ] {
        let p = profile(&graph, &load(name));
        assert!(
            rel(p.total.online_bits, online * GB) < tol,
            "{name}: {}",
            p.total.online_bits / GB
        );
        if offline > 0.0 {
            assert!(
                rel(p.total.offline_bits, offline * GB) < tol,
                "{name}: {}",
                p.total.offline_bits / GB
            );
        } else {
            assert_eq!(p.total.offline_bits, 0.0);
        }
        assert_eq!(p.total.online_rounds, r_on, "{name}");
        if let Some(r) = r_off {
            assert_eq!(p.total.offline_rounds, r, "{name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Closed forms of one ReLU layer, recomputed from the published formulas.
// ---------------------------------------------------------------------------------------------

fn relu_layer(n: usize) -> Graph {
    let mut b = ModelBuilder::new("relu");
    let x = b.input("x", vec![1, n]).unwrap();
    let y = b.relu(x).unwrap();
    b.finish(vec![y])
}

#[test]
fn one_relu_layer_costs_the_closed_form_of_each_framework() {
    // 16384 elements: a multiple of the OT padding, so the padding vanishes.
    let n = 16384.0;
    let log2 = |x: f64| x.log2();
    let relu_cost = |name: &str| profile(&relu_layer(16384), &load(name)).total;

    // CrypTFlow2, ell = 60, m = 4: millionaire on ell - 1 = 59 bits, q = 15 digits,
    // t = 2q - 2 - (floor(log2 q) + 1) = 24 triples; server = leaf KKOT messages 2^4 * 2 bits,
    // 16 bits a triple, 2 bits an AND opening; client = 256 bits a KKOT (leaves, t/2 triple
    // OTs), 2 bits an AND; then the select: 2 ell + 128 bits each.
    let (ell, q) = (60.0, 15.0_f64);
    let t = 2.0 * q - 2.0 - (log2(q).floor() + 1.0);
    let server = n * (32.0 * q + 18.0 * t) + n * (2.0 * ell + 128.0);
    let client = n * (256.0 * q + 128.0 * t + 2.0 * t) + n * (2.0 * ell + 128.0);
    let c = relu_cost("cryptflow2");
    assert_eq!(c.party_online_bits, vec![server, client]);
    assert_eq!(c.online_rounds, log2(59.0).ceil());

    // Cheetah, ell = 64: silent OT leaves (32 bits sent, 4 choice bits), 4 bits a triple,
    // 2 bits an AND opening each, select 2(ell + 1).
    let (ell, q) = (64.0, 16.0_f64);
    let t = 2.0 * q - 2.0 - (log2(q).floor() + 1.0);
    let c = relu_cost("cheetah");
    assert_eq!(c.online_bits, n * (36.0 * q + 8.0 * t + 2.0 * (ell + 1.0)));

    // Delphi: 42 labels of 128 bits online; the garbled circuit offline.
    let c = relu_cost("delphi");
    assert_eq!(c.online_bits, n * 42.0 * 128.0);
    assert_eq!(c.offline_bits, n * 2370.0 * 64.0);
    assert_eq!((c.online_rounds, c.offline_rounds), (1.0, 3.0));

    // ABY3: LTZ 9 ell (log2 ell + 2 rounds) + select product 3 ell (1 round).
    let c = relu_cost("aby3");
    assert_eq!(c.online_bits, n * 12.0 * 64.0);
    assert_eq!(c.online_rounds, 9.0);

    // Falcon: 24 ell + 6 ell online; 3 ell (ell + 8 + log2 ell) offline.
    let c = relu_cost("falcon");
    assert_eq!(c.online_bits, n * 30.0 * 64.0);
    assert_eq!(c.offline_bits, n * 3.0 * 64.0 * (64.0 + 8.0 + 6.0));

    // ABY: Yao comparison 7 ell kappa + (ell^2 + ell)/2 online, 5 ell kappa offline, plus a
    // Beaver product 4 ell online and ell (2 kappa + ell + 1) offline.
    let (ell, kappa) = (64.0, 128.0);
    let c = relu_cost("aby");
    assert_eq!(
        c.online_bits,
        n * (7.0 * ell * kappa + (ell * ell + ell) / 2.0 + 4.0 * ell)
    );
    assert_eq!(
        c.offline_bits,
        n * (5.0 * ell * kappa + ell * (2.0 * kappa + ell + 1.0))
    );

    // SPDZ2k (2 parties, sigma = ell): an opening 2(ell + sigma), 2(ell - 2) + 1 carry-out
    // products and the select, 4(ell + sigma) each.
    let c = relu_cost("spdz2k");
    let products = 2.0 * (ell - 2.0) + 1.0 + 1.0;
    assert!(
        rel(c.online_bits, n * (2.0 * 128.0 + products * 4.0 * 128.0)) < 1e-9,
        "{}",
        c.online_bits / n
    );
}

// ---------------------------------------------------------------------------------------------
// Orderings and behaviours the papers and the implementations report.
// ---------------------------------------------------------------------------------------------

#[test]
fn cheetah_is_far_cheaper_than_cryptflow2() {
    // Cheetah (USENIX Security 2022) reports one to two orders of magnitude less
    // communication than CrypTFlow2's SCI_OT on ReLU and linear layers.
    let cf2 = profile(&minionn(), &load("cryptflow2"));
    let ch = profile(&minionn(), &load("cheetah"));
    let (cf2_conv, ch_conv) = (class(&cf2, &["conv2d"]).0, class(&ch, &["conv2d"]).0);
    assert!(ch_conv * 100.0 < cf2_conv, "{ch_conv} vs {cf2_conv}");
    let (cf2_relu, ch_relu) = (class(&cf2, &["relu"]).0, class(&ch, &["relu"]).0);
    assert!(ch_relu * 5.0 < cf2_relu, "{ch_relu} vs {cf2_relu}");
}

#[test]
fn honest_majority_protocols_are_bottlenecked_by_non_linear_layers() {
    // HawkEye's security-model finding: under 2PC dishonest majority (ABY, SPDZ2k) linear
    // layers dominate; under 3PC honest majority (ABY3, Falcon) ReLU and MaxPool do.
    let graph = resnet50_hawkeye();
    for (name, linear_dominates) in [
        ("aby", true),
        ("spdz2k", true),
        ("aby3", false),
        ("falcon", false),
    ] {
        let p = profile(&graph, &load(name));
        let conv = class(&p, &["conv2d"]).0;
        let nonlin = class(&p, &["relu", "max_pool2d"]).0;
        assert_eq!(conv > nonlin, linear_dominates, "{name}");
    }
}

fn grouped_conv(groups: usize) -> Graph {
    let mut b = ModelBuilder::new("gconv");
    let x = b.input("x", vec![1, 32, 16, 16]).unwrap();
    let y = b
        .conv2d("conv", x, Conv::new(32, 3).padding(1).groups(groups))
        .unwrap();
    b.finish(vec![y])
}

#[test]
fn cryptflow2_grouped_convolutions_run_group_after_group() {
    // EzPC's Conv2DGroupWrapper loops over the groups, so rounds grow with them (HawkEye runs
    // them in parallel threads and undercounts MobileNetV3/ShuffleNetV2 conv rounds 3.9-5.4x).
    let model = load("cryptflow2");
    let costs: Vec<_> = [1, 8, 32]
        .iter()
        .map(|&g| profile(&grouped_conv(g), &model).total)
        .collect();
    // Small groups fit one OT batch (2 rounds each): 1 group of 2.4M OT messages takes 16
    // rounds, 8 groups 8 x 2, 32 groups 32 x 2, plus the truncation.
    let trunc = costs[0].online_rounds - 16.0;
    assert_eq!(costs[1].online_rounds, 8.0 * 2.0 + trunc);
    assert_eq!(costs[2].online_rounds, 32.0 * 2.0 + trunc);
    assert!(costs[0].online_bits > costs[1].online_bits);
    assert!(costs[1].online_bits > costs[2].online_bits);
}

#[test]
fn upstream_ezpc_training_build_doubles_the_linear_layers() {
    // mpc-msri/EzPC defines TRAINING: both cross terms even for inference.
    let graph = grouped_conv(1);
    let fork = class(&profile(&graph, &load("cryptflow2")), &["conv2d"]).0;
    let upstream_model = cost::load_framework("cryptflow2", &[("training".into(), 1.0)]).unwrap();
    let upstream = class(&profile(&graph, &upstream_model), &["conv2d"]).0;
    let ratio = upstream / fork;
    assert!(ratio > 1.8 && ratio < 2.1, "{ratio}");
}

#[test]
fn unsupported_ops_are_errors_not_zero() {
    let lenet = zoo::build("lenet5", &ZooOptions::default())
        .unwrap()
        .unwrap();
    let model = load("delphi");
    let g = lenet.with_parameter_visibility(model.framework.default_weights);
    let err = Profile::new(&g, &model).unwrap_err().to_string();
    assert_eq!(
        err,
        "cost_models/delphi.toml: unsupported.max_pool2d: Delphi's implementation has no max \
         pooling, its non-linear layers being ReLU and polynomials only; replace it with average \
         pooling or use --framework cheetah"
    );

    let mut b = ModelBuilder::new("softmax");
    let x = b.input("x", vec![2, 10]).unwrap();
    let y = b
        .op(hawkeye_mpc::graph::Op::Softmax { axis: -1 }, &[x])
        .unwrap();
    let graph = b.finish(vec![y]);
    for (name, start) in [
        (
            "cheetah",
            "cost_models/cheetah.toml: unsupported.softmax: OpenCheetah's implementation has no softmax,",
        ),
        (
            "delphi",
            "cost_models/delphi.toml: unsupported.softmax: Delphi's implementation has no softmax,",
        ),
    ] {
        let err = Profile::new(&graph, &load(name)).unwrap_err().to_string();
        assert!(err.starts_with(start), "{name}: {err}");
    }
    for name in ["cryptflow2", "aby", "aby3", "spdz2k", "falcon", "secureml"] {
        assert!(Profile::new(&graph, &load(name)).is_ok(), "{name}");
    }

    // What SCI's fixed-point math has no function for is refused in words.
    let mut b = ModelBuilder::new("log");
    let x = b.input("x", vec![2, 10]).unwrap();
    let y = b.op(hawkeye_mpc::graph::Op::Log, &[x]).unwrap();
    let err = Profile::new(&b.finish(vec![y]), &load("cryptflow2"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "cost_models/cryptflow2.toml: unsupported.log: CrypTFlow2's SCI library has no \
         logarithm (its fixed-point math covers exp, sigmoid, tanh, division and square roots \
         only); use --framework spu-semi2k or crypten"
    );
}

/// A gather of 3 rows of a secret 16 x 4 table at secret indices under ABY3, by the closed
/// forms of MP-SPDZ's oblivious read (oram.LinearORAM._read): one bit decomposition per index
/// (costed as an LTZ, 9*ell bits, log2(ell) + 2 rounds), the demux of the 4 index bits (two
/// 2-bit demuxes of 4 products each, in parallel, then 16 products: 24 a row, 2 rounds), and
/// the one-hot (3 x 16) times table (16 x 4) product (3*ell*p*r bits, 1 round).
#[test]
fn aby3_gather_at_secret_indices_is_mpspdz_oblivious_read() {
    let mut b = ModelBuilder::new("gather");
    let table = b.input("table", vec![16, 4]).unwrap();
    let idx = b.int_input("idx", vec![3]).unwrap();
    let y = b
        .op(hawkeye_mpc::graph::Op::Gather { axis: 0 }, &[table, idx])
        .unwrap();
    let graph = b.finish(vec![y]);
    let p = profile(&graph, &load("aby3"));
    let ell = 64.0;
    let (rows, dim) = (3.0, 4.0);
    let bits = 9.0 * ell * rows + 3.0 * ell * rows * 24.0 + 3.0 * ell * rows * dim;
    assert_eq!(p.total.online_bits, bits);
    assert_eq!(p.total.online_rounds, (ell.log2() + 2.0) + 2.0 + 1.0);
}

/// BERT-base, BERT-tiny, GPT-2 small and ViT-B/16 get figures under every framework whose
/// real system runs them; OpenCheetah and Delphi refuse them with their `[unsupported]`
/// sentences only, every other framework costs them.
#[test]
fn transformers_run_where_the_real_system_runs_them() {
    let options = ZooOptions {
        seq_len: Some(16),
        ..ZooOptions::default()
    };
    for zoo_name in ["bert-base", "bert-tiny", "gpt2-small", "vit-b16"] {
        let graph = zoo::build(zoo_name, &options).unwrap().unwrap();
        let mut costed = Vec::new();
        for model in cost::builtin_frameworks().unwrap() {
            let g = graph.with_parameter_visibility(model.framework.default_weights);
            match Profile::new(&g, &model) {
                Ok(p) => {
                    assert!(p.total.online_bits > 0.0, "{zoo_name}");
                    costed.push(model.framework.name.clone());
                }
                Err(e) if ["cheetah", "delphi"].contains(&model.framework.name.as_str()) => {
                    let e = e.to_string();
                    assert!(
                        e.lines().all(|l| l.contains(": unsupported.")),
                        "{zoo_name}: {e}"
                    );
                }
                Err(e) => panic!("{zoo_name} under {}: {e}", model.framework.name),
            }
        }
        assert_eq!(
            costed,
            [
                "spu-semi2k",
                "spu-aby3",
                "spu-cheetah",
                "cryptflow2",
                "aby",
                "aby3",
                "spdz2k",
                "falcon",
                "secureml",
                "crypten"
            ],
            "{zoo_name}"
        );
    }
}

/// `y = OP(x)` for a secret `x` of 100 values.
fn unary(op: hawkeye_mpc::graph::Op) -> Graph {
    use hawkeye_mpc::graph::{ElemKind, Op, ValueInfo, Visibility};
    let mut g = Graph::new("unary");
    let x = g
        .add_source(
            "x",
            "",
            Op::Input,
            ValueInfo::new(vec![1, 100], ElemKind::Real, Visibility::Secret),
        )
        .unwrap();
    let y = g.add("y", "y", op, &[x]).unwrap();
    g.set_outputs(vec![y]);
    g
}

/// MP-SPDZ's `x ** e` (Compiler/types.py `_number.__pow__`): a whole `e >= 0` by
/// square-and-multiply, any other `e` by `mpc_math.pow_fx`, exp2(e log2 x), which the cost
/// models write as a log, a public scaling and exp2, the same steps as `log` then `exp`. A
/// negative exponent comes from the gradient of a division, so BERT's training step needs it.
#[test]
fn mpspdz_powers_follow_square_and_multiply_or_pow_fx() {
    use hawkeye_mpc::graph::Op;
    let bits = |g: &Graph, model: &CostModel| profile(g, model).total.online_bits;
    let pow = |e: f64| unary(Op::Pow { exponent: e });
    for name in ["aby", "aby3", "spdz2k", "falcon", "secureml"] {
        let m = load(name);
        let square = bits(&pow(2.0), &m);
        assert!(square > 0.0, "{name}");
        assert_eq!(bits(&pow(0.0), &m), 0.0, "{name}");
        assert_eq!(bits(&pow(1.0), &m), 0.0, "{name}");
        // 3 = 0b11: one squaring and one product; 8 = 0b1000: three squarings
        assert_eq!(bits(&pow(3.0), &m), 2.0 * square, "{name}");
        assert_eq!(bits(&pow(8.0), &m), 3.0 * square, "{name}");
        let log_then_exp = bits(&unary(Op::Log), &m) + bits(&unary(Op::Exp), &m);
        assert_eq!(bits(&pow(-2.0), &m), log_then_exp, "{name}");
        assert_eq!(bits(&pow(0.5), &m), log_then_exp, "{name}");
        let bert = zoo::build(
            "bert-tiny",
            &ZooOptions {
                seq_len: Some(16),
                ..ZooOptions::DEFAULT
            },
        )
        .unwrap()
        .unwrap();
        let options = hawkeye_mpc::autograd::TrainOptions {
            training: hawkeye_mpc::autograd::Training::of(&m),
            ..Default::default()
        };
        let step = hawkeye_mpc::autograd::train_step(&bert, &options)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bits(&step, &m) > 0.0, "{name}");
    }
}

/// A form of an op a cost model does not lower is an error naming the node and its
/// attributes, not only the cost model's entry.
#[test]
fn an_uncovered_form_names_its_node() {
    let err = Profile::new(
        &unary(hawkeye_mpc::graph::Op::Pow { exponent: 0.5 }),
        &load("cryptflow2"),
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "cost_models/cryptflow2.toml: ops.pow.s[0]: repeat must be a whole number >= 0, got -1 (first at node 'y': {\"op\":\"pow\",\"exponent\":0.5}): this cost model does not cover that form of the op; `hawkeye compare MODEL` shows the frameworks that do"
    );
}
