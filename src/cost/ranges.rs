//! The values a cost model's parameters may take, and the check of `[params]` and `--set`
//! overrides against them.
//!
//! A cost model declares them in `[ranges]`, one entry per parameter: a list of the values the
//! framework supports (`parties = [2]`, `ring = [32, 64, 128]`), or inclusive bounds of whole
//! numbers (`exp_iters = { min = 1, max = 64 }`), with `fractional = true` where a parameter
//! need not be a whole number (a measured byte count). A parameter without a declaration
//! must be a finite number from 0 to 2^53, and `parties` a whole number from 2 to
//! [`MAX_PARTIES`]: no value can make a formula loop over 10^30 parties or turn a figure into
//! nonsense.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Most parties a cost model may declare or be set to.
pub const MAX_PARTIES: f64 = 64.0;

/// Largest value of a parameter without a declared range (2^53: every whole number up to it
/// is exact in `f64`).
const DEFAULT_MAX: f64 = 9_007_199_254_740_992.0;

/// The allowed values of one parameter.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Range {
    /// Exactly these values.
    Values(Vec<f64>),
    /// From `min` to `max` (inclusive); whole numbers unless `fractional`.
    Bounds {
        min: f64,
        max: f64,
        #[serde(default)]
        fractional: bool,
    },
}

/// A number as a person would write it: `2`, `2.5`, `1e30`.
fn number(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e16 {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

impl Range {
    /// The range of a parameter without a declaration.
    fn default_for(name: &str) -> Range {
        if name == "parties" {
            Range::Bounds {
                min: 2.0,
                max: MAX_PARTIES,
                fractional: false,
            }
        } else {
            Range::Bounds {
                min: 0.0,
                max: DEFAULT_MAX,
                fractional: true,
            }
        }
    }

    /// The allowed values, in words.
    pub fn describe(&self) -> String {
        match self {
            Range::Values(values) => {
                let list: Vec<String> = values.iter().map(|&v| number(v)).collect();
                match list.len() {
                    1 => list[0].clone(),
                    _ => format!("one of {}", list.join(", ")),
                }
            }
            Range::Bounds {
                min,
                max,
                fractional,
            } => format!(
                "{} from {} to {}",
                if *fractional {
                    "a number"
                } else {
                    "a whole number"
                },
                number(*min),
                number(*max)
            ),
        }
    }

    fn contains(&self, v: f64) -> bool {
        match self {
            Range::Values(values) => values.contains(&v),
            Range::Bounds {
                min,
                max,
                fractional,
            } => v >= *min && v <= *max && (*fractional || v.fract() == 0.0),
        }
    }

    /// Why the declaration itself is unusable, if it is.
    fn problem(&self) -> Option<String> {
        match self {
            Range::Values(values) if values.is_empty() => Some("lists no value".to_string()),
            Range::Values(values) if values.iter().any(|v| !v.is_finite()) => {
                Some("lists a value that is not a finite number".to_string())
            }
            Range::Bounds { min, max, .. } if !(min.is_finite() && max.is_finite()) => {
                Some("has a bound that is not a finite number".to_string())
            }
            Range::Bounds { min, max, .. } if min > max => Some(format!(
                "has min {} above max {}",
                number(*min),
                number(*max)
            )),
            _ => None,
        }
    }
}

/// Where a parameter value came from: the file or a `--set` override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    File,
    Override,
}

/// Checks the declarations and every parameter value against them. Errors are
/// `(entry, reason)`, the entry being where to look (`ranges.ring`, `params.parties`,
/// `--set`).
pub fn check(
    ranges: &BTreeMap<String, Range>,
    params: &[(String, f64, Origin)],
) -> Result<(), (String, String)> {
    for (name, range) in ranges {
        let entry = format!("ranges.{name}");
        if !params.iter().any(|(n, _, _)| n == name) {
            return Err((entry, format!("'{name}' is not a parameter in [params]")));
        }
        if let Some(problem) = range.problem() {
            return Err((entry, format!("the range of '{name}' {problem}")));
        }
        if name == "parties" {
            let within = |v: f64| (2.0..=MAX_PARTIES).contains(&v) && v.fract() == 0.0;
            let fits = match range {
                Range::Values(values) => values.iter().all(|&v| within(v)),
                Range::Bounds { min, max, .. } => within(*min) && within(*max),
            };
            if !fits {
                return Err((
                    entry,
                    format!(
                        "party counts must be whole numbers from 2 to {}",
                        number(MAX_PARTIES)
                    ),
                ));
            }
        }
    }
    for (name, value, origin) in params {
        let declared = ranges.get(name);
        let range = declared
            .cloned()
            .unwrap_or_else(|| Range::default_for(name));
        if value.is_finite() && range.contains(*value) {
            continue;
        }
        let (entry, given) = match origin {
            Origin::File => (
                format!("params.{name}"),
                format!("{name} = {}", number(*value)),
            ),
            Origin::Override => ("--set".to_string(), format!("{name}={}", number(*value))),
        };
        let source = if declared.is_some() {
            "the range this file declares in [ranges]"
        } else {
            "the default range of a parameter without a [ranges] entry"
        };
        return Err((
            entry,
            format!(
                "{given} is not supported: '{name}' must be {} ({source})",
                range.describe()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(text: &str) -> BTreeMap<String, Range> {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn values_and_bounds_are_checked() {
        let r = ranges("parties = [2]\nring = [32, 64, 128]\nexp_iters = { min = 1, max = 64 }");
        let ok = [
            ("parties".to_string(), 2.0, Origin::File),
            ("ring".to_string(), 64.0, Origin::File),
            ("exp_iters".to_string(), 8.0, Origin::File),
        ];
        assert_eq!(check(&r, &ok), Ok(()));
        let with = |name: &str, v: f64, origin: Origin| {
            let mut p = ok.to_vec();
            p.iter_mut().find(|(n, _, _)| n == name).unwrap().1 = v;
            p.iter_mut().find(|(n, _, _)| n == name).unwrap().2 = origin;
            check(&r, &p).unwrap_err()
        };
        assert_eq!(
            with("ring", 33.0, Origin::Override),
            (
                "--set".to_string(),
                "ring=33 is not supported: 'ring' must be one of 32, 64, 128 (the range \
                 this file declares in [ranges])"
                    .to_string()
            )
        );
        assert_eq!(
            with("parties", 2.5, Origin::File).1,
            "parties = 2.5 is not supported: 'parties' must be 2 (the range this file declares \
             in [ranges])"
        );
        assert_eq!(
            with("exp_iters", 1e30, Origin::File).1,
            "exp_iters = 1e30 is not supported: 'exp_iters' must be a whole number from 1 to \
             64 (the range this file declares in [ranges])"
        );
        assert_eq!(
            with("exp_iters", f64::NAN, Origin::File).1,
            "exp_iters = NaN is not supported: 'exp_iters' must be a whole number from 1 to 64 \
             (the range this file declares in [ranges])"
        );
    }

    #[test]
    fn undeclared_parameters_get_default_ranges() {
        let none = BTreeMap::new();
        let p = |v: f64| vec![("parties".to_string(), v, Origin::File)];
        assert_eq!(check(&none, &p(3.0)), Ok(()));
        assert_eq!(
            check(&none, &p(1e5)).unwrap_err().1,
            "parties = 100000 is not supported: 'parties' must be a whole number from 2 to 64 \
             (the default range of a parameter without a [ranges] entry)"
        );
        let q = vec![("q".to_string(), -1.0, Origin::File)];
        assert_eq!(
            check(&none, &q).unwrap_err().1,
            "q = -1 is not supported: 'q' must be a number from 0 to 9007199254740992 (the \
             default range of a parameter without a [ranges] entry)"
        );
    }

    #[test]
    fn broken_declarations_are_refused() {
        let p = vec![("parties".to_string(), 2.0, Origin::File)];
        let err = |text: &str| check(&ranges(text), &p).unwrap_err();
        assert_eq!(
            err("ring = [64]"),
            (
                "ranges.ring".to_string(),
                "'ring' is not a parameter in [params]".to_string()
            )
        );
        assert_eq!(
            err("parties = []").1,
            "the range of 'parties' lists no value"
        );
        assert_eq!(
            err("parties = { min = 3, max = 2 }").1,
            "the range of 'parties' has min 3 above max 2"
        );
        assert_eq!(
            err("parties = [1e30]").1,
            "party counts must be whole numbers from 2 to 64"
        );
    }
}
