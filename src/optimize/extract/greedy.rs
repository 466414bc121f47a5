//! Greedy DAG-cost extraction, with a sharing pass.
//!
//! Every e-class keeps its best e-node so far together with the *set* of costed e-classes of
//! the sub-DAG that e-node implies (e-class -> cost of its chosen e-node). An e-node's cost is
//! the total of the union of its children's sets plus its own cost, so a sub-DAG shared by two
//! children is paid once. E-nodes are re-evaluated from a work-list whenever a child improves,
//! to a fixpoint. Free e-nodes (plaintext or local work, most of a network) are left out of the
//! sets, which keeps them small; an e-node whose children's sets already contain its own
//! e-class would close a cycle and is skipped. The sets are persistent tries
//! ([`super::costset`]): adding an e-class copies one path and the union of two branches that
//! grew from one input walks only where they differ, so a chain or a residual network is
//! extracted in near-linear time and memory.
//!
//! Choosing each e-class on its own misses gains that only appear when several e-classes
//! share one costly e-class: three projections merged into one layer cost more than any one
//! of them alone. The sharing pass measures, for each costly e-class outside the solution that
//! several e-classes could use, the real DAG cost of the solution found when that e-class is
//! treated as already paid (propagated to its ancestors), and takes such e-classes best gain
//! first (lazily re-measured) while the cost falls.
//!
//! All of it runs within a budget of work units (e-node evaluations, trie nodes touched,
//! e-classes visited), so the result does not depend on machine speed; a wall-clock deadline
//! is only a safety net, and the outcome says which, if either, stopped the sharing pass.
//!
//! The preferences then go through [`super::resolve`], which guarantees an acyclic result.

use super::costset::{CostSet, Sets};
use super::sharing::{Nodes, Solution, NONE};
use super::{dag_cost, resolve, Extracted};
use crate::optimize::analysis::EGraph;
use crate::optimize::cost::NodeCosts;
use crate::optimize::language::TensorNode;
use egg::{Id, Language};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

/// What the extractor may spend.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Work units (e-node evaluations, trie nodes touched, e-classes visited).
    pub work: u64,
    /// Wall-clock safety net.
    pub deadline: Option<Instant>,
}

/// Why the extractor stopped before its sharing pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The work budget ran out (deterministic).
    Work,
    /// The wall-clock safety net fired (the result may differ between runs).
    WallClock,
}

/// A greedy extraction and what it spent.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub extracted: Extracted,
    pub work: u64,
    /// Set when the sharing pass was cut short.
    pub stopped: Option<Stopped>,
}

/// A gain, ordered (costs are finite).
#[derive(Clone, Copy, PartialEq)]
struct Gain(f64);
impl Eq for Gain {}
impl PartialOrd for Gain {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Gain {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Best e-node (global index) and its set, per e-class.
type State = Vec<Option<(u32, CostSet)>>;

/// The entries of a [`State`] a trial replaced, in order, to undo it.
type Log = Vec<(u32, Option<(u32, CostSet)>)>;

/// An acyclic choice and its DAG cost.
type Choice = (HashMap<Id, usize>, f64);

/// The e-graph in dense arrays.
struct Dense<'a> {
    egraph: &'a EGraph,
    costs: &'a NodeCosts,
    classes: Vec<Id>,
    dense: FxHashMap<Id, u32>,
    node_class: Vec<u32>,
    node_index: Vec<usize>,
    node_children: Vec<Vec<u32>>,
    node_cost: Vec<f64>,
    node_original: Vec<bool>,
    /// E-nodes having the e-class as a child.
    parents: Vec<Vec<u32>>,
    /// Global index of each e-class's first e-node.
    first_node: Vec<u32>,
    /// E-classes treated as already paid.
    prepaid: Vec<bool>,
    /// E-nodes in the work-list (all false between propagations).
    queued: Vec<bool>,
    sets: Sets,
    /// Work units spent outside the sets.
    work: u64,
    /// Work units the sharing pass's solution spent.
    solution_work: u64,
    budget: Budget,
}

impl<'a> Dense<'a> {
    fn new(
        egraph: &'a EGraph,
        costs: &'a NodeCosts,
        original: &FxHashSet<TensorNode>,
        budget: Budget,
    ) -> Self {
        let mut classes: Vec<Id> = egraph.classes().map(|c| c.id).collect();
        classes.sort_unstable();
        let dense: FxHashMap<Id, u32> = classes
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as u32))
            .collect();
        let mut d = Dense {
            egraph,
            costs,
            parents: vec![Vec::new(); classes.len()],
            first_node: Vec::with_capacity(classes.len()),
            prepaid: vec![false; classes.len()],
            queued: Vec::new(),
            sets: Sets::new(classes.len()),
            work: 0,
            solution_work: 0,
            budget,
            classes,
            dense,
            node_class: Vec::new(),
            node_index: Vec::new(),
            node_children: Vec::new(),
            node_cost: Vec::new(),
            node_original: Vec::new(),
        };
        for ci in 0..d.classes.len() {
            let c = d.classes[ci];
            d.first_node.push(d.node_class.len() as u32);
            for (i, n) in egraph[c].nodes.iter().enumerate() {
                let g = d.node_class.len() as u32;
                let mut children: Vec<u32> = n
                    .children()
                    .iter()
                    .map(|&ch| d.dense[&egraph.find(ch)])
                    .collect();
                children.sort_unstable();
                children.dedup();
                for &ch in &children {
                    d.parents[ch as usize].push(g);
                }
                d.node_class.push(ci as u32);
                d.node_index.push(i);
                d.node_children.push(children);
                d.node_cost.push(costs.of(c)[i]);
                d.node_original
                    .push(original.contains(&n.clone().map_children(|ch| egraph.find(ch))));
            }
        }
        d.queued = vec![false; d.node_class.len()];
        d
    }

    fn cost(&self, g: usize) -> f64 {
        if self.prepaid[self.node_class[g] as usize] {
            0.0
        } else {
            self.node_cost[g]
        }
    }

    /// Work spent so far (`solution`: the sharing pass's, counted with it).
    fn spent(&self) -> u64 {
        self.work + self.sets.work + self.solution_work
    }

    /// Why to stop now, if the budget is spent.
    fn exhausted(&self) -> Option<Stopped> {
        if self.spent() > self.budget.work {
            Some(Stopped::Work)
        } else if self.budget.deadline.is_some_and(|d| Instant::now() > d) {
            Some(Stopped::WallClock)
        } else {
            None
        }
    }

    /// Runs the work-list to a fixpoint from the queued e-nodes; stops early (with the reason)
    /// when the budget runs out.
    ///
    /// With a `log` (a trial), every replaced entry is logged, and an improved e-class passes
    /// the change on to its parents only when its best e-node changed (or it is the `seed`,
    /// the e-class tried): an e-class that keeps its e-node keeps its place in the solution,
    /// so the trial stays in the neighbourhood of the seed instead of refreshing the sets of
    /// every e-class above it (on a deep graph, all of it).
    fn propagate(
        &mut self,
        state: &mut State,
        mut queue: VecDeque<u32>,
        mut log: Option<&mut Log>,
        seed: Option<u32>,
    ) -> Result<(), Stopped> {
        let eps = |x: f64| 1e-12 * x.abs().max(1e-300);
        self.work += queue.len() as u64;
        for &g in &queue {
            self.queued[g as usize] = true;
        }
        while let Some(g) = queue.pop_front() {
            self.work += 1;
            if self.work % 65_536 == 0 {
                if let Some(stop) = self.exhausted() {
                    for &g in &queue {
                        self.queued[g as usize] = false;
                    }
                    self.queued[g as usize] = false;
                    return Err(stop);
                }
            }
            let g = g as usize;
            self.queued[g] = false;
            let c = self.node_class[g];
            let own = self.cost(g);
            if !own.is_finite() {
                continue;
            }
            let mut child_sets: Vec<&CostSet> = Vec::with_capacity(self.node_children[g].len());
            let mut ready = true;
            for &ch in &self.node_children[g] {
                match &state[ch as usize] {
                    Some((_, set)) => child_sets.push(set),
                    None => {
                        ready = false;
                        break;
                    }
                }
            }
            if !ready || child_sets.iter().any(|s| self.sets.contains(s, c)) {
                continue;
            }
            let mut set = CostSet::default();
            for s in child_sets {
                set = self.sets.union(&set, s);
            }
            if own > 0.0 {
                set = self.sets.insert(&set, c, own);
            }
            let better = match &state[c as usize] {
                None => true,
                Some((old, old_set)) => {
                    let (t, o) = (set.total(), old_set.total());
                    t < o - eps(o)
                        || ((t - o).abs() <= eps(o)
                            && self.node_original[g]
                            && !self.node_original[*old as usize])
                }
            };
            if better {
                let old = state[c as usize].replace((g as u32, set));
                let moved = old.as_ref().is_none_or(|(o, _)| *o as usize != g);
                let pass_on = match log.as_deref_mut() {
                    None => true,
                    Some(log) => {
                        log.push((c, old));
                        moved || seed == Some(c)
                    }
                };
                if pass_on {
                    for &p in &self.parents[c as usize] {
                        if !self.queued[p as usize] {
                            self.queued[p as usize] = true;
                            queue.push_back(p);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Treats e-class `ci` as paid, propagates around it, and switches the e-classes of the
    /// solution whose best e-node changed; returns the gain (the fall of the solution's DAG
    /// cost) and the log to undo the state with [`Dense::rollback`] (or drop, to keep it).
    fn trial(
        &mut self,
        state: &mut State,
        solution: &mut Solution,
        ci: usize,
    ) -> Result<(f64, Log), Stopped> {
        if let Some(stop) = self.exhausted() {
            return Err(stop);
        }
        self.prepaid[ci] = true;
        let mut log = Log::new();
        let first = self.first_node[ci];
        let n = self.egraph[self.classes[ci]].nodes.len() as u32;
        let seed = Some(ci as u32);
        if let Err(stop) = self.propagate(state, (first..first + n).collect(), Some(&mut log), seed)
        {
            self.rollback(state, solution, ci, log);
            return Err(stop);
        }
        // The e-classes whose best e-node changed, in the order first changed.
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        let mut moved = Vec::new();
        for (c, old) in &log {
            if seen.insert(*c) {
                let now = state[*c as usize].as_ref().map(|(g, _)| *g);
                if old.as_ref().map(|(g, _)| *g) != now {
                    moved.push(*c);
                }
            }
        }
        let nodes = Nodes {
            children: &self.node_children,
            cost: &self.node_cost,
        };
        let pick = |c: u32| state[c as usize].as_ref().map(|(g, _)| *g);
        for c in moved {
            if solution.reachable(c) {
                if let Some(g) = pick(c) {
                    solution.switch(c, g, &pick, &nodes);
                }
            }
        }
        Ok((-solution.delta, log))
    }

    /// Undoes a trial of e-class `ci`: the solution's changes, the state's and the prepayment.
    fn rollback(&mut self, state: &mut State, solution: &mut Solution, ci: usize, log: Log) {
        solution.rollback();
        for (c, old) in log.into_iter().rev() {
            state[c as usize] = old;
        }
        self.prepaid[ci] = false;
    }

    /// The acyclic choice a state prefers, and its real DAG cost (`Ok(None)`: no acyclic
    /// choice).
    fn resolve(&mut self, state: &State, root: Id) -> Result<Option<Choice>, Stopped> {
        let candidates = |c: Id| -> Vec<usize> {
            let ci = self.dense[&c] as usize;
            let base = self.first_node[ci] as usize;
            let best = state[ci].as_ref().map(|(g, _)| *g as usize - base);
            let mut order: Vec<usize> = (0..self.egraph[c].nodes.len()).collect();
            order.sort_by(|&a, &b| {
                let key = |i: usize| (Some(i) != best, !self.node_original[base + i]);
                key(a)
                    .cmp(&key(b))
                    .then(self.node_cost[base + a].total_cmp(&self.node_cost[base + b]))
            });
            order
        };
        let limit = self.budget.work.saturating_sub(self.sets.work);
        let mut work = self.work;
        let choice = resolve(self.egraph, self.costs, root, &candidates, &mut work, limit);
        self.work = work;
        let Some(choice) = choice else {
            return match self.exhausted() {
                Some(stop) => Err(stop),
                None => Ok(None),
            };
        };
        self.work += choice.len() as u64;
        let cost = dag_cost(self.egraph, self.costs, root, &choice);
        Ok(Some((choice, cost)))
    }
}

/// Greedy DAG extraction with the sharing pass, within `budget`; `original` e-nodes
/// (canonical) win ties, so equal-cost rewrites leave the graph as it was. `Err` when not even
/// the first acyclic choice was found within the budget (`Ok(None)` inside: none exists).
pub fn extract(
    egraph: &EGraph,
    costs: &NodeCosts,
    root: Id,
    original: &FxHashSet<TensorNode>,
    budget: Budget,
) -> Result<Option<Outcome>, Stopped> {
    let mut d = Dense::new(egraph, costs, original, budget);
    let mut state: State = (0..d.classes.len()).map(|_| None).collect();
    let leaves: VecDeque<u32> = (0..d.node_class.len())
        .filter(|&g| d.node_children[g].is_empty())
        .map(|g| g as u32)
        .collect();
    d.propagate(&mut state, leaves, None, None)?;
    let Some((choice, cost)) = d.resolve(&state, root)? else {
        return Ok(None);
    };
    let mut chosen = vec![NONE; d.classes.len()];
    for (c, &i) in &choice {
        let ci = d.dense[c] as usize;
        chosen[ci] = d.first_node[ci] + i as u32;
    }
    let nodes = Nodes {
        children: &d.node_children,
        cost: &d.node_cost,
    };
    let mut solution = Solution::new(d.dense[&egraph.find(root)], chosen, &nodes);

    // Sharing pass over costly e-classes outside the solution that several e-classes use.
    // Lazy best-first: every candidate's gain is measured once; the best is re-measured
    // against the current solution and taken if it still beats the next one's (stale) gain,
    // so a layer merged from three wins over one merged from overlapping pairs. Every trial
    // is local (see [`Dense::trial`]), so the pass is linear in the candidates.
    let mut stopped = None;
    let mut heap: BinaryHeap<(Gain, u32)> = BinaryHeap::new();
    let mut running = cost;
    let worth = |gain: f64, cost: f64| gain > 1e-12 * cost.abs();
    let mut taken = 0usize;
    for ci in 0..d.classes.len() {
        let Some((g, _)) = &state[ci] else { continue };
        let own = d.node_cost[*g as usize];
        if own <= 0.0 || !own.is_finite() || solution.reachable(ci as u32) {
            continue;
        }
        let users: FxHashSet<u32> = d.parents[ci]
            .iter()
            .map(|&p| d.node_class[p as usize])
            .collect();
        if users.len() < 2 {
            continue;
        }
        match d.trial(&mut state, &mut solution, ci) {
            Ok((gain, log)) => {
                d.rollback(&mut state, &mut solution, ci, log);
                if worth(gain, running) {
                    heap.push((Gain(gain), ci as u32));
                }
            }
            Err(stop) => {
                stopped = Some(stop);
                break;
            }
        }
        d.solution_work = solution.work;
    }
    while stopped.is_none() {
        let Some((_, ci)) = heap.pop() else { break };
        let ci = ci as usize;
        if solution.reachable(ci as u32) {
            continue;
        }
        let (gain, log) = match d.trial(&mut state, &mut solution, ci) {
            Ok(found) => found,
            Err(stop) => {
                stopped = Some(stop);
                break;
            }
        };
        d.solution_work = solution.work;
        if !worth(gain, running) {
            d.rollback(&mut state, &mut solution, ci, log);
            continue;
        }
        if heap.peek().is_some_and(|(next, _)| next.0 > gain) {
            d.rollback(&mut state, &mut solution, ci, log);
            heap.push((Gain(gain), ci as u32));
            continue;
        }
        // Kept: ci stays paid, the state and the solution keep their changes.
        running -= gain;
        solution.commit();
        taken += 1;
    }
    d.solution_work = solution.work;
    let (choice, cost) = if taken == 0 {
        (choice, cost)
    } else {
        let choice: HashMap<Id, usize> = solution
            .chosen()
            .map(|(ci, g)| (d.classes[ci], (g - d.first_node[ci]) as usize))
            .collect();
        let cost = dag_cost(egraph, costs, root, &choice);
        (choice, cost)
    };
    Ok(Some(Outcome {
        extracted: Extracted { choice, cost },
        work: d.spent(),
        stopped,
    }))
}
