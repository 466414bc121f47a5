//! Small networks of the MPC literature: MLP, LeNet-5, MiniONN.

use super::{BuildResult, Conv, Layer, ModelBuilder, ZooOptions};
use crate::graph::Graph;

/// 784-128-128-10 MLP with ReLU.
pub fn mlp(o: &ZooOptions) -> BuildResult<Graph> {
    let mut b = ModelBuilder::new("mlp");
    let x = b.input("input", vec![o.batch, 784])?;
    let x = b.linear("fc1", x, 128, true)?;
    let x = b.relu(x)?;
    let x = b.linear("fc2", x, 128, true)?;
    let x = b.relu(x)?;
    let y = b.linear("fc3", x, o.classes.unwrap_or(10), true)?;
    Ok(b.finish(vec![y]))
}

/// LeNet-5 in the form used by SecureML/MiniONN/HawkEye benchmarks (and the groundtruth spec
/// `c_lenet_b1`): conv(1->16, 5) relu maxpool2, conv(16->16, 5) relu maxpool2, fc 256-100-10.
pub fn lenet5(o: &ZooOptions) -> BuildResult<Graph> {
    let mut b = ModelBuilder::new("lenet5");
    let r = o.resolution.unwrap_or(28);
    let x = b.input("input", vec![o.batch, 1, r, r])?;
    let x = b.conv2d("conv1", x, Conv::new(16, 5))?;
    let x = b.scope("relu1", |b| b.relu(x))?;
    let x = b.scope("pool1", |b| b.max_pool(x, 2, 2, 0))?;
    let x = b.conv2d("conv2", x, Conv::new(16, 5))?;
    let x = b.scope("relu2", |b| b.relu(x))?;
    let x = b.scope("pool2", |b| b.max_pool(x, 2, 2, 0))?;
    let x = b.flatten(x)?;
    let x = b.linear("fc1", x, 100, true)?;
    let x = b.scope("relu3", |b| b.relu(x))?;
    let y = b.linear("fc2", x, o.classes.unwrap_or(10), true)?;
    Ok(b.finish(vec![y]))
}

/// The MiniONN CIFAR-10 network (Liu et al. 2017, Fig. 13; HawkEye's `autograd_minionn`):
/// seven convs with bias and ReLU (3x3 padded to same size, then two 1x1), a 2x2 average pool
/// after the second and fourth, and one fully connected layer 16·8·8 -> 10. Modules as in
/// HawkEye's PyTorch definition: `conv.0` ... `conv.15` (an `nn.Sequential`), `fc.0`.
pub fn minionn(o: &ZooOptions) -> BuildResult<Graph> {
    let mut b = ModelBuilder::new("minionn");
    let r = o.resolution.unwrap_or(32);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let conv3 = Layer::Conv(Conv::new(64, 3).padding(1));
    let pool = Layer::AvgPool {
        kernel: 2,
        stride: 2,
    };
    let x = b.sequential(
        "conv",
        x,
        &[
            conv3,
            Layer::Relu,
            conv3,
            Layer::Relu,
            pool,
            conv3,
            Layer::Relu,
            conv3,
            Layer::Relu,
            pool,
            conv3,
            Layer::Relu,
            Layer::Conv(Conv::new(64, 1)),
            Layer::Relu,
            Layer::Conv(Conv::new(16, 1)),
            Layer::Relu,
        ],
    )?;
    let x = b.flatten(x)?;
    let y = b.sequential("fc", x, &[Layer::Linear(o.classes.unwrap_or(10))])?;
    Ok(b.finish(vec![y]))
}
