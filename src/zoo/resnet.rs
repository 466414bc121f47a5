//! Residual networks: torchvision's ImageNet ResNet-18 and ResNet-50, and the CIFAR-10
//! ResNet-32 of He et al. 2016.
//!
//! Module paths follow torchvision (`conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.downsample.0`,
//! `fc`) and, for ResNet-32, the common PyTorch CIFAR implementation (akamaster/
//! pytorch_resnet_cifar10: `layer2.0.shortcut`, `linear`).

use super::{BuildResult, Conv, ModelBuilder, ZooOptions};
use crate::graph::{ConstValue, Graph, NodeId, Op};

/// The residual block of a ResNet.
#[derive(Debug, Clone, Copy)]
enum Block {
    /// Two 3x3 convs (ResNet-18/34, CIFAR ResNets).
    Basic,
    /// 1x1 reduce, 3x3 (strided, torchvision's "ResNet v1.5"), 1x1 expand to 4x the width.
    Bottleneck,
}

impl Block {
    /// Output channels per unit of block width.
    fn expansion(self) -> usize {
        match self {
            Block::Basic => 1,
            Block::Bottleneck => 4,
        }
    }
}

/// Which reference implementation a block follows; they differ in the shortcut used where
/// the block changes the shape, and in whether the ReLU is a module.
#[derive(Debug, Clone, Copy)]
enum Flavor {
    /// torchvision: option-B shortcut (strided 1x1 conv and batchnorm, submodule
    /// `downsample`); ReLU module `relu`.
    Torchvision,
    /// He et al.'s CIFAR networks as written in akamaster/pytorch_resnet_cifar10: option-A
    /// shortcut (parameter-free: subsample by taking every other pixel, zero-pad the new
    /// channels; submodule `shortcut`); functional ReLU.
    Cifar,
}

/// One residual block as the current module: `relu(body(x) + shortcut(x))`.
fn residual_block(
    b: &mut ModelBuilder,
    x: NodeId,
    block: Block,
    flavor: Flavor,
    width: usize,
    stride: usize,
) -> BuildResult {
    let cin = b.shape(x)[1];
    let cout = width * block.expansion();
    let relu = |b: &mut ModelBuilder, y: NodeId| match flavor {
        Flavor::Torchvision => b.scope("relu", |b| b.relu(y)),
        Flavor::Cifar => b.relu(y),
    };
    let conv3x3 = |out: usize, stride: usize| Conv::new(out, 3).stride(stride).padding(1).no_bias();
    let body = match block {
        Block::Basic => {
            let y = b.conv2d("conv1", x, conv3x3(width, stride))?;
            let y = b.batchnorm("bn1", y)?;
            let y = relu(b, y)?;
            let y = b.conv2d("conv2", y, conv3x3(width, 1))?;
            b.batchnorm("bn2", y)?
        }
        Block::Bottleneck => {
            let y = b.conv2d("conv1", x, Conv::new(width, 1).no_bias())?;
            let y = b.batchnorm("bn1", y)?;
            let y = relu(b, y)?;
            let y = b.conv2d("conv2", y, conv3x3(width, stride))?;
            let y = b.batchnorm("bn2", y)?;
            let y = relu(b, y)?;
            let y = b.conv2d("conv3", y, Conv::new(cout, 1).no_bias())?;
            b.batchnorm("bn3", y)?
        }
    };
    let identity = if stride == 1 && cin == cout {
        x
    } else {
        match flavor {
            Flavor::Torchvision => b.scope("downsample", |b| {
                let s = b.conv2d("0", x, Conv::new(cout, 1).stride(stride).no_bias())?;
                b.batchnorm("1", s)
            })?,
            Flavor::Cifar => b.scope("shortcut", |b| zero_pad_shortcut(b, x, cout, stride))?,
        }
    };
    let y = b.add(body, identity)?;
    relu(b, y)
}

/// `F.pad(x[:, :, ::stride, ::stride], channels (pad, pad))` with zeros, `pad` on each side
/// making up `cout` channels.
fn zero_pad_shortcut(b: &mut ModelBuilder, x: NodeId, cout: usize, stride: usize) -> BuildResult {
    let mut y = x;
    for axis in [2, 3] {
        y = b.op(
            Op::Slice {
                axis,
                start: 0,
                end: i64::MAX,
                step: stride as i64,
            },
            &[y],
        )?;
    }
    let mut pad_shape = b.shape(y);
    pad_shape[1] = (cout - pad_shape[1]) / 2;
    let before = b.constant("zeros", ConstValue::Fill(0.0), pad_shape.clone())?;
    let after = b.constant("zeros", ConstValue::Fill(0.0), pad_shape)?;
    b.concat(&[before, y, after], 1)
}

/// torchvision's ImageNet ResNet with the given block and blocks per stage.
fn imagenet_resnet(
    name: &str,
    block: Block,
    blocks: [usize; 4],
    o: &ZooOptions,
) -> BuildResult<Graph> {
    let mut b = ModelBuilder::new(name);
    let r = o.resolution.unwrap_or(224);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let x = b.conv2d("conv1", x, Conv::new(64, 7).stride(2).padding(3).no_bias())?;
    let x = b.batchnorm("bn1", x)?;
    let x = b.scope("relu", |b| b.relu(x))?;
    let mut x = b.scope("maxpool", |b| b.max_pool(x, 3, 2, 1))?;
    for (stage, (count, width)) in blocks.into_iter().zip([64, 128, 256, 512]).enumerate() {
        let first_stride = if stage == 0 { 1 } else { 2 };
        x = b.scope(&format!("layer{}", stage + 1), |b| {
            (0..count).try_fold(x, |x, i| {
                let stride = if i == 0 { first_stride } else { 1 };
                b.scope(&i.to_string(), |b| {
                    residual_block(b, x, block, Flavor::Torchvision, width, stride)
                })
            })
        })?;
    }
    let x = b.scope("avgpool", |b| b.adaptive_avg_pool(x, 1))?;
    let x = b.flatten(x)?;
    let y = b.linear("fc", x, o.classes.unwrap_or(1000), true)?;
    Ok(b.finish(vec![y]))
}

/// torchvision `resnet18`.
pub fn resnet18(o: &ZooOptions) -> BuildResult<Graph> {
    imagenet_resnet("resnet18", Block::Basic, [2, 2, 2, 2], o)
}

/// torchvision `resnet50` (v1.5: the stride is on the 3x3 conv of the bottleneck).
pub fn resnet50(o: &ZooOptions) -> BuildResult<Graph> {
    imagenet_resnet("resnet50", Block::Bottleneck, [3, 4, 6, 3], o)
}

/// ResNet-32 for CIFAR-10 (He et al. 2016, §4.2): a 3x3 conv to 16 channels, three stages of
/// five basic blocks at 16, 32 and 64 channels (the first block of stages 2 and 3 strided),
/// global average pooling and a linear classifier. Convs have no bias and are followed by
/// batchnorm; shortcuts are option A (identity, with zero-padded channels where the shape
/// changes), as in the paper's CIFAR experiments.
pub fn resnet32(o: &ZooOptions) -> BuildResult<Graph> {
    let mut b = ModelBuilder::new("resnet32");
    let r = o.resolution.unwrap_or(32);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let x = b.conv2d("conv1", x, Conv::new(16, 3).padding(1).no_bias())?;
    let x = b.batchnorm("bn1", x)?;
    let mut x = b.relu(x)?;
    for (stage, width) in [16, 32, 64].into_iter().enumerate() {
        let first_stride = if stage == 0 { 1 } else { 2 };
        x = b.scope(&format!("layer{}", stage + 1), |b| {
            (0..5).try_fold(x, |x, i| {
                let stride = if i == 0 { first_stride } else { 1 };
                b.scope(&i.to_string(), |b| {
                    residual_block(b, x, Block::Basic, Flavor::Cifar, width, stride)
                })
            })
        })?;
    }
    let x = b.op(Op::GlobalAvgPool, &[x])?;
    let x = b.flatten(x)?;
    let y = b.linear("linear", x, o.classes.unwrap_or(10), true)?;
    Ok(b.finish(vec![y]))
}
