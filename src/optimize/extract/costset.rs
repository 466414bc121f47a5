//! Persistent cost sets for DAG extraction: a map from dense e-class index to the cost of its
//! chosen e-node, with the total of its costs, shared structurally between versions.
//!
//! The greedy extractor gives every e-class the set of costed e-classes of its best sub-DAG.
//! Copying a set per e-class makes a chain of n costly e-classes cost n² time and memory; here
//! a set is a radix trie on the index (32-way, reference-counted nodes), so adding an e-class
//! copies one path, and the union of two sets that share most of their structure (a residual
//! block's two branches, which both grew from the block's input) walks only the subtrees
//! where they differ: a subtree that is the same node in both is taken as it is. Every node
//! caches its element count and cost total, so the total of a union comes with it.
//!
//! No crate offers a union that skips shared subtrees (`im` and `rpds` merge element by
//! element), which is what makes the extractor linear on chains and residual networks.

use std::rc::Rc;

const BITS: u32 = 5;
const MASK: u32 = (1 << BITS) - 1;

/// A node of the trie: a leaf holds costs, an inner node holds subtrees; `bitmap` marks the
/// slots present, stored compactly in slot order.
#[derive(Debug)]
enum Node {
    Leaf {
        bitmap: u32,
        costs: Box<[f64]>,
        len: u32,
        total: f64,
    },
    Inner {
        bitmap: u32,
        children: Box<[Rc<Node>]>,
        len: u32,
        total: f64,
    },
}

impl Node {
    fn len(&self) -> u32 {
        match self {
            Node::Leaf { len, .. } | Node::Inner { len, .. } => *len,
        }
    }

    fn total(&self) -> f64 {
        match self {
            Node::Leaf { total, .. } | Node::Inner { total, .. } => *total,
        }
    }

    fn leaf(bitmap: u32, costs: Box<[f64]>) -> Node {
        Node::Leaf {
            bitmap,
            len: costs.len() as u32,
            total: costs.iter().sum(),
            costs,
        }
    }

    fn inner(bitmap: u32, children: Box<[Rc<Node>]>) -> Node {
        Node::Inner {
            bitmap,
            len: children.iter().map(|c| c.len()).sum(),
            total: children.iter().map(|c| c.total()).sum(),
            children,
        }
    }
}

/// The position of slot `bit` among the present slots of `bitmap`.
fn rank(bitmap: u32, bit: u32) -> usize {
    (bitmap & ((1u32 << bit) - 1)).count_ones() as usize
}

/// A set of (e-class index, cost); cloning is a reference-count increment.
#[derive(Debug, Clone, Default)]
pub struct CostSet(Option<Rc<Node>>);

impl CostSet {
    /// The sum of the costs.
    pub fn total(&self) -> f64 {
        self.0.as_ref().map_or(0.0, |n| n.total())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |n| n.len() as usize)
    }

    /// Whether the set has no element.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Whether the two sets are the same version (not merely equal).
    pub fn same(&self, other: &CostSet) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

/// Builds and combines [`CostSet`]s over keys below a bound, counting the trie nodes it
/// touches as work.
#[derive(Debug)]
pub struct Sets {
    /// Levels of the trie: enough 5-bit digits for every key.
    levels: u32,
    /// Trie nodes visited or built so far.
    pub work: u64,
}

impl Sets {
    /// Sets over keys `0..keys`.
    pub fn new(keys: usize) -> Sets {
        let mut levels = 1;
        while levels < 7 && (keys as u64) > 1u64 << (BITS * levels) {
            levels += 1;
        }
        Sets { levels, work: 0 }
    }

    fn digit(&self, key: u32, level: u32) -> u32 {
        (key >> (BITS * (self.levels - 1 - level))) & MASK
    }

    /// Whether `key` is in the set.
    pub fn contains(&mut self, set: &CostSet, key: u32) -> bool {
        let mut node = match &set.0 {
            Some(n) => n,
            None => return false,
        };
        let mut level = 0;
        loop {
            self.work += 1;
            let bit = self.digit(key, level);
            match &**node {
                Node::Leaf { bitmap, .. } => return bitmap & (1 << bit) != 0,
                Node::Inner {
                    bitmap, children, ..
                } => {
                    if bitmap & (1 << bit) == 0 {
                        return false;
                    }
                    node = &children[rank(*bitmap, bit)];
                    level += 1;
                }
            }
        }
    }

    /// The set with `key` added at `cost` (unchanged if `key` is present).
    pub fn insert(&mut self, set: &CostSet, key: u32, cost: f64) -> CostSet {
        let single = self.singleton(key, cost, 0);
        match &set.0 {
            None => CostSet(Some(single)),
            Some(n) => CostSet(Some(self.merge(n, &single))),
        }
    }

    fn singleton(&mut self, key: u32, cost: f64, level: u32) -> Rc<Node> {
        self.work += 1;
        let bit = self.digit(key, level);
        if level + 1 == self.levels {
            Rc::new(Node::leaf(1 << bit, Box::new([cost])))
        } else {
            let child = self.singleton(key, cost, level + 1);
            Rc::new(Node::inner(1 << bit, Box::new([child])))
        }
    }

    /// The union of two sets; where both hold a key, the cost of the larger set is kept.
    pub fn union(&mut self, a: &CostSet, b: &CostSet) -> CostSet {
        match (&a.0, &b.0) {
            (None, _) => b.clone(),
            (_, None) => a.clone(),
            (Some(x), Some(y)) => {
                let (big, small) = if y.len() > x.len() { (y, x) } else { (x, y) };
                CostSet(Some(self.merge(big, small)))
            }
        }
    }

    /// Union of two subtrees at the same level; `a`'s costs win, and `a` itself comes back when `b`
    /// adds nothing to it.
    fn merge(&mut self, a: &Rc<Node>, b: &Rc<Node>) -> Rc<Node> {
        if Rc::ptr_eq(a, b) {
            return Rc::clone(a);
        }
        self.work += 1;
        match (&**a, &**b) {
            (
                Node::Leaf {
                    bitmap: ba,
                    costs: ca,
                    ..
                },
                Node::Leaf {
                    bitmap: bb,
                    costs: cb,
                    ..
                },
            ) => {
                let bitmap = ba | bb;
                if bitmap == *ba {
                    return Rc::clone(a);
                }
                let costs: Box<[f64]> = (0..32)
                    .filter(|bit| bitmap & (1 << bit) != 0)
                    .map(|bit| {
                        if ba & (1 << bit) != 0 {
                            ca[rank(*ba, bit)]
                        } else {
                            cb[rank(*bb, bit)]
                        }
                    })
                    .collect();
                Rc::new(Node::leaf(bitmap, costs))
            }
            (
                Node::Inner {
                    bitmap: ba,
                    children: ca,
                    ..
                },
                Node::Inner {
                    bitmap: bb,
                    children: cb,
                    ..
                },
            ) => {
                let bitmap = ba | bb;
                let mut same = bitmap == *ba;
                let mut children = Vec::with_capacity(bitmap.count_ones() as usize);
                for bit in (0..32).filter(|bit| bitmap & (1 << bit) != 0) {
                    let child = match (ba & (1 << bit) != 0, bb & (1 << bit) != 0) {
                        (true, true) => {
                            let x = &ca[rank(*ba, bit)];
                            let merged = self.merge(x, &cb[rank(*bb, bit)]);
                            same &= Rc::ptr_eq(&merged, x);
                            merged
                        }
                        (true, false) => Rc::clone(&ca[rank(*ba, bit)]),
                        _ => Rc::clone(&cb[rank(*bb, bit)]),
                    };
                    children.push(child);
                }
                if same {
                    return Rc::clone(a);
                }
                Rc::new(Node::inner(bitmap, children.into_boxed_slice()))
            }
            _ => unreachable!("sets of one extraction have the same depth at every level"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(sets: &mut Sets, items: &[(u32, f64)]) -> CostSet {
        items
            .iter()
            .fold(CostSet::default(), |s, &(k, c)| sets.insert(&s, k, c))
    }

    #[test]
    fn union_keeps_every_key_once_with_the_larger_sets_cost() {
        let mut sets = Sets::new(5000);
        let a = build(&mut sets, &[(1, 1.0), (40, 2.0), (4000, 4.0)]);
        let b = build(&mut sets, &[(40, 8.0), (41, 16.0)]);
        let u = sets.union(&a, &b);
        assert_eq!(u.len(), 4);
        assert_eq!(u.total(), 1.0 + 2.0 + 4.0 + 16.0);
        for k in [1, 40, 41, 4000] {
            assert!(sets.contains(&u, k), "{k}");
        }
        for k in [0, 2, 39, 42, 3999, 4001] {
            assert!(!sets.contains(&u, k), "{k}");
        }
        // Inserting a present key changes nothing.
        assert_eq!(sets.insert(&u, 41, 100.0).total(), u.total());
    }

    #[test]
    fn union_of_a_set_with_its_own_extension_is_the_extension() {
        let mut sets = Sets::new(100_000);
        let base = build(
            &mut sets,
            &(0..10_000).map(|k| (k * 7, 1.0)).collect::<Vec<_>>(),
        );
        let grown = sets.insert(&base, 99_999, 2.0);
        let before = sets.work;
        let u = sets.union(&base, &grown);
        assert!(u.same(&grown));
        assert_eq!(u.total(), 10_002.0);
        // Only the one changed path is walked, not the 10,000 elements.
        assert!(sets.work - before <= 4, "{}", sets.work - before);
    }
}
