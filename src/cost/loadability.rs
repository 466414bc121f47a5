//! Loadability: what a framework's real frontend refuses to load or run.
//!
//! A cost model may state its frontend (`[frontend]` in its TOML: the ONNX ops it accepts, the
//! ones it refuses with the framework's own reason, and conditions such as secret indices),
//! read from the framework's source. [`FrontendSpec::refusals`] names every node of a model
//! file the frontend would refuse; the cost still shown for such a node is that of the closest
//! runnable form, which each refusal states.

use serde::{Deserialize, Serialize};

/// The frontend of a framework (`[frontend]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FrontendSpec {
    /// What reads the model (`crypten.nn.from_onnx`).
    pub name: String,
    /// Where this was read.
    pub source: String,
    /// The ONNX ops it has an implementation for.
    pub accepts: Vec<String>,
    /// The reason for any other op; `{op}` stands for the op type.
    pub other_reason: String,
    /// What the cost of such an op is (the closest runnable form).
    pub other_closest: String,
    /// Ops refused with a reason of their own, or only under a condition.
    #[serde(default)]
    pub refuses: Vec<RefusalSpec>,
}

/// One refusal rule (`[[frontend.refuses]]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RefusalSpec {
    /// ONNX op type.
    pub op: String,
    /// Refused only when this operand (0-based) is secret, i.e. computed from a model input.
    #[serde(default)]
    pub secret_operand: Option<usize>,
    /// The framework's own error, and where it is raised.
    pub reason: String,
    /// What the cost shown for the node is.
    pub closest: String,
}

/// A node of a model file as the frontend reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceNode {
    pub op_type: String,
    pub name: String,
    /// Module path (PyTorch scope) of the node.
    pub module: String,
    /// Per operand: whether it is computed from a model input (secret), not from weights or
    /// constants alone.
    pub secret_operands: Vec<bool>,
}

/// A node the frontend refuses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub op: String,
    pub node: String,
    pub module: String,
    pub reason: String,
    /// The form whose cost is shown instead.
    pub closest: String,
}

impl FrontendSpec {
    /// Every node of `nodes` the frontend refuses, in order.
    pub fn refusals(&self, nodes: &[SourceNode]) -> Vec<Refusal> {
        nodes
            .iter()
            .filter_map(|n| {
                let refusal = |reason: &str, closest: &str| Refusal {
                    op: n.op_type.clone(),
                    node: n.name.clone(),
                    module: n.module.clone(),
                    reason: reason.replace("{op}", &n.op_type),
                    closest: closest.to_string(),
                };
                let rule = self.refuses.iter().find(|r| {
                    r.op == n.op_type
                        && r.secret_operand
                            .is_none_or(|i| n.secret_operands.get(i).copied().unwrap_or(false))
                });
                if let Some(r) = rule {
                    return Some(refusal(&r.reason, &r.closest));
                }
                let accepted = self.accepts.contains(&n.op_type)
                    || self.refuses.iter().any(|r| r.op == n.op_type);
                (!accepted).then(|| refusal(&self.other_reason, &self.other_closest))
            })
            .collect()
    }
}

/// Modules named in a warning that groups several nodes (the JSON output lists them all).
const MODULES_NAMED: usize = 3;

/// The warnings for `refused`: one per distinct (op, reason, form shown), in order of first
/// appearance, naming the first node and counting the others, so that a model with 25 refused
/// layer norms gets one warning, not 25.
pub fn warnings(frontend: &str, refused: &[Refusal]) -> Vec<String> {
    let mut groups: Vec<Vec<&Refusal>> = Vec::new();
    for r in refused {
        let same = |g: &&mut Vec<&Refusal>| {
            let f = g[0];
            (f.op.as_str(), f.reason.as_str(), f.closest.as_str())
                == (r.op.as_str(), r.reason.as_str(), r.closest.as_str())
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.push(r),
            None => groups.push(vec![r]),
        }
    }
    groups.iter().map(|g| group_warning(frontend, g)).collect()
}

/// `module m`, or `the top level` for the empty module path.
fn module_words(module: &str) -> String {
    if module.is_empty() {
        "the top level".to_string()
    } else {
        format!("module {module}")
    }
}

/// The warning for refusals sharing op, reason and form shown (at least one).
fn group_warning(frontend: &str, g: &[&Refusal]) -> String {
    let first = g[0];
    let more = match g.len() - 1 {
        0 => String::new(),
        n => {
            let named: Vec<&str> = g[1..]
                .iter()
                .take(MODULES_NAMED)
                .map(|r| {
                    if r.module.is_empty() {
                        "the top level"
                    } else {
                        r.module.as_str()
                    }
                })
                .collect();
            let rest = if n > MODULES_NAMED {
                ", ...; --format json lists them all".to_string()
            } else {
                String::new()
            };
            format!(
                " and {n} more {} node{} ({}{rest})",
                first.op,
                if n == 1 { "" } else { "s" },
                named.join(", ")
            )
        }
    };
    format!(
        "{frontend} refuses {} node '{}' ({}){more}: {}; the cost shown is that of {}",
        first.op,
        first.node,
        module_words(&first.module),
        first.reason,
        first.closest
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FrontendSpec {
        FrontendSpec {
            name: "f".into(),
            source: "s".into(),
            accepts: vec!["Add".into(), "Gather".into()],
            other_reason: "no {op}".into(),
            other_closest: "its IR op".into(),
            refuses: vec![RefusalSpec {
                op: "Gather".into(),
                secret_operand: Some(1),
                reason: "secret indices".into(),
                closest: "a one-hot product".into(),
            }],
        }
    }

    fn node(op: &str, secret: Vec<bool>) -> SourceNode {
        SourceNode {
            op_type: op.into(),
            name: format!("/m/{op}"),
            module: "m".into(),
            secret_operands: secret,
        }
    }

    #[test]
    fn refuses_unknown_ops_and_secret_indices_only() {
        let nodes = [
            node("Add", vec![true, true]),
            node("Gather", vec![false, false]),
            node("Gather", vec![false, true]),
            node("Split", vec![true]),
        ];
        let r = spec().refusals(&nodes);
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].op.as_str(), r[0].reason.as_str()),
            ("Gather", "secret indices")
        );
        assert_eq!(
            (r[1].op.as_str(), r[1].reason.as_str()),
            ("Split", "no Split")
        );
        assert_eq!(
            warnings("f", &r[1..]),
            ["f refuses Split node '/m/Split' (module m): no Split; the cost shown is that of its IR op"]
        );
    }

    #[test]
    fn refusals_of_one_kind_make_one_warning() {
        let mut nodes: Vec<SourceNode> = (0..6)
            .map(|i| SourceNode {
                module: if i == 2 {
                    String::new()
                } else {
                    format!("l{i}")
                },
                name: format!("/l{i}/Split"),
                ..node("Split", vec![true])
            })
            .collect();
        nodes.insert(1, node("Gather", vec![false, true]));
        let r = spec().refusals(&nodes);
        assert_eq!(
            warnings("f", &r),
            [
                "f refuses Split node '/l0/Split' (module l0) and 5 more Split nodes (l1, the top \
                 level, l3, ...; --format json lists them all): no Split; the cost shown is that \
                 of its IR op",
                "f refuses Gather node '/m/Gather' (module m): secret indices; the cost shown is \
                 that of a one-hot product",
            ]
        );
        assert_eq!(
            warnings("f", &r[..3]),
            [
                "f refuses Split node '/l0/Split' (module l0) and 1 more Split node (l1): no \
                 Split; the cost shown is that of its IR op",
                "f refuses Gather node '/m/Gather' (module m): secret indices; the cost shown is \
                 that of a one-hot product",
            ]
        );
    }
}
