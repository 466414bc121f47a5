//! Cases of the dot-product rules: element-wise products of two secrets summed (or averaged)
//! along the last axis, as batched matrix products.

use super::{case, Case};

pub fn cases() -> Vec<Case> {
    let dot2 = "(mat_mul (reshape[to=[0,1,-1]] x) (reshape[to=[0,-1,1]] y))";
    let dot3 = "(mat_mul (reshape[to=[0,0,1,-1]] a) (reshape[to=[0,0,-1,1]] b))";
    let blocked2 = "x:s:2x3 y:s:2x3 p:p:2x3 z:s:3";
    let blocked3 = "a:s:2x4x3 b:s:2x4x3";
    vec![
        case(
            "dot-of-products",
            "x:s:2x3 y:s:2x3",
            &[
                (
                    "(reduce_sum[axes=[-1], keepdims=false] (mul x y))",
                    &format!("(reduce_sum[axes=[-1], keepdims=false] (reshape[to=[0,1]] {dot2}))"),
                ),
                (
                    "(reduce_sum[axes=[1], keepdims=true] (mul x y))",
                    &format!("(reduce_sum[axes=[1], keepdims=true] (reshape[to=[0,1]] {dot2}))"),
                ),
            ],
            blocked2,
            &[
                // Over the first axis, with a public factor, a broadcast factor.
                "(reduce_sum[axes=[0], keepdims=false] (mul x y))",
                "(reduce_sum[axes=[-1], keepdims=false] (mul x p))",
                "(reduce_sum[axes=[-1], keepdims=false] (mul x z))",
            ],
        ),
        case(
            "dot-of-products-3d",
            "a:s:2x4x3 b:s:2x4x3",
            &[(
                "(reduce_sum[axes=[2], keepdims=false] (mul a b))",
                &format!("(reduce_sum[axes=[2], keepdims=false] (reshape[to=[0,0,1]] {dot3}))"),
            )],
            blocked3,
            &["(reduce_sum[axes=[1], keepdims=false] (mul a b))"],
        ),
        case(
            "mean-of-products",
            "x:s:2x3 y:s:2x3",
            &[(
                "(reduce_mean[axes=[-1], keepdims=true] (mul x y))",
                &format!("(mul (reduce_sum[axes=[-1], keepdims=true] (reshape[to=[0,1]] {dot2})) 0.3333333333333333)"),
            )],
            blocked2,
            &[
                "(reduce_mean[axes=[0], keepdims=true] (mul x y))",
                "(reduce_mean[axes=[-1], keepdims=true] (mul p x))",
            ],
        ),
        case(
            "mean-of-products-3d",
            "a:s:2x4x3 b:s:2x4x3",
            &[(
                "(reduce_mean[axes=[-1], keepdims=true] (mul a a))",
                "(mul (reduce_sum[axes=[-1], keepdims=true] (reshape[to=[0,0,1]] (mat_mul (reshape[to=[0,0,1,-1]] a) (reshape[to=[0,0,-1,1]] a)))) 0.3333333333333333)",
            )],
            blocked3,
            &["(reduce_mean[axes=[1], keepdims=true] (mul a b))"],
        ),
    ]
}
