//! Load-time checks of a parsed rule that the parser's grammar cannot make: every application
//! on a right-hand side gets the attributes its op needs (`pow` its exponent, `concat` its
//! axis), from the rule's own `[k=e]` fields or from a matched op of the same kind (`[?a]`).
//! Without them the rule would parse and fail only while it rewrites, with no file or line.

use super::parse::RuleDef;
use super::{AttrSpec, Pat};
use crate::graph::Op;
use crate::optimize::language::has_attributes;
use serde_json::{json, Map, Value};

/// Values tried for a field a rule gives, to get past it to the next required one (the
/// field's type is not known here; one of these has it).
fn placeholders() -> [Value; 7] {
    [
        json!(1.0),
        json!(1),
        json!([1, 1]),
        json!([1, 1, 1, 1]),
        json!(true),
        json!("weight"),
        json!([1]),
    ]
}

/// The name in serde's "missing field `NAME`" message.
fn missing_field(e: &serde_json::Error) -> Option<String> {
    let text = e.to_string();
    let rest = text.strip_prefix("missing field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// The first field that `op` requires and `given` does not hold, if any.
fn first_missing(op: &str, given: &[&str]) -> Option<String> {
    let mut object = Map::new();
    object.insert("op".to_string(), json!(op));
    // Each round either succeeds or learns one more required field (bounded by the fields).
    for _ in 0..32 {
        let field = match serde_json::from_value::<Op>(Value::Object(object.clone())) {
            Ok(_) => return None,
            Err(e) => missing_field(&e)?,
        };
        if !given.contains(&field.as_str()) {
            return Some(field);
        }
        let fits = placeholders().into_iter().find(|v| {
            let mut o = object.clone();
            o.insert(field.clone(), v.clone());
            match serde_json::from_value::<Op>(Value::Object(o)) {
                Ok(_) => true,
                Err(e) => missing_field(&e).is_some_and(|f| f != field),
            }
        })?;
        object.insert(field, fits);
    }
    None
}

/// The op a left-hand side binds attribute variable `var` to.
fn bound_op(pats: &[(Option<String>, Pat)], var: &str) -> Option<&'static str> {
    fn find(p: &Pat, var: &str) -> Option<&'static str> {
        match p {
            Pat::Apply {
                op, attrs, args, ..
            } => {
                let binds = match attrs {
                    AttrSpec::Bind(b) => b == var,
                    AttrSpec::Build { base, .. } => base.as_deref() == Some(var),
                    AttrSpec::Any => false,
                };
                if binds {
                    return Some(op);
                }
                args.iter().find_map(|a| find(a, var))
            }
            _ => None,
        }
    }
    pats.iter().find_map(|(_, p)| find(p, var))
}

/// Checks every right-hand side application of `rule`; the error is `(line, reason)`.
pub fn check_rule(rule: &RuleDef) -> Result<(), (usize, String)> {
    fn visit(rule: &RuleDef, p: &Pat) -> Result<(), (usize, String)> {
        let Pat::Apply {
            op,
            attrs,
            args,
            line,
        } = p
        else {
            return Ok(());
        };
        if has_attributes(op) {
            let (base, given): (Option<&String>, Vec<&str>) = match attrs {
                AttrSpec::Any => (None, Vec::new()),
                AttrSpec::Bind(b) => (Some(b), Vec::new()),
                AttrSpec::Build { base, fields } => (
                    base.as_ref(),
                    fields.iter().map(|(k, _)| k.as_str()).collect(),
                ),
            };
            let base_op = base.and_then(|b| bound_op(&rule.lhs, b));
            match (base, base_op) {
                // Attributes copied from a matched op of the same kind: all there.
                (Some(_), Some(b)) if b == *op => {}
                (Some(b), Some(other)) if given.is_empty() => {
                    return Err((
                        *line,
                        format!(
                            "rule '{}': the right-hand side's ({op}[?{b}] ...) copies the \
                             attributes of a matched {other}, which are not {op}'s: give {op}'s \
                             attributes as [k=value, ...]",
                            rule.name
                        ),
                    ));
                }
                (Some(_), _) => {}
                (None, _) => {
                    if let Some(field) = first_missing(op, &given) {
                        return Err((
                            *line,
                            format!(
                                "rule '{}': the right-hand side's ({op} ...) has no '{field}', \
                                 which {op} needs: give it as ({op}[{field}=...] ...), or copy \
                                 a matched {op}'s attributes with [?name]",
                                rule.name
                            ),
                        ));
                    }
                }
            }
        }
        args.iter().try_for_each(|a| visit(rule, a))
    }
    rule.rhs.iter().try_for_each(|(_, p)| visit(rule, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_fields_are_found_past_the_given_ones() {
        assert_eq!(first_missing("pow", &[]), Some("exponent".to_string()));
        assert_eq!(first_missing("pow", &["exponent"]), None);
        assert_eq!(first_missing("concat", &[]), Some("axis".to_string()));
        // Ops whose attributes all have defaults need none.
        assert_eq!(first_missing("conv2d", &[]), None);
        assert_eq!(first_missing("softmax", &[]), None);
    }
}
