//! Exact DAG-cost extraction as a 0-1 integer program (Tensat's and egg's `LpExtractor`
//! formulation), solved by good_lp with the pure-Rust microlp solver under a time limit.
//!
//! One binary variable per e-node of the e-classes reachable from the root; minimise
//! sum(cost x); the root needs a chosen e-node, every e-class at most one; a chosen e-node needs
//! a chosen e-node in each child e-class (written per e-class and child e-class, which is
//! tighter than per e-node). Cycles are cut lazily: when the solution's e-nodes admit no acyclic choice,
//! a constraint forbids one cycle it contains and the program is solved again. The greedy
//! choice warm-starts the solver, and the result is the better of the two.

use super::{dag_cost, resolve, Extracted};
use crate::optimize::analysis::EGraph;
use crate::optimize::cost::NodeCosts;
use egg::{Id, Language};
use good_lp::{
    microlp, variable, Expression, ProblemVariables, Solution, SolverModel, Variable,
    WithInitialSolution, WithMipGap, WithTimeLimit,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

/// Steps the acyclic resolution of an ILP solution may take.
const RESOLVE_STEPS: u64 = 50_000_000;

/// What the ILP did, for the summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IlpReport {
    pub variables: usize,
    pub constraints: usize,
    pub solves: usize,
    pub cycle_cuts: usize,
    /// Whether the last solve proved optimality.
    pub optimal: bool,
    /// Whether the ILP improved on the greedy choice.
    pub improved: bool,
    pub note: Option<String>,
}

/// Improves `warm` (a greedy extraction) by ILP within `seconds`.
pub fn extract(
    egraph: &EGraph,
    costs: &NodeCosts,
    root: Id,
    warm: &Extracted,
    seconds: f64,
) -> (Extracted, IlpReport) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds.max(0.0));
    let mut report = IlpReport::default();
    let root = egraph.find(root);

    // E-classes reachable through e-nodes of finite cost.
    let mut reach: Vec<Id> = Vec::new();
    let mut seen: HashSet<Id> = HashSet::new();
    let mut stack = vec![root];
    while let Some(c) = stack.pop() {
        if !seen.insert(c) {
            continue;
        }
        reach.push(c);
        for (i, n) in egraph[c].nodes.iter().enumerate() {
            if costs.of(c)[i].is_finite() {
                for &ch in n.children() {
                    stack.push(egraph.find(ch));
                }
            }
        }
    }
    // Scale costs so the warm start is worth 1000: keeps the solver's tolerances meaningful
    // whether the objective is in seconds or in bits.
    let scale = if warm.cost > 0.0 {
        1000.0 / warm.cost
    } else {
        1.0
    };

    let mut cuts: Vec<Vec<(Id, usize)>> = Vec::new();
    let mut best = warm.clone();
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() || report.solves >= 32 {
            report
                .note
                .get_or_insert_with(|| "time limit reached".to_string());
            break;
        }
        let mut vars = ProblemVariables::new();
        // Ordered, so the solver sees the same problem on every run.
        let mut x: BTreeMap<(Id, usize), Variable> = BTreeMap::new();
        for &c in &reach {
            for (i, n) in egraph[c].nodes.iter().enumerate() {
                // An e-node reading its own e-class can never be chosen; left in, it would
                // "support" its e-class for free and ruin the relaxation.
                let self_loop = n.children().iter().any(|&ch| egraph.find(ch) == c);
                if costs.of(c)[i].is_finite() && !self_loop {
                    x.insert((c, i), vars.add(variable().binary()));
                }
            }
        }
        let mut objective = Expression::with_capacity(x.len());
        for (&(c, i), &v) in &x {
            objective.add_mul(costs.of(c)[i] * scale, v);
        }
        let class_sum = |c: Id| -> Expression {
            let mut e = Expression::with_capacity(egraph[c].nodes.len());
            for i in 0..egraph[c].nodes.len() {
                if let Some(&v) = x.get(&(c, i)) {
                    e.add_mul(1.0, v);
                }
            }
            e
        };
        let mut constraints = vec![class_sum(root).geq(1.0)];
        // At most one e-node per e-class: never needed by a minimum, but tightens the
        // relaxation.
        for &c in &reach {
            constraints.push(class_sum(c).leq(1.0));
        }
        // A chosen e-node needs a chosen e-node in each child e-class. Aggregated over the
        // e-nodes of one e-class that share a child (at most one of them is chosen): the
        // per-e-node form lets k alternatives over one child split it into k fractions and
        // leaves the relaxation worthless on deep graphs.
        for &c in &reach {
            let mut users: BTreeMap<Id, Vec<Variable>> = BTreeMap::new();
            for i in 0..egraph[c].nodes.len() {
                if let Some(&v) = x.get(&(c, i)) {
                    let children: BTreeSet<Id> = egraph[c].nodes[i]
                        .children()
                        .iter()
                        .map(|&ch| egraph.find(ch))
                        .collect();
                    for ch in children {
                        users.entry(ch).or_default().push(v);
                    }
                }
            }
            for (ch, vs) in users {
                let mut e = class_sum(ch);
                for v in vs {
                    e.add_mul(-1.0, v);
                }
                constraints.push(e.geq(0.0));
            }
        }
        for cut in &cuts {
            let mut e = Expression::with_capacity(cut.len());
            for key in cut {
                if let Some(&v) = x.get(key) {
                    e.add_mul(1.0, v);
                }
            }
            constraints.push(e.leq((cut.len() - 1) as f64));
        }
        report.variables = x.len();
        report.constraints = constraints.len();
        let initial: Vec<(Variable, f64)> = x
            .iter()
            .map(|(&(c, i), &v)| {
                let chosen = best.choice.get(&c) == Some(&i);
                (v, if chosen { 1.0 } else { 0.0 })
            })
            .collect();
        let mut model = vars
            .minimise(objective)
            .using(microlp)
            .with_time_limit(remaining.as_secs_f64())
            .with_initial_solution(initial)
            .with_mip_gap(1e-6)
            .expect("a small positive gap");
        for c in constraints {
            model.add_constraint(c);
        }
        report.solves += 1;
        let solution = match model.solve() {
            Ok(s) => s,
            Err(e) => {
                report.note = Some(format!("solver: {e}"));
                break;
            }
        };
        report.optimal = matches!(solution.status(), good_lp::SolutionStatus::Optimal);
        let selected: HashSet<(Id, usize)> = x
            .iter()
            .filter(|(_, &v)| solution.value(v) > 0.5)
            .map(|(&k, _)| k)
            .collect();
        let candidates = |c: Id| -> Vec<usize> {
            let mut v: Vec<usize> = (0..egraph[c].nodes.len())
                .filter(|&i| selected.contains(&(c, i)))
                .collect();
            v.sort_by(|&a, &b| costs.of(c)[a].total_cmp(&costs.of(c)[b]));
            v
        };
        match resolve(egraph, costs, root, &candidates, &mut 0, RESOLVE_STEPS) {
            Some(choice) => {
                let cost = dag_cost(egraph, costs, root, &choice);
                if cost < best.cost - 1e-12 * best.cost.abs() {
                    report.improved = true;
                    best = Extracted { choice, cost };
                }
                break;
            }
            None => match find_cycle(egraph, root, &selected) {
                Some(cycle) => {
                    report.cycle_cuts += 1;
                    cuts.push(cycle);
                }
                None => {
                    report.note = Some("no acyclic choice in the solution".to_string());
                    break;
                }
            },
        }
    }
    (best, report)
}

/// A cycle among the selected e-nodes reachable from the root: one (e-class, e-node) per step.
fn find_cycle(
    egraph: &EGraph,
    root: Id,
    selected: &HashSet<(Id, usize)>,
) -> Option<Vec<(Id, usize)>> {
    // Iterative DFS over e-classes; edges through selected e-nodes.
    let mut state: HashMap<Id, u8> = HashMap::new(); // 1 on path, 2 done
    let mut path: Vec<(Id, usize, usize, usize)> = Vec::new(); // class, node, child pos, node pos
    let nodes_of = |c: Id| -> Vec<usize> {
        (0..egraph[c].nodes.len())
            .filter(|&i| selected.contains(&(c, i)))
            .collect()
    };
    let root = egraph.find(root);
    state.insert(root, 1);
    path.push((root, 0, 0, 0));
    while let Some(&(c, _, child, npos)) = path.last() {
        let top = path.len() - 1;
        let nodes = nodes_of(c);
        if npos >= nodes.len() {
            state.insert(c, 2);
            path.pop();
            continue;
        }
        let i = nodes[npos];
        let children = egraph[c].nodes[i].children();
        if child >= children.len() {
            path[top].3 += 1;
            path[top].2 = 0;
            continue;
        }
        let ch = egraph.find(children[child]);
        path[top].2 += 1;
        path[top].1 = i;
        match state.get(&ch) {
            Some(1) => {
                let start = path.iter().position(|p| p.0 == ch)?;
                return Some(path[start..].iter().map(|p| (p.0, p.1)).collect());
            }
            Some(_) => {}
            None => {
                state.insert(ch, 1);
                path.push((ch, 0, 0, 0));
            }
        }
    }
    None
}
