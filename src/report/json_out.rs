//! Compact JSON written piece by piece to a byte stream, each piece byte for byte as
//! `serde_json` writes it: for documents too large to go through a serializer per value
//! (a million-node profile's tree), whose keys and punctuation are then fixed byte strings.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use std::io::{self, Write};

/// A byte stream taking JSON pieces.
pub struct JsonOut<W: Write>(pub W);

impl<W: Write> JsonOut<W> {
    /// Punctuation and keys, written as they are (`,"label":`).
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }

    /// A string, quoted and escaped.
    pub fn str(&mut self, s: &str) -> io::Result<()> {
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            self.0.write_all(b"\"")?;
            self.0.write_all(s.as_bytes())?;
            self.0.write_all(b"\"")
        } else {
            self.value(s)
        }
    }

    /// A number (`null` when not finite, as serde_json writes it).
    pub fn f64(&mut self, x: f64) -> io::Result<()> {
        // Whole numbers below 10^15 (nearly every bit and round count): their digits and
        // `.0`, which is what serde_json's shortest representation is for them.
        if x.fract() == 0.0 && x.abs() < 1e15 && !(x == 0.0 && x.is_sign_negative()) {
            let mut digits = itoa::Buffer::new();
            let mut buf = [0u8; 20];
            let text = digits.format(x as i64).as_bytes();
            buf[..text.len()].copy_from_slice(text);
            buf[text.len()..text.len() + 2].copy_from_slice(b".0");
            return self.0.write_all(&buf[..text.len() + 2]);
        }
        if x.is_finite() {
            CompactFormatter.write_f64(&mut self.0, x)
        } else {
            self.0.write_all(b"null")
        }
    }

    /// Any serialisable value, through serde_json.
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.0, value).map_err(io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut JsonOut<&mut Vec<u8>>) -> io::Result<()>) -> String {
        let mut buf = Vec::new();
        f(&mut JsonOut(&mut buf)).unwrap();
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
}
