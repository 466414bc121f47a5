//! Cases of the sign rules (`nonneg(?x)`), the composition of consecutive convolutions and the
//! per-channel scale folding.

use super::{case, Case};

/// The composed kernel of a 1x1 convolution `w2` (3x4x1x1) after `w1` (4x2x3x3).
const POINTWISE_AFTER: &str =
    "(reshape[to=[3,2,3,3]] (mat_mul (reshape[to=[3,4]] w2) (reshape[to=[4,-1]] w1)))";
/// The composed kernel of a 3x3 convolution `w2` (3x4x3x3) after a 1x1 `w1` (4x2x1x1).
const AFTER_POINTWISE: &str = "(transpose[perm=[0,3,1,2]] (reshape[to=[3,3,3,2]] (mat_mul (reshape[to=[-1,4]] (transpose[perm=[0,2,3,1]] w2)) (reshape[to=[4,2]] w1))))";

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "relu-of-nonneg",
            "x:s:2x3 y:s:2x3",
            &[
                ("(relu (abs x))", "(abs x)"),
                ("(relu (add (square x) (sigmoid y)))", "(add (square x) (sigmoid y))"),
                ("(relu (max_pool2d[kernel=[1,1], stride=[1,1]] (reshape[to=[1,1,2,3]] (exp x))))", "(max_pool2d[kernel=[1,1], stride=[1,1]] (reshape[to=[1,1,2,3]] (exp x)))"),
                ("(relu (max x (softmax y)))", "(max x (softmax y))"),
            ],
            "x:s:2x3 y:s:2x3",
            &["(relu (tanh x))", "(relu (sub (abs x) (abs y)))", "(relu (min x (abs y)))"],
        ),
        case(
            "abs-of-nonneg",
            "x:s:2x3",
            &[("(abs (clip[min=0, max=6] x))", "(clip[min=0, max=6] x)")],
            "x:s:2x3",
            &["(abs (clip[min=-1, max=6] x))"],
        ),
        case(
            "max-of-nonneg-and-nonpositive",
            "x:s:2x3",
            &[("(max (relu x) 0)", "(relu x)"), ("(max (sigmoid x) -1)", "(sigmoid x)")],
            "x:s:2x3",
            &["(max (relu x) 0.5)", "(max (neg (relu x)) 0)"],
        ),
        case(
            "max-of-nonpositive-and-nonneg",
            "x:s:2x3",
            &[("(max 0 (square x))", "(square x)")],
            "x:s:2x3",
            &["(max 1 (square x))", "(max 0 (log x))"],
        ),
        case(
            "clip-of-nonneg",
            "x:s:2x3",
            &[("(clip[min=0, max=6] (relu x))", "(min (relu x) 6)")],
            "x:s:2x3",
            &["(clip[min=0, max=6] x)", "(clip[min=1, max=6] (relu x))"],
        ),
        case(
            "compose-pointwise-after-conv",
            "x:s:1x2x5x5 w1:p:4x2x3x3 b1:p:4 w2:p:3x4x1x1 b2:p:3",
            &[(
                "(conv2d (conv2d[padding=[1,1,1,1], stride=[2,2]] x w1 b1) w2 b2)",
                &format!("(conv2d[padding=[1,1,1,1], stride=[2,2]] x {POINTWISE_AFTER} (add (reshape[to=[-1]] (mat_mul (reshape[to=[3,4]] w2) (reshape[to=[-1,1]] b1))) b2))"),
            )],
            "x:s:1x2x5x5 w1:p:4x2x3x3 b1:p:4 w2:p:3x4x1x1 b2:p:3 ws:s:3x4x1x1",
            &[
                // Secret weights, a padded or strided 1x1, a non-linearity between.
                "(conv2d (conv2d x w1 b1) ws b2)",
                "(conv2d[padding=[1,1,1,1]] (conv2d x w1 b1) w2 b2)",
                "(conv2d[stride=[2,2]] (conv2d x w1 b1) w2 b2)",
                "(conv2d (relu (conv2d x w1 b1)) w2 b2)",
            ],
        ),
        case(
            "compose-pointwise-after-conv-nobias",
            "x:s:1x2x5x5 w1:p:4x2x3x3 w2:v:3x4x1x1",
            &[("(conv2d (conv2d x w1) w2)", &format!("(conv2d x {POINTWISE_AFTER})"))],
            "x:s:1x2x5x5 w1:p:4x2x3x3 ws:s:3x4x1x1 w3:p:4x1x3x3 w4:p:4x4x1x1",
            &[
                "(conv2d (conv2d[groups=2] x w3) w4)",
                "(conv2d (conv2d x w1) ws)",
            ],
        ),
        case(
            "compose-conv-after-pointwise",
            "x:s:1x2x5x5 w1:p:4x2x1x1 b1:p:4 w2:p:3x4x3x3 b2:p:3",
            &[(
                "(conv2d[stride=[2,2]] (conv2d x w1 b1) w2 b2)",
                &format!("(conv2d[stride=[2,2]] x {AFTER_POINTWISE} (add (reshape[to=[-1]] (mat_mul (reshape[to=[3,4]] (reduce_sum[axes=[2,3], keepdims=false] w2)) (reshape[to=[-1,1]] b1))) b2))"),
            )],
            "x:s:1x2x5x5 w1:p:4x2x1x1 b1:p:4 w2:p:3x4x3x3 b2:p:3",
            &[
                // A padded second layer would see the first bias at the border.
                "(conv2d[padding=[1,1,1,1]] (conv2d x w1 b1) w2 b2)",
                "(conv2d (conv2d[stride=[2,2]] x w1 b1) w2 b2)",
            ],
        ),
        case(
            "channel-scale-into-conv",
            "x:s:1x2x4x4 w:p:3x2x3x3 b:p:3 s:p:3x1x1",
            &[(
                "(mul (conv2d x w b) s)",
                "(conv2d x (mul w (reshape[to=[-1,1,1,1]] s)) (mul b (reshape[to=[-1]] s)))",
            )],
            "x:s:1x2x4x4 w:p:3x2x3x3 b:p:3 s:s:3x1x1 t:p:2x2",
            &["(mul (conv2d x w b) s)", "(mul (conv2d x w b) t)"],
        ),
        case(
            "channel-scale-into-linear",
            "x:s:2x5 w:p:3x5 b:p:3 s:v:3",
            &[(
                "(mul (linear x w b) s)",
                "(linear x (mul w (reshape[to=[-1,1]] s)) (mul b s))",
            )],
            "x:s:2x5 w:p:3x5 b:p:3 s:s:3 t:p:2x3",
            &["(mul (linear x w b) s)", "(mul (linear x w b) t)"],
        ),
    ]
}
