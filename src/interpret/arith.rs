//! The arithmetic a graph is evaluated in: plain `f64`, or an emulation of the fixed-point
//! ring arithmetic of MPC frameworks.
//!
//! In fixed-point mode a real `x` is encoded as the ring element `round(x * 2^frac) mod
//! 2^ring`, read back as its signed representative in `[-2^(ring-1), 2^(ring-1))` divided by
//! `2^frac`. Additions and subtractions are exact in the ring and wrap around on overflow, as a
//! secret-shared ring does. A product of two encoded values carries `2 * frac` fraction bits; it
//! is computed in the ring (so it wraps when the double-scale product overflows, as in MPC) and
//! then truncated: the signed representative is shifted right by `frac` bits (rounding towards
//! minus infinity, the deterministic counterpart of the probabilistic truncation protocols,
//! which add at most one unit in the last place more). Dot products (matmul, linear, conv) sum
//! the double-scale products and truncate once per output element, as CrypTen and SPU do.
//! Multiplications by public constants (an average's `1/n`, a leaky ReLU slope, a batchnorm
//! factor) are products too and are truncated.
//!
//! Nonlinear functions (exp, sigmoid, GELU, division, square roots, softmax, the normalising
//! part of layer normalization, losses) are computed in `f64` on the decoded value and the
//! result is encoded again: the emulation shows the error of fixed-point *arithmetic* (encoding
//! resolution, truncation, ring overflow), not the error of each framework's polynomial or
//! iterative approximations of those functions. Comparisons (ReLU, max, max pooling, argmax)
//! are exact.
//!
//! Ring elements are held as wrapping 128-bit integers: arithmetic modulo 2^128 maps onto
//! arithmetic modulo 2^ring for every ring of at most 128 bits, so each op computes modulo
//! 2^128 and reduces to the ring (sign-extends from bit `ring - 1`) when it is done.

use super::error::InterpretError;
use crate::cost::CostModel;
use ndarray::LinalgScalar;
use std::fmt::Debug;
use std::num::Wrapping;

/// How values are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arithmetic {
    /// IEEE double precision (the reference).
    #[default]
    Float,
    /// Fixed-point numbers in the ring Z_{2^ring_bits} with `frac_bits` fraction bits,
    /// truncated after every product (see the module documentation).
    Fixed { ring_bits: u32, frac_bits: u32 },
}

impl Arithmetic {
    /// The fixed-point arithmetic of a cost model: its `ring` and `frac` parameters.
    pub fn from_cost_model(model: &CostModel) -> Result<Arithmetic, InterpretError> {
        let param = |name: &str| {
            model.param(name).ok_or_else(|| {
                InterpretError::Unsupported(format!(
                    "cost model '{}' has no parameter '{name}' (fixed-point emulation needs 'ring' and 'frac')",
                    model.framework.name
                ))
            })
        };
        let (ring, frac) = (param("ring")?, param("frac")?);
        let whole = |name: &str, v: f64| {
            if v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&v) {
                Ok(v as u32)
            } else {
                Err(InterpretError::Unsupported(format!(
                    "cost model '{}' parameter '{name}' = {v} is not a bit count",
                    model.framework.name
                )))
            }
        };
        let arithmetic = Arithmetic::Fixed {
            ring_bits: whole("ring", ring)?,
            frac_bits: whole("frac", frac)?,
        };
        arithmetic.validate()?;
        Ok(arithmetic)
    }

    /// Checks that the interpreter implements this arithmetic: a ring of 2 to 128 bits with
    /// fewer fraction bits than ring bits.
    pub fn validate(&self) -> Result<(), InterpretError> {
        match *self {
            Arithmetic::Float => Ok(()),
            Arithmetic::Fixed {
                ring_bits,
                frac_bits,
            } => {
                if !(2..=128).contains(&ring_bits) {
                    return Err(InterpretError::Unsupported(format!(
                        "a ring of {ring_bits} bits (fixed-point emulation supports 2 to 128)"
                    )));
                }
                if frac_bits >= ring_bits {
                    return Err(InterpretError::Unsupported(format!(
                        "{frac_bits} fraction bits in a ring of {ring_bits} bits (need fewer fraction bits than ring bits)"
                    )));
                }
                Ok(())
            }
        }
    }
}

/// The element arithmetic kernels are written against: encoding, decoding, wrap-around after
/// additions and truncation after products. For `f64` every step but the operation itself is
/// the identity.
pub(crate) trait Arith: Sync {
    type E: LinalgScalar + Debug + Send + Sync;
    /// Encodes a real number.
    fn enc(&self, x: f64) -> Self::E;
    /// Decodes an element to a real number.
    fn dec(&self, e: Self::E) -> f64;
    /// Reduces the result of additions and subtractions to the number range.
    fn wrap(&self, e: Self::E) -> Self::E;
    /// Rescales the result of a product of two encoded values (or a sum of such products).
    fn trunc(&self, e: Self::E) -> Self::E;
    /// `f(x)` computed on the decoded value and encoded again.
    fn apply(&self, e: Self::E, f: impl Fn(f64) -> f64) -> Self::E {
        self.enc(f(self.dec(e)))
    }
}

/// Plain `f64` arithmetic.
pub(crate) struct Float;

impl Arith for Float {
    type E = f64;
    #[inline]
    fn enc(&self, x: f64) -> f64 {
        x
    }
    #[inline]
    fn dec(&self, e: f64) -> f64 {
        e
    }
    #[inline]
    fn wrap(&self, e: f64) -> f64 {
        e
    }
    #[inline]
    fn trunc(&self, e: f64) -> f64 {
        e
    }
    #[inline]
    fn apply(&self, e: f64, f: impl Fn(f64) -> f64) -> f64 {
        f(e)
    }
}

/// An element of Z_{2^128}; the ring Z_{2^ring} is emulated on top of it.
pub(crate) type RingElem = Wrapping<i128>;

/// Fixed-point arithmetic in Z_{2^ring} with `frac` fraction bits.
pub(crate) struct Ring {
    /// 128 - ring: the shift that sign-extends from bit ring - 1.
    spare: u32,
    frac: u32,
    scale: f64,
}

impl Ring {
    /// The ring of a validated [`Arithmetic::Fixed`].
    pub(crate) fn new(ring_bits: u32, frac_bits: u32) -> Ring {
        Ring {
            spare: 128 - ring_bits,
            frac: frac_bits,
            scale: 2f64.powi(frac_bits as i32),
        }
    }
}

impl Arith for Ring {
    type E = RingElem;
    #[inline]
    fn enc(&self, x: f64) -> RingElem {
        // `as` saturates at the i128 range and maps NaN to 0; the ring then wraps.
        self.wrap(Wrapping((x * self.scale).round() as i128))
    }
    #[inline]
    fn dec(&self, e: RingElem) -> f64 {
        self.wrap(e).0 as f64 / self.scale
    }
    #[inline]
    fn wrap(&self, e: RingElem) -> RingElem {
        Wrapping((e.0 << self.spare) >> self.spare)
    }
    #[inline]
    fn trunc(&self, e: RingElem) -> RingElem {
        Wrapping(self.wrap(e).0 >> self.frac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_encodes_truncates_and_wraps() {
        let r = Ring::new(16, 4);
        assert_eq!(r.dec(r.enc(1.5)), 1.5);
        assert_eq!(r.dec(r.enc(0.03)), 0.0);
        assert_eq!(r.dec(r.enc(-0.04)), -0.0625);
        // 1.5 * 2.25 = 3.375 exactly representable with 4 fraction bits.
        assert_eq!(r.dec(r.trunc(r.enc(1.5) * r.enc(2.25))), 3.375);
        // Truncation floors: 0.0625 * 0.5 = 0.03125 -> 0; -0.0625 * 0.5 -> -0.0625.
        assert_eq!(r.dec(r.trunc(r.enc(0.0625) * r.enc(0.5))), 0.0);
        assert_eq!(r.dec(r.trunc(r.enc(-0.0625) * r.enc(0.5))), -0.0625);
        // The largest value is 2^11 - 2^-4; one more wraps to -2^11.
        let max = r.enc(2047.9375);
        assert_eq!(r.dec(r.wrap(max + r.enc(0.0625))), -2048.0);
        // A double-scale product of 64 * 64 = 2^12 overflows the 16-bit ring before truncation.
        assert_eq!(r.dec(r.trunc(r.enc(64.0) * r.enc(64.0))), 0.0);
    }

    #[test]
    fn full_width_ring_works() {
        let r = Ring::new(128, 40);
        assert_eq!(r.dec(r.trunc(r.enc(-3.0) * r.enc(7.0))), -21.0);
        let r = Ring::new(64, 16);
        assert_eq!(r.dec(r.enc(2f64.powi(47))), -(2f64.powi(47)));
    }

    #[test]
    fn unsupported_settings_are_rejected() {
        let bad = Arithmetic::Fixed {
            ring_bits: 256,
            frac_bits: 16,
        };
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "unsupported: a ring of 256 bits (fixed-point emulation supports 2 to 128)"
        );
        let bad = Arithmetic::Fixed {
            ring_bits: 32,
            frac_bits: 32,
        };
        assert!(bad.validate().is_err());
    }
}
