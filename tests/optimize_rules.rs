//! Every built-in rule fires where it should (its left-hand side joins the e-class of the
//! expected right-hand side) and stays quiet where its conditions fail.
//!
//! Terms are written in the rule syntax with source names for leaves; sources are declared as
//! `name:VIS:SHAPE` with VIS `s` (secret), `p` (public) or `v` (server), `i` appended for
//! integers (`ids:si:1x8`), and SHAPE like `2x3` (empty for a scalar).

use egg::Symbol;
use hawkeye_mpc::graph::{ElemKind, Op, Phase, ValueInfo, Visibility};
use hawkeye_mpc::optimize::analysis::{EGraph, SourceInfo, TensorAnalysis};
use hawkeye_mpc::optimize::rules::add_term;
use hawkeye_mpc::optimize::{runner, Limits, RuleSet};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

#[path = "optimize_rules/dot_products.rs"]
mod dot_products;
#[path = "optimize_rules/linear_composition.rs"]
mod linear_composition;
#[path = "optimize_rules/signs_and_composition.rs"]
mod signs_and_composition;

/// A test of one rule.
struct Case {
    rule: String,
    /// Sources, then pairs (lhs, expected rhs) that the rule must join.
    fires: (String, Vec<(String, String)>),
    /// Sources, then left-hand sides on which the rule must not fire.
    blocked: (String, Vec<String>),
}

fn case(
    rule: &str,
    src: &str,
    fires: &[(&str, &str)],
    blocked_src: &str,
    blocked: &[&str],
) -> Case {
    Case {
        rule: rule.to_string(),
        fires: (
            src.to_string(),
            fires
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        ),
        blocked: (
            blocked_src.to_string(),
            blocked.iter().map(|s| s.to_string()).collect(),
        ),
    }
}

fn egraph(spec: &str) -> EGraph {
    let mut sources = HashMap::new();
    for decl in spec.split_whitespace() {
        let parts: Vec<&str> = decl.split(':').collect();
        assert_eq!(parts.len(), 3, "bad source '{decl}'");
        let (vis, kind) = match parts[1] {
            "s" => (Visibility::Secret, ElemKind::Real),
            "p" => (Visibility::Public, ElemKind::Real),
            "v" => (Visibility::Server, ElemKind::Real),
            "si" => (Visibility::Secret, ElemKind::Int),
            "pi" => (Visibility::Public, ElemKind::Int),
            other => panic!("bad visibility '{other}'"),
        };
        let shape: Vec<usize> = if parts[2].is_empty() {
            vec![]
        } else {
            parts[2].split('x').map(|d| d.parse().unwrap()).collect()
        };
        sources.insert(
            Symbol::from(parts[0]),
            SourceInfo {
                op: Op::Input,
                value: ValueInfo::new(shape, kind, vis),
                module: String::new(),
                phase: Phase::Forward,
            },
        );
    }
    EGraph::new(TensorAnalysis::new(sources))
}

fn run(eg: EGraph, rules: &RuleSet) -> (EGraph, runner::Saturation) {
    let multi = rules
        .rules
        .iter()
        .filter(|r| r.multi)
        .map(|r| Symbol::from(r.name.as_str()))
        .collect();
    let limits = Limits {
        nodes: 20_000,
        iterations: 4,
        extraction_work: 50_000_000,
        time: Duration::from_secs(20),
        multi_iterations: 4,
        match_limit: 10_000,
    };
    runner::saturate(eg, &rules.rewrites(true), multi, &limits, None)
}

fn check(c: &Case) {
    let rules = RuleSet::builtin().unwrap().subset(&[c.rule.as_str()]);
    assert_eq!(rules.rules.len(), 1, "no rule named '{}'", c.rule);
    // Fires.
    let mut eg = egraph(&c.fires.0);
    let mut pairs = Vec::new();
    for (lhs, rhs) in &c.fires.1 {
        let a = add_term(&mut eg, lhs).unwrap_or_else(|e| panic!("{}: {lhs}: {e}", c.rule));
        let b = add_term(&mut eg, rhs).unwrap_or_else(|e| panic!("{}: {rhs}: {e}", c.rule));
        assert_ne!(
            eg.find(a),
            eg.find(b),
            "{}: sides equal before the rule",
            c.rule
        );
        pairs.push((a, b, lhs, rhs));
    }
    let (eg, _) = run(eg, &rules);
    for (a, b, lhs, rhs) in pairs {
        assert_eq!(
            eg.find(a),
            eg.find(b),
            "{}: did not rewrite {lhs} into {rhs}",
            c.rule
        );
    }
    // Blocked.
    let mut eg = egraph(&c.blocked.0);
    for lhs in &c.blocked.1 {
        add_term(&mut eg, lhs).unwrap_or_else(|e| panic!("{}: {lhs}: {e}", c.rule));
    }
    let (_, sat) = run(eg, &rules);
    assert!(
        sat.fired.is_empty(),
        "{}: fired on {:?}: {:?}",
        c.rule,
        c.blocked.1,
        sat.fired
    );
}

/// The same test for each op of a `for` family: `%f` in the texts is the op (with attributes
/// where the op needs them).
fn family(
    rule: &str,
    ops: &[(&str, &str)],
    src: &str,
    lhs: &str,
    rhs: &str,
    blocked_src: &str,
    blocked: &str,
) -> Vec<Case> {
    ops.iter()
        .map(|(op, written)| {
            let sub = |t: &str| t.replace("%f", written);
            case(
                &format!("{rule}/{op}"),
                src,
                &[(&sub(lhs), &sub(rhs))],
                blocked_src,
                &[&sub(blocked)],
            )
        })
        .collect()
}

fn both(c: Case, reverse_blocked_src: &str, reverse_blocked: &[&str]) -> Vec<Case> {
    let rev = Case {
        rule: format!("{}~rev", c.rule),
        fires: (
            c.fires.0.clone(),
            c.fires
                .1
                .iter()
                .map(|(a, b)| (b.clone(), a.clone()))
                .collect(),
        ),
        blocked: (
            reverse_blocked_src.to_string(),
            reverse_blocked.iter().map(|s| s.to_string()).collect(),
        ),
    };
    vec![c, rev]
}

const BN: &str = "(mul g (rsqrt (add va 0.00001)))";

fn cases() -> Vec<Case> {
    let mut v = vec![
        case(
            "relu-after-maxpool",
            "x:s:1x2x4x4",
            &[(
                "(max_pool2d[kernel=[2,2], stride=[2,2]] (relu x))",
                "(relu (max_pool2d[kernel=[2,2], stride=[2,2]] x))",
            )],
            "x:s:1x2x4x4",
            &["(avg_pool2d[kernel=[2,2], stride=[2,2]] (relu x))"],
        ),
        case(
            "relu-after-global-max",
            "x:s:1x2x4x4",
            &[(
                "(reduce_max[axes=[2,3], keepdims=true] (relu x))",
                "(relu (reduce_max[axes=[2,3], keepdims=true] x))",
            )],
            "x:s:1x2x4x4",
            &["(reduce_mean[axes=[2,3], keepdims=true] (relu x))"],
        ),
        case(
            "relu-idempotent",
            "x:s:2x3",
            &[("(relu (relu x))", "(relu x)")],
            "x:s:2x3",
            &["(relu (sigmoid x))"],
        ),
        case(
            "fold-batchnorm-conv",
            "x:s:1x2x4x4 w:p:3x2x3x3 b:p:3 g:p:3 be:p:3 mu:p:3 va:p:3",
            &[(
                "(batch_norm (conv2d[padding=[1,1,1,1]] x w b) g be mu va)",
                &format!("(conv2d[padding=[1,1,1,1]] x (mul w (reshape[to=[-1,1,1,1]] {BN})) (add (mul (sub b mu) {BN}) be))"),
            )],
            "x:s:1x2x4x4 w:s:3x2x3x3 b:p:3 g:p:3 be:p:3 mu:p:3 va:p:3",
            &["(batch_norm (conv2d[padding=[1,1,1,1]] x w b) g be mu va)"],
        ),
        case(
            "fold-batchnorm-conv-nobias",
            "x:s:1x2x4x4 w:v:3x2x3x3 g:v:3 be:v:3 mu:v:3 va:v:3",
            &[(
                "(batch_norm (conv2d x w) g be mu va)",
                &format!("(conv2d x (mul w (reshape[to=[-1,1,1,1]] {BN})) (sub be (mul mu {BN})))"),
            )],
            "x:s:1x2x4x4 w:p:3x2x3x3 g:s:3 be:p:3 mu:p:3 va:p:3",
            &["(batch_norm (conv2d x w) g be mu va)"],
        ),
        case(
            "fold-batchnorm-linear",
            "x:s:4x5 w:p:3x5 b:p:3 g:p:3 be:p:3 mu:p:3 va:p:3",
            &[(
                "(batch_norm (linear x w b) g be mu va)",
                &format!("(linear x (mul w (reshape[to=[-1,1]] {BN})) (add (mul (sub b mu) {BN}) be))"),
            )],
            "x:s:2x3x5 w:p:3x5 b:p:3 g:p:3 be:p:3 mu:p:3 va:p:3",
            &["(batch_norm (linear x w b) g be mu va)"],
        ),
        case(
            "fold-batchnorm-linear-nobias",
            "x:s:4x5 w:p:3x5 g:p:3 be:p:3 mu:p:3 va:p:3",
            &[(
                "(batch_norm (linear x w) g be mu va)",
                &format!("(linear x (mul w (reshape[to=[-1,1]] {BN})) (sub be (mul mu {BN})))"),
            )],
            "x:s:2x3x5 w:p:3x5 g:p:3 be:p:3 mu:p:3 va:p:3",
            &["(batch_norm (linear x w) g be mu va)"],
        ),
        case(
            "merge-scales",
            "x:s:2x3 a:p:3 b:p:",
            &[("(mul (mul x a) b)", "(mul x (mul a b))")],
            "x:s:2x3 a:s:3 b:p:",
            &["(mul (mul x a) b)"],
        ),
        case(
            "merge-shifts",
            "x:s:2x3 a:p:3 b:p:",
            &[("(add (add x a) b)", "(add x (add a b))")],
            "x:s:2x3 a:s:3 b:p:",
            &["(add (add x a) b)"],
        ),
        case(
            "scale-through-shift",
            "x:s:2x3 a:p:3 b:p:",
            &[("(mul (add x a) b)", "(add (mul x b) (mul a b))")],
            "x:p:2x3 a:p:3 b:p:",
            &["(mul (add x a) b)"],
        ),
        case(
            "scale-into-linear",
            "x:s:2x5 w:p:3x5 b:p:3",
            &[("(mul (linear x w b) 0.5)", "(linear x (mul w 0.5) (mul b 0.5))")],
            "x:s:2x5 w:s:3x5 b:p:3",
            &["(mul (linear x w b) 0.5)"],
        ),
        case(
            "scale-into-linear-nobias",
            "x:s:2x5 w:p:3x5",
            &[("(mul (linear x w) 0.5)", "(linear x (mul w 0.5))")],
            "x:s:2x5 w:p:3x5 c:p:1x1",
            &["(mul (linear x w) c)"],
        ),
        case(
            "scale-into-conv",
            "x:s:1x2x4x4 w:p:3x2x3x3 b:p:3",
            &[("(mul (conv2d x w b) 0.5)", "(conv2d x (mul w 0.5) (mul b 0.5))")],
            "x:s:1x2x4x4 w:p:3x2x3x3 b:s:3",
            &["(mul (conv2d x w b) 0.5)"],
        ),
        case(
            "scale-into-matmul-operand",
            "a:s:2x3 b:s:3x4",
            &[("(mul (mat_mul a b) 0.5)", "(mat_mul (mul a 0.5) b)")],
            "a:s:2x3 b:s:3x4 c:p:1x1",
            &["(mul (mat_mul a b) c)"],
        ),
        case(
            "div-by-public",
            "x:s:2x3 c:p:3",
            &[("(div x c)", "(mul x (reciprocal c))")],
            "x:s:2x3 c:s:3",
            &["(div x c)"],
        ),
        case(
            "reciprocal-of-small-denominator",
            "x:s:2x3 y:s:2x1",
            &[("(div x y)", "(mul x (reciprocal y))")],
            "x:s:2x3 y:s:2x3",
            &["(div x y)"],
        ),
        case(
            "merge-linears",
            "x:s:2x5 w1:p:4x5 b1:p:4 w2:p:3x4 b2:p:3",
            &[(
                "(linear (linear x w1 b1) w2 b2)",
                "(linear x (mat_mul w2 w1) (add (mat_mul w2 b1) b2))",
            )],
            "x:s:2x5 w1:s:4x5 b1:p:4 w2:p:3x4 b2:p:3",
            &["(linear (linear x w1 b1) w2 b2)"],
        ),
        case(
            "merge-linears-nobias",
            "x:s:2x5 w1:p:4x5 w2:p:3x4",
            &[("(linear (linear x w1) w2)", "(linear x (mat_mul w2 w1))")],
            "x:s:2x5 w1:p:4x5 w2:s:3x4",
            &["(linear (linear x w1) w2)"],
        ),
        case(
            "merge-sibling-linears",
            "x:s:2x5 w1:p:4x5 b1:p:4 w2:p:3x5 b2:p:3",
            &[
                (
                    "(linear x w1 b1)",
                    "(slice[axis=-1, start=0, end=4] (linear x (concat[axis=0] w1 w2) (concat[axis=0] b1 b2)))",
                ),
                (
                    "(linear x w2 b2)",
                    "(slice[axis=-1, start=4, end=7] (linear x (concat[axis=0] w1 w2) (concat[axis=0] b1 b2)))",
                ),
            ],
            "x:p:2x5 w1:p:4x5 b1:p:4 w2:p:3x5 b2:p:3",
            &["(linear x w1 b1)", "(linear x w2 b2)"],
        ),
        case(
            "merge-sibling-linears-nobias",
            "x:s:2x5 w1:s:4x5 w2:s:3x5",
            &[
                (
                    "(linear x w1)",
                    "(slice[axis=-1, start=0, end=4] (linear x (concat[axis=0] w1 w2)))",
                ),
                (
                    "(linear x w2)",
                    "(slice[axis=-1, start=4, end=7] (linear x (concat[axis=0] w1 w2)))",
                ),
            ],
            "x:v:2x5 w1:s:4x5 w2:s:3x5",
            &["(linear x w1)", "(linear x w2)"],
        ),
        case(
            "merge-sibling-matmuls",
            "x:s:2x5 w1:p:5x4 w2:p:5x3",
            &[
                (
                    "(mat_mul x w1)",
                    "(slice[axis=-1, start=0, end=4] (mat_mul x (concat[axis=-1] w1 w2)))",
                ),
                (
                    "(mat_mul x w2)",
                    "(slice[axis=-1, start=4, end=7] (mat_mul x (concat[axis=-1] w1 w2)))",
                ),
            ],
            "x:s:2x5 w1:p:3x5x4 w2:p:5x3",
            &["(mat_mul x w1)", "(mat_mul x w2)"],
        ),
        case(
            "merge-sibling-convs",
            "x:s:1x2x4x4 w1:p:3x2x3x3 b1:p:3 w2:p:2x2x3x3 b2:p:2",
            &[
                (
                    "(conv2d[padding=[1,1,1,1]] x w1 b1)",
                    "(slice[axis=1, start=0, end=3] (conv2d[padding=[1,1,1,1]] x (concat[axis=0] w1 w2) (concat[axis=0] b1 b2)))",
                ),
                (
                    "(conv2d[padding=[1,1,1,1]] x w2 b2)",
                    "(slice[axis=1, start=3, end=5] (conv2d[padding=[1,1,1,1]] x (concat[axis=0] w1 w2) (concat[axis=0] b1 b2)))",
                ),
            ],
            "x:s:1x2x4x4 w1:p:2x1x3x3 b1:p:2 w2:p:2x1x3x3 b2:p:2",
            &[
                "(conv2d[groups=2] x w1 b1)",
                "(conv2d[groups=2] x w2 b2)",
            ],
        ),
        case(
            "merge-sibling-convs-nobias",
            "x:s:1x2x4x4 w1:p:3x2x3x3 w2:p:2x2x3x3",
            &[
                (
                    "(conv2d x w1)",
                    "(slice[axis=1, start=0, end=3] (conv2d x (concat[axis=0] w1 w2)))",
                ),
                (
                    "(conv2d x w2)",
                    "(slice[axis=1, start=3, end=5] (conv2d x (concat[axis=0] w1 w2)))",
                ),
            ],
            "x:s:1x2x4x4 w1:p:3x2x3x3 w2:p:2x2x3x3",
            &["(conv2d x w1)", "(conv2d[stride=[2,2]] x w2)"],
        ),
        case(
            "clip-via-relus",
            "x:s:2x3",
            &[("(min (relu x) 6)", "(sub (relu x) (relu (sub x 6)))")],
            "x:s:2x3",
            &["(min (relu x) -1)"],
        ),
        case(
            "pow2-as-square",
            "x:s:2x3",
            &[("(pow[exponent=2] x)", "(square x)")],
            "x:s:2x3",
            &["(pow[exponent=3] x)"],
        ),
        case(
            "softmax-explicit",
            "x:s:2x3",
            &[(
                "(softmax x)",
                "(div (exp (sub x (reduce_max[axes=[-1], keepdims=true] x))) (reduce_sum[axes=[-1], keepdims=true] (exp (sub x (reduce_max[axes=[-1], keepdims=true] x)))))",
            )],
            "x:s:2x3",
            &["(log_softmax x)"],
        ),
        case(
            "layernorm-explicit",
            "x:s:2x4 w:p:4 b:p:4",
            &[(
                "(layer_norm x w b)",
                "(add (mul (mul (sub x (reduce_mean[axes=[-1], keepdims=true] x)) (rsqrt (add (reduce_mean[axes=[-1], keepdims=true] (square (sub x (reduce_mean[axes=[-1], keepdims=true] x)))) 0.00001))) w) b)",
            )],
            "x:s:2x4 w:p:2x4 b:p:2x4",
            &["(layer_norm[axis=0] x w b)"],
        ),
        case(
            "dropout-is-identity",
            "x:s:2x3",
            &[("(dropout[p=0.1] x)", "x")],
            "x:s:2x3",
            &["(identity x)"],
        ),
        case(
            "identity-removal",
            "x:s:2x3",
            &[("(identity x)", "x")],
            "x:s:2x3",
            &["(dropout[p=0.1] x)"],
        ),
        // Approximate rules.
        case(
            "relu-to-square",
            "x:s:2x3",
            &[("(relu x)", "(square x)")],
            "x:s:2x3",
            &["(leaky_relu x)"],
        ),
        case(
            "relu-to-quad",
            "x:s:2x3",
            &[(
                "(relu x)",
                "(add (add (mul (square x) 0.1171875) (mul x 0.5)) 0.375)",
            )],
            "x:s:2x3",
            &["(abs x)"],
        ),
        case(
            "gelu-to-quad",
            "x:s:2x3",
            &[(
                "(gelu x)",
                "(add (add (mul (square x) 0.125) (mul x 0.25)) 0.5)",
            )],
            "x:s:2x3",
            &["(sigmoid x)"],
        ),
        case(
            "softmax-to-2quad",
            "x:s:2x3",
            &[(
                "(softmax x)",
                "(div (square (add x 5)) (reduce_sum[axes=[-1], keepdims=true] (square (add x 5))))",
            )],
            "x:s:2x3",
            &["(log_softmax x)"],
        ),
        case(
            "maxpool-to-avgpool",
            "x:s:1x2x4x4",
            &[(
                "(max_pool2d[kernel=[2,2], stride=[2,2]] x)",
                "(avg_pool2d[kernel=[2,2], stride=[2,2]] x)",
            )],
            "x:s:1x2x4x4",
            &["(max_pool2d[kernel=[2,2], stride=[1,1], dilation=[2,2]] x)"],
        ),
        case(
            "sigmoid-to-cubic",
            "x:s:2x3",
            &[(
                "(sigmoid x)",
                "(sub (add (mul x 0.197) 0.5) (mul (mul (square x) x) 0.004))",
            )],
            "x:s:2x3",
            &["(tanh x)"],
        ),
        case(
            "sigmoid-to-piecewise",
            "x:s:2x3",
            &[(
                "(sigmoid x)",
                "(sub (relu (add x 0.5)) (relu (sub x 0.5)))",
            )],
            "x:s:2x3",
            &["(tanh x)"],
        ),
        case(
            "relu-to-identity",
            "x:s:2x3",
            &[(
                "(relu x)",
                "x",
            )],
            "x:s:2x3",
            &["(leaky_relu x)"],
        ),
        case(
            "gelu-to-puma",
            "x:s:2x3",
            &[(
                "(gelu x)",
                "(add (add (mul (clip[min=0, max=1] (mul (sub x 3) 65536)) x) (mul (sub (clip[min=0, max=1] (mul (add x 4) 65536)) (clip[min=0, max=1] (mul (add x 1.95) 65536))) (add (add (mul (mul (square x) x) -0.011034134030615728) (mul (square x) -0.11807612951181953)) (add (mul x -0.42226581151983866) -0.5054031199708174)))) (mul (sub (clip[min=0, max=1] (mul (add x 1.95) 65536)) (clip[min=0, max=1] (mul (sub x 3) 65536))) (add (add (add (mul (mul (square (square x)) (square x)) 0.0018067462606141187) (mul (square (square x)) -0.037688200365904236)) (mul (square x) 0.3603292692789629)) (add (mul x 0.5) 0.008526321541038084))))",
            )],
            "x:s:2x3",
            &["(sigmoid x)"],
        ),
        case(
            "softmax-to-puma",
            "x:s:2x3",
            &[(
                "(softmax x)",
                "(div (mul (square (square (square (square (square (square (square (square (add (mul (sub x (reduce_max[axes=[-1], keepdims=true] x)) 0.00390625) 1))))))))) (clip[min=0, max=1] (mul (add (sub x (reduce_max[axes=[-1], keepdims=true] x)) 14) 65536))) (reduce_sum[axes=[-1], keepdims=true] (mul (square (square (square (square (square (square (square (square (add (mul (sub x (reduce_max[axes=[-1], keepdims=true] x)) 0.00390625) 1))))))))) (clip[min=0, max=1] (mul (add (sub x (reduce_max[axes=[-1], keepdims=true] x)) 14) 65536)))))",
            )],
            "x:s:2x3",
            &["(log_softmax x)"],
        ),
        case(
            "exp-to-limit",
            "x:s:2x3",
            &[(
                "(exp x)",
                "(square (square (square (square (square (square (square (square (add (mul x 0.00390625) 1)))))))))",
            )],
            "x:s:2x3",
            &["(log x)"],
        ),
        case(
            "reciprocal-to-newton",
            "x:s:2x3",
            &[(
                "(reciprocal x)",
                "(mul (mul (mul (add (mul (square (square (square (square (square (square (square (square (add (mul x -0.00390625) 1.001953125))))))))) 3) 0.003) (sub 2 (mul x (add (mul (square (square (square (square (square (square (square (square (add (mul x -0.00390625) 1.001953125))))))))) 3) 0.003)))) (sub 2 (mul x (mul (add (mul (square (square (square (square (square (square (square (square (add (mul x -0.00390625) 1.001953125))))))))) 3) 0.003) (sub 2 (mul x (add (mul (square (square (square (square (square (square (square (square (add (mul x -0.00390625) 1.001953125))))))))) 3) 0.003))))))) (sub 2 (mul x (mul (mul (add (mul (square (square (square (square (square (square (square (square (add (mul x -0.00390625) 1.001953125))))))))) 3) 0.003) (sub 2 (mul x (add (mul (square (square (square (square (square (square (square (square (add (mul x -0.00390625) 1.001953125))))))))) 3) 0.003)))) (sub 2 (mul x (mul (add (mul (square (square (square (square (square (square (square (square (add (mul x -0.00390625) 1.001953125))))))))) 3) 0.003) (sub 2 (mul x (add (mul (square (square (square (square (square (square (square (square (add (mul x -0.00390625) 1.001953125))))))))) 3) 0.003))))))))))",
            )],
            "x:s:2x3",
            &["(sqrt x)"],
        ),
        case(
            "gelu-to-bumblebee",
            "x:s:2x3",
            &[(
                "(gelu x)",
                "(add (mul (clip[min=0, max=1] (mul (sub x 2.9999847412109375) 65536)) x) (mul (sub (clip[min=0, max=1] (mul (add x 3.0000152587890625) 65536)) (clip[min=0, max=1] (mul (sub x 2.9999847412109375) 65536))) (add (add (mul x 0.5) 0.001620808531841547) (add (add (mul (abs x) -0.03798164612714154) (mul (square x) 0.5410550166368381)) (add (mul (mul (square x) (abs x)) -0.18352506127082727) (mul (square (square x)) 0.020848611754127593))))))",
            )],
            "x:s:2x3",
            &["(sigmoid x)"],
        ),
        case(
            "exp-to-bumblebee",
            "x:s:2x3",
            &[(
                "(exp x)",
                "(mul (square (square (square (square (square (add (mul x 0.03125) 1)))))) (clip[min=0, max=1] (mul (add x 14.0000152587890625) 65536)))",
            )],
            "x:s:2x3",
            &["(log x)"],
        ),
        case(
            "softmax-to-bumblebee",
            "x:s:2x3",
            &[(
                "(softmax x)",
                "(mul (mul (square (square (square (square (square (add (mul (sub x (reduce_max[axes=[-1], keepdims=true] x)) 0.03125) 1)))))) (clip[min=0, max=1] (mul (add (sub x (reduce_max[axes=[-1], keepdims=true] x)) 14.0000152587890625) 65536))) (reciprocal (reduce_sum[axes=[-1], keepdims=true] (mul (square (square (square (square (square (add (mul (sub x (reduce_max[axes=[-1], keepdims=true] x)) 0.03125) 1)))))) (clip[min=0, max=1] (mul (add (sub x (reduce_max[axes=[-1], keepdims=true] x)) 14.0000152587890625) 65536))))))",
            )],
            "x:s:2x3",
            &["(log_softmax x)"],
        ),
    ];
    v.extend(both(
        case(
            "matmul-assoc",
            "a:s:2x3 b:p:3x4 c:p:4x5",
            &[("(mat_mul (mat_mul a b) c)", "(mat_mul a (mat_mul b c))")],
            "a:s:3 b:p:3x4 c:p:4x5",
            &["(mat_mul (mat_mul a b) c)"],
        ),
        "a:s:3 b:p:3x4 c:p:4x5",
        &["(mat_mul a (mat_mul b c))"],
    ));
    v.extend(both(
        case(
            "matmul-distribute-left",
            "a:s:2x3 b:p:3x4 c:p:3x4",
            &[("(add (mat_mul a b) (mat_mul a c))", "(mat_mul a (add b c))")],
            "a:s:2x3 b:p:3x4 c:p:3x1",
            &["(add (mat_mul a b) (mat_mul a c))"],
        ),
        "a:s:2x3 b:p:3x4 c:p:3x1",
        &["(mat_mul a (add b c))"],
    ));
    v.extend(both(
        case(
            "matmul-distribute-right",
            "a:p:2x3 b:p:2x3 c:s:3x4",
            &[("(add (mat_mul a c) (mat_mul b c))", "(mat_mul (add a b) c)")],
            "a:p:2x3 b:p:1x3 c:s:3x4",
            &["(add (mat_mul a c) (mat_mul b c))"],
        ),
        "a:p:2x3 b:p:1x3 c:s:3x4",
        &["(mat_mul (add a b) c)"],
    ));
    v.extend(both(
        case(
            "transpose-of-matmul",
            "a:s:2x3 b:s:3x4",
            &[(
                "(transpose[perm=[1,0]] (mat_mul a b))",
                "(mat_mul (transpose[perm=[1,0]] b) (transpose[perm=[1,0]] a))",
            )],
            "a:s:5x2x3 b:s:3x4",
            &["(transpose[perm=[0,2,1]] (mat_mul a b))"],
        ),
        "a:s:4x2x6 b:s:3x2x4",
        &["(mat_mul (transpose[perm=[1,0,2]] b) (transpose[perm=[1,0,2]] a))"],
    ));
    v.extend(both(
        case(
            "linear-as-matmul",
            "x:s:2x5 w:p:3x5 b:p:3",
            &[("(linear x w)", "(mat_mul x (transpose[perm=[1,0]] w))")],
            "x:s:2x5 w:p:3x5 b:p:3",
            &["(linear x w b)"],
        ),
        "x:s:2x5 w:p:5x3",
        &["(mat_mul x w)"],
    ));
    v.extend(both(
        case(
            "linear-bias-as-add",
            "x:s:2x5 w:p:3x5 b:p:3",
            &[("(linear x w b)", "(add (linear x w) b)")],
            "x:s:2x5 w:p:3x5",
            &["(linear x w)"],
        ),
        "x:s:2x5 w:p:3x5 b:p:2x3",
        &["(add (linear x w) b)"],
    ));
    v.extend(both(
        case(
            "max-via-relu",
            "a:s:2x3 b:s:2x3",
            &[("(max a b)", "(add a (relu (sub b a)))")],
            "a:si:2x3 b:si:2x3",
            &["(max a b)"],
        ),
        "a:si:2x3 b:si:2x3",
        &["(add a (relu (sub b a)))"],
    ));
    v.extend(both(
        case(
            "min-via-relu",
            "a:s:2x3 b:s:2x3",
            &[("(min a b)", "(sub a (relu (sub a b)))")],
            "a:si:2x3 b:si:2x3",
            &["(min a b)"],
        ),
        "a:si:2x3 b:si:2x3",
        &["(sub a (relu (sub a b)))"],
    ));
    v.extend(both(
        case(
            "relu-via-abs",
            "x:s:2x3",
            &[("(relu x)", "(mul (add x (abs x)) 0.5)")],
            "x:s:2x3",
            &["(leaky_relu x)"],
        ),
        "x:s:2x3",
        &["(mul (add x (abs x)) 0.25)"],
    ));
    v.extend(both(
        case(
            "sigmoid-via-tanh",
            "x:s:2x3",
            &[("(sigmoid x)", "(add (mul (tanh (mul x 0.5)) 0.5) 0.5)")],
            "x:s:2x3",
            &["(tanh x)"],
        ),
        "x:s:2x3",
        &["(add (mul (tanh (mul x 0.5)) 0.5) 0.25)"],
    ));
    v.extend(both(
        case(
            "square-as-product",
            "x:s:2x3",
            &[("(square x)", "(mul x x)")],
            "x:si:2x3",
            &["(square x)"],
        ),
        "x:si:2x3",
        &["(mul x x)"],
    ));
    v.extend(both(
        case(
            "rsqrt-split",
            "x:s:2x3",
            &[("(rsqrt x)", "(reciprocal (sqrt x))")],
            "x:s:2x3",
            &["(sqrt x)"],
        ),
        "x:s:2x3",
        &["(reciprocal (exp x))"],
    ));
    for op in ["mul", "add"] {
        v.push(case(
            &format!("public-operand-right/{op}"),
            "x:s:2x3 c:p:3",
            &[(&format!("({op} c x)"), &format!("({op} x c)"))],
            "x:s:2x3 c:s:3",
            &[&format!("({op} c x)")],
        ));
    }
    v.extend(family(
        "scale-before-view",
        &[
            ("reshape", "reshape[to=[3,2]]"),
            ("transpose", "transpose[perm=[1,0]]"),
            ("flatten", "flatten[axis=0]"),
            ("expand", "expand[to=[4,2,3]]"),
        ],
        "x:s:2x3",
        "(mul (%f x) 0.5)",
        "(%f (mul x 0.5))",
        "x:s:2x3 c:s:",
        "(mul (%f x) c)",
    ));
    let binary = [
        ("mul", "mul"),
        ("add", "add"),
        ("sub", "sub"),
        ("div", "div"),
        ("max", "max"),
        ("min", "min"),
    ];
    v.extend(family(
        "broadcast-fusion",
        &binary,
        "x:s:2x1 y:s:1x3",
        "(%f x (expand[to=[2,3]] y))",
        "(%f x y)",
        "x:s:1x3 y:s:1x3",
        "(%f x (expand[to=[2,3]] y))",
    ));
    v.extend(family(
        "broadcast-fusion-left",
        &binary,
        "x:s:2x1 y:s:1x3",
        "(%f (expand[to=[2,3]] y) x)",
        "(%f y x)",
        "x:s:1x3 y:s:1x3",
        "(%f (expand[to=[2,3]] y) x)",
    ));
    let unary: Vec<(&str, &str)> = [
        "relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "gelu",
        "exp",
        "log",
        "reciprocal",
        "sqrt",
        "rsqrt",
        "square",
        "abs",
        "neg",
    ]
    .iter()
    .map(|o| (*o, *o))
    .chain([("pow", "pow[exponent=3]")])
    .collect();
    v.extend(family(
        "unary-before-expand",
        &unary,
        "x:s:1x3",
        "(%f (expand[to=[4,3]] x))",
        "(expand[to=[4,3]] (%f x))",
        "x:s:1x3",
        "(%f (reshape[to=[3,1]] x))",
    ));
    let view_ops: Vec<(&str, &str)> = ["relu", "gelu", "sigmoid", "tanh", "exp", "square"]
        .iter()
        .map(|o| (*o, *o))
        .collect();
    for (rule, view, blocked) in [
        ("unary-through-view", "reshape[to=[3,2]]", "flatten[axis=0]"),
        (
            "unary-through-transpose",
            "transpose[perm=[1,0]]",
            "flatten[axis=0]",
        ),
    ] {
        let forward = family(
            rule,
            &view_ops,
            "x:s:2x3",
            &format!("(%f ({view} x))"),
            &format!("({view} (%f x))"),
            "x:s:2x3",
            &format!("(%f ({blocked} x))"),
        );
        for c in forward {
            let blocked_rev = c.blocked.1[0].clone();
            let (op, _) = blocked_rev[1..].split_once(' ').unwrap();
            let rev_blocked = format!("({blocked} ({op} x))");
            v.extend(both(c, "x:s:2x3", &[&rev_blocked]));
        }
    }
    v.extend(signs_and_composition::cases());
    v.extend(dot_products::cases());
    v.extend(linear_composition::cases());
    v
}

#[test]
fn every_rule_has_a_test() {
    let rules = RuleSet::builtin().unwrap();
    let tested: HashSet<String> = cases().into_iter().map(|c| c.rule).collect();
    let missing: Vec<&str> = rules
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .filter(|n| !tested.contains(*n))
        .collect();
    assert!(missing.is_empty(), "rules without a test: {missing:?}");
    let unknown: Vec<&String> = tested.iter().filter(|t| rules.info(t).is_none()).collect();
    assert!(unknown.is_empty(), "tests of unknown rules: {unknown:?}");
}

#[test]
fn rules_fire_where_they_should_and_not_where_conditions_fail() {
    for c in cases() {
        check(&c);
    }
}
