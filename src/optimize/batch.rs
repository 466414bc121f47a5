//! Batching of independent non-linear layers: layers of the same kind, attributes and value
//! at the same depth of the graph run as one call on their operands concatenated along the
//! first axis, and the result is split back (`concat`, op, `slice`s).
//!
//! Frameworks charge the rounds of a non-linear protocol (comparison circuit, exponential,
//! reciprocal) per call, so k sibling calls cost k times the rounds where one call on k times
//! the elements costs them once; the bits stay the same, and concatenating and slicing shares
//! is local. A group is batched only when the framework's cost of the batched call plus the
//! concatenation and the slices is below that of the separate calls under the objective.
//!
//! Two layers at the same depth (the longest path from a source) never depend on each other,
//! so the batched graph stays acyclic. Candidates are found by one hash index on (depth, op,
//! value, phase): linear in the graph, no pairwise search. The ops batched act on each slice of
//! the first axis independently: element-wise activations, softmax and log-softmax over another
//! axis, and max pooling (the first axis is the batch or the channels).
//!
//! The pass runs on the extracted graph, after the weight arithmetic is folded; the batched
//! op keeps the first member's name with `.batched`, and the slices keep the members' names,
//! so everything downstream, outputs included, reads as before.

use super::convert::Rewritten;
use super::cost::{op_cost, Objective};
use crate::cost::CostModel;
use crate::graph::{normalize_axis, Graph, GraphError, NodeId, Op, ValueInfo};
use std::borrow::Cow;
use std::collections::HashMap;

/// The name of the rewrite in the result's list of rewrites.
pub const RULE: &str = "batch-nonlinear";

/// Relative margin a batched group must save (sums in different orders).
const MARGIN: f64 = 1e-9;

/// Whether `op` on a value of rank `rank` acts on each slice of the first axis independently.
fn batchable(op: &Op, rank: usize) -> bool {
    if rank == 0 {
        return false;
    }
    match op {
        Op::Relu
        | Op::LeakyRelu { .. }
        | Op::Clip { .. }
        | Op::Sigmoid
        | Op::Tanh
        | Op::Gelu { .. }
        | Op::Exp
        | Op::Log
        | Op::Reciprocal
        | Op::Sqrt
        | Op::Rsqrt
        | Op::Square
        | Op::Pow { .. }
        | Op::Abs => true,
        Op::Softmax { axis } | Op::LogSoftmax { axis } => {
            normalize_axis(*axis, rank).is_ok_and(|a| a != 0)
        }
        Op::MaxPool2d { .. } => rank >= 3,
        _ => false,
    }
}

/// The level of each node in a schedule where every node comes after its operands: as soon as
/// possible (the longest path from a source) or as late as possible (the longest path to an
/// output, counted back from the deepest). Two nodes on one level never depend on each other.
fn levels(graph: &Graph, late: bool) -> Vec<usize> {
    let mut level = vec![0usize; graph.len()];
    if !late {
        for id in graph.node_ids() {
            level[id.index()] = graph
                .inputs(id)
                .iter()
                .map(|i| level[i.index()] + 1)
                .max()
                .unwrap_or(0);
        }
        return level;
    }
    for id in graph.node_ids().rev() {
        level[id.index()] = graph
            .users(id)
            .iter()
            .map(|u| level[u.index()] + 1)
            .max()
            .unwrap_or(0);
    }
    let deepest = level.iter().copied().max().unwrap_or(0);
    level.iter().map(|h| deepest - h).collect()
}

/// The module path shared by all members (dot-separated prefix).
fn common_module(graph: &Graph, members: &[NodeId]) -> String {
    let first: Vec<&str> = graph.node(members[0]).module.split('.').collect();
    let mut len = first.len();
    for &m in &members[1..] {
        let parts: Vec<&str> = graph.node(m).module.split('.').collect();
        len = len.min(first.iter().zip(&parts).take_while(|(a, b)| a == b).count());
    }
    first[..len].join(".")
}

/// A name used neither in the graph being built nor in the input graph.
fn fresh(g: &Graph, input: &Graph, base: &str) -> String {
    (0..)
        .map(|i| {
            if i == 0 {
                base.to_string()
            } else {
                format!("{base}_{i}")
            }
        })
        .find(|n| g.find(n).is_none() && input.find(n).is_none())
        .expect("unbounded")
}

/// The value of `k` values `v` concatenated along the first axis.
fn stacked(v: &ValueInfo, k: usize) -> Option<ValueInfo> {
    let mut s = v.clone();
    s.shape[0] = s.shape[0].checked_mul(k)?;
    Some(s)
}

/// Whether one call on the group's operands concatenated costs less than the separate calls.
fn saves(
    model: &CostModel,
    objective: Objective,
    op: &Op,
    input: &ValueInfo,
    output: &ValueInfo,
    k: usize,
) -> bool {
    let (Some(big_in), Some(big_out)) = (stacked(input, k), stacked(output, k)) else {
        return false;
    };
    let ins: Vec<&ValueInfo> = vec![input; k];
    let cost = |op: &Op, i: &[&ValueInfo], o: &ValueInfo| op_cost(model, op, i, o, objective);
    let split = Op::Slice {
        axis: 0,
        start: 0,
        end: output.shape[0] as i64,
        step: 1,
    };
    let (Ok(one), Ok(batched), Ok(concat), Ok(slice)) = (
        cost(op, &[input], output),
        cost(op, &[&big_in], &big_out),
        cost(&Op::Concat { axis: 0 }, &ins, &big_in),
        cost(&split, &[&big_out], output),
    ) else {
        return false;
    };
    let separate = one * k as f64;
    batched + concat + slice * (k as f64) < separate * (1.0 - MARGIN)
}

/// Batches the sibling non-linear layers of `graph` where that is cheaper under `model` and
/// `objective`: first those on one as-soon-as-possible level (branches that start together),
/// then, on that result, those on one as-late-as-possible level (branches that meet). Returns
/// the graph (borrowed when nothing was batched) and the batched ops.
pub fn batch_nonlinear<'g>(
    graph: &'g Graph,
    model: &CostModel,
    objective: Objective,
) -> Result<(Cow<'g, Graph>, Vec<Rewritten>), GraphError> {
    let (early, mut rewrites) = batch_on_levels(graph, model, objective, false)?;
    let early = match early {
        Cow::Borrowed(_) => return batch_on_levels(graph, model, objective, true),
        Cow::Owned(g) => g,
    };
    let (late, more) = batch_on_levels(&early, model, objective, true)?;
    rewrites.extend(more);
    let out = match late {
        Cow::Owned(g) => g,
        Cow::Borrowed(_) => early,
    };
    Ok((Cow::Owned(out), rewrites))
}

/// One batching pass over the levels of one schedule (see [`levels`]).
fn batch_on_levels<'g>(
    graph: &'g Graph,
    model: &CostModel,
    objective: Objective,
    late: bool,
) -> Result<(Cow<'g, Graph>, Vec<Rewritten>), GraphError> {
    let depth = levels(graph, late);
    // (depth, op, value, phase) -> members in graph order.
    let mut index: HashMap<String, Vec<NodeId>> = HashMap::new();
    let mut keys: Vec<String> = Vec::new();
    for id in graph.node_ids() {
        let n = graph.node(id);
        let inputs = graph.inputs(id);
        if inputs.len() != 1 || !batchable(&n.op, n.value.shape.len()) {
            continue;
        }
        let input = &graph.node(inputs[0]).value;
        let key = format!(
            "{}|{:?}|{:?}|{:?}|{:?}",
            depth[id.index()],
            n.op,
            input,
            n.value,
            n.phase
        );
        let members = index.entry(key.clone()).or_default();
        if members.is_empty() {
            keys.push(key);
        }
        members.push(id);
    }
    // Groups in the order of their first member (deterministic).
    let mut group_of: HashMap<NodeId, usize> = HashMap::new();
    let mut groups: Vec<Vec<NodeId>> = Vec::new();
    for key in keys {
        let members = &index[&key];
        if members.len() < 2 {
            continue;
        }
        let n = graph.node(members[0]);
        let input = &graph.node(graph.inputs(members[0])[0]).value;
        if saves(model, objective, &n.op, input, &n.value, members.len()) {
            for &m in members {
                group_of.insert(m, groups.len());
            }
            groups.push(members.clone());
        }
    }
    if groups.is_empty() {
        return Ok((Cow::Borrowed(graph), Vec::new()));
    }

    // Rebuilt by depth: every operand of a group exists when its first member comes.
    let mut order: Vec<NodeId> = graph.node_ids().collect();
    order.sort_by_key(|id| (depth[id.index()], id.index()));
    let mut g = Graph::new(graph.name.clone());
    let mut built: HashMap<NodeId, NodeId> = HashMap::with_capacity(graph.len());
    let mut rewrites = Vec::new();
    for id in order {
        if built.contains_key(&id) {
            continue;
        }
        let n = graph.node(id);
        g.set_phase(n.phase);
        if let Some(&gi) = group_of.get(&id) {
            let members = &groups[gi];
            let module = common_module(graph, members);
            let parts: Vec<NodeId> = members
                .iter()
                .map(|m| built[&graph.inputs(*m)[0]])
                .collect();
            let concat_name = fresh(&g, graph, &format!("{}.batch_concat", n.name));
            let concat = g.add(concat_name, module.clone(), Op::Concat { axis: 0 }, &parts)?;
            let op_name = fresh(&g, graph, &format!("{}.batched", n.name));
            let batched = g.add(op_name.clone(), module.clone(), n.op.clone(), &[concat])?;
            rewrites.push(Rewritten {
                node: op_name,
                op: n.op.name(),
                module,
                rule: RULE.to_string(),
            });
            let d0 = n.value.shape[0] as i64;
            for (i, &m) in members.iter().enumerate() {
                let member = graph.node(m);
                let slice = Op::Slice {
                    axis: 0,
                    start: i as i64 * d0,
                    end: (i as i64 + 1) * d0,
                    step: 1,
                };
                let s = g.add(
                    member.name.clone(),
                    member.module.clone(),
                    slice,
                    &[batched],
                )?;
                built.insert(m, s);
            }
            continue;
        }
        let new = if n.op.is_source() {
            let new = g.add_source(
                n.name.clone(),
                n.module.clone(),
                n.op.clone(),
                n.value.clone(),
            )?;
            if let Some(w) = graph.weight(&n.name) {
                g.set_weight(n.name.clone(), w.clone());
            }
            new
        } else {
            let inputs: Vec<NodeId> = graph.inputs(id).iter().map(|i| built[i]).collect();
            g.add(n.name.clone(), n.module.clone(), n.op.clone(), &inputs)?
        };
        built.insert(id, new);
    }
    g.set_outputs(graph.outputs().iter().map(|o| built[o]).collect());
    g.set_output_names(graph.output_names().to_vec());
    g.set_phase(graph.phase());
    Ok((Cow::Owned(g), rewrites))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{ElemKind, Visibility};
    use crate::interpret::{evaluate, Arithmetic, Bindings};

    /// Comparisons cost one round per call and 64 bits per element; concat and slice are
    /// local.
    fn model() -> CostModel {
        CostModel::from_toml(
            r#"
            [framework]
            name = "toy"
            description = "relu and softmax by rounds per call"
            provenance = "test"
            rounds = "messages"
            default_weights = "public"
            local_ops = ["add", "concat", "slice"]
            [params]
            parties = 2
            [primitives.cmp]
            args = ["n"]
            online_bits = "64 * n"
            online_rounds = "1"
            [ops.relu]
            s = [{ call = "cmp", n = "out" }]
            [ops.softmax]
            s = [{ call = "cmp", n = "out" }, { call = "cmp", n = "out" }]
            "#,
            "toy.toml",
            &[],
        )
        .unwrap()
    }

    fn secret(g: &mut Graph, name: &str, shape: &[usize]) -> NodeId {
        let v = ValueInfo::new(shape.to_vec(), ElemKind::Real, Visibility::Secret);
        g.add_source(name, "", Op::Input, v).unwrap()
    }

    /// Two branches `a` and `b`, each `add` then `op`, summed.
    fn branches(op: Op, shape_b: &[usize]) -> Graph {
        let mut g = Graph::new("branches");
        let x = secret(&mut g, "x", &[2, 3]);
        let y = secret(&mut g, "y", shape_b);
        let a = g.add("a.add", "a", Op::Add, &[x, x]).unwrap();
        let b = g.add("b.add", "b", Op::Add, &[y, y]).unwrap();
        let ra = g.add("a.act", "a", op.clone(), &[a]).unwrap();
        let rb = g.add("b.act", "b", op, &[b]).unwrap();
        g.set_outputs(vec![ra, rb]);
        g
    }

    const TIME: Objective = Objective::Time(crate::profile::Network::LAN);

    #[test]
    fn sibling_relus_run_as_one_call_with_the_same_outputs() {
        let g = branches(Op::Relu, &[2, 3]);
        let (batched, rewrites) = batch_nonlinear(&g, &model(), TIME).unwrap();
        assert_eq!(rewrites.len(), 1);
        assert_eq!(rewrites[0].node, "a.act.batched");
        assert_eq!(rewrites[0].rule, RULE);
        // The batched op is on the 4x3 concatenation; the slices keep the members' names.
        let op = batched.find("a.act.batched").unwrap();
        assert_eq!(batched.node(op).value.shape, vec![4, 3]);
        let b = batched.find("b.act").unwrap();
        assert_eq!(
            batched.node(b).op,
            Op::Slice {
                axis: 0,
                start: 2,
                end: 4,
                step: 1
            }
        );
        let before = crate::profile::Profile::new(&g, &model()).unwrap().total;
        let after = crate::profile::Profile::new(&batched, &model())
            .unwrap()
            .total;
        assert_eq!((before.online_rounds, after.online_rounds), (2.0, 1.0));
        assert_eq!(before.online_bits, after.online_bits);
        let bindings = Bindings::random(&g, 3);
        let want = evaluate(&g, &bindings, Arithmetic::Float).unwrap();
        let got = evaluate(&batched, &bindings, Arithmetic::Float).unwrap();
        assert_eq!(want, got);
    }

    #[test]
    fn branches_that_meet_batch_on_their_late_level() {
        // a: two adds then relu; b: relu at once; both read by one add.
        let mut g = Graph::new("meet");
        let x = secret(&mut g, "x", &[2, 3]);
        let a1 = g.add("a1", "a", Op::Add, &[x, x]).unwrap();
        let a2 = g.add("a2", "a", Op::Add, &[a1, a1]).unwrap();
        let ra = g.add("a.act", "a", Op::Relu, &[a2]).unwrap();
        let rb = g.add("b.act", "b", Op::Relu, &[x]).unwrap();
        let sum = g.add("sum", "", Op::Add, &[ra, rb]).unwrap();
        g.set_outputs(vec![sum]);
        let (batched, rewrites) = batch_nonlinear(&g, &model(), TIME).unwrap();
        assert_eq!(rewrites.len(), 1);
        // Named after the first member in graph order.
        assert_eq!(rewrites[0].node, "a.act.batched");
        let after = crate::profile::Profile::new(&batched, &model())
            .unwrap()
            .total;
        assert_eq!(after.online_rounds, 1.0);
        let bindings = Bindings::random(&g, 5);
        let want = evaluate(&g, &bindings, Arithmetic::Float).unwrap();
        let got = evaluate(&batched, &bindings, Arithmetic::Float).unwrap();
        assert_eq!(want, got);
    }

    #[test]
    fn softmax_batches_unless_over_the_first_axis() {
        let rows = branches(Op::Softmax { axis: 1 }, &[2, 3]);
        let (_, rewrites) = batch_nonlinear(&rows, &model(), TIME).unwrap();
        assert_eq!(rewrites.len(), 1);
        let columns = branches(Op::Softmax { axis: 0 }, &[2, 3]);
        let (g, rewrites) = batch_nonlinear(&columns, &model(), TIME).unwrap();
        assert!(rewrites.is_empty());
        assert!(matches!(g, Cow::Borrowed(_)));
    }

    #[test]
    fn different_shapes_depths_or_costless_ops_stay_apart() {
        let (_, rewrites) = batch_nonlinear(&branches(Op::Relu, &[3, 2]), &model(), TIME).unwrap();
        assert!(rewrites.is_empty());
        // b's relu reads a's: one depth apart.
        let mut g = Graph::new("chain");
        let x = secret(&mut g, "x", &[2, 3]);
        let a = g.add("a", "", Op::Relu, &[x]).unwrap();
        let b = g.add("b", "", Op::Relu, &[a]).unwrap();
        g.set_outputs(vec![b]);
        let (_, rewrites) = batch_nonlinear(&g, &model(), TIME).unwrap();
        assert!(rewrites.is_empty());
        // Sigmoid is not in the toy model: its cost is unknown, so nothing is batched.
        let (_, rewrites) =
            batch_nonlinear(&branches(Op::Sigmoid, &[2, 3]), &model(), TIME).unwrap();
        assert!(rewrites.is_empty());
    }
}
