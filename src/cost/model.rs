//! Cost-model files loaded: the file as read ([`super::spec`], whose documentation describes
//! the format) is checked so that a broken file fails at load time with the file, the entry
//! and the reason, and its names are resolved into a [`CostModel`] the lowering runs.

use super::formula::{Formula, Vars};
use super::include::{Origins, Source};
pub use super::spec::{
    AutogradStyle, BatchNormStyle, FrameworkSpec, GeluStyle, MaxPoolStyle, SqrtPlusEps,
    TrainingSpec,
};
use super::spec::{FileSpec, StepSpec};
use crate::graph::{Op, Visibility};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use thiserror::Error;

/// Why a cost model could not be loaded or evaluated: names the file, the entry and the reason.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{file}: {entry}: {reason}")]
pub struct CostModelError {
    pub file: String,
    pub entry: String,
    pub reason: String,
}

/// A one-time cost (OT extension or HE key setup) paid once per run when any of the listed
/// primitives is used, reported apart from the per-op figures.
#[derive(Debug)]
pub struct SetupCost {
    pub label: String,
    pub doc: String,
    pub online_bits: Formula,
    pub online_rounds: Formula,
    pub when_used: Vec<usize>,
}

/// A primitive with its closed forms.
#[derive(Debug)]
pub struct Primitive {
    pub name: String,
    pub doc: String,
    pub source: String,
    pub args: Vec<String>,
    pub online_bits: PartyBits,
    pub online_rounds: Formula,
    pub offline_bits: Formula,
    pub offline_rounds: Formula,
}

/// How a primitive's online bits split over the parties.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum PartyBits {
    /// Total over all parties, sent in equal shares.
    Symmetric(Formula),
    /// Bits sent by each party.
    PerParty(Vec<Formula>),
    /// Bits sent by party `party` (bound to 0, 1, .. in turn).
    OfParty(Formula),
}

/// What a step calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callee {
    Primitive(usize),
    Function(usize),
}

/// One step of a lowering.
#[derive(Debug)]
pub struct Step {
    pub callee: Callee,
    pub label: Option<String>,
    pub args: Vec<(String, Formula)>,
    pub repeat: Option<Formula>,
    pub index: Option<String>,
    pub levels: Option<Formula>,
    pub when: Option<Formula>,
    /// `ops.relu.s[1]`: where the step is written, for errors.
    pub place: String,
}

/// A reusable lowering (sub-op).
#[derive(Debug)]
pub struct Function {
    pub name: String,
    pub doc: String,
    pub source: String,
    pub args: Vec<String>,
    pub steps: Vec<Step>,
}

/// The lowering of one IR op: step lists per operand-visibility pattern.
#[derive(Debug)]
pub struct OpLowering {
    pub doc: String,
    pub source: String,
    pub cases: Vec<(String, Vec<Step>)>,
}

impl OpLowering {
    /// The steps for the given operand visibilities: the matching pattern with the fewest
    /// wildcards, where the operands a shorter pattern leaves out count as wildcards too (`ss`
    /// is more specific than `s` for two secret operands).
    pub fn case_for(&self, operands: &[Visibility]) -> Option<&(String, Vec<Step>)> {
        self.cases
            .iter()
            .filter(|(pattern, _)| pattern_matches(pattern, operands))
            .min_by_key(|(pattern, _)| {
                pattern.chars().filter(|&c| c == '*').count() + operands.len() - pattern.len()
            })
    }
}

/// The letter of a visibility in case patterns.
pub fn visibility_letter(v: Visibility) -> char {
    match v {
        Visibility::Secret => 's',
        Visibility::Public => 'p',
        Visibility::Server => 'v',
    }
}

fn pattern_matches(pattern: &str, operands: &[Visibility]) -> bool {
    pattern.len() <= operands.len()
        && pattern
            .chars()
            .zip(operands)
            .all(|(c, &v)| c == '*' || c == visibility_letter(v))
}

/// An `[unsupported]` entry: the op, the case pattern it is limited to ("" for every
/// application), and the sentence saying why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsupported {
    pub op: String,
    pub pattern: String,
    pub reason: String,
}

/// Checks the `[unsupported]` table: each key is an IR op, optionally with a case pattern
/// (`op.pattern`); an op without a pattern is neither lowered nor local, and a sentence is
/// not empty. Errors are (entry, reason).
fn check_unsupported(
    table: &BTreeMap<String, String>,
    ops: &HashMap<String, OpLowering>,
    local_ops: &HashSet<String>,
) -> Result<Vec<Unsupported>, (String, String)> {
    let mut out = Vec::new();
    for (key, reason) in table {
        let entry = format!("unsupported.{key}");
        let (op, pattern) = key.split_once('.').unwrap_or((key.as_str(), ""));
        if !Op::NAMES.contains(&op) {
            return Err((entry, format!("'{op}' is not an IR op")));
        }
        if key.ends_with('.') || !pattern.chars().all(|c| "spv*".contains(c)) {
            return Err((
                entry,
                "write OP or OP.PATTERN, the pattern of the letters s, p, v, *".to_string(),
            ));
        }
        if pattern.is_empty() && (ops.contains_key(op) || local_ops.contains(op)) {
            return Err((
                entry,
                format!("'{op}' is unsupported but also lowered or local; give the case pattern it cannot run (\"{op}.ss\")"),
            ));
        }
        if reason.trim().is_empty() {
            return Err((
                entry,
                "the reason is empty; say why the framework cannot run the op and what to use \
                 instead"
                    .to_string(),
            ));
        }
        out.push(Unsupported {
            op: op.to_string(),
            pattern: pattern.to_string(),
            reason: reason.trim().to_string(),
        });
    }
    Ok(out)
}

/// A loaded framework cost model.
#[derive(Debug)]
pub struct CostModel {
    /// The file it came from (or `builtin:NAME.toml`).
    pub file: String,
    pub framework: FrameworkSpec,
    /// Protocol parameters in file order, after `--set` overrides.
    pub params: Vec<(String, f64)>,
    pub primitives: Vec<Primitive>,
    pub functions: Vec<Function>,
    pub ops: HashMap<String, OpLowering>,
    pub local_ops: HashSet<String>,
    pub setup: Vec<SetupCost>,
    pub training: TrainingSpec,
    /// Why the real system cannot run an op (`[unsupported]`), in file order.
    pub unsupported: Vec<Unsupported>,
    /// What the framework's real frontend refuses (`[frontend]`), when stated.
    pub frontend: Option<super::loadability::FrontendSpec>,
    /// The included file each entry taken in from one comes from, to name it in errors.
    pub included: Origins,
}

impl CostModel {
    /// Parses and checks a cost model given as text alone (it includes no file); `file` names
    /// it in errors. `overrides` are `--set` parameter values (each must name an existing
    /// parameter).
    pub fn from_toml(
        text: &str,
        file: &str,
        overrides: &[(String, f64)],
    ) -> Result<CostModel, CostModelError> {
        let model = CostModel::from_source(text, file, Source::Text, overrides)?;
        model.check_formulas()?;
        Ok(model)
    }

    /// Parses a cost model with the files it includes, read from where `source` says, and
    /// checks it, without the dry run of every formula ([`CostModel::check_formulas`]), which
    /// the tests make for the built-in files (`cost::tests`).
    pub(super) fn from_source(
        text: &str,
        file: &str,
        source: Source,
        overrides: &[(String, f64)],
    ) -> Result<CostModel, CostModelError> {
        let mut spec: FileSpec = super::spec::parse(text, file)?;
        let included = super::include::resolve(&mut spec, file, source)?;
        let err = |entry: &str, reason: String| CostModelError {
            file: included.file_of(entry, file),
            entry: entry.to_string(),
            reason,
        };

        use super::ranges::Origin;
        let mut params: Vec<(String, f64, Origin)> = spec
            .params
            .into_iter()
            .map(|(n, v)| (n, v, Origin::File))
            .collect();
        for (name, value) in overrides {
            match params.iter_mut().find(|(n, _, _)| n == name) {
                Some(p) => (p.1, p.2) = (*value, Origin::Override),
                None => {
                    return Err(err(
                        "--set",
                        format!(
                            "unknown parameter '{name}' (parameters: {})",
                            params
                                .iter()
                                .map(|(n, _, _)| n.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ))
                }
            }
        }
        if !params.iter().any(|(n, _, _)| n == "parties") {
            return Err(err(
                "params",
                "'parties' (2 or more) is required".to_string(),
            ));
        }
        super::ranges::check(&spec.ranges, &params)
            .map_err(|(entry, reason)| err(&entry, reason))?;
        let params: Vec<(String, f64)> = params.into_iter().map(|(n, v, _)| (n, v)).collect();

        let parse = |entry: &str, text: &str| Formula::parse(text).map_err(|r| err(entry, r));

        let mut primitives = Vec::new();
        for (name, p) in &spec.primitives {
            let entry = format!("primitives.{name}");
            let online_bits = match (
                &p.online_bits,
                &p.online_bits_per_party,
                &p.online_bits_of_party,
            ) {
                (Some(total), None, None) => PartyBits::Symmetric(parse(&entry, total)?),
                (None, Some(per), None) => PartyBits::PerParty(
                    per.iter()
                        .map(|t| parse(&entry, t))
                        .collect::<Result<_, _>>()?,
                ),
                (None, None, Some(of)) => PartyBits::OfParty(parse(&entry, of)?),
                _ => {
                    return Err(err(
                        &entry,
                        "give exactly one of online_bits, online_bits_per_party or \
                         online_bits_of_party"
                            .to_string(),
                    ))
                }
            };
            primitives.push(Primitive {
                name: name.clone(),
                doc: p.doc.clone(),
                source: p.source.clone(),
                args: p.args.clone(),
                online_bits,
                online_rounds: parse(&entry, &p.online_rounds)?,
                offline_bits: parse(&entry, &p.offline_bits)?,
                offline_rounds: parse(&entry, &p.offline_rounds)?,
            });
        }
        let primitive_index: HashMap<&str, usize> = spec
            .primitives
            .keys()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let function_index: HashMap<&str, usize> = spec
            .functions
            .keys()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        for name in spec.functions.keys() {
            if primitive_index.contains_key(name.as_str()) {
                return Err(err(
                    &format!("functions.{name}"),
                    "a primitive has the same name".to_string(),
                ));
            }
        }

        let build_steps = |place: &str, steps: &[StepSpec]| -> Result<Vec<Step>, CostModelError> {
            steps
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let place = format!("{place}[{i}]");
                    let callee = if let Some(&p) = primitive_index.get(s.call.as_str()) {
                        Callee::Primitive(p)
                    } else if let Some(&f) = function_index.get(s.call.as_str()) {
                        Callee::Function(f)
                    } else {
                        return Err(err(
                            &place,
                            format!("calls unknown primitive or function '{}'", s.call),
                        ));
                    };
                    let opt =
                        |t: &Option<String>| t.as_deref().map(|t| parse(&place, t)).transpose();
                    let args = s
                        .args
                        .iter()
                        .map(|(name, value)| {
                            let text = match value {
                                toml::Value::String(t) => t.clone(),
                                toml::Value::Integer(i) => i.to_string(),
                                toml::Value::Float(f) => f.to_string(),
                                other => {
                                    return Err(err(
                                        &place,
                                        format!("argument '{name}' must be a formula, got {other}"),
                                    ))
                                }
                            };
                            Ok((name.clone(), parse(&place, &text)?))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    if s.label.is_some() && matches!(callee, Callee::Primitive(_)) {
                        return Err(err(&place, "only function calls take a label".to_string()));
                    }
                    if s.index.is_some() && s.repeat.is_none() {
                        return Err(err(&place, "'index' needs 'repeat'".to_string()));
                    }
                    Ok(Step {
                        callee,
                        label: s.label.clone(),
                        args,
                        repeat: opt(&s.repeat)?,
                        index: s.index.clone(),
                        levels: opt(&s.levels)?,
                        when: opt(&s.when)?,
                        place,
                    })
                })
                .collect()
        };

        let mut functions = Vec::new();
        for (name, f) in &spec.functions {
            functions.push(Function {
                name: name.clone(),
                doc: f.doc.clone(),
                args: f.args.clone(),
                source: f.source.clone(),
                steps: build_steps(&format!("functions.{name}.steps"), &f.steps)?,
            });
        }

        let mut ops = HashMap::new();
        for (name, o) in &spec.ops {
            if !Op::NAMES.contains(&name.as_str()) {
                return Err(err(
                    &format!("ops.{name}"),
                    format!("'{name}' is not an IR op (ops: {})", Op::NAMES.join(", ")),
                ));
            }
            let mut cases = Vec::new();
            for (pattern, steps) in &o.cases {
                if pattern.is_empty() || !pattern.chars().all(|c| "spv*".contains(c)) {
                    return Err(err(
                        &format!("ops.{name}.{pattern}"),
                        "case keys are operand-visibility patterns of the letters s, p, v, *"
                            .to_string(),
                    ));
                }
                cases.push((
                    pattern.clone(),
                    build_steps(&format!("ops.{name}.{pattern}"), steps)?,
                ));
            }
            ops.insert(
                name.clone(),
                OpLowering {
                    doc: o.doc.clone(),
                    source: o.source.clone(),
                    cases,
                },
            );
        }
        let local_ops: HashSet<String> = spec.framework.local_ops.iter().cloned().collect();
        for name in &local_ops {
            if !Op::NAMES.contains(&name.as_str()) {
                return Err(err(
                    "framework.local_ops",
                    format!("'{name}' is not an IR op"),
                ));
            }
            if ops.contains_key(name) {
                return Err(err(
                    "framework.local_ops",
                    format!("'{name}' is local but also has a lowering in [ops.{name}]"),
                ));
            }
        }

        let mut setup = Vec::new();
        for (i, st) in spec.setup.iter().enumerate() {
            let entry = format!("setup[{i}]");
            let when_used = st
                .when_used
                .iter()
                .map(|p| {
                    primitive_index.get(p.as_str()).copied().ok_or_else(|| {
                        err(&entry, format!("when_used names unknown primitive '{p}'"))
                    })
                })
                .collect::<Result<_, _>>()?;
            setup.push(SetupCost {
                label: st.label.clone(),
                doc: st.doc.clone(),
                online_bits: parse(&entry, &st.online_bits)?,
                online_rounds: parse(&entry, &st.online_rounds)?,
                when_used,
            });
        }

        if let Some(t) = spec.training.grad_threshold {
            if !(t.is_finite() && t > 0.0) {
                return Err(err(
                    "training.grad_threshold",
                    format!("must be a positive number, got {t}"),
                ));
            }
        }
        let unsupported = check_unsupported(&spec.unsupported, &ops, &local_ops)
            .map_err(|(entry, reason)| err(&entry, reason))?;
        let model = CostModel {
            file: file.to_string(),
            unsupported,
            training: spec.training,
            frontend: spec.frontend,
            framework: spec.framework,
            params,
            primitives,
            functions,
            ops,
            local_ops,
            setup,
            included,
        };
        model.check_acyclic()?;
        Ok(model)
    }

    /// Reads and checks a cost-model file and the files it includes.
    pub fn from_file(
        path: &Path,
        overrides: &[(String, f64)],
    ) -> Result<CostModel, CostModelError> {
        let file = path.display().to_string();
        let text = super::include::read_file(path).map_err(|reason| CostModelError {
            file: file.clone(),
            entry: "file".to_string(),
            reason: format!("the file {reason}"),
        })?;
        let model = CostModel::from_source(&text, &file, Source::Disk(path), overrides)?;
        model.check_formulas()?;
        Ok(model)
    }

    /// An error at `entry`, naming the file that defines it.
    pub fn error(&self, entry: &str, reason: String) -> CostModelError {
        CostModelError {
            file: self.included.file_of(entry, &self.file),
            entry: entry.to_string(),
            reason,
        }
    }

    pub fn param(&self, name: &str) -> Option<f64> {
        self.params.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    /// Number of parties.
    pub fn parties(&self) -> usize {
        self.param("parties").unwrap_or(2.0) as usize
    }

    /// Functions must not call themselves, directly or through others.
    fn check_acyclic(&self) -> Result<(), CostModelError> {
        // 0 = unvisited, 1 = on the stack, 2 = done
        fn visit(
            m: &CostModel,
            f: usize,
            state: &mut [u8],
            chain: &mut Vec<usize>,
        ) -> Result<(), CostModelError> {
            match state[f] {
                2 => return Ok(()),
                1 => {
                    let start = chain.iter().position(|&c| c == f).unwrap_or(0);
                    let names: Vec<&str> = chain[start..]
                        .iter()
                        .chain(std::iter::once(&f))
                        .map(|&c| m.functions[c].name.as_str())
                        .collect();
                    return Err(m.error(
                        &format!("functions.{}", m.functions[f].name),
                        format!("cyclic lowering: {}", names.join(" > ")),
                    ));
                }
                _ => {}
            }
            state[f] = 1;
            chain.push(f);
            for step in &m.functions[f].steps {
                if let Callee::Function(g) = step.callee {
                    visit(m, g, state, chain)?;
                }
            }
            chain.pop();
            state[f] = 2;
            Ok(())
        }
        let mut state = vec![0u8; self.functions.len()];
        for f in 0..self.functions.len() {
            visit(self, f, &mut state, &mut Vec::new())?;
        }
        Ok(())
    }

    /// Dry-runs every lowering on sample shapes so that unknown variables, missing arguments
    /// and negative or non-finite results surface at load time.
    pub(super) fn check_formulas(&self) -> Result<(), CostModelError> {
        for (name, lowering) in &self.ops {
            let vars = super::vars::sample_vars(name);
            for (pattern, steps) in &lowering.cases {
                let mut scope = self.base_vars();
                for var in vars.names() {
                    scope.set(var, vars.get(var).expect("listed"));
                }
                super::lowering::expand_steps(self, steps, &scope, 0).map_err(|e| {
                    if e.entry.is_empty() {
                        self.error(&format!("ops.{name}.{pattern}"), e.reason)
                    } else {
                        e
                    }
                })?;
            }
        }
        Ok(())
    }

    /// The `[unsupported]` sentence for `op` applied to operands of these visibilities, with
    /// its key: an entry for the matching case pattern first, then one for the whole op.
    pub fn unsupported_reason(&self, op: &str, operands: &[Visibility]) -> Option<(String, &str)> {
        let (with_case, whole): (Vec<&Unsupported>, Vec<&Unsupported>) = self
            .unsupported
            .iter()
            .filter(|u| u.op == op)
            .partition(|u| !u.pattern.is_empty());
        with_case
            .into_iter()
            .find(|u| pattern_matches(&u.pattern, operands))
            .map(|u| (format!("{}.{}", u.op, u.pattern), u.reason.as_str()))
            .or_else(|| whole.first().map(|u| (u.op.clone(), u.reason.as_str())))
    }

    /// Parameters as formula variables.
    pub fn base_vars(&self) -> Vars {
        let mut vars = Vars::new();
        for (n, v) in &self.params {
            vars.set(n, *v);
        }
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"
[framework]
name = "toy"
description = "toy"
provenance = "test"
rounds = "messages"
default_weights = "secret"
local_ops = ["add"]
[params]
parties = 2
ring = 64
"#;

    fn load(body: &str) -> Result<CostModel, CostModelError> {
        CostModel::from_toml(&format!("{HEADER}{body}"), "toy.toml", &[])
    }

    #[test]
    fn loop_iterations_merge_at_every_depth() {
        let m = load(
            "[primitives.p]\nargs = [\"n\"]\nonline_bits = \"n\"\n\
             [functions.inner]\nargs = [\"n\"]\nsteps = [{ call = \"p\", n = \"n\" }]\n\
             [functions.outer]\nargs = [\"n\"]\nsteps = [{ call = \"inner\", n = \"n\" }]\n\
             [ops.relu]\ns = [{ call = \"outer\", n = \"2^i\", repeat = \"3\", index = \"i\" }]",
        )
        .unwrap();
        let steps = &m.ops["relu"].cases[0].1;
        let nodes = super::super::lowering::expand_steps(&m, steps, &m.base_vars(), 0).unwrap();
        // 1 + 2 + 4 bits, and the same down to the primitive
        let outer = &nodes[0];
        assert_eq!(outer.cost.online_bits, 7.0);
        let inner = &outer.children[0];
        assert_eq!((inner.calls, inner.cost.online_bits), (3.0, 7.0));
        let p = &inner.children[0];
        assert_eq!((p.calls, p.cost.online_bits), (3.0, 7.0));
    }

    #[test]
    fn the_most_specific_case_wins() {
        let m = load(
            "[primitives.p]\nargs = [\"n\"]\nonline_bits = \"n\"\n\
             [ops.layer_norm]\ns = [{ call = \"p\", n = \"1\" }]\n\
             ss = [{ call = \"p\", n = \"2\" }]\nsp = [{ call = \"p\", n = \"3\" }]\n\
             \"s**\" = [{ call = \"p\", n = \"4\" }]",
        )
        .unwrap();
        let ln = &m.ops["layer_norm"];
        let (s, p) = (Visibility::Secret, Visibility::Public);
        let pick = |ops: &[Visibility]| ln.case_for(ops).map(|(k, _)| k.as_str());
        assert_eq!(pick(&[s]), Some("s"));
        assert_eq!(pick(&[s, s, s]), Some("ss"));
        assert_eq!(pick(&[s, p, p]), Some("sp"));
        assert_eq!(pick(&[s, s]), Some("ss"));
        assert_eq!(pick(&[p, s, s]), None);
    }

    #[test]
    fn broken_files_name_the_entry() {
        let e = load("[ops.relu]\ns = [{ call = \"msb\", n = \"out\" }]").unwrap_err();
        assert_eq!(
            e.to_string(),
            "toy.toml: ops.relu.s[0]: calls unknown primitive or function 'msb'"
        );

        let e = load("[primitives.open]\nonline_bits = \"ring*q\"\n[ops.relu]\ns = [{ call = \"open\", n = \"out\" }]")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "toy.toml: primitives.open: formula \"ring*q\" uses unknown variable 'q' \
             (known here: parties, ring, n) (called from ops.relu.s[0])"
        );

        let e = load(
            "[functions.a]\nsteps = [{ call = \"b\" }]\n[functions.b]\nsteps = [{ call = \"a\" }]",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "toy.toml: functions.a: cyclic lowering: a > b > a"
        );

        let e = load("[ops.conv3d]\ns = []").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("toy.toml: ops.conv3d: 'conv3d' is not an IR op"),
            "{e}"
        );

        let e = load("[primitives.open]\nonline_bits = \"-ring*n\"\n[ops.relu]\ns = [{ call = \"open\", n = \"out\" }]").unwrap_err();
        assert!(e.to_string().contains("negative"), "{e}");

        let e = load("[primitives.open]\nonline_bits = \"n\"\nonline_bits_of_party = \"n\"\n[ops.relu]\ns = [{ call = \"open\", n = \"out\" }]").unwrap_err();
        assert!(e.to_string().contains("exactly one of"), "{e}");

        let e = load("[params]\nx = ").unwrap_err();
        assert!(e.to_string().starts_with("toy.toml: line "), "{e}");
    }

    #[test]
    fn bits_of_party_is_evaluated_for_each_party() {
        let m = CostModel::from_toml(
            &format!(
                "{HEADER}[primitives.gather]\nargs = [\"n\"]\n\
                 online_bits_of_party = \"ring * n * ((party == 0) * (parties - 1) + (party > 0))\"\n\
                 [ops.relu]\ns = [{{ call = \"gather\", n = \"out\" }}]"
            ),
            "toy.toml",
            &[("parties".to_string(), 3.0)],
        )
        .unwrap();
        let steps = &m.ops["relu"].cases[0].1;
        let mut scope = m.base_vars();
        scope.set("out", 10.0);
        let nodes = super::super::lowering::expand_steps(&m, steps, &scope, 0).unwrap();
        assert_eq!(nodes[0].cost.party_online_bits, vec![1280.0, 640.0, 640.0]);
        assert_eq!(nodes[0].cost.online_bits, 2560.0);
    }

    #[test]
    fn unsupported_sentences_are_checked_and_found_case_first() {
        let m = load(
            "[primitives.p]\nargs = [\"n\"]\nonline_bits = \"n\"\n\
             [ops.mat_mul]\nsp = [{ call = \"p\", n = \"1\" }]\n\
             [unsupported]\nsoftmax = \"Toy has no softmax; use another\"\n\
             \"mat_mul.ss\" = \"Toy has no secret product; use another\"\n\
             \"softmax.p\" = \"never seen\"",
        )
        .unwrap();
        let (s, p) = (Visibility::Secret, Visibility::Public);
        assert_eq!(
            m.unsupported_reason("mat_mul", &[s, s]),
            Some((
                "mat_mul.ss".to_string(),
                "Toy has no secret product; use another"
            ))
        );
        assert_eq!(m.unsupported_reason("mat_mul", &[s, p]), None);
        assert_eq!(
            m.unsupported_reason("softmax", &[s]),
            Some(("softmax".to_string(), "Toy has no softmax; use another"))
        );
        assert_eq!(m.unsupported_reason("relu", &[s]), None);

        let e = load("[unsupported]\nadd = \"no add\"").unwrap_err();
        assert_eq!(
            e.to_string(),
            "toy.toml: unsupported.add: 'add' is unsupported but also lowered or local; give \
             the case pattern it cannot run (\"add.ss\")"
        );
        let e = load("[unsupported]\nconv3d = \"no\"").unwrap_err();
        assert_eq!(
            e.to_string(),
            "toy.toml: unsupported.conv3d: 'conv3d' is not an IR op"
        );
        let e = load("[unsupported]\n\"relu.sx\" = \"no\"").unwrap_err();
        assert_eq!(
            e.to_string(),
            "toy.toml: unsupported.relu.sx: write OP or OP.PATTERN, the pattern of the letters \
             s, p, v, *"
        );
        let e = load("[unsupported]\nrelu = \" \"").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("toy.toml: unsupported.relu: the reason is empty;"),
            "{e}"
        );
    }
}
