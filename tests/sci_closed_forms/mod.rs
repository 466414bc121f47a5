//! The cost of SCI's building blocks and SiRNN math functions (mpc-msri/EzPC f24bf3e,
//! `SCI/src/Math/math-functions.cpp` and the files it calls), written out from the source
//! independently of the cost-model files, for `tests/sci_math_closed_forms.rs`: total online
//! bits over both parties and rounds, under SCI_OT's IKNP (128 bits a receiver OT) and KKOT
//! (256 bits) padded to 16384-OT blocks and the millionaire of radix 4.

/// Total online bits over both parties and rounds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct C {
    pub bits: f64,
    pub rounds: f64,
}

impl std::ops::Add for C {
    type Output = C;
    fn add(self, o: C) -> C {
        C {
            bits: self.bits + o.bits,
            rounds: self.rounds + o.rounds,
        }
    }
}

impl std::ops::Mul<f64> for C {
    type Output = C;
    fn mul(self, k: f64) -> C {
        C {
            bits: self.bits * k,
            rounds: self.rounds * k,
        }
    }
}

pub fn sum(parts: &[C]) -> C {
    parts.iter().fold(C::default(), |a, &b| a + b)
}

pub fn c(bits: f64, rounds: f64) -> C {
    C { bits, rounds }
}

pub const ELL: f64 = 60.0; // HawkEye's CrypTFlow2 ring (-R 60)
pub const SCALE: f64 = 23.0; // sfix.set_precision(23)
const KAPPA: f64 = 128.0; // IKNP: a receiver sends 128 bits an OT (OT/iknp.h)
const KAPPA_KK: f64 = 256.0; // KKOT: lambda = 256 (OT/kkot.h)
const BLOCK: f64 = 16384.0; // both pad each call to 16384 OTs
const RADIX: f64 = 4.0; // MILL_PARAM
const MAX_NUM_OT: f64 = 16777216.0; // linear-ot.cpp MAX_NUM_OT = 1 << 24

fn pad(n: f64) -> f64 {
    (n / BLOCK).ceil() * BLOCK
}

fn ceil_log2(x: f64) -> f64 {
    if x <= 1.0 {
        0.0
    } else {
        x.log2().ceil()
    }
}

/// Millionaire.h compare on b bits with t bit triples: q = ceil(b/4) leaf 1-of-16 KKOTs
/// of 2-bit messages from the server, t triples from 1-of-16 KKOTs (2 a KKOT, 16 bits
/// each from the server) and their e, f openings; n padded to a multiple of 8.
fn millionaire(n: f64, b: f64, t: f64) -> C {
    let n = (n / 8.0).ceil() * 8.0;
    let q = (b / RADIX).ceil();
    let server = n * (16.0 * 2.0 * q + 16.0 * t + 2.0 * t);
    let client = KAPPA_KK * pad(n * q) + KAPPA_KK * pad(n * t / 2.0) + 2.0 * n * t;
    c(server + client, ceil_log2(b))
}

/// Less-than: the triples of the AND tree over q leaves.
pub fn compare(n: f64, b: f64) -> C {
    let q = (b / RADIX).ceil();
    let levels = if q >= 1.0 {
        q.log2().floor() + 1.0
    } else {
        0.0
    };
    millionaire(n, b, (2.0 * q - 2.0 - levels).max(0.0))
}

/// Millionaire with equality: 2(q - 1) triples.
fn compare_eq(n: f64, b: f64) -> C {
    millionaire(n, b, 2.0 * (b / RADIX).ceil() - 2.0)
}

/// aux-protocols.cpp AND: one 1-of-16 KKOT per two gates (16 bits a gate from the
/// server) and the openings, 2 bits a gate; 2 rounds.
fn and(n: f64) -> C {
    c(18.0 * n + KAPPA_KK * pad(n / 2.0) + 2.0 * n, 2.0)
}

/// aux-protocols.cpp B2A: one COT of k bits (free for k = 1).
pub fn b2a(n: f64, k: f64) -> C {
    if k <= 1.0 {
        return C::default();
    }
    c(k * n + KAPPA * pad(n), 2.0)
}

/// aux-protocols.cpp lookup_table: a 1-of-2^b KKOT with k-bit entries.
fn lut(n: f64, b: f64, k: f64) -> C {
    c(n * 2f64.powf(b) * k + KAPPA_KK * pad(n), 2.0)
}

/// aux-protocols.cpp multiplexer: two k-bit COTs, one each way.
fn mux(n: f64, k: f64) -> C {
    c(2.0 * (k * n + KAPPA * pad(n)), 2.0)
}

/// aux-protocols.cpp MSB: millionaire on the low b - 1 bits.
fn msb(n: f64, b: f64) -> C {
    compare(n, b - 1.0)
}

/// truncation.cpp truncate_and_reduce: wrap_computation (millionaire on s bits) + B2A.
fn trunc_reduce(n: f64, s: f64, bw: f64) -> C {
    if s == 0.0 {
        return C::default();
    }
    compare(n, s) + b2a(n, bw - s)
}

/// value-extension.cpp z_extend: wrap by MSB_to_Wrap (a 1-of-4 lookup of 1 bit) when the
/// MSB is known, else wrap_computation, then B2A of the b - a new bits.
fn z_extend(n: f64, a: f64, b: f64, msb_known: bool) -> C {
    if b <= a {
        return C::default();
    }
    let wrap = if msb_known {
        lut(n, 2.0, 1.0)
    } else {
        compare(n, a)
    };
    wrap + b2a(n, b - a)
}

/// linear-ot.cpp hadamard_product -> matrix_multiplication(1, n, 1, MultMode::None):
/// cross terms both ways (the receiver decomposes the cheaper operand, min(a, b) bits,
/// the sender answers OT i with c - i bits), then for each operand narrower than c its
/// wrap bit times the other operand (matmul_multiplexer: two messages of the extra bits).
fn hadamard(n: f64, a: f64, b: f64, cw: f64, a_msb: bool, b_msb: bool) -> C {
    let r = a.min(b);
    let per_direction = KAPPA * pad(n * r) + n * (r * cw - r * (r - 1.0) / 2.0);
    let batches = (r / (MAX_NUM_OT / n).ceil()).ceil();
    let mut total = c(2.0 * per_direction, 2.0 * batches);
    for (width, known) in [(a, a_msb), (b, b_msb)] {
        if cw > width {
            let wrap = if known {
                lut(n, 2.0, 1.0)
            } else {
                compare(n, width)
            };
            let mult = c(2.0 * (2.0 * (cw - width) * n + KAPPA * pad(n)), 2.0);
            total = total + wrap + mult;
        }
    }
    total
}

fn hmul(n: f64, a: f64, b: f64, cw: f64, shift: f64, a_msb: bool, b_msb: bool) -> C {
    hadamard(n, a, b, cw, a_msb, b_msb) + trunc_reduce(n, shift, cw)
}

/// aux-protocols.cpp digit_decomposition_sci: compare_with_eq of the D - 1 low digits,
/// D - 1 ANDs (line: `this->AND(ones_ ...)` for i > 0), B2A of D carries to d bits.
fn digit_decomposition(n: f64, bw: f64, d: f64) -> C {
    let digits = (bw / d).ceil();
    let mut total = C::default();
    if digits > 1.0 {
        total = total + compare_eq(n * (digits - 1.0), d);
    }
    total + and(n) * (digits - 1.0) + b2a(n * digits, d)
}

/// math-functions.cpp:335 lookup_table_exp: 8-bit digits (KKOT_LIMIT), tables of
/// s_y + 2 bits (379, 395), ceil(log2 D) levels of products of (s_y+2)-bit digits into
/// 2 s_y + 2 bits with zero shares as MSBs and truncation by s_y (422, 426), z_extend to
/// bw_y with known MSB (430).
pub fn lookup_table_exp(n: f64, bw_x: f64, s_y: f64, bw_y: f64) -> C {
    let digits = (bw_x / 8.0).ceil();
    let last = bw_x - 8.0 * (digits - 1.0);
    let full = if last == 8.0 { digits } else { digits - 1.0 };
    let mut total = digit_decomposition(n, bw_x, 8.0) + lut(n * full, 8.0, s_y + 2.0);
    if last != 8.0 {
        total = total + lut(n, last, s_y + 2.0);
    }
    // the product tree: for i = 1, 2, 4 ..: one product per pair, D - 1 in all
    let mut products = 0.0;
    let mut i = 1.0;
    while i < digits {
        let mut j = 0.0;
        while j + i < digits {
            products += 1.0;
            j += 2.0 * i;
        }
        i *= 2.0;
    }
    total = total + hmul(n, s_y + 2.0, s_y + 2.0, 2.0 * s_y + 2.0, s_y, true, true) * products;
    total + z_extend(n, s_y + 2.0, bw_y, true)
}

/// aux-protocols.cpp msnzb_one_hot -> msnzb_sci (digit size 8).
fn msnzb_one_hot(n: f64, bw: f64) -> C {
    let d = 8.0;
    let digits = (bw / d).ceil();
    let last = if bw % d == 0.0 { d } else { bw % d };
    let out_bits = d.log2().ceil() + 1.0;
    let mux_bits = ceil_log2(bw);
    let mut total = digit_decomposition(n, bw, d);
    total = total
        + if last == d {
            lut(n * digits, d, out_bits)
        } else {
            lut(n * (digits - 1.0), d, out_bits) + lut(n, last, out_bits)
        };
    total = total + z_extend(n * digits, out_bits - 1.0, mux_bits, false);
    // for i = D-2 .. 0: an AND except at i = D-2; then one AND of (D-1) n flags
    total = total + and(n) * (digits - 2.0).max(0.0);
    if digits > 1.0 {
        total = total + and(n * (digits - 1.0));
    }
    total = total + mux(n * digits, mux_bits);
    total + lut(n, mux_bits, bw)
}

/// math-functions.cpp:70 reciprocal_approximation.
fn reciprocal_approximation(n: f64, m: f64, s_dn: f64) -> C {
    trunc_reduce(n, s_dn - m, s_dn) // 87
        + lut(n, m, 3.0 * m + 7.0) // 111
        + hadamard(n, m + 4.0, s_dn - m, s_dn + 4.0, true, false) // 133
        + z_extend(n, s_dn + 4.0, s_dn + m + 4.0, true) // 136
}

/// math-functions.cpp:151 div with signed_nm = true.
#[allow(clippy::too_many_arguments)]
pub fn div(
    n: f64,
    bw_nm: f64,
    bw_dn: f64,
    bw_out: f64,
    s_nm: f64,
    s_dn: f64,
    s_out: f64,
    compute_msnzb: bool,
) -> C {
    let (m, iters) = if s_out <= 18.0 {
        (((s_out - 2.0) / 2.0).ceil(), 0)
    } else {
        ((((s_out / 2.0).ceil() - 2.0) / 2.0).ceil(), 1)
    };
    let mut parts = Vec::new();
    let s_tmp_dn = if compute_msnzb {
        parts.push(msnzb_one_hot(n, bw_dn)); // 176
        parts.push(b2a(n * bw_dn, bw_dn + 1.0)); // 177
        parts.push(hadamard(n, bw_dn, bw_dn + 1.0, bw_dn + 1.0, false, false)); // 189
        bw_dn - 1.0
    } else {
        s_dn
    };
    parts.push(reciprocal_approximation(n, m, s_tmp_dn));
    parts.push(trunc_reduce(
        n,
        s_tmp_dn + m + 3.0 - s_out,
        s_tmp_dn + m + 4.0,
    )); // 208
    parts.push(msb(n, bw_nm)); // 212
    parts.push(hadamard(n, bw_nm, s_out + 1.0, s_out + bw_nm, true, true)); // 221
    parts.push(trunc_reduce(n, s_nm, s_out + bw_nm)); // 223
    if bw_nm - s_nm < bw_out - s_out {
        parts.push(z_extend(n, s_out + bw_nm - s_nm, bw_out, true)); // 228 s_extend
    }
    if compute_msnzb {
        let s_adjust = bw_dn - 1.0 - s_dn;
        let bw_tmp1 = (bw_out + s_adjust).max(bw_dn + 1.0);
        parts.push(hadamard(n, bw_out, bw_dn + 1.0, bw_tmp1, true, true)); // 238
        parts.push(trunc_reduce(n, s_adjust, bw_out + s_adjust)); // 242
    }
    if iters > 0 {
        let d0 = hadamard(
            n,
            s_out + 1.0,
            s_tmp_dn + 2.0,
            s_out + s_tmp_dn + 2.0,
            true,
            true,
        ) + trunc_reduce(n, s_tmp_dn, s_out + s_tmp_dn + 2.0); // 254, 257
        let out = hadamard(n, bw_out, s_out + 2.0, bw_out + s_out, true, true)
            + trunc_reduce(n, s_out, bw_out + s_out); // 299, 302
        parts.push(d0);
        parts.push(out);
    }
    sum(&parts)
}

/// math-functions.cpp:518 tanh.
pub fn tanh(n: f64, bw_x: f64, bw_y: f64, s_y: f64) -> C {
    let w = s_y + 2.0;
    sum(&[
        msb(n, bw_x),                          // 526
        mux(n, bw_x),                          // 536
        lookup_table_exp(n, bw_x, s_y, w),     // 544
        msb(n, w),                             // 552
        b2a(n, w),                             // 553
        div(n, w, w, w, s_y, s_y, s_y, false), // 563
        mux(n, w),                             // 571
        z_extend(n, w, bw_y, true),            // 581 s_extend with msb_x
    ])
}

/// math-functions.cpp:602 sqrt with inverse = true.
pub fn rsqrt(n: f64, bw_x: f64, bw_y: f64, s_x: f64, s_y: f64) -> C {
    sqrt(n, bw_x, bw_y, s_x, s_y, true)
}

/// math-functions.cpp:602 sqrt (SQRT_LOOKUP_SCALE = 2): 1/sqrt by a table and Newton
/// steps; without `inverse`, x0 = X * Y first and the other x update of each step.
pub fn sqrt(n: f64, bw_x: f64, bw_y: f64, s_x: f64, s_y: f64, inverse: bool) -> C {
    let (m, iters) = if s_y <= 14.0 {
        ((s_y / 2.0).ceil(), 1)
    } else {
        (((s_y / 2.0).ceil() / 2.0).ceil(), 2)
    };
    let sc = 2.0;
    let mut parts = vec![
        msnzb_one_hot(n, bw_x - 1.0),                                  // 618
        b2a(n * (bw_x - 1.0), bw_x - 1.0),                             // 619
        hadamard(n, bw_x - 1.0, bw_x - 1.0, bw_x - 1.0, false, false), // 635
        trunc_reduce(n, bw_x - m - 2.0, bw_x - 2.0),                   // 640
        lut(n, m + 1.0, m + sc + 1.0),                                 // 664
        z_extend(n, bw_x - 1.0, bw_x, false),                          // 686
        mux(n, bw_x),                                                  // 687
        trunc_reduce(n, bw_x - 2.0 - s_y, bw_x),                       // 711
    ];
    let y_bits = m + sc + 1.0;
    if !inverse {
        // x_prev = X * Y (706), truncated to s_y + 1 bits (710)
        parts.push(hmul(
            n,
            bw_x,
            y_bits,
            bw_x - 1.0 + m + sc,
            bw_x - 2.0 + m + sc - s_y,
            false,
            false,
        ));
    }
    // iteration 0 (724-762): Y^2, Y^2 * b, then x * Y_curr
    let ysq_bits = 2.0 * m + 2.0 * sc + 1.0;
    parts.push(hadamard(n, y_bits, y_bits, ysq_bits, false, false));
    parts.push(hmul(
        n,
        ysq_bits,
        s_y + 2.0,
        ysq_bits + s_y + 1.0,
        2.0 * m + 2.0 * sc,
        false,
        false,
    ));
    let x_update = hmul(
        n,
        s_y + 1.0,
        s_y + 2.0,
        2.0 * s_y + 2.0,
        s_y + 1.0,
        false,
        false,
    );
    if inverse {
        parts.push(hmul(
            n,
            y_bits,
            s_y + 2.0,
            s_y + y_bits + 1.0,
            y_bits,
            false,
            false,
        ));
    } else {
        parts.push(x_update);
    }
    if iters == 2 {
        // iteration 1 (740-748 and the x update of 772)
        parts.push(hmul(
            n,
            s_y + 2.0,
            s_y + 2.0,
            2.0 * s_y + 3.0,
            s_y + 2.0,
            false,
            false,
        ));
        parts.push(hmul(
            n,
            s_y + 1.0,
            s_y + 2.0,
            2.0 * s_y + 2.0,
            s_y,
            false,
            false,
        ));
        parts.push(x_update);
    }
    // the final denormalising product (805) and the extension to bw_y (813; a local
    // reduce when bw_y is not wider)
    let half = (bw_x / 2.0).floor();
    let shift = if inverse {
        ((bw_x - 1.0 - s_x) / 2.0).floor()
    } else {
        ((s_x + 1.0) / 2.0).floor()
    };
    parts.push(hmul(
        n,
        s_y + 1.0,
        half,
        s_y + 1.0 + half,
        shift,
        false,
        false,
    ));
    parts.push(z_extend(n, s_y + 1.0 + half - shift, bw_y, false));
    sum(&parts)
}

/// math-functions.cpp:438 sigmoid: MSB of x, -|x| by a multiplexer, lookup_table_exp into
/// s_y + 2 bits, MSB and B2A of the denominator, div(1 / den) at 2 / s_y + 2 bits without
/// normalisation, the numerator by a multiplexer, their product with zero MSB shares
/// (MSB_to_Wrap) truncated by s_y, and z_extend to bw_y with zero MSBs.
pub fn sigmoid(n: f64, bw_x: f64, bw_y: f64, s_y: f64) -> C {
    let w = s_y + 2.0;
    sum(&[
        msb(n, bw_x),
        mux(n, bw_x),
        lookup_table_exp(n, bw_x, s_y, w),
        msb(n, w),
        b2a(n, w),
        div(n, 2.0, w, w, 0.0, s_y, s_y, false),
        mux(n, w),
        hmul(n, w, w, 2.0 * s_y + 2.0, s_y, true, true),
        z_extend(n, w, bw_y, true),
    ])
}

/// ReLU of the uniform library (relu-ring.h): DReLU by a millionaire on ell - 1 bits,
/// then the select by two ell-bit OTs (no extra rounds: SCI's count of a ReLU layer).
pub fn relu(n: f64) -> C {
    compare(n, ELL - 1.0) + c(2.0 * (2.0 * ELL * n + KAPPA * pad(n)), 0.0)
}

/// ScaleDown of the uniform library (truncation.cpp truncate): the wrap of the low s
/// bits, the millionaire-with-equality of the upper ell - s, an AND, B2A of both.
pub fn scale_down(n: f64, s: f64) -> C {
    compare(n, s) + compare_eq(n, ELL - s) + and(n) + b2a(n, s) + b2a(n, ELL)
}

/// ElemWiseSecretSharedVectorMult over n elements (both hadamard cross terms of
/// linear-ot.cpp at ell bits, one thread) then ScaleDown.
pub fn secret_product(n: f64) -> C {
    let sender = n * (ELL * ELL + ELL) / 2.0;
    let receiver = KAPPA * pad(n * ELL);
    let rounds = 2.0 * (ELL / (MAX_NUM_OT / n).ceil()).ceil();
    c(2.0 * (sender + receiver), rounds) + scale_down(n, SCALE)
}

/// ElemWiseActModelVectorMult: one cross term (the server's vector decomposed).
pub fn model_product(n: f64) -> C {
    let rounds = 2.0 * (ELL / (MAX_NUM_OT / n).ceil()).ceil();
    c(n * (ELL * ELL + ELL) / 2.0 + KAPPA * pad(n * ELL), rounds) + scale_down(n, SCALE)
}
