//! torchvision's DenseNet-121 (Huang et al. 2017): dense blocks in which every layer reads the
//! concatenation of all earlier feature maps, joined by transitions that halve the channels
//! and the resolution.
//!
//! Module paths as torchvision: `features.conv0`, `features.denseblock1.denselayer1.conv1`
//! (layers count from 1), `features.transition1.conv`, `features.norm5`, `classifier`.

use super::{BuildResult, Conv, ModelBuilder, ZooOptions};
use crate::graph::{Graph, NodeId};

/// Channels each dense layer adds.
const GROWTH_RATE: usize = 32;
/// Width of a dense layer's 1x1 bottleneck, in multiples of the growth rate.
const BOTTLENECK_SIZE: usize = 4;

/// One dense layer as the current module: batchnorm, ReLU, 1x1 conv to the bottleneck width,
/// batchnorm, ReLU, 3x3 conv to `GROWTH_RATE` channels, over the concatenation of `inputs`.
fn dense_layer(b: &mut ModelBuilder, inputs: &[NodeId]) -> BuildResult {
    let x = match inputs {
        [single] => *single,
        _ => b.concat(inputs, 1)?,
    };
    let x = b.batchnorm("norm1", x)?;
    let x = b.scope("relu1", |b| b.relu(x))?;
    let x = b.conv2d(
        "conv1",
        x,
        Conv::new(BOTTLENECK_SIZE * GROWTH_RATE, 1).no_bias(),
    )?;
    let x = b.batchnorm("norm2", x)?;
    let x = b.scope("relu2", |b| b.relu(x))?;
    b.conv2d("conv2", x, Conv::new(GROWTH_RATE, 3).padding(1).no_bias())
}

/// A dense block of `layers` layers as the current module; returns the concatenation of its
/// input and every layer's output.
fn dense_block(b: &mut ModelBuilder, x: NodeId, layers: usize) -> BuildResult {
    let mut features = vec![x];
    for i in 1..=layers {
        let y = b.scope(&format!("denselayer{i}"), |b| dense_layer(b, &features))?;
        features.push(y);
    }
    b.concat(&features, 1)
}

/// A transition as the current module: batchnorm, ReLU, 1x1 conv halving the channels, 2x2
/// average pool.
fn transition(b: &mut ModelBuilder, x: NodeId) -> BuildResult {
    let half = b.shape(x)[1] / 2;
    let x = b.batchnorm("norm", x)?;
    let x = b.scope("relu", |b| b.relu(x))?;
    let x = b.conv2d("conv", x, Conv::new(half, 1).no_bias())?;
    b.scope("pool", |b| b.avg_pool(x, 2, 2))
}

/// torchvision `densenet121`: growth rate 32, blocks of 6, 12, 24 and 16 layers.
pub fn densenet121(o: &ZooOptions) -> BuildResult<Graph> {
    let mut b = ModelBuilder::new("densenet121");
    let r = o.resolution.unwrap_or(224);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let x = b.scope("features", |b| {
        let x = b.conv2d("conv0", x, Conv::new(64, 7).stride(2).padding(3).no_bias())?;
        let x = b.batchnorm("norm0", x)?;
        let x = b.scope("relu0", |b| b.relu(x))?;
        let mut x = b.scope("pool0", |b| b.max_pool(x, 3, 2, 1))?;
        let block_layers = [6, 12, 24, 16];
        for (i, &layers) in block_layers.iter().enumerate() {
            x = b.scope(&format!("denseblock{}", i + 1), |b| {
                dense_block(b, x, layers)
            })?;
            if i + 1 < block_layers.len() {
                x = b.scope(&format!("transition{}", i + 1), |b| transition(b, x))?;
            }
        }
        b.batchnorm("norm5", x)
    })?;
    let x = b.relu(x)?;
    let x = b.adaptive_avg_pool(x, 1)?;
    let x = b.flatten(x)?;
    let y = b.linear("classifier", x, o.classes.unwrap_or(1000), true)?;
    Ok(b.finish(vec![y]))
}
