//! The evaluator: walks the graph in node (topological) order, binds sources, runs each op's
//! kernel in the chosen arithmetic, and decodes the results to `f64` tensors.

use super::arith::{Arith, Arithmetic, Float, Ring};
use super::bindings::Bindings;
use super::error::InterpretError;
use super::kernels::linalg::{self, ConvAttrs};
use super::kernels::pool::{self, PoolAttrs};
use super::kernels::reduce::{self, Reduction};
use super::kernels::{elementwise, grad, norm, shape_ops, Arr, KResult};
use super::tensor::Tensor;
use crate::graph::{shape_string, ConstValue, ElemKind, Graph, NodeId, Op};
use ndarray::{ArrayD, IxDyn};

/// Evaluates `graph` on `bindings` and returns its outputs, in `graph.outputs()` order, as
/// `f64` tensors (decoded from the ring in fixed-point mode). Intermediate values are dropped
/// as soon as their last reader has run.
pub fn evaluate(
    graph: &Graph,
    bindings: &Bindings,
    arithmetic: Arithmetic,
) -> Result<Vec<Tensor>, InterpretError> {
    let values = dispatch(graph, bindings, arithmetic, false)?;
    graph
        .outputs()
        .iter()
        .map(|&o| {
            values[o.index()]
                .clone()
                .ok_or_else(|| InterpretError::Eval {
                    node: graph.node(o).name.clone(),
                    op: graph.node(o).op.name(),
                    reason: "output was not computed".to_string(),
                })
        })
        .collect()
}

/// Evaluates every node of `graph` and returns all values, indexed by
/// [`NodeId::index`](petgraph::graph::NodeIndex::index) (node order), for debugging and
/// gradient checks.
pub fn evaluate_all(
    graph: &Graph,
    bindings: &Bindings,
    arithmetic: Arithmetic,
) -> Result<Vec<Tensor>, InterpretError> {
    let values = dispatch(graph, bindings, arithmetic, true)?;
    Ok(values
        .into_iter()
        .map(|v| v.expect("every node is kept"))
        .collect())
}

/// Most elements of one value the interpreter allocates (2^28: 2 GiB as `f64`; VGG-16's
/// largest weight has 102,760,448).
pub const MAX_ELEMENTS: usize = 1 << 28;

/// Checks, from the shapes alone, that every value of `graph` is small enough to evaluate:
/// called before anything is allocated, so that a model too large to run is an error, not an
/// abort.
pub fn check_size(graph: &Graph) -> Result<(), InterpretError> {
    for id in graph.node_ids() {
        let n = graph.node(id);
        let elements = n.value.numel();
        if elements > MAX_ELEMENTS {
            return Err(InterpretError::TooLarge {
                node: n.name.clone(),
                shape: shape_string(&n.value.shape),
                elements,
                limit: MAX_ELEMENTS,
            });
        }
    }
    Ok(())
}

fn dispatch(
    graph: &Graph,
    bindings: &Bindings,
    arithmetic: Arithmetic,
    keep_all: bool,
) -> Result<Vec<Option<Tensor>>, InterpretError> {
    arithmetic.validate()?;
    check_size(graph)?;
    match arithmetic {
        Arithmetic::Float => run(&Float, graph, bindings, keep_all),
        Arithmetic::Fixed {
            ring_bits,
            frac_bits,
        } => run(&Ring::new(ring_bits, frac_bits), graph, bindings, keep_all),
    }
}

/// Runs every node; returns the decoded values that are kept (all of them with `keep_all`,
/// else the graph outputs).
fn run<A: Arith>(
    ar: &A,
    graph: &Graph,
    bindings: &Bindings,
    keep_all: bool,
) -> Result<Vec<Option<Tensor>>, InterpretError> {
    let n = graph.len();
    // The last node reading each value (values no one reads after it can be dropped).
    let mut last_use = vec![0usize; n];
    let mut is_output = vec![false; n];
    for &o in graph.outputs() {
        is_output[o.index()] = true;
    }
    let inputs: Vec<Vec<NodeId>> = graph.node_ids().map(|id| graph.inputs(id)).collect();
    for (i, ins) in inputs.iter().enumerate() {
        for input in ins {
            last_use[input.index()] = last_use[input.index()].max(i);
        }
    }
    let mut values: Vec<Option<Arr<A>>> = (0..n).map(|_| None).collect();
    let mut decoded: Vec<Option<Tensor>> = (0..n).map(|_| None).collect();
    for id in graph.node_ids() {
        let i = id.index();
        let operands: Vec<&Arr<A>> = inputs[i]
            .iter()
            .map(|&p| {
                values[p.index()]
                    .as_ref()
                    .expect("operands are computed first")
            })
            .collect();
        let value = eval_node(ar, graph, id, &operands, bindings)?;
        if keep_all || is_output[i] {
            let kind = graph.node(id).value.kind;
            decoded[i] = Some(Tensor::from_array(value.mapv(|e| ar.dec(e)), kind));
        }
        values[i] = Some(value);
        if !keep_all {
            for input in &inputs[i] {
                if last_use[input.index()] == i {
                    values[input.index()] = None;
                }
            }
        }
    }
    Ok(decoded)
}

/// The value of one node from its operands.
fn eval_node<A: Arith>(
    ar: &A,
    graph: &Graph,
    id: NodeId,
    ins: &[&Arr<A>],
    bindings: &Bindings,
) -> Result<Arr<A>, InterpretError> {
    let node = graph.node(id);
    let out_shape = node.value.shape.as_slice();
    let fail = |reason: String| InterpretError::Eval {
        node: node.name.clone(),
        op: node.op.name(),
        reason,
    };
    let x = || ins[0];
    let result: KResult<Arr<A>> = match &node.op {
        Op::Input | Op::Parameter { .. } => {
            let t = bindings.value_for(graph, id)?;
            Ok(t.array().mapv(|v| ar.enc(v)))
        }
        Op::Constant { value } => constant(ar, value, out_shape),
        Op::Conv2d {
            stride,
            padding,
            dilation,
            groups,
        } => linalg::conv2d(
            ar,
            ins[0],
            ins[1],
            ins.get(2).copied(),
            &ConvAttrs {
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
                groups: *groups,
            },
        ),
        Op::Linear => linalg::linear(ar, ins[0], ins[1], ins.get(2).copied(), out_shape),
        Op::MatMul => linalg::matmul(ar, ins[0], ins[1], out_shape),
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Max | Op::Min => elementwise::binary(
            ar,
            &node.op,
            ins[0],
            ins[1],
            node.value.kind == ElemKind::Int,
        ),
        Op::Neg
        | Op::Relu
        | Op::LeakyRelu { .. }
        | Op::Clip { .. }
        | Op::Sigmoid
        | Op::Tanh
        | Op::Gelu { .. }
        | Op::Exp
        | Op::Log
        | Op::Reciprocal
        | Op::Sqrt
        | Op::Rsqrt
        | Op::Square
        | Op::Pow { .. }
        | Op::Abs => elementwise::unary(ar, &node.op, x()),
        Op::Softmax { axis } => norm::softmax(ar, x(), *axis, false),
        Op::LogSoftmax { axis } => norm::softmax(ar, x(), *axis, true),
        Op::MaxPool2d {
            kernel,
            stride,
            padding,
            dilation,
            ..
        } => pool::max_pool2d(
            ar,
            x(),
            &PoolAttrs {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
                count_include_pad: false,
            },
            out_shape,
        ),
        Op::AvgPool2d {
            kernel,
            stride,
            padding,
            count_include_pad,
            ..
        } => pool::avg_pool2d(
            ar,
            x(),
            &PoolAttrs {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                dilation: [1, 1],
                count_include_pad: *count_include_pad,
            },
            out_shape,
        ),
        Op::GlobalAvgPool => pool::global_avg_pool(ar, x()),
        Op::AdaptiveAvgPool2d { .. } => pool::adaptive_avg_pool2d(ar, x(), out_shape),
        Op::BatchNorm { eps } => {
            norm::batch_norm(ar, ins[0], [ins[1], ins[2], ins[3], ins[4]], *eps)
        }
        Op::LayerNorm { axis, eps, .. } => norm::layer_norm(
            ar,
            ins[0],
            ins.get(1).copied(),
            ins.get(2).copied(),
            *axis,
            *eps,
        ),
        Op::Gather { axis } => shape_ops::gather(ar, ins[0], ins[1], *axis, out_shape),
        Op::Reshape { .. } | Op::Flatten { .. } => shape_ops::reshape::<A>(x(), out_shape),
        Op::Transpose { perm } => shape_ops::transpose::<A>(x(), perm),
        Op::Concat { axis } => shape_ops::concat::<A>(ins, *axis),
        Op::Slice {
            axis,
            start,
            end,
            step,
        } => shape_ops::slice::<A>(x(), *axis, *start, *end, *step),
        Op::Expand { shape } => shape_ops::expand::<A>(x(), shape),
        Op::ReduceSum { axes, .. } => reduce::reduce(ar, x(), Reduction::Sum, axes, out_shape),
        Op::ReduceMean { axes, .. } => reduce::reduce(ar, x(), Reduction::Mean, axes, out_shape),
        Op::ReduceMax { axes, .. } => reduce::reduce(ar, x(), Reduction::Max, axes, out_shape),
        Op::ArgMax { axis, .. } => reduce::arg_max(ar, x(), *axis, out_shape),
        Op::Dropout { .. } | Op::Identity => Ok(x().clone()),
        Op::CrossEntropy => reduce::cross_entropy(ar, ins[0], ins[1]),
        Op::Mse => reduce::mse(ar, ins[0], ins[1]),
        Op::ReluGrad { alpha } => grad::relu_grad(ar, ins[0], ins[1], *alpha),
        Op::GeluGrad { approximate } => grad::gelu_grad(ar, ins[0], ins[1], *approximate),
        Op::RsqrtGrad => grad::rsqrt_grad(ar, ins[0], ins[1]),
        Op::GradThreshold { threshold } => Ok(grad::grad_threshold(ar, x(), *threshold)),
        Op::MaxPool2dGrad {
            kernel,
            stride,
            padding,
            dilation,
            ..
        } => grad::max_pool2d_grad(
            ar,
            ins[0],
            ins[1],
            &grad::Window {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
            },
        ),
        Op::AvgPool2dGrad {
            kernel,
            stride,
            padding,
            count_include_pad,
            ..
        } => grad::avg_pool2d_grad(
            ar,
            ins[0],
            &grad::Window {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                dilation: [1, 1],
            },
            *count_include_pad,
            out_shape,
        ),
        Op::ReduceMaxGrad { axes, .. } => grad::reduce_max_grad(ar, ins[0], ins[1], axes),
        Op::Conv2dGradInput {
            stride,
            padding,
            dilation,
            groups,
            ..
        } => grad::conv2d_grad_input(
            ar,
            ins[0],
            ins[1],
            &grad::Conv {
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
                groups: *groups,
            },
            out_shape,
        ),
        Op::Conv2dGradWeight {
            stride,
            padding,
            dilation,
            groups,
            ..
        } => grad::conv2d_grad_weight(
            ar,
            ins[0],
            ins[1],
            &grad::Conv {
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
                groups: *groups,
            },
            out_shape,
        ),
        Op::CrossEntropyGrad => grad::cross_entropy_grad(ar, ins[0], ins[1]),
        Op::SumProduct { axes, .. } => grad::sum_product(ar, ins[0], ins[1], axes, out_shape),
        Op::GatherGrad { axis, .. } => grad::gather_grad(ar, ins[0], ins[1], *axis, out_shape),
        Op::BatchNormNormalize { eps } => grad::batch_norm_normalize(ar, x(), *eps),
        Op::BatchNormNormalizeGrad { eps } => {
            grad::batch_norm_normalize_grad(ar, ins[0], ins[1], *eps)
        }
    };
    let value = result.map_err(fail)?;
    if value.shape() != out_shape {
        return Err(fail(format!(
            "computed a value of shape {}, but the node declares {}",
            shape_string(value.shape()),
            shape_string(out_shape)
        )));
    }
    Ok(value)
}

/// The value of a constant node.
fn constant<A: Arith>(ar: &A, value: &ConstValue, shape: &[usize]) -> KResult<Arr<A>> {
    match value {
        ConstValue::Fill(v) => Ok(ArrayD::from_elem(IxDyn(shape), ar.enc(*v))),
        ConstValue::Data(data) => {
            ArrayD::from_shape_vec(IxDyn(shape), data.iter().map(|&v| ar.enc(v)).collect()).map_err(
                |_| {
                    format!(
                        "constant has {} values but shape {}",
                        data.len(),
                        shape_string(shape)
                    )
                },
            )
        }
        ConstValue::CausalMask(v) => {
            let r = shape.len();
            if r < 2 {
                return Err("a causal mask needs rank 2 or more".to_string());
            }
            let (masked, open) = (ar.enc(*v), ar.enc(0.0));
            Ok(ArrayD::from_shape_fn(IxDyn(shape), |idx| {
                if idx[r - 1] > idx[r - 2] {
                    masked
                } else {
                    open
                }
            }))
        }
    }
}
