//! SiRNN's math functions under `cheetah` (OpenCheetah), checked against OpenCheetah's source
//! (Alibaba-Gemini-Lab/OpenCheetah f71d4d4).
//!
//! OpenCheetah links SCI's `SCI/src/Math/math-functions.cpp`, but every one of its functions
//! (exp, sigmoid, tanh, division and the reciprocal, square root and its inverse) multiplies
//! shares with `LinearOT::hadamard_product`, whose cross terms and wrap terms go through the
//! OT pack's `send_batched_cot` / `send_batched_got`. OpenCheetah's pack is
//! `cheetah::SilentOT` (`SCI/src/OT/cheetah-ot_pack.h`), and those four batched methods of it
//! only `throw std::logic_error("Not implemented")` (`SCI/src/OT/ferret/silent_ot.h`). So the
//! closed form of each function in OpenCheetah is a refusal: these tests check its exact
//! sentence, at several shapes and bit widths (HawkEye's ell = 64, scale = 18 and OpenCheetah's
//! scripts' 37, 12), and that the division OpenCheetah does run (by a public or a server-held
//! divisor) keeps its closed form.

use hawkeye_mpc::cost;
use hawkeye_mpc::graph::{ConstValue, Graph, Op, ParamRole};
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::ModelBuilder;

fn cheetah(overrides: &[(&str, f64)]) -> cost::CostModel {
    let overrides: Vec<(String, f64)> = overrides.iter().map(|&(k, v)| (k.into(), v)).collect();
    cost::load_framework("cheetah", &overrides).unwrap()
}

fn profile(graph: &Graph, model: &cost::CostModel) -> Result<Profile, String> {
    let g = graph.with_parameter_visibility(model.framework.default_weights);
    Profile::new(&g, model).map_err(|e| e.to_string())
}

fn unary(op: Op, shape: Vec<usize>) -> Graph {
    let mut b = ModelBuilder::new("one_op");
    let x = b.input("x", shape).unwrap();
    let y = b.op(op, &[x]).unwrap();
    b.finish(vec![y])
}

/// x / d for a divisor that is a secret input, a public constant or a server-held weight.
fn division(shape: Vec<usize>, divisor: &str) -> Graph {
    let mut b = ModelBuilder::new("one_op");
    let x = b.input("x", shape.clone()).unwrap();
    let d = match divisor {
        "secret" => b.input("d", shape).unwrap(),
        "public" => b.constant("d", ConstValue::Fill(3.0), shape).unwrap(),
        "server" => b.param("d", ParamRole::Weight, shape).unwrap(),
        other => panic!("no divisor kind {other}"),
    };
    let z = b.op(Op::Div, &[x, d]).unwrap();
    b.finish(vec![z])
}

/// The sentence of each refused function, as `[unsupported]` in cheetah.toml states it.
fn refusal(key: &str, what: &str, function: &str, fix: &str) -> String {
    format!(
        "cost_models/cheetah.toml: unsupported.{key}: OpenCheetah's implementation cannot \
         {what}: SiRNN's {function}, which it links, multiplies by OT products its silent OT \
         does not implement (\"Not implemented\" in silent_ot.h); {fix}use --framework \
         cryptflow2, the same function over IKNP OT, or spu-cheetah"
    )
}

#[test]
fn sirnn_functions_are_refused_in_words_at_every_shape_and_width() {
    for overrides in [vec![], vec![("ell", 37.0), ("scale", 12.0)]] {
        let model = cheetah(&overrides);
        for shape in [vec![4, 16], vec![3, 5], vec![2, 10000]] {
            let cases = [
                (
                    unary(Op::Exp, shape.clone()),
                    refusal("exp", "run exp", "lookup_table_exp", ""),
                ),
                (
                    unary(Op::Sigmoid, shape.clone()),
                    refusal("sigmoid", "run sigmoid", "sigmoid", ""),
                ),
                (
                    unary(Op::Tanh, shape.clone()),
                    refusal("tanh", "run tanh", "tanh", ""),
                ),
                (
                    unary(Op::Reciprocal, shape.clone()),
                    refusal("reciprocal", "run a reciprocal", "div", ""),
                ),
                (
                    unary(Op::Sqrt, shape.clone()),
                    refusal("sqrt", "run a square root", "sqrt", ""),
                ),
                (
                    unary(Op::Rsqrt, shape.clone()),
                    refusal("rsqrt", "run an inverse square root", "sqrt", ""),
                ),
                (
                    division(shape.clone(), "secret"),
                    refusal(
                        "div.*s",
                        "divide by a secret",
                        "div",
                        "divide by a public value, or ",
                    ),
                ),
            ];
            for (graph, want) in cases {
                let got = profile(&graph, &model).unwrap_err();
                assert_eq!(got, want, "{overrides:?} {shape:?}");
            }
        }
    }
}

/// Division by a public value is a truncation (truncate_msb0: f + 4 bits an element, 2
/// rounds); by the server's divisor it is a HomBNSS product first (conv2DSS-style exchange:
/// ceil(n/N) seeded ciphertexts of N * 109 bits from the client, as many answers of N
/// coefficients plus the n used ones at 60 bits from the server, 2 rounds), at N = 4096.
#[test]
fn division_by_a_public_or_server_divisor_keeps_its_closed_form() {
    let (big_n, q_fresh, q_answer) = (4096.0, 109.0, 60.0);
    for (ell, scale) in [(64.0, 18.0), (37.0, 12.0)] {
        let model = cheetah(&[("ell", ell), ("scale", scale)]);
        for shape in [vec![4, 16], vec![3, 5], vec![2, 10000]] {
            let n = shape.iter().product::<usize>() as f64;
            let trunc = ((scale + 4.0) * n, 2.0);
            let cts = (n / big_n).ceil();
            let he = (q_answer * (cts * big_n + n) + cts * big_n * q_fresh, 2.0);
            for (divisor, (bits, rounds)) in [
                ("public", trunc),
                ("server", (he.0 + trunc.0, he.1 + trunc.1)),
            ] {
                let p = profile(&division(shape.clone(), divisor), &model).unwrap();
                assert_eq!(p.total.online_bits, bits, "{divisor} {ell} {shape:?}");
                assert_eq!(p.total.online_rounds, rounds, "{divisor} {ell} {shape:?}");
            }
        }
    }
}
