//! The extractor's current solution as a reference-counted choice, changed one e-class at a
//! time and measured locally, for the greedy extractor's sharing pass.
//!
//! Every reachable e-class has its chosen e-node, the number of chosen e-nodes (and the root)
//! that use it, and a topological key that falls strictly along every chosen edge, so the
//! choice is acyclic by construction. Switching an e-class to another e-node reaches the new
//! e-node's children (an e-class reached for the first time adds its cost and reaches its own
//! children, in turn) and releases the old e-node's children (an e-class no longer used
//! subtracts its cost and releases its children). A switch is refused when a child that is
//! already reachable does not lie below the e-class in the topological key (it could close a
//! cycle), so the cost of a trial is the size of the change, not of the graph. Every change
//! is logged, so a trial is undone or kept without copying anything.

/// No e-node chosen.
pub const NONE: u32 = u32::MAX;

/// The dense e-graph as the solution sees it: children e-classes and cost of each e-node.
pub struct Nodes<'a> {
    pub children: &'a [Vec<u32>],
    pub cost: &'a [f64],
}

/// One logged change, with the value it replaced.
enum Change {
    Chosen(u32, u32),
    Uses(u32, u32),
    Key(u32, f64),
}

/// A class touched while reaching: already reachable (and whether it lies below the bound),
/// or newly reachable with the e-node it takes.
enum Touch {
    Old(bool),
    New(u32),
}

/// An acyclic choice with use counts and topological keys, per dense e-class.
pub struct Solution {
    chosen: Vec<u32>,
    uses: Vec<u32>,
    key: Vec<f64>,
    log: Vec<Change>,
    /// Cost change since the last [`Solution::commit`] or [`Solution::rollback`].
    pub delta: f64,
    /// E-classes touched (work units).
    pub work: u64,
}

impl Solution {
    /// The solution choosing `chosen[c]` (global e-node index, or none) for the e-classes
    /// reachable from `root`; `chosen` must be acyclic from the root.
    pub fn new(root: u32, chosen: Vec<u32>, nodes: &Nodes) -> Solution {
        let n = chosen.len();
        let mut sol = Solution {
            chosen,
            uses: vec![0; n],
            key: vec![f64::NAN; n],
            log: Vec::new(),
            delta: 0.0,
            work: 0,
        };
        // Keys are heights: one above the highest e-class used (0 for a leaf), so a layer
        // and its siblings share a height and an e-class added below one of them fits below
        // the others too.
        sol.uses[root as usize] = 1;
        let mut stack: Vec<(u32, usize, f64)> = vec![(root, 0, -1.0)];
        while let Some(frame) = stack.last_mut() {
            let (c, i, highest) = *frame;
            let g = sol.chosen[c as usize] as usize;
            if let Some(&d) = nodes.children[g].get(i) {
                frame.1 += 1;
                sol.uses[d as usize] += 1;
                if sol.uses[d as usize] == 1 {
                    stack.push((d, 0, -1.0));
                } else {
                    frame.2 = highest.max(sol.key[d as usize]);
                }
            } else {
                stack.pop();
                let key = highest + 1.0;
                sol.key[c as usize] = key;
                if let Some(parent) = stack.last_mut() {
                    parent.2 = parent.2.max(key);
                }
            }
            sol.work += 1;
        }
        sol
    }

    /// Whether e-class `c` is reachable.
    pub fn reachable(&self, c: u32) -> bool {
        self.uses[c as usize] > 0
    }

    /// The chosen e-node of every reachable e-class.
    pub fn chosen(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        (0..self.chosen.len())
            .filter(|&c| self.uses[c] > 0)
            .map(|c| (c, self.chosen[c]))
    }

    /// Switches reachable e-class `c` to e-node `g`; an e-class reached for the first time
    /// takes `pick`'s e-node. Refused (and nothing changed) when that could close a cycle or
    /// `pick` has none.
    pub fn switch(
        &mut self,
        c: u32,
        g: u32,
        pick: &dyn Fn(u32) -> Option<u32>,
        nodes: &Nodes,
    ) -> bool {
        let old = self.chosen[c as usize];
        if old == g {
            return true;
        }
        let (mark, delta) = (self.log.len(), self.delta);
        let below = self.key[c as usize];
        for &d in &nodes.children[g as usize] {
            if !self.reach(d, below, pick, nodes) {
                self.undo_to(mark);
                self.delta = delta;
                return false;
            }
        }
        self.log.push(Change::Chosen(c, old));
        self.chosen[c as usize] = g;
        self.delta += nodes.cost[g as usize] - nodes.cost[old as usize];
        for &d in &nodes.children[old as usize] {
            self.release(d, nodes);
        }
        true
    }

    /// Keeps the changes made since the last commit or rollback.
    pub fn commit(&mut self) {
        self.log.clear();
        self.delta = 0.0;
    }

    /// Undoes the changes made since the last commit or rollback.
    pub fn rollback(&mut self) {
        self.undo_to(0);
        self.delta = 0.0;
    }

    fn undo_to(&mut self, mark: usize) {
        while self.log.len() > mark {
            match self.log.pop() {
                Some(Change::Chosen(c, g)) => self.chosen[c as usize] = g,
                Some(Change::Uses(c, n)) => self.uses[c as usize] = n,
                Some(Change::Key(c, k)) => self.key[c as usize] = k,
                None => {}
            }
        }
    }

    /// One more use of `d`; a newly reachable `d` takes `pick`'s e-node, its cost and a key
    /// in progress (NaN, which no bound accepts, so a cycle back to it is refused).
    fn touch(
        &mut self,
        d: u32,
        below: f64,
        pick: &dyn Fn(u32) -> Option<u32>,
        nodes: &Nodes,
    ) -> Touch {
        self.work += 1;
        let used = self.uses[d as usize];
        self.log.push(Change::Uses(d, used));
        self.uses[d as usize] = used + 1;
        if used > 0 {
            return Touch::Old(self.key[d as usize] < below);
        }
        let Some(g) = pick(d) else {
            return Touch::Old(false);
        };
        self.log.push(Change::Chosen(d, self.chosen[d as usize]));
        self.chosen[d as usize] = g;
        self.log.push(Change::Key(d, self.key[d as usize]));
        self.key[d as usize] = f64::NAN;
        self.delta += nodes.cost[g as usize];
        Touch::New(g)
    }

    /// One more use of `d` by an e-node whose e-class has key `below`: true when every newly
    /// reachable e-class got a key between its children's and `below`.
    fn reach(
        &mut self,
        d: u32,
        below: f64,
        pick: &dyn Fn(u32) -> Option<u32>,
        nodes: &Nodes,
    ) -> bool {
        let g = match self.touch(d, below, pick, nodes) {
            Touch::Old(ok) => return ok,
            Touch::New(g) => g,
        };
        // (e-class, its e-node, next child, highest key of its children)
        let mut stack: Vec<(u32, u32, usize, f64)> = vec![(d, g, 0, f64::NEG_INFINITY)];
        while let Some(frame) = stack.last_mut() {
            let (e, g, i, highest) = *frame;
            if let Some(&child) = nodes.children[g as usize].get(i) {
                frame.2 += 1;
                match self.touch(child, below, pick, nodes) {
                    Touch::Old(true) => frame.3 = highest.max(self.key[child as usize]),
                    Touch::Old(false) => return false,
                    Touch::New(h) => stack.push((child, h, 0, f64::NEG_INFINITY)),
                }
            } else {
                stack.pop();
                // As low as possible, so that other e-classes can use it too: a step above
                // its highest child (a new leaf at 0), halving the room left when short.
                let key = if highest == f64::NEG_INFINITY {
                    (below - 1.0).min(0.0)
                } else {
                    highest + (1.0 / 64.0f64).min((below - highest) / 2.0)
                };
                if !(highest < key && key < below) {
                    return false;
                }
                self.key[e as usize] = key;
                if let Some(parent) = stack.last_mut() {
                    parent.3 = parent.3.max(key);
                }
            }
        }
        true
    }

    /// One use of `d` less; an e-class no longer used subtracts its cost and releases its
    /// children.
    fn release(&mut self, d: u32, nodes: &Nodes) {
        let mut stack = vec![d];
        while let Some(d) = stack.pop() {
            self.work += 1;
            let used = self.uses[d as usize];
            self.log.push(Change::Uses(d, used));
            self.uses[d as usize] = used - 1;
            if used == 1 {
                let g = self.chosen[d as usize];
                self.delta -= nodes.cost[g as usize];
                stack.extend_from_slice(&nodes.children[g as usize]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// E-nodes: 0 = class 0 leaf (cost 1); 1 = class 1 over class 0 (cost 5); 2 = class 2
    /// root over class 1 (cost 0); 3 = class 1 over class 3 (cost 2); 4 = class 3 over class
    /// 0 (cost 1); 5 = class 0 over class 2 (a cycle, cost 0).
    fn nodes() -> (Vec<Vec<u32>>, Vec<f64>) {
        let children = vec![vec![], vec![0], vec![1], vec![3], vec![0], vec![2]];
        let cost = vec![1.0, 5.0, 0.0, 2.0, 1.0, 0.0];
        (children, cost)
    }

    #[test]
    fn a_switch_costs_its_change_and_undoes_exactly() {
        let (children, cost) = nodes();
        let nodes = Nodes {
            children: &children,
            cost: &cost,
        };
        let mut sol = Solution::new(2, vec![0, 1, 2, NONE], &nodes);
        assert!(!sol.reachable(3));
        // Class 1 through the new class 3: +2 +1 -5.
        assert!(sol.switch(1, 3, &|c| (c == 3).then_some(4), &nodes));
        assert_eq!(sol.delta, -2.0);
        assert!(sol.reachable(3));
        sol.rollback();
        assert!(!sol.reachable(3));
        assert_eq!(
            sol.chosen().collect::<Vec<_>>(),
            vec![(0, 0), (1, 1), (2, 2)]
        );
        // Class 0 over the root would close a cycle: refused, nothing changed.
        assert!(!sol.switch(0, 5, &|_| None, &nodes));
        assert_eq!(sol.delta, 0.0);
        assert_eq!(
            sol.chosen().collect::<Vec<_>>(),
            vec![(0, 0), (1, 1), (2, 2)]
        );
        // Kept: the old e-node's class 0 stays used by the new class 3.
        assert!(sol.switch(1, 3, &|c| (c == 3).then_some(4), &nodes));
        sol.commit();
        assert_eq!(
            sol.chosen().collect::<Vec<_>>(),
            vec![(0, 0), (1, 3), (2, 2), (3, 4)]
        );
    }
}
