//! Compact JSON written piece by piece to a byte stream, each piece byte for byte as
//! `serde_json` writes it: for documents too large to go through a serializer per value
//! (a million-node profile's tree), whose keys and punctuation are then fixed byte strings.
//! Numbers repeat (every block of a model costs the same): the text of recent ones is kept in
//! a small table and written again without formatting.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use std::io::{self, Write};

/// A byte stream taking JSON pieces.
pub struct JsonOut<W: Write> {
    out: W,
    numbers: Box<[Written; NUMBER_SLOTS]>,
}

/// Numbers whose text is kept (a direct-mapped table, by a hash of the number's bits).
const NUMBER_SLOTS: usize = 256;

/// Room for a number's text: serde_json's longest, `-2.2250738585072014e-308`, takes 24 bytes.
const NUMBER_TEXT: usize = 32;

/// A number and its text (`len` 0: nothing yet).
#[derive(Clone, Copy)]
struct Written {
    bits: u64,
    len: u8,
    text: [u8; NUMBER_TEXT],
}

impl<W: Write> JsonOut<W> {
    pub fn new(out: W) -> Self {
        JsonOut {
            out,
            numbers: Box::new(
                [Written {
                    bits: 0,
                    len: 0,
                    text: [0; NUMBER_TEXT],
                }; NUMBER_SLOTS],
            ),
        }
    }

    /// Punctuation and keys, written as they are (`,"label":`).
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    /// A string, quoted and escaped.
    pub fn str(&mut self, s: &str) -> io::Result<()> {
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            self.out.write_all(b"\"")?;
            self.out.write_all(s.as_bytes())?;
            self.out.write_all(b"\"")
        } else {
            self.value(s)
        }
    }

    /// A number (`null` when not finite, as serde_json writes it).
    pub fn f64(&mut self, x: f64) -> io::Result<()> {
        let bits = x.to_bits();
        let slot = (bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % NUMBER_SLOTS;
        let kept = &mut self.numbers[slot];
        if kept.len > 0 && kept.bits == bits {
            return self.out.write_all(&kept.text[..kept.len as usize]);
        }
        let mut text = [0u8; NUMBER_TEXT];
        let len = number_text(x, &mut text)?;
        *kept = Written {
            bits,
            len: len as u8,
            text,
        };
        self.out.write_all(&text[..len])
    }

    /// Any serialisable value, through serde_json.
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value).map_err(io::Error::from)
    }
}

/// Writes `x` as serde_json does into `text`; returns its length.
fn number_text(x: f64, text: &mut [u8; NUMBER_TEXT]) -> io::Result<usize> {
    // Whole numbers below 10^15 (nearly every bit and round count): their digits and `.0`,
    // which is what serde_json's shortest representation is for them.
    if x.fract() == 0.0 && x.abs() < 1e15 && !(x == 0.0 && x.is_sign_negative()) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(x as i64).as_bytes();
        text[..digits.len()].copy_from_slice(digits);
        text[digits.len()..digits.len() + 2].copy_from_slice(b".0");
        return Ok(digits.len() + 2);
    }
    let mut rest: &mut [u8] = &mut text[..];
    if x.is_finite() {
        CompactFormatter.write_f64(&mut rest, x)?;
    } else {
        rest.write_all(b"null")?;
    }
    Ok(NUMBER_TEXT - rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut JsonOut<&mut Vec<u8>>) -> io::Result<()>) -> String {
        let mut buf = Vec::new();
        f(&mut JsonOut::new(&mut buf)).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn pieces_are_what_serde_json_writes() {
        for s in [
            "layer3.1.conv2",
            "",
            "a\"b",
            "back\\slash",
            "tab\there",
            "ünï ✓",
            "\u{7f}",
        ] {
            assert_eq!(written(|o| o.str(s)), serde_json::to_string(s).unwrap());
        }
        let numbers = [
            0.0,
            -0.0,
            1.0,
            35840.0,
            0.1,
            1e15,
            1e16,
            1e17,
            123456789012345680000.0,
            2.5e-7,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
        ];
        let whole = (0..64)
            .map(|k| 2f64.powi(k))
            .chain((0..20).map(|k| 10f64.powi(k)))
            .chain((0..40).map(|k| 3f64.powi(k)))
            .flat_map(|x| [x, x - 1.0, x + 1.0]);
        for x in numbers.into_iter().chain(whole).flat_map(|x| [x, -x]) {
            assert_eq!(written(|o| o.f64(x)), serde_json::to_string(&x).unwrap());
        }
    }

    #[test]
    fn numbers_written_again_are_written_the_same() {
        // More numbers than the table holds, each three times, mixed: hits, misses and slots
        // taken over by other numbers.
        let numbers: Vec<f64> = (0..700)
            .map(|k| match k % 4 {
                0 => k as f64,
                1 => 1.0 / k as f64,
                2 => -(k as f64) * 1e20,
                _ => f64::NAN,
            })
            .collect();
        let thrice: Vec<f64> = numbers
            .iter()
            .chain(numbers.iter().rev())
            .chain(numbers.iter())
            .copied()
            .collect();
        let mut buf = Vec::new();
        let mut out = JsonOut::new(&mut buf);
        for (i, &x) in thrice.iter().enumerate() {
            out.raw(if i == 0 { b"[" } else { b"," }).unwrap();
            out.f64(x).unwrap();
        }
        out.raw(b"]").unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            serde_json::to_string(&thrice).unwrap()
        );
    }
}
