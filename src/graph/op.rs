//! The operator set of the IR: every op with its typed attributes.
//!
//! Each node produces exactly one value; multi-output constructs of other formats (ONNX
//! `Split`) become several single-output nodes (`slice`). Attribute defaults follow PyTorch.
//! The serde form (`{"op": "conv2d", "stride": [2, 2], ...}`) is the node syntax of the native
//! JSON format.

use serde::{Deserialize, Serialize};

/// What a parameter tensor is, in PyTorch's terms: trainable parameters (`weight`, `bias`)
/// count towards a model's parameter count; buffers (`running_mean`, `running_var`) do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ParamRole {
    #[default]
    Weight,
    Bias,
    RunningMean,
    RunningVar,
    /// Optimizer state of a training step (momentum buffer, Adam's moments).
    OptimizerState,
}

impl ParamRole {
    /// Whether PyTorch counts it in `model.parameters()`.
    pub fn is_trainable(self) -> bool {
        matches!(self, ParamRole::Weight | ParamRole::Bias)
    }
}

/// How a layer norm was written, which frameworks that run an exported graph node by node
/// price differently (`crypten.nn.from_onnx` runs the decomposition literally: a square root
/// and a secret division).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NormForm {
    /// One op: ONNX `LayerNormalization` (torch at opset 17), `nn.LayerNorm`.
    #[default]
    Fused,
    /// `ReduceMean → Sub → Pow 2 → ReduceMean → Add ε → Sqrt → Div` (torch below opset 17).
    DecomposedPow,
    /// The same with the square written `Mul(d, d)`.
    DecomposedMul,
}

/// The value of a constant tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstValue {
    /// Every element has this value.
    Fill(f64),
    /// Explicit elements in row-major order (must match the shape).
    Data(Vec<f64>),
    /// An additive causal attention mask over the last two dims: 0 on and below the diagonal,
    /// the given (large negative) value above it.
    CausalMask(f64),
}

fn one() -> usize {
    1
}
fn ones2() -> [usize; 2] {
    [1, 1]
}
fn neg_one() -> i64 {
    -1
}
fn default_eps() -> f64 {
    1e-5
}
fn default_leaky_alpha() -> f64 {
    0.01
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}
fn is_one(v: &usize) -> bool {
    *v == 1
}
fn is_ones2(v: &[usize; 2]) -> bool {
    *v == [1, 1]
}
fn is_neg_one(v: &i64) -> bool {
    *v == -1
}
fn is_default_eps(v: &f64) -> bool {
    *v == 1e-5
}

/// An IR operator with its attributes. Inputs are positional; the doc comment of each variant
/// lists them (`[x, weight, bias?]`: `bias` optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// A model input (data or labels). No inputs; shape declared on the node.
    Input,
    /// A parameter or buffer of the model. No inputs; shape declared on the node.
    Parameter {
        #[serde(default, skip_serializing_if = "is_default")]
        role: ParamRole,
    },
    /// A constant tensor. No inputs; shape declared on the node.
    Constant {
        value: ConstValue,
    },

    /// 2-D convolution, NCHW. `[x, weight (Cout, Cin/groups, kh, kw), bias (Cout)?]`.
    /// `padding` is `[top, left, bottom, right]`.
    Conv2d {
        #[serde(default = "ones2", skip_serializing_if = "is_ones2")]
        stride: [usize; 2],
        #[serde(default, skip_serializing_if = "is_default")]
        padding: [usize; 4],
        #[serde(default = "ones2", skip_serializing_if = "is_ones2")]
        dilation: [usize; 2],
        #[serde(default = "one", skip_serializing_if = "is_one")]
        groups: usize,
    },
    /// Fully connected layer on the last dim, as `nn.Linear`: `[x (.., in), weight (out, in), bias (out)?]`.
    Linear,
    /// Matrix product with numpy semantics (batched, broadcasting, 1-D operands). `[a, b]`.
    MatMul,

    /// Element-wise binary ops with numpy broadcasting. `[a, b]`.
    Add,
    Sub,
    Mul,
    Div,
    /// Element-wise maximum / minimum of two tensors (numpy broadcasting). `[a, b]`.
    Max,
    Min,

    /// Element-wise unary ops. `[x]`.
    Neg,
    Relu,
    LeakyRelu {
        #[serde(default = "default_leaky_alpha")]
        alpha: f64,
    },
    Sigmoid,
    Tanh,
    /// Element-wise clamp to `[min, max]` (ONNX `Clip` with both bounds, `nn.ReLU6`,
    /// `nn.Hardtanh`). `[x]`.
    Clip {
        min: f64,
        max: f64,
    },
    /// GELU; `approximate: true` is the tanh form, `false` the erf form.
    Gelu {
        #[serde(default, skip_serializing_if = "is_false")]
        approximate: bool,
    },
    Exp,
    Log,
    Reciprocal,
    Sqrt,
    Rsqrt,
    Square,
    /// x to a constant power.
    Pow {
        exponent: f64,
    },
    Abs,

    /// Softmax along an axis (negative counts from the end). `[x]`.
    Softmax {
        #[serde(default = "neg_one", skip_serializing_if = "is_neg_one")]
        axis: i64,
    },
    LogSoftmax {
        #[serde(default = "neg_one", skip_serializing_if = "is_neg_one")]
        axis: i64,
    },

    /// Max pooling over the last two dims. `padding` is `[top, left, bottom, right]`. `[x]`.
    MaxPool2d {
        kernel: [usize; 2],
        stride: [usize; 2],
        #[serde(default, skip_serializing_if = "is_default")]
        padding: [usize; 4],
        #[serde(default = "ones2", skip_serializing_if = "is_ones2")]
        dilation: [usize; 2],
        #[serde(default, skip_serializing_if = "is_false")]
        ceil_mode: bool,
        /// The pool of a training step whose gradient is needed, run by a compiler that pairs
        /// it with that gradient (SPU's `pphlo.argmax`: each window's maximum and its one-hot
        /// position, which `max_pool2d_grad` scatters with). The values are the max pool's.
        #[serde(default, skip_serializing_if = "is_false")]
        argmax: bool,
    },
    /// Average pooling over the last two dims. `[x]`.
    AvgPool2d {
        kernel: [usize; 2],
        stride: [usize; 2],
        #[serde(default, skip_serializing_if = "is_default")]
        padding: [usize; 4],
        #[serde(default, skip_serializing_if = "is_false")]
        ceil_mode: bool,
        /// Whether zero padding counts in the divisor (PyTorch default true).
        #[serde(default = "default_true", skip_serializing_if = "is_true")]
        count_include_pad: bool,
    },
    /// Mean over the last two dims, keeping them as 1x1. `[x]`.
    GlobalAvgPool,
    /// PyTorch `AdaptiveAvgPool2d(output)`. `[x]`.
    AdaptiveAvgPool2d {
        output: [usize; 2],
    },

    /// Batch normalization, inference form, channel dim 1:
    /// `[x, scale (C), bias (C), running_mean (C), running_var (C)]`.
    BatchNorm {
        #[serde(default = "default_eps", skip_serializing_if = "is_default_eps")]
        eps: f64,
    },
    /// Layer normalization over the dims from `axis` to the end: `[x, weight?, bias?]`
    /// (weight and bias have the normalized shape).
    LayerNorm {
        #[serde(default = "neg_one", skip_serializing_if = "is_neg_one")]
        axis: i64,
        #[serde(default = "default_eps", skip_serializing_if = "is_default_eps")]
        eps: f64,
        /// How the layer norm was written (display stays one op; the cost follows the form).
        #[serde(default, skip_serializing_if = "is_default")]
        form: NormForm,
    },
    /// Gather slices of `data` along `axis` at integer `indices` (embedding lookup with
    /// axis 0): `[data, indices]`.
    Gather {
        #[serde(default, skip_serializing_if = "is_default")]
        axis: i64,
    },

    /// Reshape to `shape` (written `"to"` in JSON); one entry may be -1 (inferred), 0 keeps
    /// the input dim. `[x]`.
    Reshape {
        #[serde(rename = "to")]
        shape: Vec<i64>,
    },
    /// Flatten dims from `axis` on into one (PyTorch `flatten(start_dim=axis)`). `[x]`.
    Flatten {
        #[serde(default = "one_i64", skip_serializing_if = "is_one_i64")]
        axis: i64,
    },
    /// Permute dims: output dim i is input dim `perm[i]`. `[x]`.
    Transpose {
        perm: Vec<usize>,
    },
    /// Concatenate along `axis`. `[x1, x2, ...]`.
    Concat {
        axis: i64,
    },
    /// Elements `start..end` (step `step`) along `axis`; negative indices count from the end,
    /// bounds are clamped like Python slicing. `[x]`.
    Slice {
        axis: i64,
        start: i64,
        end: i64,
        #[serde(default = "one_i64", skip_serializing_if = "is_one_i64")]
        step: i64,
    },
    /// Explicit numpy broadcast to `shape` (written `"to"` in JSON). `[x]`.
    Expand {
        #[serde(rename = "to")]
        shape: Vec<usize>,
    },

    /// Reductions over `axes` (all axes when empty). `[x]`.
    ReduceSum {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        axes: Vec<i64>,
        #[serde(default, skip_serializing_if = "is_false")]
        keepdims: bool,
    },
    ReduceMean {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        axes: Vec<i64>,
        #[serde(default, skip_serializing_if = "is_false")]
        keepdims: bool,
    },
    ReduceMax {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        axes: Vec<i64>,
        #[serde(default, skip_serializing_if = "is_false")]
        keepdims: bool,
    },
    /// Index of the maximum along `axis` (integer result). `[x]`.
    ArgMax {
        #[serde(default = "neg_one", skip_serializing_if = "is_neg_one")]
        axis: i64,
        #[serde(default, skip_serializing_if = "is_false")]
        keepdims: bool,
    },

    /// Dropout: the identity at inference. `[x]`.
    Dropout {
        #[serde(default, skip_serializing_if = "is_default")]
        p: f64,
    },
    /// The identity. `[x]`.
    Identity,

    /// Mean cross-entropy of logits `(N, C)` against one-hot (or soft) targets `(N, C)`;
    /// scalar result. `[logits, target]`.
    CrossEntropy,
    /// Mean squared error; scalar result. `[prediction, target]`.
    Mse,

    // ---- Backward ops: gradients whose computation frameworks do not write as a
    // composition of the forward ops above (they reuse state saved by the forward pass, or
    // have no forward-op form). Built by `autograd`; each cost model states how its
    // framework computes them (a model without a lowering gets the textbook composition,
    // `cost::fallback`). `grad` is the gradient of the forward op's output.
    /// Gradient of `relu` (`leaky_relu` when `alpha` is not 0) at `x`:
    /// `grad` where `x > 0`, else `alpha * grad`. The mask `x > 0` is the forward pass's own
    /// comparison, which frameworks keep (CrypTen saves it; SPU's compiler shares it).
    /// `[grad, x]`, same shapes.
    ReluGrad {
        #[serde(default, skip_serializing_if = "is_default")]
        alpha: f64,
    },
    /// Gradient of `gelu` at `x`: `grad * gelu'(x)` (tanh form when `approximate`).
    /// `[grad, x]`, same shapes.
    GeluGrad {
        #[serde(default, skip_serializing_if = "is_false")]
        approximate: bool,
    },
    /// Gradient of `max_pool2d` (same attributes) at `x`: each window's `grad` goes to the
    /// position of its maximum (the first one on ties), summed where windows overlap.
    /// `[grad (.., Ho, Wo), x (.., H, W)]` -> shape of `x`.
    MaxPool2dGrad {
        kernel: [usize; 2],
        stride: [usize; 2],
        #[serde(default, skip_serializing_if = "is_default")]
        padding: [usize; 4],
        #[serde(default = "ones2", skip_serializing_if = "is_ones2")]
        dilation: [usize; 2],
        #[serde(default, skip_serializing_if = "is_false")]
        ceil_mode: bool,
    },
    /// Gradient of `avg_pool2d` (same attributes) for an input of spatial size `input`
    /// (`[H, W]`): each window's `grad` spread evenly over the window (a public linear map).
    /// `[grad (.., Ho, Wo)]` -> `(.., H, W)`.
    AvgPool2dGrad {
        kernel: [usize; 2],
        stride: [usize; 2],
        #[serde(default, skip_serializing_if = "is_default")]
        padding: [usize; 4],
        #[serde(default, skip_serializing_if = "is_false")]
        ceil_mode: bool,
        #[serde(default = "default_true", skip_serializing_if = "is_true")]
        count_include_pad: bool,
        input: [usize; 2],
    },
    /// Gradient of `reduce_max` (same attributes) at `x`: `grad` goes to the position of the
    /// maximum (the first one on ties). `[grad, x]` -> shape of `x`.
    ReduceMaxGrad {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        axes: Vec<i64>,
        #[serde(default, skip_serializing_if = "is_false")]
        keepdims: bool,
    },
    /// Gradient of `conv2d` (same attributes) with respect to its input, of spatial size
    /// `input` (`[H, W]`): the transposed convolution of `grad` with the kernel.
    /// `[grad (N, Cout, Ho, Wo), weight (Cout, Cin/groups, kh, kw)]` -> `(N, Cin, H, W)`.
    Conv2dGradInput {
        #[serde(default = "ones2", skip_serializing_if = "is_ones2")]
        stride: [usize; 2],
        #[serde(default, skip_serializing_if = "is_default")]
        padding: [usize; 4],
        #[serde(default = "ones2", skip_serializing_if = "is_ones2")]
        dilation: [usize; 2],
        #[serde(default = "one", skip_serializing_if = "is_one")]
        groups: usize,
        input: [usize; 2],
    },
    /// Gradient of `conv2d` (same attributes) with respect to its kernel of spatial size
    /// `kernel` (`[kh, kw]`): the correlation of the input with `grad`.
    /// `[x (N, Cin, H, W), grad (N, Cout, Ho, Wo)]` -> `(Cout, Cin/groups, kh, kw)`.
    Conv2dGradWeight {
        #[serde(default = "ones2", skip_serializing_if = "is_ones2")]
        stride: [usize; 2],
        #[serde(default, skip_serializing_if = "is_default")]
        padding: [usize; 4],
        #[serde(default = "ones2", skip_serializing_if = "is_ones2")]
        dilation: [usize; 2],
        #[serde(default = "one", skip_serializing_if = "is_one")]
        groups: usize,
        kernel: [usize; 2],
    },
    /// Gradient of the mean `cross_entropy` with respect to the logits (for a loss gradient
    /// of 1 and target rows that sum to 1, one-hot or soft labels):
    /// `(softmax(logits) - target) / N`. Frameworks reuse the forward pass's softmax
    /// or exponentials. `[logits (N, C), target (N, C)]` -> `(N, C)`.
    CrossEntropyGrad,
    /// The contraction of a product: the sum over `axes` (all when empty) of `a * b` (numpy
    /// broadcasting), one dot product per output element. The gradient of a broadcast
    /// operand of `mul` (HawkEye's optimized broadcast operator: a batchnorm scale, a
    /// softmax's `sum(grad * y)`). `[a, b]`.
    SumProduct {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        axes: Vec<i64>,
        #[serde(default, skip_serializing_if = "is_false")]
        keepdims: bool,
    },
    /// Gradient of `gather` (same `axis`) with respect to its data, whose `axis` has length
    /// `size`: `grad` slices scatter-added at `indices` (an embedding's weight gradient).
    /// `[grad, indices]` -> data shape.
    GatherGrad {
        #[serde(default, skip_serializing_if = "is_default")]
        axis: i64,
        size: usize,
    },
    /// Gradient of `rsqrt` at `x` whose result was `y`: `-grad * y^3 / 2`. Frameworks differ:
    /// jax computes `grad * (-1/2) * (y / x)` (a division), CrypTen's rule `y^2 * y` (products).
    /// `[grad, y, x]`, same shapes.
    RsqrtGrad,
    /// Batch normalization's standardization in training mode, fused as CrypTen's batchnorm
    /// computes it: `(x - mean) / sqrt(var + eps)` with the batch mean and (biased) variance
    /// over all dims but the channels (dim 1). `[x]`.
    BatchNormNormalize {
        #[serde(default = "default_eps", skip_serializing_if = "is_default_eps")]
        eps: f64,
    },
    /// Gradient of `batch_norm_normalize` at `x`, in closed form from the saved normalized
    /// input: `(grad - mean(grad) - x_hat * mean(grad * x_hat)) / sqrt(var + eps)` (means
    /// per channel). `[grad, x]`, same shapes.
    BatchNormNormalizeGrad {
        #[serde(default = "default_eps", skip_serializing_if = "is_default_eps")]
        eps: f64,
    },
    /// CrypTen's gradient threshold of `update_parameters` (`grad_threshold`):
    /// `grad` where `grad^2 < threshold^2`, else 0 (a fresh comparison). `[grad]`.
    GradThreshold {
        threshold: f64,
    },
}

fn default_true() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}
fn one_i64() -> i64 {
    1
}
fn is_one_i64(v: &i64) -> bool {
    *v == 1
}

impl Op {
    /// The names of all ops, as [`Op::name`] gives them.
    pub const NAMES: &'static [&'static str] = &[
        "input",
        "parameter",
        "constant",
        "conv2d",
        "linear",
        "mat_mul",
        "add",
        "sub",
        "mul",
        "div",
        "max",
        "min",
        "neg",
        "relu",
        "leaky_relu",
        "clip",
        "sigmoid",
        "tanh",
        "gelu",
        "exp",
        "log",
        "reciprocal",
        "sqrt",
        "rsqrt",
        "square",
        "pow",
        "abs",
        "softmax",
        "log_softmax",
        "max_pool2d",
        "avg_pool2d",
        "global_avg_pool",
        "adaptive_avg_pool2d",
        "batch_norm",
        "layer_norm",
        "gather",
        "reshape",
        "flatten",
        "transpose",
        "concat",
        "slice",
        "expand",
        "reduce_sum",
        "reduce_mean",
        "reduce_max",
        "arg_max",
        "dropout",
        "identity",
        "cross_entropy",
        "mse",
        "relu_grad",
        "gelu_grad",
        "max_pool2d_grad",
        "avg_pool2d_grad",
        "reduce_max_grad",
        "conv2d_grad_input",
        "conv2d_grad_weight",
        "cross_entropy_grad",
        "sum_product",
        "gather_grad",
        "rsqrt_grad",
        "batch_norm_normalize",
        "batch_norm_normalize_grad",
        "grad_threshold",
    ];

    /// The op's name as written in the JSON format (`conv2d`, `max_pool2d`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input => "input",
            Op::Parameter { .. } => "parameter",
            Op::Constant { .. } => "constant",
            Op::Conv2d { .. } => "conv2d",
            Op::Linear => "linear",
            Op::MatMul => "mat_mul",
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Mul => "mul",
            Op::Div => "div",
            Op::Max => "max",
            Op::Min => "min",
            Op::Neg => "neg",
            Op::Relu => "relu",
            Op::LeakyRelu { .. } => "leaky_relu",
            Op::Clip { .. } => "clip",
            Op::Sigmoid => "sigmoid",
            Op::Tanh => "tanh",
            Op::Gelu { .. } => "gelu",
            Op::Exp => "exp",
            Op::Log => "log",
            Op::Reciprocal => "reciprocal",
            Op::Sqrt => "sqrt",
            Op::Rsqrt => "rsqrt",
            Op::Square => "square",
            Op::Pow { .. } => "pow",
            Op::Abs => "abs",
            Op::Softmax { .. } => "softmax",
            Op::LogSoftmax { .. } => "log_softmax",
            Op::MaxPool2d { .. } => "max_pool2d",
            Op::AvgPool2d { .. } => "avg_pool2d",
            Op::GlobalAvgPool => "global_avg_pool",
            Op::AdaptiveAvgPool2d { .. } => "adaptive_avg_pool2d",
            Op::BatchNorm { .. } => "batch_norm",
            Op::LayerNorm { .. } => "layer_norm",
            Op::Gather { .. } => "gather",
            Op::Reshape { .. } => "reshape",
            Op::Flatten { .. } => "flatten",
            Op::Transpose { .. } => "transpose",
            Op::Concat { .. } => "concat",
            Op::Slice { .. } => "slice",
            Op::Expand { .. } => "expand",
            Op::ReduceSum { .. } => "reduce_sum",
            Op::ReduceMean { .. } => "reduce_mean",
            Op::ReduceMax { .. } => "reduce_max",
            Op::ArgMax { .. } => "arg_max",
            Op::Dropout { .. } => "dropout",
            Op::Identity => "identity",
            Op::CrossEntropy => "cross_entropy",
            Op::Mse => "mse",
            Op::ReluGrad { .. } => "relu_grad",
            Op::GeluGrad { .. } => "gelu_grad",
            Op::MaxPool2dGrad { .. } => "max_pool2d_grad",
            Op::AvgPool2dGrad { .. } => "avg_pool2d_grad",
            Op::ReduceMaxGrad { .. } => "reduce_max_grad",
            Op::Conv2dGradInput { .. } => "conv2d_grad_input",
            Op::Conv2dGradWeight { .. } => "conv2d_grad_weight",
            Op::CrossEntropyGrad => "cross_entropy_grad",
            Op::SumProduct { .. } => "sum_product",
            Op::GatherGrad { .. } => "gather_grad",
            Op::RsqrtGrad => "rsqrt_grad",
            Op::BatchNormNormalize { .. } => "batch_norm_normalize",
            Op::BatchNormNormalizeGrad { .. } => "batch_norm_normalize_grad",
            Op::GradThreshold { .. } => "grad_threshold",
        }
    }

    /// Whether the op is one of the backward ops (built by autograd, not by models).
    pub fn is_backward(&self) -> bool {
        matches!(
            self,
            Op::ReluGrad { .. }
                | Op::GeluGrad { .. }
                | Op::MaxPool2dGrad { .. }
                | Op::AvgPool2dGrad { .. }
                | Op::ReduceMaxGrad { .. }
                | Op::Conv2dGradInput { .. }
                | Op::Conv2dGradWeight { .. }
                | Op::CrossEntropyGrad
                | Op::SumProduct { .. }
                | Op::GatherGrad { .. }
                | Op::RsqrtGrad
                | Op::BatchNormNormalizeGrad { .. }
                | Op::GradThreshold { .. }
        )
    }

    /// Whether the op only moves, copies or selects the elements of its data operands, with no
    /// arithmetic (reshapes, transposes, slices, expands, concatenation, identity, dropout as
    /// inference runs it): what holds of every element of its inputs holds of its output.
    pub fn moves_elements_only(&self) -> bool {
        matches!(
            self,
            Op::Reshape { .. }
                | Op::Flatten { .. }
                | Op::Transpose { .. }
                | Op::Slice { .. }
                | Op::Expand { .. }
                | Op::Concat { .. }
                | Op::Identity
                | Op::Dropout { .. }
        )
    }

    /// Whether the node has no inputs and declares its value (input, parameter, constant).
    pub fn is_source(&self) -> bool {
        matches!(self, Op::Input | Op::Parameter { .. } | Op::Constant { .. })
    }

    /// Allowed number of inputs, as an inclusive range (`usize::MAX`: unbounded).
    pub fn arity(&self) -> (usize, usize) {
        match self {
            Op::Input | Op::Parameter { .. } | Op::Constant { .. } => (0, 0),
            Op::Conv2d { .. } | Op::Linear => (2, 3),
            Op::LayerNorm { .. } => (1, 3),
            Op::RsqrtGrad => (3, 3),
            Op::BatchNorm { .. } => (5, 5),
            Op::Concat { .. } => (1, usize::MAX),
            Op::MatMul
            | Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Max
            | Op::Min
            | Op::Gather { .. }
            | Op::CrossEntropy
            | Op::Mse
            | Op::ReluGrad { .. }
            | Op::GeluGrad { .. }
            | Op::MaxPool2dGrad { .. }
            | Op::ReduceMaxGrad { .. }
            | Op::Conv2dGradInput { .. }
            | Op::Conv2dGradWeight { .. }
            | Op::CrossEntropyGrad
            | Op::SumProduct { .. }
            | Op::GatherGrad { .. }
            | Op::BatchNormNormalizeGrad { .. } => (2, 2),
            _ => (1, 1),
        }
    }

    /// Multiply-accumulate count of one evaluation, given input and output shapes
    /// (conv, linear and matmul only; 0 for everything else).
    /// In 128 bits: two element counts within the graph limit (2^48) multiply exactly.
    pub fn macs(&self, inputs: &[&[usize]], output: &[usize]) -> u128 {
        let count = |dims: &[usize]| -> u128 {
            dims.iter().fold(1u128, |n, &d| n.saturating_mul(d as u128))
        };
        let out = count(output);
        match self {
            Op::Conv2d { .. } => out.saturating_mul(count(&inputs[1][1..4])),
            Op::Linear => out.saturating_mul(*inputs[0].last().unwrap_or(&1) as u128),
            Op::MatMul => out.saturating_mul(*inputs[0].last().unwrap_or(&1) as u128),
            // the forward convolution's MACs, computed the other way round
            Op::Conv2dGradInput { .. } | Op::Conv2dGradWeight { .. } => {
                let (w, g) = match self {
                    Op::Conv2dGradInput { .. } => (inputs[1], inputs[0]),
                    _ => (output, inputs[1]),
                };
                count(g).saturating_mul(count(&w[1..]))
            }
            _ => 0,
        }
    }
}
