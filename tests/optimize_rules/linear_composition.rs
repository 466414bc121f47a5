//! Cases of the compositions of linear layers of other shapes: a linear layer after a
//! flattened convolution, a convolution of a reshaped linear layer, two general convolutions.

use super::{case, Case};

/// `wl` (5x12) as the gradient of the convolution's 3x2x2 output.
const WL_ROWS: &str = "(reshape[to=[5,3,-1,2]] wl)";
/// The composed weight of a linear layer `wl` after the convolution `w` (3x2x3x3) of a 2x4x4
/// input: the transposed convolution of Wl's rows with the kernel.
const LINEAR_AFTER: &str =
    "(reshape[to=[5,-1]] (conv2d_grad_input[input=[4,4]] (reshape[to=[5,3,-1,2]] wl) w))";
/// The composed weight (transposed) of the padded convolution `w` (3x2x3x3) of `wl` (50x6)
/// reshaped to 2x5x5.
const CONV_AFTER: &str = "(transpose[perm=[1,0]] (reshape[to=[6,-1]] (conv2d[padding=[1,1,1,1]] (reshape[to=[6,2,5,5]] (transpose[perm=[1,0]] wl)) w)))";
/// The composed 5x5 kernel of a 3x3 convolution `w2` (3x4x3x3) after a 3x3 `w1` (4x2x3x3).
const CONV_CONV: &str = "(transpose[perm=[1,0,2,3]] (conv2d_grad_input[input=[5,5]] (transpose[perm=[1,0,2,3]] w1) (transpose[perm=[1,0,2,3]] w2)))";

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "compose-linear-after-conv",
            "x:s:1x2x4x4 w:p:3x2x3x3 b:p:3 wl:p:5x12 bl:p:5",
            &[(
                "(linear (flatten (conv2d x w b)) wl bl)",
                &format!("(linear (flatten x) {LINEAR_AFTER} (add (mat_mul (reduce_sum[axes=[2,3], keepdims=false] {WL_ROWS}) b) bl))"),
            )],
            "x:s:1x2x4x4 w:p:3x2x3x3 b:p:3 wl:p:5x12 bl:p:5 ws:s:3x2x3x3 wl2:p:5x4 y:s:1x4x64x64 w4:p:1x4x1x1 b4:p:1 w1:p:1x1 b1:p:1",
            &[
                // Secret kernel, a non-linearity between, a flatten from another axis.
                "(linear (flatten (conv2d x ws b)) wl bl)",
                "(linear (flatten (relu (conv2d x w b))) wl bl)",
                "(linear (flatten[axis=2] (conv2d x w b)) wl2 bl)",
                // The composed weight (1 x 16384) would be over 64 times its factors (5 elements).
                "(linear (flatten (conv2d[stride=[64,64]] y w4 b4)) w1 b1)",
            ],
        ),
        case(
            "compose-linear-after-conv-nobias",
            "x:s:1x2x4x4 w:p:3x2x3x3 wl:p:5x12 bl:p:5",
            &[(
                "(linear (flatten (conv2d x w)) wl bl)",
                &format!("(linear (flatten x) {LINEAR_AFTER} bl)"),
            )],
            "x:s:1x2x4x4 w:p:3x2x3x3 wl:s:5x12 bl:p:5",
            &["(linear (flatten (conv2d x w)) wl bl)"],
        ),
        case(
            "compose-conv-after-linear",
            "x:s:1x6 wl:p:50x6 bl:p:50 w:p:3x2x3x3 b:p:3",
            &[(
                "(conv2d[padding=[1,1,1,1]] (reshape[to=[1,2,5,5]] (linear x wl bl)) w b)",
                &format!("(reshape[to=[1,3,-1,5]] (linear x {CONV_AFTER} (reshape[to=[-1]] (conv2d[padding=[1,1,1,1]] (reshape[to=[1,2,5,5]] bl) w b))))"),
            )],
            "x:s:1x6 wl:p:50x6 bl:p:50 w:p:3x2x3x3 b:p:3 ws:s:3x2x3x3",
            &[
                // A reshape that infers a dim, a secret kernel, a non-linearity between.
                "(conv2d[padding=[1,1,1,1]] (reshape[to=[1,2,5,-1]] (linear x wl bl)) w b)",
                "(conv2d[padding=[1,1,1,1]] (reshape[to=[1,2,5,5]] (linear x wl bl)) ws b)",
                "(conv2d[padding=[1,1,1,1]] (reshape[to=[1,2,5,5]] (relu (linear x wl bl))) w b)",
            ],
        ),
        case(
            "compose-conv-after-linear-nobias",
            "x:s:1x6 wl:p:50x6 bl:p:50 w:p:3x2x3x3",
            &[(
                "(conv2d[padding=[1,1,1,1]] (reshape[to=[1,2,5,5]] (linear x wl bl)) w)",
                &format!("(reshape[to=[1,3,-1,5]] (linear x {CONV_AFTER} (reshape[to=[-1]] (conv2d[padding=[1,1,1,1]] (reshape[to=[1,2,5,5]] bl) w))))"),
            )],
            "x:s:1x6 wl:p:50x6 bl:s:50 w:p:3x2x3x3",
            &["(conv2d[padding=[1,1,1,1]] (reshape[to=[1,2,5,5]] (linear x wl bl)) w)"],
        ),
        case(
            "compose-conv-after-conv",
            "x:s:1x2x8x8 w1:p:4x2x3x3 b1:p:4 w2:p:3x4x3x3 b2:p:3",
            &[(
                "(conv2d[stride=[2,2]] (conv2d[padding=[1,1,1,1]] x w1 b1) w2 b2)",
                &format!("(conv2d[stride=[2,2], padding=[1,1,1,1]] x {CONV_CONV} (add (reshape[to=[-1]] (mat_mul (reduce_sum[axes=[2,3], keepdims=false] w2) (reshape[to=[-1,1]] b1))) b2))"),
            )],
            "x:s:1x2x8x8 w1:p:4x2x3x3 b1:p:4 w2:p:3x4x3x3 b2:p:3 ws:s:3x4x3x3 wg:p:4x1x3x3",
            &[
                // A padded second layer sees zeros where the first layer's border outputs are
                // not; a strided or dilated first layer skips positions; groups, secrets.
                "(conv2d[padding=[1,1,1,1]] (conv2d x w1 b1) w2 b2)",
                "(conv2d (conv2d[stride=[2,2]] x w1 b1) w2 b2)",
                "(conv2d (conv2d[dilation=[2,2]] x w1 b1) w2 b2)",
                "(conv2d (conv2d[groups=2] x wg b1) w2 b2)",
                "(conv2d (conv2d x w1 b1) ws b2)",
                "(conv2d (relu (conv2d x w1 b1)) w2 b2)",
            ],
        ),
        case(
            "compose-conv-after-conv-nobias",
            "x:s:1x2x8x8 w1:p:4x2x3x3 w2:v:3x4x3x3",
            &[(
                "(conv2d[stride=[2,2]] (conv2d[padding=[1,1,1,1]] x w1) w2)",
                &format!("(conv2d[stride=[2,2], padding=[1,1,1,1]] x {CONV_CONV})"),
            )],
            "x:s:1x2x8x8 w1:p:4x2x3x3 w2:p:3x4x3x3",
            &[
                "(conv2d[padding=[1,1,1,1]] (conv2d x w1) w2)",
                "(conv2d (conv2d[stride=[2,2]] x w1) w2)",
            ],
        ),
        case(
            "compose-conv-after-bias-free-conv",
            "x:s:1x2x8x8 w1:p:4x2x3x3 w2:p:3x4x3x3 b2:p:3",
            &[(
                "(conv2d[stride=[2,2]] (conv2d[padding=[1,1,1,1]] x w1) w2 b2)",
                &format!("(conv2d[stride=[2,2], padding=[1,1,1,1]] x {CONV_CONV} b2)"),
            )],
            "x:s:1x2x8x8 w1:p:4x2x3x3 w2:p:3x4x3x3 b2:s:3",
            &[
                "(conv2d[padding=[1,1,1,1]] (conv2d x w1) w2 b2)",
                "(conv2d (conv2d x w1) w2 b2)",
            ],
        ),
        case(
            "compose-bias-free-conv-after-conv",
            "x:s:1x2x8x8 w1:p:4x2x3x3 b1:p:4 w2:p:3x4x3x3",
            &[(
                "(conv2d[stride=[2,2]] (conv2d[padding=[1,1,1,1]] x w1 b1) w2)",
                &format!("(conv2d[stride=[2,2], padding=[1,1,1,1]] x {CONV_CONV} (reshape[to=[-1]] (mat_mul (reduce_sum[axes=[2,3], keepdims=false] w2) (reshape[to=[-1,1]] b1))))"),
            )],
            "x:s:1x2x8x8 w1:p:4x2x3x3 b1:p:4 w2:p:3x4x3x3",
            &[
                "(conv2d[padding=[1,1,1,1]] (conv2d x w1 b1) w2)",
                "(conv2d (conv2d[dilation=[2,2]] x w1 b1) w2)",
            ],
        ),
    ]
}
