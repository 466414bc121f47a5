//! Lowering: expands an op application into its call chain of sub-ops and primitives and
//! evaluates the closed forms on the way.

use super::formula::{Formula, Vars};
use super::model::{Callee, CostModel, CostModelError, PartyBits, Step};
use super::operands::{describe_application, describe_case};
use super::tree::{Cost, CostKind, CostNode, PerParty};
use super::vars::op_vars;
use crate::graph::{Op, ValueInfo, Visibility};

/// How an op application is costed.
#[derive(Debug, Clone, PartialEq)]
pub enum Lowered {
    /// No operand is secret: every party (or the server alone) computes it locally.
    Plaintext,
    /// The framework computes it locally on shares (listed in `local_ops`).
    Local,
    /// Its call chain.
    Chain(CostNode),
}

/// Costs one application of `op` on values `inputs` producing `output`.
pub fn lower_op(
    model: &CostModel,
    op: &Op,
    inputs: &[&ValueInfo],
    output: &ValueInfo,
) -> Result<Lowered, CostModelError> {
    if op.is_source() || !inputs.iter().any(|v| v.visibility == Visibility::Secret) {
        return Ok(Lowered::Plaintext);
    }
    let name = op.name();
    if model.local_ops.contains(name) {
        return Ok(Lowered::Local);
    }
    let visibilities: Vec<Visibility> = inputs.iter().map(|v| v.visibility).collect();
    let unsupported = || {
        model
            .unsupported_reason(name, &visibilities)
            .map(|(key, reason)| model.error(&format!("unsupported.{key}"), reason.to_string()))
    };
    let Some(lowering) = model.ops.get(name) else {
        if let Some(e) = unsupported() {
            return Err(e);
        }
        if let Some(parts) = super::fallback::compose(op, inputs, output) {
            return lower_composition(model, name, &parts);
        }
        return Err(model.error(
            &format!("ops.{name}"),
            format!(
                "op '{name}' has no cost in this framework (no [ops.{name}] lowering and not in local_ops)"
            ),
        ));
    };
    let (_, steps) = lowering.case_for(&visibilities).ok_or_else(|| {
        if let Some(e) = unsupported() {
            return e;
        }
        let lowered: Vec<String> = lowering
            .cases
            .iter()
            .map(|(p, _)| describe_case(name, p))
            .collect();
        model.error(
            &format!("ops.{name}"),
            format!(
                "{} has no lowering in this framework (it lowers {name} with {} only)",
                describe_application(name, &visibilities),
                lowered.join(", or with ")
            ),
        )
    })?;
    let mut scope = model.base_vars();
    let vars = op_vars(op, inputs, output);
    for n in vars.names() {
        scope.set(n, vars.get(n).expect("listed"));
    }
    let children = expand_steps(model, steps, &scope, 0)?;
    Ok(Lowered::Chain(CostNode::with_children(
        name.to_string(),
        CostKind::Op,
        model.parties(),
        children,
    )))
}

/// A backward op the model does not cost, as its textbook composition of forward ops
/// (`fallback`): one sub-op per costed part, labelled `{op} (default)`.
fn lower_composition(
    model: &CostModel,
    name: &str,
    parts: &[super::fallback::Application],
) -> Result<Lowered, CostModelError> {
    let mut children = Vec::new();
    for (op, inputs, output) in parts {
        let ins: Vec<&ValueInfo> = inputs.iter().collect();
        match lower_op(model, op, &ins, output) {
            Ok(Lowered::Chain(mut node)) => {
                node.kind = CostKind::SubOp;
                node.label = format!("{} (default)", node.label);
                children.push(node);
            }
            Ok(_) => {}
            Err(e) => {
                return Err(model.error(
                    &format!("ops.{name}"),
                    format!(
                        "op '{name}' has no lowering in this framework, and its default cost \
                         as {} fails: {}",
                        op.name(),
                        e.reason
                    ),
                ))
            }
        }
    }
    Ok(Lowered::Chain(CostNode::with_children(
        name.to_string(),
        CostKind::Op,
        model.parties(),
        children,
    )))
}

const MAX_DEPTH: usize = 64;

/// Most iterations of a `repeat` with an `index` (each is expanded on its own).
const MAX_INDEXED_ITERATIONS: f64 = 4096.0;

/// Expands a step list in a scope of variables.
pub fn expand_steps(
    model: &CostModel,
    steps: &[Step],
    scope: &Vars,
    depth: usize,
) -> Result<Vec<CostNode>, CostModelError> {
    if depth > MAX_DEPTH {
        return Err(model.error("lowering", "call chain deeper than 64".to_string()));
    }
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let at = |reason: String| model.error(&step.place, reason);
        let eval = |f: &Formula, vars: &Vars| f.eval(vars).map_err(at);
        if let Some(when) = &step.when {
            if eval(when, scope)? == 0.0 {
                continue;
            }
        }
        let repeat = match &step.repeat {
            Some(r) => eval(r, scope)?,
            None => 1.0,
        };
        if repeat < 0.0 || repeat.fract() != 0.0 {
            return Err(at(format!(
                "repeat must be a whole number >= 0, got {repeat}"
            )));
        }
        let levels = match &step.levels {
            Some(l) => eval(l, scope)?,
            None => 1.0,
        };
        if repeat == 0.0 {
            continue;
        }
        if step.index.is_some() && repeat > MAX_INDEXED_ITERATIONS {
            return Err(at(format!(
                "repeat with an index runs each of its {repeat} iterations apart (at most \
                 {MAX_INDEXED_ITERATIONS}): check the parameters it depends on"
            )));
        }
        let node = match &step.index {
            None => call(model, step, scope, depth)?,
            Some(index) => {
                // Each iteration sees its own index; the iterations run one after the other.
                let mut iterations = Vec::with_capacity(repeat as usize);
                for i in 0..repeat as usize {
                    let mut s = scope.clone();
                    s.set(index, i as f64);
                    iterations.push(call(model, step, &s, depth)?);
                }
                let mut node = iterations[0].clone();
                node.cost = Cost::zero(model.parties());
                for it in &iterations {
                    node.cost.add(&it.cost);
                }
                node.calls = 1.0;
                node.children = merge_children(iterations);
                node
            }
        };
        let times = if step.index.is_some() { 1.0 } else { repeat };
        let mut node = node;
        node.cost = node.cost.scaled(times, levels);
        node.calls *= repeat;
        scale_children(&mut node.children, times, levels);
        out.push(node);
    }
    Ok(out)
}

fn scale_children(children: &mut [CostNode], times: f64, levels: f64) {
    for c in children {
        c.cost = c.cost.scaled(times, levels);
        c.calls *= times;
        scale_children(&mut c.children, times, levels);
    }
}

/// Sums iterations of a loop child by child, recursively (iterations share their call
/// structure label by label; children found in one iteration only are appended).
fn merge_children(iterations: Vec<CostNode>) -> Vec<CostNode> {
    let mut merged: Vec<CostNode> = Vec::new();
    for it in iterations {
        merge_into(&mut merged, it.children);
    }
    merged
}

fn merge_into(merged: &mut Vec<CostNode>, nodes: Vec<CostNode>) {
    for node in nodes {
        match merged
            .iter_mut()
            .find(|m| m.label == node.label && m.kind == node.kind)
        {
            Some(m) => {
                m.cost.add(&node.cost);
                m.calls += node.calls;
                merge_into(&mut m.children, node.children);
            }
            None => merged.push(node),
        }
    }
}

/// Evaluates one call of a step's callee in the caller's scope.
fn call(
    model: &CostModel,
    step: &Step,
    scope: &Vars,
    depth: usize,
) -> Result<CostNode, CostModelError> {
    let at = |reason: String| model.error(&step.place, reason);
    let mut callee_vars = model.base_vars();
    for (name, formula) in &step.args {
        callee_vars.set(name, formula.eval(scope).map_err(at)?);
    }
    let (declared, name) = match step.callee {
        Callee::Primitive(p) => (&model.primitives[p].args, &model.primitives[p].name),
        Callee::Function(f) => (&model.functions[f].args, &model.functions[f].name),
    };
    if let Some(missing) = declared
        .iter()
        .find(|a| !step.args.iter().any(|(n, _)| n == *a))
    {
        return Err(at(format!(
            "call of '{name}' does not pass argument '{missing}'"
        )));
    }
    if let Some((extra, _)) = step
        .args
        .iter()
        .find(|(n, _)| !declared.is_empty() && !declared.contains(n))
    {
        return Err(at(format!(
            "call of '{name}' passes '{extra}', which it does not take (it takes {})",
            declared.join(", ")
        )));
    }
    let label = step.label.clone().unwrap_or_else(|| name.clone());
    match step.callee {
        Callee::Primitive(p) => {
            let prim = &model.primitives[p];
            let entry = format!("primitives.{}", prim.name);
            let value_in = |f: &Formula, vars: &Vars| -> Result<f64, CostModelError> {
                let v = f.eval(vars).map_err(|r| {
                    model.error(&entry, format!("{r} (called from {})", step.place))
                })?;
                if v < 0.0 {
                    return Err(model.error(
                        &entry,
                        format!(
                            "formula \"{}\" is negative ({v}) when called from {}",
                            f.text(),
                            step.place
                        ),
                    ));
                }
                Ok(v)
            };
            let value = |f: &Formula| value_in(f, &callee_vars);
            let parties = model.parties();
            let party_online_bits = match &prim.online_bits {
                PartyBits::Symmetric(total) => {
                    let t = value(total)?;
                    PerParty::splat(t / parties as f64, parties)
                }
                PartyBits::PerParty(per) => {
                    if per.len() != parties {
                        return Err(model.error(
                            &entry,
                            format!("online_bits_per_party lists {} parties, the framework has {parties}", per.len()),
                        ));
                    }
                    per.iter().map(&value).collect::<Result<_, _>>()?
                }
                PartyBits::OfParty(of) => (0..parties)
                    .map(|party| {
                        let mut vars = callee_vars.clone();
                        vars.set("party", party as f64);
                        value_in(of, &vars)
                    })
                    .collect::<Result<_, _>>()?,
            };
            Ok(CostNode {
                label,
                kind: CostKind::Primitive,
                calls: 1.0,
                cost: Cost {
                    online_bits: party_online_bits.iter().sum(),
                    online_rounds: value(&prim.online_rounds)?,
                    offline_bits: value(&prim.offline_bits)?,
                    offline_rounds: value(&prim.offline_rounds)?,
                    party_online_bits,
                },
                children: Vec::new(),
            })
        }
        Callee::Function(f) => {
            let function = &model.functions[f];
            let children = expand_steps(model, &function.steps, &callee_vars, depth + 1)?;
            Ok(CostNode::with_children(
                label,
                CostKind::SubOp,
                model.parties(),
                children,
            ))
        }
    }
}
