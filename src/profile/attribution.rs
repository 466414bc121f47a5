//! Attribution trees: a profile's costs arranged along a chosen prefix structure
//! (module path > op > sub-op > primitive, or grouped by op, primitive or phase).

use super::{NodeCosting, Profile};
use crate::cost::{Cost, CostKind, CostNode};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::sync::Arc;

/// How to arrange costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Module path prefixes > op > sub-op > primitive (the full prefix structure).
    Module,
    /// Op > sub-op > primitive, summed over all module instances.
    Op,
    /// Primitives only, summed over everything.
    Primitive,
    /// Phase (forward, loss, backward, update) > module path > op > sub-op > primitive.
    Phase,
}

/// A node of an attribution tree with the total cost beneath it.
#[derive(Debug, Clone, Serialize)]
pub struct AttributionNode {
    /// Shared by the nodes of one tree that carry the same label.
    pub label: Arc<str>,
    pub cost: Cost,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<AttributionNode>,
}

impl AttributionNode {
    /// Every root-to-leaf path with the leaf's cost (for folded stacks and flame graphs).
    pub fn leaf_paths(&self) -> Vec<(Vec<&str>, &Cost)> {
        let mut out = Vec::new();
        fn walk<'a>(
            n: &'a AttributionNode,
            prefix: &mut Vec<&'a str>,
            out: &mut Vec<(Vec<&'a str>, &'a Cost)>,
        ) {
            prefix.push(&n.label);
            if n.children.is_empty() {
                out.push((prefix.clone(), &n.cost));
            } else {
                // Cost a node holds beyond its children (none today) would be lost; children sum up.
                for c in &n.children {
                    walk(c, prefix, out);
                }
            }
            prefix.pop();
        }
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    /// Sorts children by online bits, largest first, recursively.
    fn sort(&mut self) {
        self.children
            .sort_by(|a, b| b.cost.online_bits.total_cmp(&a.cost.online_bits));
        self.children.iter_mut().for_each(AttributionNode::sort);
    }
}

/// Module nesting levels the tree shows; the segments of a deeper path below the last shown
/// level form one node labelled with the full path, so the tree stays linear in the path's
/// length (a path 20,000 modules deep would otherwise hold 20,000 labels of up to 40 KB).
pub const MAX_MODULE_LEVELS: usize = 64;

/// Module path prefixes: `layer3.1.conv2` -> [`layer3`, `layer3.1`, `layer3.1.conv2`], at most
/// [`MAX_MODULE_LEVELS`] of them (the last one is always the full path).
fn module_prefixes(module: &str) -> Vec<&str> {
    if module.is_empty() {
        return vec!["(top)"];
    }
    let mut prefixes: Vec<&str> = module
        .match_indices('.')
        .take(MAX_MODULE_LEVELS - 1)
        .map(|(end, _)| &module[..end])
        .collect();
    prefixes.push(module);
    prefixes
}

/// No node (the end of a list of children).
const NONE: u32 = u32::MAX;

/// Children a node's list holds before they are also found by hash: below it a linear walk of
/// the list is cheaper than hashing the label (an op's sub-ops and primitives are a handful).
const LISTED_CHILDREN: u32 = 8;

/// The tree under construction: nodes in creation order (a child after its parent), each
/// node's children as a list threaded through `first_child` / `next_sibling` (no allocation per
/// node). A child is found by walking its parent's list while the parent has at most
/// [`LISTED_CHILDREN`] children, and by (parent, label) in a hash map beyond that, so building
/// is linear in the number of paths added.
struct TreeBuilder<'a> {
    labels: Vec<&'a str>,
    /// Whether the node's label may repeat across the tree (an op's, a sub-op's, a
    /// primitive's), so that the finished tree shares one string for it; a module path's is
    /// unique under its parent.
    repeats: Vec<bool>,
    costs: Vec<Cost>,
    first_child: Vec<u32>,
    last_child: Vec<u32>,
    next_sibling: Vec<u32>,
    child_count: Vec<u32>,
    /// Children of the nodes with more than [`LISTED_CHILDREN`] children.
    index: FxHashMap<(u32, &'a str), u32>,
    parties: usize,
}

impl<'a> TreeBuilder<'a> {
    fn new(root: &'a str, parties: usize) -> Self {
        TreeBuilder {
            labels: vec![root],
            repeats: vec![false],
            costs: vec![Cost::zero(parties)],
            first_child: vec![NONE],
            last_child: vec![NONE],
            next_sibling: vec![NONE],
            child_count: vec![0],
            index: FxHashMap::default(),
            parties,
        }
    }

    /// The child of `parent` labelled `label`, if it has one.
    fn find_child(&self, parent: u32, label: &str) -> Option<u32> {
        if self.child_count[parent as usize] > LISTED_CHILDREN {
            return self.index.get(&(parent, label)).copied();
        }
        let mut c = self.first_child[parent as usize];
        while c != NONE {
            let known = self.labels[c as usize];
            if std::ptr::eq(known, label) || known == label {
                return Some(c);
            }
            c = self.next_sibling[c as usize];
        }
        None
    }

    /// The child of `parent` labelled `label` (made if new; `repeats` as for
    /// [`TreeBuilder::repeats`]).
    fn child(&mut self, parent: u32, label: &'a str, repeats: bool) -> u32 {
        if let Some(child) = self.find_child(parent, label) {
            return child;
        }
        let child = u32::try_from(self.labels.len())
            .ok()
            .filter(|&c| c != NONE)
            .expect("an attribution tree holds fewer than 2^32 - 1 nodes");
        self.labels.push(label);
        self.repeats.push(repeats);
        self.costs.push(Cost::zero(self.parties));
        self.first_child.push(NONE);
        self.last_child.push(NONE);
        self.next_sibling.push(NONE);
        self.child_count.push(0);
        let p = parent as usize;
        match self.last_child[p] {
            NONE => self.first_child[p] = child,
            last => self.next_sibling[last as usize] = child,
        }
        self.last_child[p] = child;
        self.child_count[p] += 1;
        match self.child_count[p] {
            n if n == LISTED_CHILDREN + 1 => {
                // The list grew past walking: from now on its children are found by hash.
                let mut c = self.first_child[p];
                while c != NONE {
                    self.index.insert((parent, self.labels[c as usize]), c);
                    c = self.next_sibling[c as usize];
                }
            }
            n if n > LISTED_CHILDREN + 1 => {
                self.index.insert((parent, label), child);
            }
            _ => {}
        }
        child
    }

    /// Puts the nodes along `labels` (module path prefixes, a phase) from the root (made if
    /// new) on `path`.
    fn nodes_along(&mut self, labels: &[&'a str], path: &mut Vec<u32>) {
        let mut at = 0;
        for &label in labels {
            at = self.child(at, label, false);
            path.push(at);
        }
    }

    /// Adds the leaves of call chain `node` below the nodes on `path` (from the root, from
    /// [`TreeBuilder::nodes_along`]): each leaf's cost to the root, to the nodes on `path` and
    /// to the chain's nodes down to the leaf; with `flat`, to the leaf's label alone below the
    /// root. Each tree node is found once per chain node, not once per leaf below it.
    fn add_chain(&mut self, node: &'a CostNode, path: &mut Vec<u32>, flat: bool) {
        let leaf = node.children.is_empty() || node.kind == CostKind::Primitive;
        if flat && !leaf {
            for c in &node.children {
                self.add_chain(c, path, flat);
            }
            return;
        }
        let parent = path.last().copied().unwrap_or(0);
        path.push(self.child(parent, &node.label, true));
        if leaf {
            self.costs[0].add(&node.cost);
            for &at in path.iter() {
                self.costs[at as usize].add(&node.cost);
            }
        } else {
            for c in &node.children {
                self.add_chain(c, path, flat);
            }
        }
        path.pop();
    }

    /// The finished tree, children in creation order, built from the root down (the depth is
    /// bounded: module paths fold below [`MAX_MODULE_LEVELS`]), so that no node is held twice.
    /// Labels that repeat (an op's, a primitive's, in every module) share one string.
    fn finish(self) -> AttributionNode {
        let TreeBuilder {
            mut labels,
            mut repeats,
            mut costs,
            mut first_child,
            last_child,
            mut next_sibling,
            mut child_count,
            index,
            ..
        } = self;
        // Before the tree is built, the peak of memory: what finding children took goes, and
        // the arrays give back the room they grew into (large ones shrink in place).
        drop((index, last_child));
        labels.shrink_to_fit();
        repeats.shrink_to_fit();
        costs.shrink_to_fit();
        first_child.shrink_to_fit();
        next_sibling.shrink_to_fit();
        child_count.shrink_to_fit();
        struct Parts<'b, 'a> {
            labels: &'b [&'a str],
            repeats: &'b [bool],
            costs: &'b mut [Cost],
            first_child: &'b [u32],
            next_sibling: &'b [u32],
            child_count: &'b [u32],
            shared: FxHashMap<&'a str, Arc<str>>,
        }
        fn node(i: usize, t: &mut Parts) -> AttributionNode {
            let mut children = Vec::with_capacity(t.child_count[i] as usize);
            let mut c = t.first_child[i];
            while c != NONE {
                children.push(node(c as usize, t));
                c = t.next_sibling[c as usize];
            }
            let label = t.labels[i];
            let label = match t.repeats[i] {
                true => t
                    .shared
                    .entry(label)
                    .or_insert_with(|| Arc::from(label))
                    .clone(),
                false => Arc::from(label),
            };
            AttributionNode {
                label,
                cost: std::mem::take(&mut t.costs[i]),
                children,
            }
        }
        let mut parts = Parts {
            labels: &labels,
            repeats: &repeats,
            costs: &mut costs,
            first_child: &first_child,
            next_sibling: &next_sibling,
            child_count: &child_count,
            shared: FxHashMap::default(),
        };
        node(0, &mut parts)
    }
}

impl Profile {
    /// The costs of the profile arranged by `group` (children sorted by online bits).
    pub fn attribution(&self, group: GroupBy) -> AttributionNode {
        let mut tree = TreeBuilder::new(&self.model, self.parties);
        let mut head: Vec<&str> = Vec::new();
        let mut path: Vec<u32> = Vec::new();
        for n in &self.nodes {
            let NodeCosting::Chain { chain } = &n.costing else {
                continue;
            };
            if chain.cost.is_zero() {
                continue;
            }
            // The levels above the op (module prefixes, the phase), resolved once per node.
            head.clear();
            match group {
                GroupBy::Module => head.extend(module_prefixes(&n.module)),
                GroupBy::Phase => {
                    head.push(n.phase.as_str());
                    head.extend(module_prefixes(&n.module));
                }
                GroupBy::Op | GroupBy::Primitive => {}
            }
            path.clear();
            tree.nodes_along(&head, &mut path);
            tree.add_chain(chain, &mut path, group == GroupBy::Primitive);
        }
        let mut root = tree.finish();
        root.sort();
        root
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cost, zoo::synthetic};

    fn labels_down_first_children(tree: &AttributionNode) -> Vec<String> {
        let mut labels = Vec::new();
        let mut at = tree;
        while let Some(first) = at.children.first() {
            labels.push(first.label.to_string());
            at = first;
        }
        labels
    }

    #[test]
    fn deep_module_paths_fold_below_the_last_shown_level() {
        let model = cost::load_framework("spu-semi2k", &[]).unwrap();
        let depth = 3 * MAX_MODULE_LEVELS;
        let graph = synthetic::deep_module(depth).unwrap();
        let profile = Profile::new(&graph, &model).unwrap();
        let tree = profile.attribution(GroupBy::Module);
        let labels = labels_down_first_children(&tree);
        // 63 levels `m`, `m.m`, ..., then the full path, then the op's chain
        let full = format!("{}.fc", vec!["m"; depth].join("."));
        assert_eq!(labels[0], "m");
        assert_eq!(labels[MAX_MODULE_LEVELS - 2], vec!["m"; 63].join("."));
        assert_eq!(labels[MAX_MODULE_LEVELS - 1], full);
        assert_eq!(labels[MAX_MODULE_LEVELS], "linear");
        // the folded level holds both modules of the block, costs summed on the way up
        let level = |n: usize| {
            let mut at = &tree;
            for _ in 0..n {
                at = &at.children[0];
            }
            at
        };
        let folded_parent = level(MAX_MODULE_LEVELS - 1);
        assert_eq!(folded_parent.children.len(), 2);
        assert_eq!(folded_parent.cost, profile.total);
        assert_eq!(tree.cost, profile.total);
    }

    #[test]
    fn children_are_shared_by_label_and_sorted_by_cost() {
        let model = cost::load_framework("spu-semi2k", &[]).unwrap();
        let graph = synthetic::linear_relu_chain(3).unwrap();
        let profile = Profile::new(&graph, &model).unwrap();
        let tree = profile.attribution(GroupBy::Module);
        assert_eq!(tree.children.len(), 1);
        let blocks = &tree.children[0];
        assert_eq!(&*blocks.label, "blocks");
        let names: Vec<&str> = blocks.children.iter().map(|c| &*c.label).collect();
        assert_eq!(names.len(), 3);
        assert!(names
            .iter()
            .all(|n| ["blocks.0", "blocks.1", "blocks.2"].contains(n)));
        let by_op = profile.attribution(GroupBy::Op);
        let ops: Vec<&str> = by_op.children.iter().map(|c| &*c.label).collect();
        assert_eq!(ops, ["linear", "relu"]);
        assert!(by_op.children[0].cost.online_bits >= by_op.children[1].cost.online_bits);
        assert_eq!(by_op.cost, profile.total);
    }

    #[test]
    fn a_child_is_found_whether_its_parent_lists_or_hashes_its_children() {
        let many = LISTED_CHILDREN as usize * 3;
        let labels: Vec<String> = (0..many).map(|i| format!("m{i}")).collect();
        let mut tree = TreeBuilder::new("root", 2);
        let first: Vec<u32> = labels.iter().map(|l| tree.child(0, l, false)).collect();
        // each label found again, those made before the parent's children were hashed too,
        // through a string at another address
        for (label, &id) in labels.iter().zip(&first) {
            assert_eq!(tree.child(0, &label.clone().leak()[..], false), id);
        }
        let below = tree.child(first[0], "op", true);
        assert_eq!(tree.child(first[0], "op", true), below);
        assert_ne!(tree.child(first[1], "op", true), below);
        assert_eq!(tree.child_count[0] as usize, many);
        assert_eq!(tree.labels.len(), 1 + many + 2);
    }

    #[test]
    fn a_module_with_more_children_than_listed_has_each_once_with_its_cost() {
        let model = cost::load_framework("spu-semi2k", &[]).unwrap();
        let layers = LISTED_CHILDREN as usize * 3;
        let profile = Profile::new(&synthetic::linear_relu_chain(layers).unwrap(), &model).unwrap();
        let tree = profile.attribution(GroupBy::Module);
        let blocks = &tree.children[0];
        let mut names: Vec<&str> = blocks.children.iter().map(|c| &*c.label).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), layers);
        let one_block = &blocks.children[0].cost;
        assert!(blocks.children.iter().all(|b| b.cost == *one_block));
        assert_eq!(blocks.cost, tree.cost);
        assert_eq!(tree.cost, profile.total);
    }
}
