//! The built-in model zoo: common vision and language models written with [`ModelBuilder`],
//! parameterised by batch size, input resolution, sequence length and number of classes.
//!
//! Parameters carry shapes only; the zoo has no trained weights.

mod builder;
mod cnn;
mod densenet;
mod mobile;
mod resnet;
pub mod synthetic;
mod transformer;
mod vgg;

pub use builder::{BuildResult, Conv, Layer, ModelBuilder};

use crate::graph::Graph;

/// Knobs of a zoo model; `None` means the model's own default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZooOptions {
    pub batch: usize,
    pub resolution: Option<usize>,
    pub seq_len: Option<usize>,
    pub classes: Option<usize>,
}

impl ZooOptions {
    /// Batch 1 and every model's own defaults (usable in `const` items).
    pub const DEFAULT: ZooOptions = ZooOptions {
        batch: 1,
        resolution: None,
        seq_len: None,
        classes: None,
    };
}

impl Default for ZooOptions {
    fn default() -> Self {
        ZooOptions::DEFAULT
    }
}

/// A zoo entry.
pub struct ZooModel {
    pub name: &'static str,
    pub description: &'static str,
    /// Which of the options the model reads (for `hawkeye models`).
    pub knobs: &'static str,
    pub build: fn(&ZooOptions) -> BuildResult<Graph>,
}

/// Every model of the zoo.
pub const MODELS: &[ZooModel] = &[
    ZooModel {
        name: "mlp",
        description: "MLP 784-128-128-10 with ReLU (MNIST; SecureML/HawkEye benchmark)",
        knobs: "batch, classes",
        build: cnn::mlp,
    },
    ZooModel {
        name: "lenet5",
        description:
            "LeNet-5 as in the MPC literature (conv 1->16 k5, conv 16->16 k5, fc 256-100-10, MNIST)",
        knobs: "batch, resolution, classes",
        build: cnn::lenet5,
    },
    ZooModel {
        name: "minionn",
        description: "MiniONN CIFAR-10 network: 7 convs with ReLU, 2 average pools, fc 1024-10",
        knobs: "batch, resolution, classes",
        build: cnn::minionn,
    },
    ZooModel {
        name: "alexnet",
        description: "AlexNet (torchvision), ImageNet 224x224",
        knobs: "batch, resolution, classes",
        build: vgg::alexnet,
    },
    ZooModel {
        name: "vgg16",
        description: "VGG-16 (torchvision, no batchnorm), ImageNet 224x224",
        knobs: "batch, resolution, classes",
        build: vgg::vgg16,
    },
    ZooModel {
        name: "vgg16-cifar",
        description: "VGG-16 with batchnorm and one linear layer 512-10 (pytorch-cifar), CIFAR-10",
        knobs: "batch, resolution, classes",
        build: vgg::vgg16_cifar,
    },
    ZooModel {
        name: "resnet18",
        description: "ResNet-18 (torchvision), ImageNet 224x224",
        knobs: "batch, resolution, classes",
        build: resnet::resnet18,
    },
    ZooModel {
        name: "resnet50",
        description: "ResNet-50 v1.5 (torchvision), ImageNet 224x224",
        knobs: "batch, resolution, classes",
        build: resnet::resnet50,
    },
    ZooModel {
        name: "resnet32",
        description: "ResNet-32 (He et al. 2016, option-A shortcuts), CIFAR-10",
        knobs: "batch, resolution, classes",
        build: resnet::resnet32,
    },
    ZooModel {
        name: "densenet121",
        description: "DenseNet-121 (torchvision), ImageNet 224x224",
        knobs: "batch, resolution, classes",
        build: densenet::densenet121,
    },
    ZooModel {
        name: "mobilenetv2",
        description: "MobileNetV2 (torchvision), ImageNet 224x224",
        knobs: "batch, resolution, classes",
        build: mobile::mobilenetv2,
    },
    ZooModel {
        name: "mobilenetv3-small",
        description: "MobileNetV3-Small (torchvision), ImageNet 224x224",
        knobs: "batch, resolution, classes",
        build: mobile::mobilenetv3_small,
    },
    ZooModel {
        name: "shufflenetv2",
        description: "ShuffleNetV2 x1.0 (torchvision), ImageNet 224x224",
        knobs: "batch, resolution, classes",
        build: mobile::shufflenetv2,
    },
    ZooModel {
        name: "bert-base",
        description: "BERT-base uncased (HF BertModel with pooler), sequence length 128",
        knobs: "batch, seq_len",
        build: transformer::bert_base,
    },
    ZooModel {
        name: "bert-tiny",
        description:
            "BERT-Tiny uncased L-2 H-128 A-2 (HF BertModel with pooler), sequence length 128",
        knobs: "batch, seq_len",
        build: transformer::bert_tiny,
    },
    ZooModel {
        name: "gpt2-small",
        description: "GPT-2 small (HF GPT2LMHeadModel, tied lm_head), sequence length 128",
        knobs: "batch, seq_len",
        build: transformer::gpt2_small,
    },
    ZooModel {
        name: "vit-b16",
        description: "ViT-B/16 (torchvision vit_b_16), ImageNet 224x224",
        knobs: "batch, resolution, classes",
        build: transformer::vit_b16,
    },
];

/// Looks up a zoo model by name (case-insensitive; `-` and `_` are interchangeable).
pub fn find(name: &str) -> Option<&'static ZooModel> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let wanted = norm(name);
    MODELS.iter().find(|m| norm(m.name) == wanted)
}

/// Builds a zoo model by name.
pub fn build(name: &str, options: &ZooOptions) -> Option<BuildResult<Graph>> {
    find(name).map(|m| (m.build)(options))
}
