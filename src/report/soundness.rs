//! `hawkeye check-rules` output: per rule the instances tried, the failures and the error
//! seen, then a minimal counterexample for every failing rule; as text or JSON.

use crate::optimize::soundness::{
    CheckOptions, Counterexample, RuleCheck, APPROX_RANGE, EXACT_RANGES, TOLERANCE,
};
use crate::optimize::RuleClass;
use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
use serde_json::json;
use std::fmt::Write;

/// Tensors with more elements are summarised.
const PRINTED: usize = 64;

/// A number with at most 6 decimals, trailing zeros dropped.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// An error magnitude: `0`, or three significant digits in scientific notation.
fn error(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else {
        format!("{v:.2e}")
    }
}

/// A row-major tensor as nested lists (`[[1, 2], [3, 4]]`; a scalar is its value).
pub fn tensor(shape: &[usize], values: &[f64]) -> String {
    if values.len() > PRINTED {
        let head: Vec<String> = values[..8].iter().map(|&v| number(v)).collect();
        return format!("({} values: {}, ...)", values.len(), head.join(", "));
    }
    fn nest(shape: &[usize], values: &[f64]) -> String {
        match shape.split_first() {
            None => number(values[0]),
            Some((&n, rest)) => {
                let step = values.len() / n.max(1);
                let items: Vec<String> = (0..n)
                    .map(|i| nest(rest, &values[i * step..(i + 1) * step]))
                    .collect();
                format!("[{}]", items.join(", "))
            }
        }
    }
    nest(shape, values)
}

/// The multi-index of a row-major position.
fn index(shape: &[usize], mut flat: usize) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (i, &d) in shape.iter().enumerate().rev() {
        idx[i] = flat % d.max(1);
        flat /= d.max(1);
    }
    idx
}

fn range((lo, hi): (f64, f64)) -> String {
    format!("U({}, {})", number(lo), number(hi))
}

fn status(c: &RuleCheck) -> &'static str {
    if c.failed() {
        "FAIL"
    } else if c.untested() {
        "untested"
    } else {
        "ok"
    }
}

/// The counterexample as indented lines.
fn counterexample(out: &mut String, c: &Counterexample) {
    let _ = writeln!(out, "  reason: {}", c.reason);
    let _ = writeln!(out, "  minimal counterexample:");
    for (i, l) in c.lhs.iter().enumerate() {
        let _ = writeln!(out, "    lhs: {l}");
        if let Some(r) = c.rhs.get(i) {
            let _ = writeln!(out, "    rhs: {r}");
        }
    }
    for s in &c.sources {
        let value = if s.values.is_empty() {
            String::new()
        } else {
            format!(" = {}", tensor(&s.shape, &s.values))
        };
        let _ = writeln!(
            out,
            "    {}: {} {} {}{value}",
            s.name,
            s.op,
            s.visibility,
            crate::graph::shape_string(&s.shape)
        );
    }
    let many = c.roots.len() > 1;
    for (i, r) in c.roots.iter().enumerate() {
        let tag = if many {
            format!(" (root {})", i + 1)
        } else {
            String::new()
        };
        let _ = writeln!(out, "    lhs{tag} = {}", tensor(&r.shape, &r.lhs));
        let _ = writeln!(out, "    rhs{tag} = {}", tensor(&r.shape, &r.rhs));
        if let Some(w) = r.worst.filter(|_| r.lhs.len() > 1) {
            let _ = writeln!(
                out,
                "    worst element {:?}: lhs {}, rhs {}",
                index(&r.shape, w),
                number(r.lhs[w]),
                number(r.rhs[w])
            );
        }
    }
}

/// The human rendering.
pub fn text(checks: &[RuleCheck], options: &CheckOptions) -> String {
    let mut out = String::new();
    let exact = checks
        .iter()
        .filter(|c| c.class == RuleClass::Exact)
        .count();
    let _ = writeln!(
        out,
        "checked {} rules ({exact} exact, {} approximate), seed {}: up to {} instances per rule (of {} candidates), {} value draws each",
        checks.len(),
        checks.len() - exact,
        options.seed,
        options.instances,
        options.attempts,
        options.draws
    );
    let _ = writeln!(
        out,
        "exact rules must agree within |lhs - rhs| <= {TOLERANCE:e} (1 + |value|) on values from {} and {}; approximate rules: error on values from {}",
        range(EXACT_RANGES[0]),
        range(EXACT_RANGES[1]),
        range(APPROX_RANGE)
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "rule",
        "class",
        "instances",
        "draws",
        "failures",
        "max |error|",
        "mean |error|",
        "result",
    ]);
    for c in checks {
        t.add_row(vec![
            c.rule.clone(),
            c.class.to_string(),
            c.instances.to_string(),
            c.draws.to_string(),
            c.failures.to_string(),
            error(c.max_abs_error),
            error(c.mean_abs_error),
            status(c).to_string(),
        ]);
    }
    for i in 2..7 {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    let _ = writeln!(out, "{t}");
    for c in checks.iter().filter(|c| c.failed()) {
        let _ = writeln!(
            out,
            "\nFAIL {} ({}:{}): {} of {} instances fail",
            c.rule, c.file, c.line, c.failures, c.instances
        );
        if let Some(ce) = &c.counterexample {
            counterexample(&mut out, ce);
        }
    }
    let untested: Vec<&str> = checks
        .iter()
        .filter(|c| c.untested())
        .map(|c| c.rule.as_str())
        .collect();
    if !untested.is_empty() {
        let _ = writeln!(
            out,
            "\nwarning: no instance the rule applies to was found for {}: {}",
            if untested.len() == 1 {
                "1 rule".to_string()
            } else {
                format!("{} rules", untested.len())
            },
            untested.join(", ")
        );
    }
    let failed: Vec<&RuleCheck> = checks.iter().filter(|c| c.failed()).collect();
    let failed_exact = failed
        .iter()
        .filter(|c| c.class == RuleClass::Exact)
        .count();
    if failed.is_empty() {
        let _ = writeln!(
            out,
            "\nall {exact} exact rules agree with the interpreter; {} approximate rules measured",
            checks.len() - exact
        );
    } else {
        let _ = writeln!(
            out,
            "\n{failed_exact} of {exact} exact rules FAIL{}: {}",
            if failed.len() > failed_exact {
                format!(
                    ", and {} approximate rules build wrong right-hand sides",
                    failed.len() - failed_exact
                )
            } else {
                String::new()
            },
            failed
                .iter()
                .map(|c| c.rule.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out
}

/// The JSON rendering: the settings and every rule's check.
pub fn json(checks: &[RuleCheck], options: &CheckOptions) -> serde_json::Value {
    json!({
        "options": options,
        "tolerance": TOLERANCE,
        "exact_ranges": EXACT_RANGES,
        "approx_range": APPROX_RANGE,
        "rules": checks,
        "failed": checks.iter().filter(|c| c.failed()).map(|c| &c.rule).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_print_nested() {
        assert_eq!(tensor(&[], &[1.5]), "1.5");
        assert_eq!(
            tensor(&[2, 2], &[1.0, -0.25, 3.0, 0.1234567]),
            "[[1, -0.25], [3, 0.123457]]"
        );
        assert_eq!(index(&[2, 3], 4), vec![1, 1]);
        assert_eq!(number(-0.0), "0");
    }
}
