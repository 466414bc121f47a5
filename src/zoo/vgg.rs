//! Plain convolutional stacks: torchvision's AlexNet and VGG-16, and the CIFAR-10 VGG-16 of
//! the MPC training benchmarks.
//!
//! All three are `features` / `classifier` `nn.Sequential`s, so module paths are indices
//! (`features.0`, `classifier.6`) exactly as in PyTorch.

use super::{BuildResult, Conv, Layer, ModelBuilder, ZooOptions};
use crate::graph::Graph;

/// Conv widths of VGG-16 (configuration "D"), `None` marking a 2x2 max pool.
const VGG16_WIDTHS: [Option<usize>; 18] = [
    Some(64),
    Some(64),
    None,
    Some(128),
    Some(128),
    None,
    Some(256),
    Some(256),
    Some(256),
    None,
    Some(512),
    Some(512),
    Some(512),
    None,
    Some(512),
    Some(512),
    Some(512),
    None,
];

/// The VGG-16 feature extractor: 3x3 convs (padding 1, with bias), each followed by a
/// batchnorm when `batchnorm` is set and a ReLU; 2x2 max pools between the stages.
fn vgg16_features(batchnorm: bool) -> Vec<Layer> {
    let mut layers = Vec::new();
    for width in VGG16_WIDTHS {
        match width {
            Some(w) => {
                layers.push(Layer::Conv(Conv::new(w, 3).padding(1)));
                if batchnorm {
                    layers.push(Layer::BatchNorm);
                }
                layers.push(Layer::Relu);
            }
            None => layers.push(Layer::MaxPool {
                kernel: 2,
                stride: 2,
                padding: 0,
            }),
        }
    }
    layers
}

/// torchvision `alexnet` (the one-GPU variant of Krizhevsky et al. 2014, 61,100,840
/// parameters at 1000 classes).
pub fn alexnet(o: &ZooOptions) -> BuildResult<Graph> {
    let mut b = ModelBuilder::new("alexnet");
    let r = o.resolution.unwrap_or(224);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let pool = Layer::MaxPool {
        kernel: 3,
        stride: 2,
        padding: 0,
    };
    let x = b.sequential(
        "features",
        x,
        &[
            Layer::Conv(Conv::new(64, 11).stride(4).padding(2)),
            Layer::Relu,
            pool,
            Layer::Conv(Conv::new(192, 5).padding(2)),
            Layer::Relu,
            pool,
            Layer::Conv(Conv::new(384, 3).padding(1)),
            Layer::Relu,
            Layer::Conv(Conv::new(256, 3).padding(1)),
            Layer::Relu,
            Layer::Conv(Conv::new(256, 3).padding(1)),
            Layer::Relu,
            pool,
        ],
    )?;
    let x = b.scope("avgpool", |b| b.adaptive_avg_pool(x, 6))?;
    let x = b.flatten(x)?;
    let y = b.sequential(
        "classifier",
        x,
        &[
            Layer::Dropout(0.5),
            Layer::Linear(4096),
            Layer::Relu,
            Layer::Dropout(0.5),
            Layer::Linear(4096),
            Layer::Relu,
            Layer::Linear(o.classes.unwrap_or(1000)),
        ],
    )?;
    Ok(b.finish(vec![y]))
}

/// torchvision `vgg16` (no batchnorm, ImageNet classifier 25088-4096-4096-1000).
pub fn vgg16(o: &ZooOptions) -> BuildResult<Graph> {
    let mut b = ModelBuilder::new("vgg16");
    let r = o.resolution.unwrap_or(224);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let x = b.sequential("features", x, &vgg16_features(false))?;
    let x = b.scope("avgpool", |b| b.adaptive_avg_pool(x, 7))?;
    let x = b.flatten(x)?;
    let y = b.sequential(
        "classifier",
        x,
        &[
            Layer::Linear(4096),
            Layer::Relu,
            Layer::Dropout(0.5),
            Layer::Linear(4096),
            Layer::Relu,
            Layer::Dropout(0.5),
            Layer::Linear(o.classes.unwrap_or(1000)),
        ],
    )?;
    Ok(b.finish(vec![y]))
}

/// VGG-16 for CIFAR-10 as in kuangliu/pytorch-cifar and HawkEye's SEMI2K training benchmark:
/// the 13 convs of VGG-16 each followed by batchnorm and ReLU, then a single linear layer
/// 512 -> classes. Modules as torchvision's `vgg16_bn` features (`features.0` conv,
/// `features.1` batchnorm, ...) and `classifier`. pytorch-cifar's trailing 1x1 average pool
/// with stride 1 is the identity and is left out.
pub fn vgg16_cifar(o: &ZooOptions) -> BuildResult<Graph> {
    let mut b = ModelBuilder::new("vgg16-cifar");
    let r = o.resolution.unwrap_or(32);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let x = b.sequential("features", x, &vgg16_features(true))?;
    let x = b.flatten(x)?;
    let y = b.linear("classifier", x, o.classes.unwrap_or(10), true)?;
    Ok(b.finish(vec![y]))
}
