//! Closed-form cost formulas: arithmetic expressions over shape variables and protocol
//! parameters, parsed once when a cost model loads (with `fasteval2`) and evaluated per op.
//!
//! Besides fasteval's built-ins (`+ - * / ^ %`, comparisons, `min`, `max`, `ceil`, `floor`,
//! `round`, `abs`, `log(base, x)`), formulas may call `log2(x)`, `ln(x)`, `ceil_log2(x)`
//! (0 for x <= 1), `floor_log2(x)`, `popcount(x)` and `next_pow2(x)`.
//! Numbers directly followed by a letter are unit suffixes in fasteval (`4n` = 4e-9): always
//! write `4*n`.

use fasteval2::{Compiler, Evaler, Instruction, Parser, Slab};
use std::fmt;

/// A parsed formula.
pub struct Formula {
    text: String,
    slab: Slab,
    instruction: Instruction,
}

impl fmt::Debug for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Formula({:?})", self.text)
    }
}

/// Variable bindings for evaluation: a small list searched linearly (formulas see a few
/// dozen names at most).
#[derive(Debug, Clone, Default)]
pub struct Vars {
    names: Vec<String>,
    values: Vec<f64>,
}

impl Vars {
    pub fn new() -> Self {
        Vars::default()
    }

    /// Binds `name` (shadowing an earlier binding).
    pub fn set(&mut self, name: &str, value: f64) {
        match self.names.iter().position(|n| n == name) {
            Some(i) => self.values[i] = value,
            None => {
                self.names.push(name.to_string());
                self.values.push(value);
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}

/// Functions the formula language adds to fasteval's built-ins.
fn builtin_function(name: &str, args: &[f64]) -> Option<f64> {
    let x = *args.first()?;
    if args.len() != 1 {
        return None;
    }
    Some(match name {
        "log2" => x.log2(),
        "ln" => x.ln(),
        "ceil_log2" => {
            if x <= 1.0 {
                0.0
            } else {
                x.log2().ceil()
            }
        }
        "floor_log2" => {
            if x < 1.0 {
                0.0
            } else {
                x.log2().floor()
            }
        }
        "popcount" => (x.max(0.0) as u64).count_ones() as f64,
        "next_pow2" => (x.max(1.0).ceil() as u64).next_power_of_two() as f64,
        _ => return None,
    })
}

/// Largest number of operators in one formula.
const MAX_OPERATORS: usize = 120;

/// Names the formula language reserves for functions.
const FUNCTIONS: &[&str] = &[
    "log2",
    "ln",
    "ceil_log2",
    "floor_log2",
    "popcount",
    "next_pow2",
];

impl Formula {
    /// Parses a formula; the error is the parser's reason.
    pub fn parse(text: &str) -> Result<Formula, String> {
        // fasteval evaluates recursively: bound the size so that no file can exhaust the stack.
        let operators = text.chars().filter(|c| "+-*/^%<>=&|,".contains(*c)).count();
        if operators > MAX_OPERATORS {
            return Err(format!(
                "formula \"{}...\" has {operators} operators (at most {MAX_OPERATORS}): split it into functions",
                text.chars().take(40).collect::<String>()
            ));
        }
        // A formula has at most one slab entry per character.
        let mut slab = Slab::with_capacity(text.len().max(16));
        let parsed = Parser::new()
            .parse(text, &mut slab.ps)
            .map_err(|e| format!("cannot parse formula \"{text}\": {e:?}"))?;
        if let Some(literal) = non_finite_literal(text) {
            return Err(format!(
                "formula \"{text}\": the number {literal} is too large to be a finite number"
            ));
        }
        let instruction =
            parsed
                .from(&slab.ps)
                .compile(&slab.ps, &mut slab.cs, &mut fasteval2::EmptyNamespace);
        let formula = Formula {
            text: text.to_string(),
            slab,
            instruction,
        };
        // fasteval folds constant parts at compile time and turns a NaN there into 1 or 0
        // (`0/0` compiles to 1): evaluated unfolded, such a formula is not finite.
        let mut ones = |name: &str, args: Vec<f64>| -> Option<f64> {
            if args.is_empty() {
                Some(1.0)
            } else {
                builtin_function(name, &args).or(Some(1.0))
            }
        };
        let unfolded = formula
            .slab
            .ps
            .get_expr(parsed)
            .eval(&formula.slab, &mut ones);
        let folded = formula.instruction.eval(&formula.slab, &mut ones);
        if let (Ok(u), Ok(f)) = (unfolded, folded) {
            if !u.is_finite() && f.is_finite() {
                return Err(format!(
                    "formula \"{text}\" has a constant part that is not a finite number \
                     (such as 0/0 or inf - inf)"
                ));
            }
        }
        Ok(formula)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates the formula; fails on an unknown variable or a non-finite result.
    pub fn eval(&self, vars: &Vars) -> Result<f64, String> {
        let mut unknown = None;
        let mut ns = |name: &str, args: Vec<f64>| -> Option<f64> {
            let v = if args.is_empty() {
                vars.get(name)
            } else {
                builtin_function(name, &args)
            };
            if v.is_none() && unknown.is_none() {
                unknown = Some(name.to_string());
            }
            v
        };
        let result = self.instruction.eval(&self.slab, &mut ns);
        match (result, unknown) {
            (_, Some(name)) if FUNCTIONS.contains(&name.as_str()) => Err(format!(
                "formula \"{}\": {name}() takes one argument",
                self.text
            )),
            (_, Some(name)) => Err(format!(
                "formula \"{}\" uses unknown variable '{name}' (known here: {})",
                self.text,
                vars.names().collect::<Vec<_>>().join(", ")
            )),
            (Err(e), None) => Err(format!("formula \"{}\": {e:?}", self.text)),
            (Ok(v), None) if !v.is_finite() => Err(format!(
                "formula \"{}\" is not finite ({v}) for {}",
                self.text,
                describe(vars)
            )),
            (Ok(v), None) => Ok(v),
        }
    }
}

/// The first number written in `text` that is too large for an `f64` (`1e400`), if any.
fn non_finite_literal(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = (bytes[i].is_ascii_digit() || bytes[i] == b'.')
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if !starts_number {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            let mut j = i + 1;
            if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                j += 1;
            }
            if j < bytes.len() && bytes[j].is_ascii_digit() {
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                i = j;
            }
        }
        let literal = &text[start..i];
        if literal.parse::<f64>().is_ok_and(|v| !v.is_finite()) {
            return Some(literal);
        }
    }
    None
}

fn describe(vars: &Vars) -> String {
    vars.names
        .iter()
        .zip(&vars.values)
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, bindings: &[(&str, f64)]) -> Result<f64, String> {
        let mut vars = Vars::new();
        for (n, v) in bindings {
            vars.set(n, *v);
        }
        Formula::parse(text)?.eval(&vars)
    }

    #[test]
    fn evaluates_with_variables_and_functions() {
        assert_eq!(
            eval(
                "8*(m*k + k*n) + 4*m*n",
                &[("m", 1.0), ("k", 784.0), ("n", 128.0)]
            ),
            Ok(809_600.0)
        );
        assert_eq!(
            eval("floor_log2(n) + popcount(n) - 1", &[("n", 1000.0)]),
            Ok(14.0)
        );
        assert_eq!(
            eval("ceil_log2(1) + ceil_log2(9) + max(2, 3)", &[]),
            Ok(7.0)
        );
        assert_eq!(eval("next_pow2(100)", &[]), Ok(128.0));
    }

    #[test]
    fn long_formulas_parse() {
        let long = (0..60)
            .map(|i| format!("{i}*n"))
            .collect::<Vec<_>>()
            .join(" + ");
        assert_eq!(eval(&long, &[("n", 1.0)]), Ok(1_770.0));
        let too_long = (0..200)
            .map(|i| format!("{i}*n"))
            .collect::<Vec<_>>()
            .join(" + ");
        assert!(Formula::parse(&too_long)
            .unwrap_err()
            .contains("at most 120"));
    }

    #[test]
    fn reports_unknown_variables_and_bad_syntax() {
        let err = eval("2*q", &[("n", 1.0)]).unwrap_err();
        assert!(err.contains("unknown variable 'q'"), "{err}");
        assert!(Formula::parse("2*(n").is_err());
        let err = eval("1/(n-1)", &[("n", 1.0)]).unwrap_err();
        assert!(err.contains("not finite"), "{err}");
    }

    #[test]
    fn non_finite_constants_are_refused_at_parse() {
        assert_eq!(
            Formula::parse("0 * 1e400").unwrap_err(),
            "formula \"0 * 1e400\": the number 1e400 is too large to be a finite number"
        );
        for text in ["0/0", "(0/0)*0", "0/0*n", "1e300*1e300 - 1e300*1e300"] {
            assert_eq!(
                Formula::parse(text).unwrap_err(),
                format!(
                    "formula \"{text}\" has a constant part that is not a finite number \
                     (such as 0/0 or inf - inf)"
                )
            );
        }
        // Large but finite numbers, names with digits, and NaN only for some bindings are
        // fine at parse (evaluation refuses a non-finite value).
        assert_eq!(eval("1e300 * 2 + x1", &[("x1", 1.0)]), Ok(2e300 + 1.0));
        assert!(eval("1/(n-1)", &[("n", 2.0)]).is_ok());
    }
}
