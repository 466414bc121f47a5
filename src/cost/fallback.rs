//! Default costs of the backward ops (and of the ops only training graphs use: the losses
//! and `batch_norm_normalize`, and of `clip`): a cost model that has no lowering for a backward op
//! (`relu_grad`, `conv2d_grad_weight` ...) costs it as the textbook composition of forward
//! ops that computes it, so training profiles run under every framework. A model states its
//! framework's own mechanism by giving the op a lowering (`[ops.relu_grad]`), which then
//! takes precedence.
//!
//! | backward op | costed as |
//! |---|---|
//! | relu_grad | mul of the gradient with the saved mask (x's shape) |
//! | gelu_grad | gelu of x (the derivative's evaluation) and a mul |
//! | max_pool2d_grad, reduce_max_grad | mul of the saved one-hot argmax with the gradient (broadcast over each window), then a local scatter |
//! | avg_pool2d_grad | mul of the gradient by a public factor, then a local scatter |
//! | conv2d_grad_input | conv2d of the zero-padded (and for strides, zero-interleaved) gradient with the flipped kernel |
//! | conv2d_grad_weight | conv2d of the input with the gradient as kernel (batch and channels swapped) |
//! | cross_entropy_grad | softmax of the logits (the subtraction of the labels is local) |
//! | sum_product | mul, then a local sum |
//! | gather_grad | public indices: local; secret ones: mat_mul of the one-hot indices with the gradient |
//! | grad_threshold | square, then relu (a comparison and a select) |
//! | rsqrt_grad | square and products: `-g y^3 / 2` |
//! | cross_entropy | softmax, log, the product with the labels |
//! | mse | the square of the difference (a product) |
//! | batch_norm_normalize | square (the variance), rsqrt per channel, a product |
//! | batch_norm_normalize_grad | the closed form's four products |
//! | clip | relu (min 0) or max with the public min, then min with the public max: the two comparisons one after the other |

use crate::graph::{numel, ElemKind, Op, ValueInfo, Visibility};

/// One forward-op application of a composition: op, operand values, result value.
pub type Application = (Op, Vec<ValueInfo>, ValueInfo);

fn real(shape: Vec<usize>, visibility: Visibility) -> ValueInfo {
    ValueInfo::new(shape, ElemKind::Real, visibility)
}

/// The textbook composition of backward op `op` (on `inputs`, producing `output`), or `None`
/// for forward ops.
pub fn compose(op: &Op, inputs: &[&ValueInfo], output: &ValueInfo) -> Option<Vec<Application>> {
    let vis = |i: usize| inputs[i].visibility;
    let mul = |a: ValueInfo, b: ValueInfo| {
        let out = crate::graph::broadcast(&a.shape, &b.shape).unwrap_or_else(|_| a.shape.clone());
        let visibility = Visibility::combine([a.visibility, b.visibility]);
        (Op::Mul, vec![a, b], real(out, visibility))
    };
    Some(match op {
        Op::ReluGrad { .. } => vec![mul(inputs[0].clone(), inputs[1].clone())],
        Op::GeluGrad { approximate } => vec![
            (
                Op::Gelu {
                    approximate: *approximate,
                },
                vec![inputs[1].clone()],
                real(inputs[1].shape.clone(), vis(1)),
            ),
            mul(inputs[0].clone(), inputs[1].clone()),
        ],
        Op::MaxPool2dGrad { kernel, .. } => {
            let mut g = inputs[0].shape.clone();
            let mut onehot = g.clone();
            onehot.push(kernel[0] * kernel[1]);
            g.push(1);
            vec![mul(real(onehot, vis(1)), real(g, vis(0)))]
        }
        Op::ReduceMaxGrad { .. } => {
            let x = inputs[1].shape.clone();
            let rows = numel(&inputs[0].shape);
            let per_row = numel(&x) / rows.max(1);
            vec![mul(
                real(vec![rows, per_row], vis(1)),
                real(vec![rows, 1], vis(0)),
            )]
        }
        Op::AvgPool2dGrad { .. } => vec![mul(inputs[0].clone(), real(vec![], Visibility::Public))],
        Op::Conv2dGradInput {
            dilation, groups, ..
        } => {
            let (g, w) = (&inputs[0].shape, &inputs[1].shape);
            let (kh, kw) = (w[2], w[3]);
            let (cin, h, wd) = (output.shape[1], output.shape[2], output.shape[3]);
            let x = vec![
                g[0],
                g[1],
                h + dilation[0] * (kh - 1),
                wd + dilation[1] * (kw - 1),
            ];
            let flipped = vec![cin, w[0] / groups, kh, kw];
            vec![(
                Op::Conv2d {
                    stride: [1, 1],
                    padding: [0; 4],
                    dilation: *dilation,
                    groups: *groups,
                },
                vec![real(x, vis(0)), real(flipped, vis(1))],
                output.clone(),
            )]
        }
        Op::Conv2dGradWeight {
            stride,
            padding,
            dilation,
            groups,
            ..
        } => {
            let (x, g) = (&inputs[0].shape, &inputs[1].shape);
            let (n, cin, h, wd) = (x[0], x[1], x[2], x[3]);
            let input = vec![
                cin / groups,
                n * groups,
                h + padding[0] + padding[2],
                wd + padding[1] + padding[3],
            ];
            let kernel = vec![g[1], n, g[2], g[3]];
            let w = &output.shape;
            vec![(
                Op::Conv2d {
                    stride: *dilation,
                    padding: [0; 4],
                    dilation: *stride,
                    groups: *groups,
                },
                vec![real(input, vis(0)), real(kernel, vis(1))],
                real(vec![cin / groups, g[1], w[2], w[3]], output.visibility),
            )]
        }
        Op::CrossEntropyGrad => vec![(
            Op::Softmax { axis: -1 },
            vec![inputs[0].clone()],
            real(inputs[0].shape.clone(), vis(0)),
        )],
        Op::SumProduct { .. } => vec![mul(inputs[0].clone(), inputs[1].clone())],
        Op::GatherGrad { size, .. } => {
            if vis(1) != Visibility::Secret {
                vec![]
            } else {
                let rows = numel(&inputs[1].shape);
                let dim = numel(&output.shape) / size.max(&1);
                vec![(
                    Op::MatMul,
                    vec![
                        real(vec![*size, rows], vis(1)),
                        real(vec![rows, dim], vis(0)),
                    ],
                    real(vec![*size, dim], output.visibility),
                )]
            }
        }
        // -g y^3 / 2 with products (CrypTen's rule)
        Op::RsqrtGrad => {
            let y = inputs[1].clone();
            vec![
                (Op::Square, vec![y.clone()], y.clone()),
                mul(y.clone(), y.clone()),
                mul(inputs[0].clone(), y.clone()),
                mul(y, real(vec![], Visibility::Public)),
            ]
        }
        // the batch variance (a square), 1/sqrt of it per channel, the product
        Op::BatchNormNormalize { .. } => {
            let x = inputs[0].clone();
            let mut c = vec![1; x.shape.len()];
            c[1] = x.shape[1];
            let c = real(c, x.visibility);
            vec![
                (Op::Square, vec![x.clone()], x.clone()),
                (Op::Rsqrt, vec![c.clone()], c.clone()),
                mul(x, c),
            ]
        }
        // the closed form: g * inv_std, the per-channel mean of g * x_hat, its product with
        // x_hat and with inv_std
        Op::BatchNormNormalizeGrad { .. } => {
            let (g, x) = (inputs[0].clone(), inputs[1].clone());
            let mut c = vec![1; x.shape.len()];
            c[1] = x.shape[1];
            let c = real(c, x.visibility);
            vec![
                mul(g.clone(), c.clone()),
                mul(g, x.clone()),
                mul(x.clone(), c.clone()),
                mul(x, c),
            ]
        }
        // the losses (forward ops only training graphs use): softmax, log and the product
        // with the labels; the square of the difference
        Op::CrossEntropy => {
            let p = inputs[0].clone();
            vec![
                (Op::Softmax { axis: -1 }, vec![p.clone()], p.clone()),
                (Op::Log, vec![p.clone()], p.clone()),
                mul(p, inputs[1].clone()),
            ]
        }
        Op::Mse => vec![mul(inputs[0].clone(), inputs[0].clone())],
        Op::Clip { min, .. } => {
            let x = inputs[0].clone();
            let bound = real(vec![], Visibility::Public);
            let lower = if *min == 0.0 {
                (Op::Relu, vec![x.clone()], x.clone())
            } else {
                (Op::Max, vec![x.clone(), bound.clone()], x.clone())
            };
            vec![lower, (Op::Min, vec![x.clone(), bound], x)]
        }
        Op::GradThreshold { .. } => vec![
            (
                Op::Square,
                vec![inputs[0].clone()],
                real(inputs[0].shape.clone(), vis(0)),
            ),
            (
                Op::Relu,
                vec![inputs[0].clone()],
                real(inputs[0].shape.clone(), vis(0)),
            ),
        ],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::cost::{lower_op, CostModel, Lowered};
    use crate::graph::{ElemKind, Op, ValueInfo, Visibility};

    const TOY: &str = r#"
[framework]
name = "toy"
description = "toy"
provenance = "test"
rounds = "messages"
default_weights = "secret"
[params]
parties = 2
ring = 64
[primitives.open]
args = ["n"]
online_bits = "parties * ring * n"
online_rounds = "1"
[ops.mul]
ss = [{ call = "open", n = "a+b" }]
[ops.conv2d]
ss = [{ call = "open", n = "x" }]
"#;

    fn secret(shape: Vec<usize>) -> ValueInfo {
        ValueInfo::new(shape, ElemKind::Real, Visibility::Secret)
    }

    #[test]
    fn backward_ops_without_a_lowering_cost_their_composition() {
        let model = CostModel::from_toml(TOY, "toy.toml", &[]).unwrap();
        let (g, x) = (secret(vec![4, 8]), secret(vec![4, 8]));
        let Lowered::Chain(chain) =
            lower_op(&model, &Op::ReluGrad { alpha: 0.0 }, &[&g, &x], &g).unwrap()
        else {
            panic!("relu_grad costs something")
        };
        assert_eq!(chain.label, "relu_grad");
        assert_eq!(chain.children[0].label, "mul (default)");
        assert_eq!(chain.cost.online_bits, 2.0 * 64.0 * 64.0);

        // the input gradient of a conv as the conv of the padded gradient (N, Cout, H+2, W+2)
        let (grad, w, out) = (
            secret(vec![1, 3, 6, 6]),
            secret(vec![3, 2, 3, 3]),
            secret(vec![1, 2, 8, 8]),
        );
        let op = Op::Conv2dGradInput {
            stride: [1, 1],
            padding: [0; 4],
            dilation: [1, 1],
            groups: 1,
            input: [8, 8],
        };
        let Lowered::Chain(chain) = lower_op(&model, &op, &[&grad, &w], &out).unwrap() else {
            panic!("conv2d_grad_input costs something")
        };
        assert_eq!(chain.cost.online_bits, 2.0 * 64.0 * (3 * 10 * 10) as f64);

        // no lowering and no composition the model can cost: the error says both
        let e = lower_op(&model, &Op::CrossEntropyGrad, &[&g, &x], &g).unwrap_err();
        assert!(
            e.reason.contains("no lowering") && e.reason.contains("softmax"),
            "{e}"
        );
    }
}
