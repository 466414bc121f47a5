//! Closed forms of the transformer functions under CrypTFlow2 (EzPC SCI's SiRNN math: exp,
//! sigmoid, tanh, square roots, reciprocal, division, and the softmax, LayerNorm and GELU
//! composed from them) and ABY3 (MP-SPDZ's `ml`/`mpc_math` port), written out from the sources
//! independently of the cost-model files, and compared with the profile of one op (bytes as
//! bits, rounds).
//!
//! SCI: mpc-msri/EzPC f24bf3e, `SCI/src/Math/math-functions.cpp` (line numbers in
//! `sci_closed_forms/`), over `BuildingBlocks/aux-protocols.cpp`, `truncation.cpp`,
//! `value-extension.cpp`, `LinearOT/linear-ot.cpp`, with SCI_OT's IKNP (128 bits a receiver
//! OT) and KKOT (256 bits) padded to 16384-OT blocks, the millionaire of radix 4, and
//! CrypTFlow2's ring of 60 bits with 23 fraction bits unless a test sets others.

use hawkeye_mpc::cost;
use hawkeye_mpc::graph::{Graph, Op};
use hawkeye_mpc::profile::Profile;
use hawkeye_mpc::zoo::ModelBuilder;

mod sci_closed_forms;

use sci_closed_forms::{self as sci, c, C};

/// Profiles a one-op graph under a built-in framework with its default weights.
fn profile(graph: &Graph, framework: &str) -> C {
    profile_with(graph, framework, &[])
}

/// The same with `--set` overrides.
fn profile_with(graph: &Graph, framework: &str, overrides: &[(&str, f64)]) -> C {
    let overrides: Vec<(String, f64)> = overrides.iter().map(|&(k, v)| (k.into(), v)).collect();
    let model = cost::load_framework(framework, &overrides).unwrap();
    let g = graph.with_parameter_visibility(model.framework.default_weights);
    let p = Profile::new(&g, &model).unwrap_or_else(|e| panic!("{framework}: {e}"));
    c(p.total.online_bits, p.total.online_rounds)
}

fn unary(op: Op, shape: Vec<usize>) -> Graph {
    let mut b = ModelBuilder::new("one_op");
    let x = b.input("x", shape).unwrap();
    let y = b.op(op, &[x]).unwrap();
    b.finish(vec![y])
}

fn layer_norm_graph(rows: usize, len: usize) -> Graph {
    let mut b = ModelBuilder::new("one_op");
    let x = b.input("x", vec![rows, len]).unwrap();
    let y = b.layernorm("ln", x, 1e-5).unwrap();
    b.finish(vec![y])
}

fn division_graph(rows: usize, len: usize) -> Graph {
    let mut b = ModelBuilder::new("one_op");
    let x = b.input("x", vec![rows, len]).unwrap();
    let y = b.input("y", vec![rows, len]).unwrap();
    let z = b.op(Op::Div, &[x, y]).unwrap();
    b.finish(vec![z])
}

const ROWS: f64 = 4.0;
const LEN: f64 = 16.0;

/// Asserts bits exactly and rounds exactly (both are sums of whole numbers here).
fn assert_cost(got: C, want: C, what: &str) {
    assert_eq!(got.bits, want.bits, "{what}: bits");
    assert_eq!(got.rounds, want.rounds, "{what}: rounds");
}

#[test]
fn cryptflow2_exp_is_sci_lookup_table_exp() {
    // library_fixed.cpp Exp = lookup_table_exp(I*J, A, B, bwA, bwB, sA, sB) at ell bits.
    let n = ROWS * LEN;
    let want = sci::lookup_table_exp(n, sci::ELL, sci::SCALE, sci::ELL);
    let got = profile(&unary(Op::Exp, vec![4, 16]), "cryptflow2");
    assert_cost(got, want, "exp");
}

#[test]
fn cryptflow2_division_is_sci_div_with_normalised_divisor() {
    // Operands reduced to the widths SCI's 64-bit products allow at scale 23: numerator and
    // result min(60, 64 - 23) = 41 bits; divisor min(60, 61 - m, 63 - 23) = 40 bits with
    // m = ceil((ceil(23/2) - 2)/2) = 5; the 41-bit result sign-extended to 60 bits without a
    // known MSB (value-extension.cpp z_extend after wrap_computation).
    let n = ROWS * LEN;
    let (s, ell) = (sci::SCALE, sci::ELL);
    let m = ((s / 2.0).ceil() - 2.0) / 2.0;
    assert_eq!(m.ceil(), 5.0);
    let (bw_nm, bw_dn) = (64.0 - s, (61.0 - m.ceil()).min(63.0 - s));
    assert_eq!((bw_nm, bw_dn), (41.0, 40.0));
    let want = sci::div(n, bw_nm, bw_dn, bw_nm, s, s, s, true)
        + sci::compare(n, bw_nm)
        + sci::b2a(n, ell - bw_nm);
    let got = profile(&division_graph(4, 16), "cryptflow2");
    assert_cost(got, want, "div");
}

#[test]
fn cryptflow2_softmax_is_max_exp_sum_reciprocal() {
    // Row max by funcMaxMPC's scan (len - 1 sequential ReLUs of the rows), lookup_table_exp
    // into s + 2 bits, zero-extension by log2(len) bits with known zero MSBs for the sums,
    // one reciprocal per row (div of 1 by the sum, normalised), the products exp * 1/sum
    // (hadamard of (s+2)-bit values into 2s + 2 bits, truncated by s), extension to ell bits.
    let (rows, len, s, ell) = (ROWS, LEN, sci::SCALE, sci::ELL);
    let n = rows * len;
    let w = s + 2.0;
    let sum_bits = w + len.log2().ceil();
    let known_zero_extension = |n: f64, a: f64, b: f64| {
        // MSB_to_Wrap: a 1-of-4 KKOT of 1-bit entries (4 bits a row from the server, 256
        // bits a KKOT from the client, padded), then B2A of the b - a new bits
        c(n * 4.0 + 256.0 * (n / 16384.0).ceil() * 16384.0, 2.0) + sci::b2a(n, b - a)
    };
    // the hadamard exp * reciprocal: cross terms of w-bit shares into 2w - 2 bits, and both
    // wrap terms by MSB_to_Wrap (known MSBs) with the matmul_multiplexer of w - 2 bits
    let cross = 2.0
        * (128.0 * (n * w / 16384.0).ceil() * 16384.0
            + n * (w * (2.0 * w - 2.0) - w * (w - 1.0) / 2.0));
    let wrap_mux =
        c(n * 4.0 + 256.0 * 16384.0, 2.0) + c(2.0 * (2.0 * (w - 2.0) * n + 128.0 * 16384.0), 2.0);
    let product = c(cross, 2.0) + wrap_mux * 2.0 + sci::compare(n, s) + sci::b2a(n, w);
    let want = sci::relu(rows) * (len - 1.0)
        + sci::lookup_table_exp(n, ell, s, w)
        + known_zero_extension(n, w, sum_bits)
        + sci::div(rows, 2.0, sum_bits, w, 0.0, s, s, true)
        + product
        + known_zero_extension(n, w, ell);
    let got = profile(&unary(Op::Softmax { axis: -1 }, vec![4, 16]), "cryptflow2");
    assert_cost(got, want, "softmax");
}

#[test]
fn cryptflow2_layer_norm_uses_sci_inverse_square_root() {
    // mean and variance: the local sums divided by len (a ScaleDown by log2 len, as the file's
    // reduce_mean), the squares and the normalising products as secret products, SCI's Sqrt
    // (inverse) of the rows' variances at ell bits, the server-held weight by one cross term.
    let (rows, len, s, ell) = (ROWS, LEN, sci::SCALE, sci::ELL);
    let n = rows * len;
    let want = sci::scale_down(rows, len.log2())
        + sci::secret_product(n)
        + sci::scale_down(rows, len.log2())
        + sci::rsqrt(rows, ell, ell, s, s)
        + sci::secret_product(n)
        + sci::model_product(n);
    let got = profile(&layer_norm_graph(4, 16), "cryptflow2");
    assert_cost(got, want, "layer_norm");
}

#[test]
fn cryptflow2_gelu_is_the_tanh_form_over_sci_tanh() {
    // 0.5 x (1 + tanh(c1 x + c2 x^3)): x^2, x^3 and the final product are secret products;
    // the two coefficients and the 0.5 public ScaleDowns; SCI's TanH at ell bits. SCI has no
    // erf, so the erf form costs the same.
    let n = ROWS * LEN;
    let (s, ell) = (sci::SCALE, sci::ELL);
    let want =
        sci::secret_product(n) * 3.0 + sci::scale_down(n, s) * 3.0 + sci::tanh(n, ell, ell, s);
    for approximate in [true, false] {
        let got = profile(&unary(Op::Gelu { approximate }, vec![4, 16]), "cryptflow2");
        assert_cost(got, want, "gelu");
    }
}

// ---------------------------------------------------------------------------------------------
// ABY3 with MP-SPDZ's functions (data61/MP-SPDZ Compiler/ml.py, mpc_math.py, library.py):
// ring 64, sfix f = 16, k = 31. Per element: a product 3*64 bits in 1 round, a truncation
// (TruncPr) 64 bits in 1 round, LTZ 9*64 bits in log2(64) + 2 = 8 rounds (HawkEye's figures).
// ---------------------------------------------------------------------------------------------

mod mpspdz {
    use super::{c, C};
    const L: f64 = 64.0;
    pub fn mul(n: f64) -> C {
        c(3.0 * L * n, 1.0)
    }
    pub fn trunc(n: f64) -> C {
        c(L * n, 1.0)
    }
    pub fn ltz(n: f64) -> C {
        c(9.0 * L * n, 8.0)
    }
    fn fxmul(n: f64) -> C {
        mul(n) + trunc(n)
    }

    /// ml.exp -> pow_fx(e, x) = exp2_fx(x * log2 e): the public scaling (TruncPr), then
    /// exp2_fx's ring branch: bit decomposition (as an LTZ), the sign XOR (a product),
    /// Pow2_from_bits (a KMul tree of ceil(log2(31 - 16)) = 4 factors: 3 products, 2 levels),
    /// p_1045 of degree 10 at 29 bits (PreOpL over 10 terms: 15 fixed-point products in 4
    /// levels), its sum rounded (TruncPr), TruncMul of the two parts, rounding, the sign
    /// selection (a product).
    pub fn exp(n: f64) -> C {
        trunc(n)
            + ltz(n)
            + mul(n)
            + c(mul(3.0 * n).bits, 2.0)
            + c(fxmul(15.0 * n).bits, 4.0 * 2.0)
            + trunc(n)
            + fxmul(n)
            + trunc(n)
            + mul(n)
    }

    /// library.FPDiv (Goldschmidt, theta = ceil(log2(31/3.5)) = 4) of n numerators by d
    /// denominators: AppRcr's Norm (sign LTZ, sign product, bit decomposition, PreOR over 31
    /// bits = 15 * 5 products in 5 rounds, two products), the first guess (fixed-point product,
    /// product), theta - 1 squarings of the error (fixed-point products) on the denominators;
    /// y = a*w, theta - 1 refinements and the last product on the numerators.
    pub fn fp_div(n: f64, d: f64) -> C {
        ltz(d)
            + mul(d)
            + ltz(d)
            + c(mul(75.0 * d).bits, 5.0)
            + mul(2.0 * d)
            + fxmul(d)
            + mul(d)
            + fxmul(d) * 3.0
            + fxmul(n)
            + fxmul(n) * 3.0
            + fxmul(n)
    }

    /// mpc_math.InvertSqrt: bit decomposition, PreOR over 31 bits, a product, two
    /// truncations (Sep's shift and the public scaling), two fixed-point products.
    pub fn invert_sqrt(n: f64) -> C {
        ltz(n) + c(mul(75.0 * n).bits, 5.0) + mul(n) + trunc(n) * 2.0 + fxmul(n) * 2.0
    }

    pub fn softmax(rows: f64, len: f64) -> C {
        // util.max as a tree: len - 1 comparisons and selections in log2(len) levels
        let levels = len.log2().ceil();
        let tree =
            c(ltz(rows * (len - 1.0)).bits, 8.0 * levels) + c(mul(rows * (len - 1.0)).bits, levels);
        let n = rows * len;
        tree + ltz(n) + exp(n) + mul(n) + fp_div(n, rows)
    }

    pub fn layer_norm(rows: f64, len: f64) -> C {
        let n = rows * len;
        trunc(rows) + fxmul(n) + trunc(rows) + invert_sqrt(rows) + fxmul(n) * 2.0
    }

    /// ml.Gelu(approx=False): x * sigmoid(0.071355 x^3 + 1.595769 x); ml.sigmoid =
    /// sanitize(1 / (1 + exp(-x))): exp, FPDiv, two comparisons and selections.
    pub fn gelu_tanh(n: f64) -> C {
        let sigmoid = exp(n) + fp_div(n, n) + ltz(n) * 2.0 + mul(n) * 2.0;
        fxmul(n) * 2.0 + trunc(n) * 2.0 + sigmoid + fxmul(n)
    }

    /// ml.Gelu(approx=True): PUMA's piecewise polynomial: three comparisons, two XORs,
    /// x^2, x^3, x^4, x^6, seven coefficient scalings, three selections.
    pub fn gelu_erf(n: f64) -> C {
        ltz(n) * 3.0 + mul(n) * 2.0 + fxmul(n) * 4.0 + trunc(n) * 7.0 + c(mul(3.0 * n).bits, 1.0)
    }
}

#[test]
fn aby3_transformer_functions_are_mpspdz_closed_forms() {
    let (rows, len) = (ROWS, LEN);
    let n = rows * len;
    let cases: [(&str, Graph, C); 6] = [
        ("exp", unary(Op::Exp, vec![4, 16]), mpspdz::exp(n)),
        ("div", division_graph(4, 16), mpspdz::fp_div(n, n)),
        (
            "softmax",
            unary(Op::Softmax { axis: -1 }, vec![4, 16]),
            mpspdz::softmax(rows, len),
        ),
        (
            "layer_norm",
            layer_norm_graph(4, 16),
            mpspdz::layer_norm(rows, len),
        ),
        (
            "gelu tanh",
            unary(Op::Gelu { approximate: true }, vec![4, 16]),
            mpspdz::gelu_tanh(n),
        ),
        (
            "gelu erf",
            unary(Op::Gelu { approximate: false }, vec![4, 16]),
            mpspdz::gelu_erf(n),
        ),
    ];
    for (what, graph, want) in cases {
        assert_cost(profile(&graph, "aby3"), want, what);
    }
    // spot values, worked by hand from the counts above: exp is 91 ring elements of 64 bits
    // an element in 25 rounds
    assert_eq!(mpspdz::exp(1.0), c(91.0 * 64.0, 25.0));
}

/// SCI's exp, sigmoid, tanh, square root, inverse square root, reciprocal and division as
/// CrypTFlow2 runs them element-wise on its ring, at three (ell, scale) pairs (HawkEye's
/// 60/23, EzPC's network default 37/12, SiRNN's 16/12) and three shapes: 64 elements, 15 (the
/// millionaire pads to a multiple of 8) and 20000 (past one 16384-OT block of IKNP/KKOT).
/// Division and the reciprocal reduce their operands to the widths SCI's 64-bit products
/// allow and sign-extend the result (cryptflow2.toml's math section); the square root takes
/// its input at min(ell, 63 - m) bits.
#[test]
fn cryptflow2_math_functions_at_several_widths_and_shapes() {
    for (ell, s) in [(60.0f64, 23.0f64), (37.0, 12.0), (16.0, 12.0)] {
        let overrides = [("ell", ell), ("scale", s)];
        let m_div = if s <= 18.0 {
            ((s - 2.0) / 2.0).ceil()
        } else {
            (((s / 2.0).ceil() - 2.0) / 2.0).ceil()
        };
        let m_sqrt = if s <= 14.0 {
            (s / 2.0).ceil()
        } else {
            ((s / 2.0).ceil() / 2.0).ceil()
        };
        let (bw_nm, bw_dn) = (ell.min(64.0 - s), ell.min(61.0 - m_div).min(63.0 - s));
        let bw_sqrt = ell.min(63.0 - m_sqrt);
        for shape in [vec![4, 16], vec![3, 5], vec![2, 10000]] {
            let n = shape.iter().product::<usize>() as f64;
            let widen = |n: f64| {
                if ell > bw_nm {
                    sci::compare(n, bw_nm) + sci::b2a(n, ell - bw_nm)
                } else {
                    C::default()
                }
            };
            let cases: [(&str, Graph, C); 7] = [
                (
                    "exp",
                    unary(Op::Exp, shape.clone()),
                    sci::lookup_table_exp(n, ell, s, ell),
                ),
                (
                    "sigmoid",
                    unary(Op::Sigmoid, shape.clone()),
                    sci::sigmoid(n, ell, ell, s),
                ),
                (
                    "tanh",
                    unary(Op::Tanh, shape.clone()),
                    sci::tanh(n, ell, ell, s),
                ),
                (
                    "rsqrt",
                    unary(Op::Rsqrt, shape.clone()),
                    sci::sqrt(n, ell, ell, s, s, true),
                ),
                (
                    "sqrt",
                    unary(Op::Sqrt, shape.clone()),
                    sci::sqrt(n, bw_sqrt, ell, s, s, false),
                ),
                (
                    "reciprocal",
                    unary(Op::Reciprocal, shape.clone()),
                    sci::div(n, 2.0, bw_dn, bw_nm, 0.0, s, s, true) + widen(n),
                ),
                (
                    "div",
                    division_graph(shape[0], shape[1]),
                    sci::div(n, bw_nm, bw_dn, bw_nm, s, s, s, true) + widen(n),
                ),
            ];
            for (what, graph, want) in cases {
                let got = profile_with(&graph, "cryptflow2", &overrides);
                assert_cost(
                    got,
                    want,
                    &format!("{what} at ell {ell}, scale {s}, {shape:?}"),
                );
            }
        }
    }
}
