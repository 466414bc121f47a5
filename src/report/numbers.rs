//! How figures are printed: communication in bytes (or bits) with a decimal unit up to TB, and
//! rounds as whole counts, or with one decimal where a framework's figure is a per-party mean
//! (SPU ABY3's averaged messages, SPU Cheetah's amortised OT messages).

use crate::profile::AttributionNode;

/// The unit communication is shown in (text, CSV, flame graphs; JSON keeps bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Units {
    #[default]
    Bytes,
    Bits,
}

impl Units {
    /// `bits` with a decimal unit: `1.94 MB`, `3.20 TB`, or `15.55 Mb` in bits.
    pub fn amount(self, bits: f64) -> String {
        let (value, names) = match self {
            Units::Bytes => (bits / 8.0, ["B", "KB", "MB", "GB", "TB"]),
            Units::Bits => (bits, ["b", "Kb", "Mb", "Gb", "Tb"]),
        };
        let mut scaled = value;
        let mut i = 0;
        while scaled.abs() >= 1e3 && i + 1 < names.len() {
            scaled /= 1e3;
            i += 1;
        }
        if i == 0 {
            format!("{scaled:.0} {}", names[0])
        } else {
            format!("{scaled:.2} {}", names[i])
        }
    }

    /// `bits` as a plain number in this unit, for data files (`1943888`).
    pub fn count(self, bits: f64) -> String {
        number(match self {
            Units::Bytes => bits / 8.0,
            Units::Bits => bits,
        })
    }

    /// The unit's name for column headers: `bytes` or `bits`.
    pub fn name(self) -> &'static str {
        match self {
            Units::Bytes => "bytes",
            Units::Bits => "bits",
        }
    }
}

/// A number for a data file: whole when it is one (up to float noise), else three decimals.
pub fn number(v: f64) -> String {
    if is_whole(v) {
        format!("{}", v.round())
    } else {
        format!("{v:.3}")
    }
}

fn is_whole(v: f64) -> bool {
    (v - v.round()).abs() <= 1e-6 * v.abs().max(1.0)
}

/// How rounds are printed in one view: whole counts, or one decimal when some figure is a
/// mean (then the view carries [`Rounds::footnote`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rounds {
    pub fractional: bool,
}

impl Rounds {
    /// The style that shows every one of `values` honestly.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Rounds {
        Rounds {
            fractional: values.into_iter().any(|v| !is_whole(v)),
        }
    }

    /// The style for every rounds figure of a tree.
    pub fn of_tree(tree: &AttributionNode) -> Rounds {
        fn fractional(n: &AttributionNode) -> bool {
            !is_whole(n.cost.online_rounds)
                || !is_whole(n.cost.offline_rounds)
                || n.children.iter().any(fractional)
        }
        Rounds {
            fractional: fractional(tree),
        }
    }

    /// Both styles joined: fractional if either is.
    pub fn or(self, other: Rounds) -> Rounds {
        Rounds {
            fractional: self.fractional || other.fractional,
        }
    }

    /// `2123`, or `3502.3` for a mean.
    pub fn fmt(self, r: f64) -> String {
        if self.fractional {
            format!("{r:.1}")
        } else {
            format!("{}", r.round())
        }
    }

    /// The footnote explaining a fractional figure: the framework's own definition of a round.
    pub fn footnote(self, framework: &str, meaning: &str) -> Option<String> {
        self.fractional.then(|| {
            format!(
                "rounds with a decimal are means, not counts: {framework} counts a round as {meaning}"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_reach_terabytes_and_rounds_are_counts() {
        assert_eq!(Units::Bytes.amount(8.0 * 512.0), "512 B");
        assert_eq!(Units::Bytes.amount(8.0 * 1_943_888.0), "1.94 MB");
        assert_eq!(Units::Bytes.amount(8.0 * 116_305.13e9), "116.31 TB");
        assert_eq!(Units::Bits.amount(15_551_104.0), "15.55 Mb");
        assert_eq!(Units::Bytes.count(15_551_104.0), "1943888");
        assert_eq!(number(1335.0000000000005), "1335");
        let counts = Rounds::of([1335.0000000000005, 22.0]);
        assert_eq!(counts.fmt(1335.0000000000005), "1335");
        assert_eq!(counts.footnote("x", "y"), None);
        let means = Rounds::of([42.666666666666664]);
        assert_eq!(means.fmt(42.666666666666664), "42.7");
        assert_eq!(means.fmt(4543.8125), "4543.8");
    }
}
