//! Rewrite rules as data: the rule-file format, its loading and checking, and the compilation
//! of rules into egg rewrites.
//!
//! The built-in rules are the files of `rules/` (compiled into the binary); `--rules FILE`
//! adds more at run time. A file is a list of blocks:
//!
//! ```text
//! # relu after maxpool
//! rule relu-after-maxpool exact
//!   lhs (max_pool2d[?p] (relu ?x))
//!   rhs (relu (max_pool2d[?p] ?x))
//!   why relu is monotone, so it commutes with max; after the pool it compares k^2 fewer values
//! ```
//!
//! - `rule NAME exact|approx [both]` starts a block at column 0. `approx` rules change the
//!   model and only run with `--allow-approx`; `both` also adds the rule right to left (named
//!   `NAME~rev`).
//! - Indented fields: `lhs` and `rhs` (one each), `why` (one line of rationale), and any number
//!   of `let ?v = PATTERN` (a right-hand-side abbreviation) and `if CONDITION` (all must hold;
//!   see [`expr`] for the expression language). `for %f in op1 op2 ...` repeats the rule with
//!   `%f` replaced by each op (named `NAME/op`). A line indented deeper that starts with no
//!   keyword continues the previous field. Lines starting with `#` are comments.
//! - Patterns are s-expressions over the op names of the JSON format: `?x` binds an e-class, a
//!   number is a public scalar, `{expr}` (right-hand side) a computed scalar. Attributes go in
//!   brackets after the op: `[?p]` binds them (left) or copies them (right); `[key=expr, ...]`
//!   requires (left) or sets (right) fields named as in the JSON format, with defaults for the
//!   others; `[?p, key=expr]` copies with changes. An op without brackets matches any
//!   attributes. Optional operands are positional: `(linear ?x ?w)` matches bias-free layers
//!   only.
//! - Multi-pattern rules name their roots on both sides, separated by `;`:
//!   `lhs ?a = (linear ?x ?w1); ?b = (linear ?x ?w2)` and `rhs ?a = ...; ?b = ...`. They run in
//!   the first iterations only (see [`super::Limits::multi_iterations`]). Their patterns must
//!   share a variable (`?x`): matches are joined on it by a hash index (see [`join`]), so
//!   siblings meet only when they read the same input.
//!
//! Every right-hand side is built with its shapes inferred before anything enters the e-graph;
//! a match whose right-hand side does not fit is skipped, and one whose value differs from the
//! matched e-class's is a bug of the rule (debug builds panic with the rule's name).

mod apply;
mod check;
pub mod expr;
mod join;
mod parse;

pub use apply::RuleApplier;
pub(crate) use apply::{Planned, PlannedOp};
pub use expr::{attr_fields, Value};
pub use parse::RuleDef;

use super::analysis::{EGraph, TensorAnalysis};
use super::language::{has_attributes, Real, TensorNode, TensorOp};
use super::places::Places;
use crate::graph::Op;
use egg::{ENodeOrVar, Id, Pattern, PatternAst, RecExpr, Rewrite, Subst, Var};
use expr::{BinOp, Expr};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;

/// A broken rule file: the file, the line and the reason.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{file}:{line}: {reason}")]
pub struct RuleError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// Whether a rule preserves the model's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleClass {
    /// An equality over the reals.
    Exact,
    /// A model change (polynomial activations ...): only with `--allow-approx`.
    Approx,
}

impl fmt::Display for RuleClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuleClass::Exact => "exact",
            RuleClass::Approx => "approx",
        })
    }
}

/// A pattern of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Pat {
    Var(String),
    Scalar(f64),
    /// A scalar computed from the match (right-hand sides).
    Computed(Expr),
    /// A graph source by name (terms only).
    Source(String),
    Apply {
        op: &'static str,
        attrs: AttrSpec,
        args: Vec<Pat>,
        line: usize,
    },
}

/// The attributes of an application in a pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrSpec {
    /// No brackets: any attributes (left); the op's defaults (right).
    Any,
    /// `[?p]`: bind (left) or copy (right).
    Bind(String),
    /// `[?p, k=e, ...]` or `[k=e, ...]`: require (left) or set (right) these fields.
    Build {
        base: Option<String>,
        fields: Vec<(String, Expr)>,
    },
}

/// What the rule set knows about one rule.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleInfo {
    pub name: String,
    pub class: RuleClass,
    /// Whether the rule has several roots (a multi-pattern).
    pub multi: bool,
    pub why: String,
    pub file: String,
    pub line: usize,
}

/// The built-in rule files: (path, contents).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "rules/exact.rules",
        include_str!("../../../rules/exact.rules"),
    ),
    (
        "rules/approx.rules",
        include_str!("../../../rules/approx.rules"),
    ),
];

/// A loaded set of rules.
pub struct RuleSet {
    pub rules: Vec<RuleInfo>,
    /// Parallel to `rules`: the compiled rewrite, its applier and the rule as written.
    compiled: Vec<Compiled>,
}

/// A rule compiled for egg, with what the soundness checker reads besides.
struct Compiled {
    rewrite: Rewrite<TensorNode, TensorAnalysis>,
    applier: RuleApplier,
    def: RuleDef,
}

/// The right-hand sides of one match, planned by the rule's applier: the e-class each joins
/// and what would be added to it.
pub(crate) type PlannedMatch = Vec<(Id, Planned)>;

impl RuleSet {
    /// No rules.
    pub fn empty() -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            compiled: Vec::new(),
        }
    }

    /// The built-in rules.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::empty();
        for (file, text) in BUILTIN {
            set.add_text(text, file)?;
        }
        Ok(set)
    }

    /// Adds the rules of a file.
    pub fn add_file(&mut self, path: &Path) -> Result<(), RuleError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RuleError {
            file: file.clone(),
            line: 0,
            reason: e.to_string(),
        })?;
        self.add_text(&text, &file)
    }

    /// Adds the rules of a text; `file` names it in errors.
    pub fn add_text(&mut self, text: &str, file: &str) -> Result<(), RuleError> {
        let defs = parse::parse_rules(text, file)?;
        let mut staged = Vec::new();
        for def in defs {
            let err = |reason: String| RuleError {
                file: file.to_string(),
                line: def.line,
                reason: format!("rule '{}': {reason}", def.name),
            };
            let mut variants = vec![def.clone()];
            if def.both {
                variants.push(reverse(&def).map_err(err)?);
            }
            for d in variants {
                if self.rules.iter().any(|r| r.name == d.name)
                    || staged.iter().any(|(r, _): &(RuleInfo, _)| r.name == d.name)
                {
                    return Err(err(format!("a rule named '{}' is already loaded", d.name)));
                }
                check::check_rule(&d).map_err(|(line, reason)| RuleError {
                    file: file.to_string(),
                    line,
                    reason,
                })?;
                let (rewrite, applier) = compile(&d, None).map_err(|reason| RuleError {
                    file: file.to_string(),
                    line: d.line,
                    reason: format!("rule '{}': {reason}", d.name),
                })?;
                staged.push((
                    RuleInfo {
                        name: d.name.clone(),
                        class: d.class,
                        multi: d.lhs.len() > 1,
                        why: d.why.clone(),
                        file: file.to_string(),
                        line: d.line,
                    },
                    Compiled {
                        rewrite,
                        applier,
                        def: d,
                    },
                ));
            }
        }
        for (info, compiled) in staged {
            self.rules.push(info);
            self.compiled.push(compiled);
        }
        Ok(())
    }

    /// The rewrites to run: exact ones, and approximate ones when allowed.
    pub fn rewrites(&self, allow_approx: bool) -> Vec<&Rewrite<TensorNode, TensorAnalysis>> {
        self.rules
            .iter()
            .zip(&self.compiled)
            .filter(|(info, _)| allow_approx || info.class == RuleClass::Exact)
            .map(|(_, c)| &c.rewrite)
            .collect()
    }

    /// The rules named in `names`, in their loaded order.
    pub fn subset(&self, names: &[&str]) -> RuleSet {
        self.recompiled(|r| names.contains(&r.name.as_str()), None)
    }

    /// The same rules, applying only where `places` allows (see [`Places`]).
    pub fn restricted(&self, places: &Places) -> RuleSet {
        self.recompiled(|_| true, Some(Arc::new(places.clone())))
    }

    /// The rules `keep` selects, compiled again with `places` in their appliers.
    fn recompiled(&self, keep: impl Fn(&RuleInfo) -> bool, places: Option<Arc<Places>>) -> RuleSet {
        let mut out = RuleSet::empty();
        for (info, c) in self.rules.iter().zip(&self.compiled) {
            if !keep(info) {
                continue;
            }
            let (rewrite, applier) =
                compile(&c.def, places.clone()).expect("a loaded rule compiles again");
            out.rules.push(info.clone());
            out.compiled.push(Compiled {
                rewrite,
                applier,
                def: c.def.clone(),
            });
        }
        out
    }

    pub fn info(&self, name: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Rule `index` as written (after `for`, `let` and `both` expansion).
    pub fn def(&self, index: usize) -> &RuleDef {
        &self.compiled[index].def
    }

    /// Every match of rule `index` in `egraph` (searched by its compiled pattern), with its
    /// right-hand sides planned by its applier exactly as saturation would before adding them:
    /// `Ok(None)` when a condition or a shape check fails, `Err` when the rule builds a value
    /// different from the matched e-class's (a bug of the rule). Nothing is added.
    pub(crate) fn plan_matches(
        &self,
        index: usize,
        egraph: &EGraph,
    ) -> Vec<(Id, Result<Option<PlannedMatch>, String>)> {
        let c = &self.compiled[index];
        c.rewrite
            .search(egraph)
            .into_iter()
            .flat_map(|m| {
                let eclass = m.eclass;
                m.substs
                    .into_iter()
                    .map(move |subst| (eclass, c.applier.plan_match(egraph, eclass, &subst)))
            })
            .collect()
    }
}

/// The rule right to left.
fn reverse(def: &RuleDef) -> Result<RuleDef, String> {
    if def.lhs.len() > 1 {
        return Err("'both' is not supported for multi-pattern rules".into());
    }
    fn computed(p: &Pat) -> bool {
        match p {
            Pat::Computed(_) => true,
            Pat::Apply { args, .. } => args.iter().any(computed),
            _ => false,
        }
    }
    let (_, rhs) = &def.rhs[0];
    if computed(rhs) || matches!(rhs, Pat::Var(_)) {
        return Err(
            "'both' needs a right-hand side that can be matched (no {computed} scalars, not a bare variable)"
                .into(),
        );
    }
    Ok(RuleDef {
        name: format!("{}~rev", def.name),
        lhs: def.rhs.clone(),
        rhs: def.lhs.clone(),
        ..def.clone()
    })
}

/// Variables bound by a left-hand side: name -> (is an attribute variable, op that binds it).
type Bound = HashMap<String, (bool, Option<&'static str>)>;

fn bind(p: &Pat, bound: &mut Bound) -> Result<(), String> {
    let mut set = |v: &str, attr: bool, op: Option<&'static str>| -> Result<(), String> {
        match bound.get(v) {
            Some((a, _)) if *a != attr => {
                Err(format!("?{v} is used both as a tensor and as attributes"))
            }
            Some((_, Some(o))) if attr && op != Some(*o) => Err(format!(
                "?{v} binds attributes of both {o} and {}",
                op.unwrap_or("?")
            )),
            _ => {
                bound.insert(v.to_string(), (attr, op));
                Ok(())
            }
        }
    };
    match p {
        Pat::Var(v) => set(v, false, None),
        Pat::Scalar(_) => Ok(()),
        Pat::Computed(_) => Err("{computed} scalars can only appear on the right-hand side".into()),
        Pat::Source(s) => Err(format!("'{s}' is not a pattern")),
        Pat::Apply {
            op, attrs, args, ..
        } => {
            if has_attributes(op) {
                match attrs {
                    AttrSpec::Bind(b) | AttrSpec::Build { base: Some(b), .. } => {
                        set(b, true, Some(op))?
                    }
                    _ => {}
                }
            }
            args.iter().try_for_each(|a| bind(a, bound))
        }
    }
}

fn check_arity(op: &'static str, n: usize) -> Result<(), String> {
    let ir = serde_json::from_value::<Op>(serde_json::json!({ "op": op }))
        .ok()
        .or_else(|| super::language::plain_op(op));
    // Ops with required attributes cannot be built without values; their arity is fixed by
    // the variant, so probe it through a representative.
    let (lo, hi) = match ir {
        Some(o) => o.arity(),
        None => match op {
            "reshape"
            | "transpose"
            | "expand"
            | "slice"
            | "max_pool2d"
            | "avg_pool2d"
            | "adaptive_avg_pool2d"
            | "pow" => (1, 1),
            "concat" => (1, usize::MAX),
            _ => (0, usize::MAX),
        },
    };
    if n < lo || n > hi {
        return Err(format!(
            "'{op}' takes {lo} to {hi} operands, the pattern gives {n}"
        ));
    }
    Ok(())
}

/// Checks the uses of variables on a right-hand side and in expressions.
fn check_uses(p: &Pat, bound: &Bound, lhs: bool) -> Result<(), String> {
    let tensor = |v: &str| match bound.get(v) {
        Some((false, _)) => Ok(()),
        Some((true, _)) => Err(format!("?{v} holds attributes, not a tensor")),
        None => Err(format!("?{v} is not bound on the left-hand side")),
    };
    let attr = |v: &str| match bound.get(v) {
        Some((true, _)) => Ok(()),
        Some((false, _)) => Err(format!("?{v} is a tensor, not attributes")),
        None => Err(format!("?{v} is not bound on the left-hand side")),
    };
    match p {
        Pat::Var(v) => tensor(v),
        Pat::Scalar(_) | Pat::Source(_) => Ok(()),
        Pat::Computed(e) => check_expr(e, bound),
        Pat::Apply {
            op, attrs, args, ..
        } => {
            check_arity(op, args.len())?;
            match attrs {
                AttrSpec::Any => {}
                // A plain op has no attributes to bind or copy (`for` lists may mix both).
                AttrSpec::Bind(_) if !has_attributes(op) => {}
                AttrSpec::Bind(b) => {
                    attr(b)?;
                    if let Some((_, Some(o))) = bound.get(b) {
                        if o != op {
                            return Err(format!(
                                "?{b} holds attributes of {o}, not {op}: set {op}'s fields with [key=?{b}.field, ...]"
                            ));
                        }
                    }
                }
                AttrSpec::Build { base, fields } => {
                    if !has_attributes(op) && !fields.is_empty() {
                        return Err(format!("'{op}' has no attributes"));
                    }
                    if let Some(b) = base {
                        attr(b)?;
                    }
                    if !lhs {
                        fields.iter().try_for_each(|(_, e)| check_expr(e, bound))?;
                    }
                }
            }
            args.iter().try_for_each(|a| check_uses(a, bound, lhs))
        }
    }
}

fn check_expr(e: &Expr, bound: &Bound) -> Result<(), String> {
    let mut vars = Vec::new();
    e.vars(&mut vars);
    for (v, tensor) in vars {
        match bound.get(&v) {
            None => return Err(format!("?{v} is not bound on the left-hand side")),
            Some((attr, _)) if *attr == tensor => {
                return Err(if tensor {
                    format!("?{v} holds attributes: read a field with ?{v}.name")
                } else {
                    format!("?{v} is a tensor: read it with shape(?{v}), rank(?{v}) ...")
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// Compiles a left-hand-side pattern into an egg pattern; field requirements become
/// conditions on fresh attribute variables.
fn compile_lhs(
    p: &Pat,
    ast: &mut PatternAst<TensorNode>,
    vars: &mut HashMap<String, Var>,
    conditions: &mut Vec<Expr>,
) -> Id {
    let var = |name: &str, vars: &mut HashMap<String, Var>| -> Var {
        *vars
            .entry(name.to_string())
            .or_insert_with(|| format!("?{name}").parse().expect("valid variable"))
    };
    match p {
        Pat::Var(v) => ast.add(ENodeOrVar::Var(var(v, vars))),
        Pat::Scalar(x) => ast.add(ENodeOrVar::ENode(TensorNode::leaf(TensorOp::Scalar(
            Real::new(*x),
        )))),
        Pat::Computed(_) | Pat::Source(_) => unreachable!("rejected by bind()"),
        Pat::Apply {
            op, attrs, args, ..
        } => {
            let mut children = Vec::with_capacity(args.len() + 1);
            if has_attributes(op) {
                let name = match attrs {
                    AttrSpec::Bind(b) | AttrSpec::Build { base: Some(b), .. } => b.clone(),
                    _ => format!("__attr{}", vars.len()),
                };
                if let AttrSpec::Build { fields, .. } = attrs {
                    for (k, e) in fields {
                        conditions.push(Expr::Binary(
                            BinOp::Eq,
                            Box::new(Expr::Field(name.clone(), k.clone())),
                            Box::new(e.clone()),
                        ));
                    }
                }
                children.push(ast.add(ENodeOrVar::Var(var(&name, vars))));
            }
            for a in args {
                children.push(compile_lhs(a, ast, vars, conditions));
            }
            ast.add(ENodeOrVar::ENode(TensorNode::apply(op, children)))
        }
    }
}

/// Checks a rule and compiles it into an egg rewrite (and a copy of its applier).
fn compile(
    def: &RuleDef,
    places: Option<Arc<Places>>,
) -> Result<(Rewrite<TensorNode, TensorAnalysis>, RuleApplier), String> {
    let multi = def.lhs.len() > 1;
    let mut bound = Bound::new();
    for (root, p) in &def.lhs {
        if !matches!(p, Pat::Apply { .. }) {
            return Err(
                "a left-hand side must be an application, not a variable or a scalar".into(),
            );
        }
        bind(p, &mut bound)?;
        if let Some(r) = root {
            if bound.insert(r.clone(), (false, None)).is_some() {
                return Err(format!("root ?{r} is also bound inside a pattern"));
            }
        }
        check_uses(p, &bound, true)?;
    }
    for c in &def.conditions {
        check_expr(c, &bound)?;
    }
    if multi != (def.rhs.len() > 1 || def.rhs[0].0.is_some()) {
        return Err(
            "a multi-pattern rule names its roots on both sides (?a = ...; ?b = ...), a single one on neither"
                .into(),
        );
    }
    for (root, p) in &def.rhs {
        if let Some(r) = root {
            if !def
                .lhs
                .iter()
                .any(|(l, _)| l.as_deref() == Some(r.as_str()))
            {
                return Err(format!("right-hand root ?{r} is not a left-hand root"));
            }
        }
        check_uses(p, &bound, false)?;
    }
    let mut vars = HashMap::new();
    let mut conditions = Vec::new();
    let applier_and_searcher = if multi {
        let mut asts = Vec::new();
        for (root, p) in &def.lhs {
            let mut ast = RecExpr::default();
            compile_lhs(p, &mut ast, &mut vars, &mut conditions);
            let name = root.as_ref().expect("multi roots are named");
            let v: Var = format!("?{name}").parse().expect("valid variable");
            vars.insert(name.clone(), v);
            asts.push((v, Pattern::new(ast)));
        }
        Err(join::JoinPattern::new(asts)?)
    } else {
        let mut ast = RecExpr::default();
        compile_lhs(&def.lhs[0].1, &mut ast, &mut vars, &mut conditions);
        Ok(Pattern::new(ast))
    };
    conditions.extend(def.conditions.iter().cloned());
    let applier = RuleApplier {
        name: def.name.as_str().into(),
        class: def.class,
        rhs: def.rhs.clone(),
        lhs: def.lhs.clone(),
        conditions,
        vars,
        places,
    };
    let rewrite = match applier_and_searcher {
        Ok(pattern) => Rewrite::new(def.name.clone(), pattern, applier.clone()),
        Err(multi) => Rewrite::new(def.name.clone(), multi, applier.clone()),
    }?;
    Ok((rewrite, applier))
}

/// Adds a closed term (a pattern whose bare names are graph sources, e.g.
/// `(relu (max_pool2d[kernel=[2,2], stride=[2,2]] x))`) to an e-graph; for tests and
/// examples. Fails when the term does not parse or its shapes do not fit.
pub fn add_term(egraph: &mut EGraph, text: &str) -> Result<Id, RuleError> {
    let pat = parse::parse_term(text)?;
    let err = |reason: String| RuleError {
        file: "term".to_string(),
        line: 1,
        reason,
    };
    let planned = apply::plan(&pat, egraph, &Subst::default(), &HashMap::new()).map_err(|e| {
        err(match e {
            apply::Unbuilt::Shapes => "the operands of an op do not fit".to_string(),
            apply::Unbuilt::Bug(reason) => reason,
        })
    })?;
    let id = apply::add_planned(egraph, &planned, None, None);
    egraph.rebuild();
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::empty();
        set.add_text(text, "test.rules")?;
        Ok(set)
    }

    #[test]
    fn builtin_rules_load() {
        let set = RuleSet::builtin().unwrap();
        assert!(set.rules.len() > 30, "{}", set.rules.len());
        assert!(set.rules.iter().any(|r| r.class == RuleClass::Approx));
        assert!(set.rules.iter().any(|r| r.multi));
        assert!(set.rules.iter().all(|r| !r.why.is_empty()));
    }

    #[test]
    fn broken_files_name_file_line_and_reason() {
        let cases: &[(&str, &str)] = &[
            (
                "rule r exact\n  lhs (relu ?x)\n  rhs (relux ?x)\n  why w",
                "test.rules:3: unknown op 'relux'",
            ),
            (
                "rule r exact\n  lhs (relu ?x)\n  rhs (relu ?y)\n  why w",
                "test.rules:1: rule 'r': ?y is not bound on the left-hand side",
            ),
            (
                "rule r exact\n  lhs (relu ?x)\n  rhs (relu ?x)",
                "test.rules:1: rule 'r' has no 'why' line (one line of rationale)",
            ),
            (
                "rule r maybe\n  lhs (relu ?x)\n  rhs (relu ?x)\n  why w",
                "test.rules:1: rule class must be 'exact' or 'approx', not 'maybe'",
            ),
            (
                "rule r exact\n  lhs (relu ?x\n  rhs (relu ?x)\n  why w",
                "test.rules:2: unclosed '(' of 'relu'",
            ),
            (
                "rule r exact\n  lhs (relu ?x)\n  rhs (relu ?x)\n  if rank(?x) = 2\n  why w",
                "test.rules:4: '=' compares nothing: write '=='",
            ),
            (
                "rule r exact\n  lhs (relu ?x)\n  rhs (relu ?x)\n  if sizes(?x) == 2\n  why w",
                "test.rules:4: unknown function 'sizes'",
            ),
            (
                "rule r exact\n  lhs (max_pool2d[?p] ?x)\n  rhs (relu ?p)\n  why w",
                "test.rules:1: rule 'r': ?p holds attributes, not a tensor",
            ),
            (
                "rule r exact\n  lhs (add ?x ?y ?z)\n  rhs ?x\n  why w",
                "test.rules:1: rule 'r': 'add' takes 2 to 2 operands, the pattern gives 3",
            ),
            (
                "  lhs (relu ?x)",
                "test.rules:1: an indented line outside a rule",
            ),
            (
                "rule r exact\n  lhs ?a = (relu ?x); ?b = (relu ?y)\n  rhs ?a = (relu ?x); ?b = (relu ?y)\n  why w",
                "test.rules:1: rule 'r': the pattern of root ?b shares no variable with the patterns before it; a multi-pattern rule must join its patterns on a shared variable",
            ),
            (
                "rule r exact\n  lhs (relu ?x)\n  rhs ?x\n  why w\nrule r exact\n  lhs (relu ?x)\n  rhs ?x\n  why w",
                "test.rules:5: rule 'r': a rule named 'r' is already loaded",
            ),
        ];
        for (text, expected) in cases {
            let e = load(text).err().unwrap_or_else(|| panic!("loaded: {text}"));
            assert!(
                e.to_string().starts_with(expected),
                "got '{e}', expected '{expected}'"
            );
        }
    }

    #[test]
    fn for_and_both_expand() {
        let set = load(
            "rule u exact both\n  for %f in relu tanh\n  lhs (%f (reshape[?r] ?x))\n  rhs (reshape[?r] (%f ?x))\n  why w",
        )
        .unwrap();
        let names: Vec<&str> = set.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["u/relu", "u/relu~rev", "u/tanh", "u/tanh~rev"]);
    }
}
