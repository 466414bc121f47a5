//! Networks for mobile inference, as in torchvision: MobileNetV2, MobileNetV3-Small and
//! ShuffleNetV2 x1.0. All three are built from depthwise convs (`groups == channels`).
//!
//! Module paths as torchvision (`features.3.conv.1.0`, `features.4.block.2.fc1`,
//! `stage2.0.branch2.3`). ReLU6, hard sigmoid and hard swish are not IR ops; the builder
//! writes them with ReLU, a minimum against 6 and public scalings (see
//! [`ModelBuilder::hardswish`]).

use super::{BuildResult, Conv, ModelBuilder, ZooOptions};
use crate::graph::{Graph, NodeId, Op};

/// The activation of a conv block.
#[derive(Debug, Clone, Copy)]
enum Activation {
    Relu,
    Relu6,
    Hardswish,
}

impl Activation {
    fn apply(self, b: &mut ModelBuilder, x: NodeId) -> BuildResult {
        match self {
            Activation::Relu => b.relu(x),
            Activation::Relu6 => b.relu6(x),
            Activation::Hardswish => b.hardswish(x),
        }
    }
}

/// torchvision's `Conv2dNormActivation` as submodule `name`: `conv` without bias and padded
/// by `(kernel - 1) / 2` as `name.0`, batchnorm as `name.1`, the activation (if any) as
/// `name.2` (none for the linear bottleneck projections).
fn conv_norm_act(
    b: &mut ModelBuilder,
    name: &str,
    x: NodeId,
    conv: Conv,
    bn_eps: f64,
    act: Option<Activation>,
) -> BuildResult {
    b.scope(name, |b| {
        let conv = conv.padding((conv.kernel - 1) / 2).no_bias();
        let x = b.conv2d("0", x, conv)?;
        let x = b.batchnorm_eps("1", x, bn_eps)?;
        match act {
            Some(act) => b.scope("2", |b| act.apply(b, x)),
            None => Ok(x),
        }
    })
}

/// torchvision's `_make_divisible(v, 8)`: `v` rounded to the nearest multiple of 8, at least 8
/// and not below 90% of `v`.
fn make_divisible_by_8(v: usize) -> usize {
    let rounded = ((v + 4) / 8 * 8).max(8);
    if 10 * rounded < 9 * v {
        rounded + 8
    } else {
        rounded
    }
}

/// Names the submodules of an `nn.Sequential` whose layers are optional: "0", "1", ...
#[derive(Default)]
struct SequentialNames(usize);

impl SequentialNames {
    fn next(&mut self) -> String {
        self.0 += 1;
        (self.0 - 1).to_string()
    }
}

/// Batchnorm eps of MobileNetV2 and ShuffleNetV2 (PyTorch's default).
const DEFAULT_BN_EPS: f64 = 1e-5;
/// Batchnorm eps of MobileNetV3.
const MOBILENETV3_BN_EPS: f64 = 1e-3;

/// A MobileNetV2 inverted residual as the current module: 1x1 expansion (unless the expansion
/// ratio is 1), 3x3 depthwise conv, linear 1x1 projection, all under `conv`; a residual
/// connection when the shape is kept.
fn mobilenetv2_block(
    b: &mut ModelBuilder,
    x: NodeId,
    out: usize,
    stride: usize,
    expand_ratio: usize,
) -> BuildResult {
    let cin = b.shape(x)[1];
    let hidden = cin * expand_ratio;
    let relu6 = Some(Activation::Relu6);
    let y = b.scope("conv", |b| {
        let mut names = SequentialNames::default();
        let mut y = x;
        if expand_ratio != 1 {
            let expand = Conv::new(hidden, 1);
            y = conv_norm_act(b, &names.next(), y, expand, DEFAULT_BN_EPS, relu6)?;
        }
        let depthwise = Conv::new(hidden, 3).stride(stride).groups(hidden);
        y = conv_norm_act(b, &names.next(), y, depthwise, DEFAULT_BN_EPS, relu6)?;
        y = b.conv2d(&names.next(), y, Conv::new(out, 1).no_bias())?;
        b.batchnorm(&names.next(), y)
    })?;
    if stride == 1 && cin == out {
        b.add(x, y)
    } else {
        Ok(y)
    }
}

/// torchvision `mobilenet_v2` (width 1.0).
pub fn mobilenetv2(o: &ZooOptions) -> BuildResult<Graph> {
    // (expansion ratio, output channels, repeats, stride of the first repeat)
    const STAGES: [(usize, usize, usize, usize); 7] = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut b = ModelBuilder::new("mobilenetv2");
    let r = o.resolution.unwrap_or(224);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let relu6 = Some(Activation::Relu6);
    let x = b.scope("features", |b| {
        let mut names = SequentialNames::default();
        let stem = Conv::new(32, 3).stride(2);
        let mut x = conv_norm_act(b, &names.next(), x, stem, DEFAULT_BN_EPS, relu6)?;
        for (t, c, n, s) in STAGES {
            for i in 0..n {
                let stride = if i == 0 { s } else { 1 };
                x = b.scope(&names.next(), |b| mobilenetv2_block(b, x, c, stride, t))?;
            }
        }
        let last = Conv::new(1280, 1);
        conv_norm_act(b, &names.next(), x, last, DEFAULT_BN_EPS, relu6)
    })?;
    let x = b.adaptive_avg_pool(x, 1)?;
    let x = b.flatten(x)?;
    let y = b.scope("classifier", |b| {
        let x = b.dropout("0", x, 0.2)?;
        b.linear("1", x, o.classes.unwrap_or(1000), true)
    })?;
    Ok(b.finish(vec![y]))
}

/// One MobileNetV3 bottleneck (torchvision's `InvertedResidualConfig`).
#[derive(Debug, Clone, Copy)]
struct Bneck {
    kernel: usize,
    expanded: usize,
    out: usize,
    squeeze_excite: bool,
    act: Activation,
    stride: usize,
}

/// torchvision's `SqueezeExcitation` as the current module: `x * hardsigmoid(fc2(relu(fc1(
/// avgpool(x)))))`, the 1x1 convs `fc1` / `fc2` squeezing to a quarter of the channels
/// (rounded to a multiple of 8).
fn squeeze_excitation(b: &mut ModelBuilder, x: NodeId) -> BuildResult {
    let c = b.shape(x)[1];
    let squeezed = make_divisible_by_8(c / 4);
    let s = b.scope("avgpool", |b| b.adaptive_avg_pool(x, 1))?;
    let s = b.conv2d("fc1", s, Conv::new(squeezed, 1))?;
    let s = b.scope("activation", |b| b.relu(s))?;
    let s = b.conv2d("fc2", s, Conv::new(c, 1))?;
    let s = b.scope("scale_activation", |b| b.hardsigmoid(s))?;
    b.mul(s, x)
}

/// A MobileNetV3 inverted residual as the current module: the layers under `block`, then a
/// residual connection when the shape is kept.
fn mobilenetv3_block(b: &mut ModelBuilder, x: NodeId, cfg: Bneck) -> BuildResult {
    let cin = b.shape(x)[1];
    let eps = MOBILENETV3_BN_EPS;
    let act = Some(cfg.act);
    let y = b.scope("block", |b| {
        let mut names = SequentialNames::default();
        let mut y = x;
        if cfg.expanded != cin {
            let expand = Conv::new(cfg.expanded, 1);
            y = conv_norm_act(b, &names.next(), y, expand, eps, act)?;
        }
        let depthwise = Conv::new(cfg.expanded, cfg.kernel)
            .stride(cfg.stride)
            .groups(cfg.expanded);
        y = conv_norm_act(b, &names.next(), y, depthwise, eps, act)?;
        if cfg.squeeze_excite {
            y = b.scope(&names.next(), |b| squeeze_excitation(b, y))?;
        }
        let project = Conv::new(cfg.out, 1);
        conv_norm_act(b, &names.next(), y, project, eps, None)
    })?;
    if cfg.stride == 1 && cin == cfg.out {
        b.add(y, x)
    } else {
        Ok(y)
    }
}

/// torchvision `mobilenet_v3_small`.
pub fn mobilenetv3_small(o: &ZooOptions) -> BuildResult<Graph> {
    use Activation::{Hardswish as HS, Relu as RE};
    let bneck = |kernel, expanded, out, squeeze_excite, act, stride| Bneck {
        kernel,
        expanded,
        out,
        squeeze_excite,
        act,
        stride,
    };
    let blocks = [
        bneck(3, 16, 16, true, RE, 2),
        bneck(3, 72, 24, false, RE, 2),
        bneck(3, 88, 24, false, RE, 1),
        bneck(5, 96, 40, true, HS, 2),
        bneck(5, 240, 40, true, HS, 1),
        bneck(5, 240, 40, true, HS, 1),
        bneck(5, 120, 48, true, HS, 1),
        bneck(5, 144, 48, true, HS, 1),
        bneck(5, 288, 96, true, HS, 2),
        bneck(5, 576, 96, true, HS, 1),
        bneck(5, 576, 96, true, HS, 1),
    ];
    let mut b = ModelBuilder::new("mobilenetv3-small");
    let r = o.resolution.unwrap_or(224);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let eps = MOBILENETV3_BN_EPS;
    let x = b.scope("features", |b| {
        let mut x = conv_norm_act(b, "0", x, Conv::new(16, 3).stride(2), eps, Some(HS))?;
        for (i, cfg) in blocks.iter().enumerate() {
            x = b.scope(&(i + 1).to_string(), |b| mobilenetv3_block(b, x, *cfg))?;
        }
        let last = &(blocks.len() + 1).to_string();
        conv_norm_act(b, last, x, Conv::new(576, 1), eps, Some(HS))
    })?;
    let x = b.scope("avgpool", |b| b.adaptive_avg_pool(x, 1))?;
    let x = b.flatten(x)?;
    let y = b.scope("classifier", |b| {
        let x = b.linear("0", x, 1024, true)?;
        let x = b.scope("1", |b| b.hardswish(x))?;
        let x = b.dropout("2", x, 0.2)?;
        b.linear("3", x, o.classes.unwrap_or(1000), true)
    })?;
    Ok(b.finish(vec![y]))
}

/// Depthwise 3x3 conv (no bias) and batchnorm as submodules `first` and `first + 1` of the
/// current module (a flat `nn.Sequential`).
fn depthwise_bn(b: &mut ModelBuilder, first: usize, x: NodeId, stride: usize) -> BuildResult {
    let c = b.shape(x)[1];
    let conv = Conv::new(c, 3)
        .stride(stride)
        .padding(1)
        .groups(c)
        .no_bias();
    let x = b.conv2d(&first.to_string(), x, conv)?;
    b.batchnorm(&(first + 1).to_string(), x)
}

/// Pointwise conv (no bias), batchnorm and ReLU as submodules `first`, `first + 1` and
/// `first + 2` of the current module (a flat `nn.Sequential`).
fn pointwise_bn_relu(b: &mut ModelBuilder, first: usize, x: NodeId, out: usize) -> BuildResult {
    let x = b.conv2d(&first.to_string(), x, Conv::new(out, 1).no_bias())?;
    let x = b.batchnorm(&(first + 1).to_string(), x)?;
    b.scope(&(first + 2).to_string(), |b| b.relu(x))
}

/// ShuffleNetV2's `channel_shuffle(x, 2)`: view the channels as 2 groups, swap the group and
/// channel dims, flatten back.
fn channel_shuffle(b: &mut ModelBuilder, x: NodeId) -> BuildResult {
    let s = b.shape(x);
    let (n, c, h, w) = (s[0] as i64, s[1] as i64, s[2] as i64, s[3] as i64);
    let x = b.reshape(x, &[n, 2, c / 2, h, w])?;
    let x = b.transpose(x, &[0, 2, 1, 3, 4])?;
    b.reshape(x, &[n, c, h, w])
}

/// A ShuffleNetV2 unit as the current module. Stride 1: split the channels in two, transform
/// the second half (`branch2`), concatenate. Stride 2: both branches (`branch1`, `branch2`)
/// read the whole input and halve the resolution. Then shuffle the channels.
fn shufflenet_unit(b: &mut ModelBuilder, x: NodeId, out: usize, stride: usize) -> BuildResult {
    let branch_features = out / 2;
    let branch2 = |b: &mut ModelBuilder, x: NodeId| {
        b.scope("branch2", |b| {
            let x = pointwise_bn_relu(b, 0, x, branch_features)?;
            let x = depthwise_bn(b, 3, x, stride)?;
            pointwise_bn_relu(b, 5, x, branch_features)
        })
    };
    let y = if stride == 1 {
        let c = b.shape(x)[1] as i64;
        let kept = b.slice(x, 1, 0, c / 2)?;
        let transformed = b.slice(x, 1, c / 2, c)?;
        let transformed = branch2(b, transformed)?;
        b.concat(&[kept, transformed], 1)?
    } else {
        let left = b.scope("branch1", |b| {
            let x = depthwise_bn(b, 0, x, stride)?;
            pointwise_bn_relu(b, 2, x, branch_features)
        })?;
        let right = branch2(b, x)?;
        b.concat(&[left, right], 1)?
    };
    channel_shuffle(b, y)
}

/// torchvision `shufflenet_v2_x1_0`.
pub fn shufflenetv2(o: &ZooOptions) -> BuildResult<Graph> {
    let mut b = ModelBuilder::new("shufflenetv2");
    let r = o.resolution.unwrap_or(224);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let stem = Conv::new(24, 3).stride(2);
    let relu = Some(Activation::Relu);
    let x = conv_norm_act(&mut b, "conv1", x, stem, DEFAULT_BN_EPS, relu)?;
    let mut x = b.scope("maxpool", |b| b.max_pool(x, 3, 2, 1))?;
    for (stage, (repeats, out)) in [(4, 116), (8, 232), (4, 464)].into_iter().enumerate() {
        x = b.scope(&format!("stage{}", stage + 2), |b| {
            (0..repeats).try_fold(x, |x, i| {
                let stride = if i == 0 { 2 } else { 1 };
                b.scope(&i.to_string(), |b| shufflenet_unit(b, x, out, stride))
            })
        })?;
    }
    let head = Conv::new(1024, 1);
    let x = conv_norm_act(&mut b, "conv5", x, head, DEFAULT_BN_EPS, relu)?;
    // x.mean([2, 3])
    let x = b.op(
        Op::ReduceMean {
            axes: vec![2, 3],
            keepdims: false,
        },
        &[x],
    )?;
    let y = b.linear("fc", x, o.classes.unwrap_or(1000), true)?;
    Ok(b.finish(vec![y]))
}
