//! Pooling: max pooling routes each window's gradient to its maximum (`max_pool2d_grad`:
//! frameworks keep the forward pass's argmax); average pooling spreads it evenly (a public
//! linear map, `avg_pool2d_grad`; the global form is a scaled broadcast).

use super::{Fwd, Grads};
use crate::autograd::emit::Emitter;
use crate::graph::{NodeId, Op};

pub(super) fn vjp(e: &mut Emitter, f: &Fwd, g: NodeId) -> Grads {
    let x = f.inputs[0];
    let xs = e.shape(x);
    let r = xs.len();
    let gx = f.grad(0, || match &f.op {
        Op::MaxPool2d {
            kernel,
            stride,
            padding,
            dilation,
            ceil_mode,
            ..
        } => e.op(
            Op::MaxPool2dGrad {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
                ceil_mode: *ceil_mode,
            },
            &[g, x],
        ),
        Op::AvgPool2d {
            kernel,
            stride,
            padding,
            ceil_mode,
            count_include_pad,
        } => e.op(
            Op::AvgPool2dGrad {
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                ceil_mode: *ceil_mode,
                count_include_pad: *count_include_pad,
                input: [xs[r - 2], xs[r - 1]],
            },
            &[g],
        ),
        // mean over the last two dims: scale the small gradient, then broadcast it
        Op::GlobalAvgPool => {
            let s = e.scale(g, 1.0 / (xs[r - 2] * xs[r - 1]) as f64)?;
            e.expand(s, &xs)
        }
        Op::AdaptiveAvgPool2d { output } => {
            let (h, w) = (xs[r - 2], xs[r - 1]);
            if h % output[0] != 0 || w % output[1] != 0 {
                return Err(f.unsupported(
                    e,
                    &format!(
                        "the gradient of adaptive average pooling is supported when the output \
                         size {}x{} divides the input size {h}x{w}",
                        output[0], output[1]
                    ),
                ));
            }
            let k = [h / output[0], w / output[1]];
            if k == [1, 1] {
                return Ok(g);
            }
            e.op(
                Op::AvgPool2dGrad {
                    kernel: k,
                    stride: k,
                    padding: [0; 4],
                    ceil_mode: false,
                    count_include_pad: true,
                    input: [h, w],
                },
                &[g],
            )
        }
        _ => unreachable!("not a pooling op"),
    })?;
    Ok(vec![gx])
}
