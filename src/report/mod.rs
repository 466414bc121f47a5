//! Rendering: turns graphs, profiles and comparisons into tables, trees, JSON, CSV, folded
//! stacks and SVG flame graphs. Nothing here computes costs.

pub mod catalog;
pub mod compare;
pub mod diff;
pub mod equiv;
pub mod flame;
pub mod graph;
mod json_out;
pub mod layers;
pub mod numbers;
pub mod optimize;
pub mod optimize_layers;
pub mod profile;
pub mod progress;
pub mod soundness;

/// Bytes from bits, with a decimal unit up to TB (`1.94 MB`).
pub fn bytes(bits: f64) -> String {
    numbers::Units::Bytes.amount(bits)
}

/// A CSV field, quoted (with inner quotes doubled) when it holds a comma, quote or newline.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Seconds with a unit (`45.60 ms`, `1.23 s`, `2.50 h`, `3.10 d`).
pub fn seconds(s: f64) -> String {
    if s >= 86_400.0 {
        format!("{:.2} d", s / 86_400.0)
    } else if s >= 3_600.0 {
        format!("{:.2} h", s / 3_600.0)
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.2} ms", s * 1e3)
    }
}

/// A share in percent, `-` when the whole is zero.
pub fn percent(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.1}%", 100.0 * part / whole)
    } else {
        "-".to_string()
    }
}

/// `text` padded with spaces to `width` characters. A format width (`{:w$}`) cannot exceed
/// 65,535 and a label (a module path from someone's file) can, so padding is written out.
pub fn pad_to(text: &str, width: usize) -> String {
    let mut s = String::with_capacity(width.max(text.len()));
    s.push_str(text);
    s.extend(std::iter::repeat_n(
        ' ',
        width.saturating_sub(text.chars().count()),
    ));
    s
}

/// `n` spaces (see [`pad_to`]).
pub fn spaces(n: usize) -> String {
    " ".repeat(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_readable() {
        assert_eq!(bytes(8.0 * 512.0), "512 B");
        assert_eq!(bytes(8.0 * 1_943_888.0), "1.94 MB");
        assert_eq!(seconds(0.0123), "12.30 ms");
        assert_eq!(seconds(9_000.0), "2.50 h");
        assert_eq!(percent(1.0, 0.0), "-");
    }
}
