//! Attribution trees: a profile's costs arranged along a chosen prefix structure
//! (module path > op > sub-op > primitive, or grouped by op, primitive or phase).

use super::{NodeCosting, Profile};
use crate::cost::{Cost, CostKind, CostNode};
use serde::Serialize;

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
    pub label: String,
    pub cost: Cost,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<AttributionNode>,
}

impl AttributionNode {
    fn new(label: &str, parties: usize) -> Self {
        AttributionNode {
            label: label.to_string(),
            cost: Cost::zero(parties),
            children: Vec::new(),
        }
    }

    /// Adds `cost` along `path` below this node (creating nodes as needed).
    fn add_path(&mut self, path: &[String], cost: &Cost, parties: usize) {
        self.cost.add(cost);
        if let Some((first, rest)) = path.split_first() {
            let i = match self.children.iter().position(|c| &c.label == first) {
                Some(i) => i,
                None => {
                    self.children.push(AttributionNode::new(first, parties));
                    self.children.len() - 1
                }
            };
            self.children[i].add_path(rest, cost, parties);
        }
    }

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

/// The leaf paths of a call chain (labels below the op), each with its cost.
fn chain_paths(node: &CostNode, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Cost)>) {
    prefix.push(node.label.clone());
    if node.children.is_empty() || node.kind == CostKind::Primitive {
        out.push((prefix.clone(), node.cost.clone()));
    } else {
        for c in &node.children {
            chain_paths(c, prefix, out);
        }
    }
    prefix.pop();
}

/// Module path prefixes: `layer3.1.conv2` -> [`layer3`, `layer3.1`, `layer3.1.conv2`].
fn module_prefixes(module: &str) -> Vec<String> {
    if module.is_empty() {
        return vec!["(top)".to_string()];
    }
    let parts: Vec<&str> = module.split('.').collect();
    (1..=parts.len()).map(|i| parts[..i].join(".")).collect()
}

impl Profile {
    /// The costs of the profile arranged by `group` (children sorted by online bits).
    pub fn attribution(&self, group: GroupBy) -> AttributionNode {
        let mut root = AttributionNode::new(&self.model, self.parties);
        for n in &self.nodes {
            let NodeCosting::Chain { chain } = &n.costing else {
                continue;
            };
            if chain.cost.is_zero() {
                continue;
            }
            let mut leaves = Vec::new();
            chain_paths(chain, &mut Vec::new(), &mut leaves);
            for (chain_path, cost) in leaves {
                let path: Vec<String> = match group {
                    GroupBy::Module => module_prefixes(&n.module)
                        .into_iter()
                        .chain(chain_path)
                        .collect(),
                    GroupBy::Op => chain_path,
                    GroupBy::Primitive => chain_path.last().cloned().into_iter().collect(),
                    GroupBy::Phase => std::iter::once(n.phase.as_str().to_string())
                        .chain(module_prefixes(&n.module))
                        .chain(chain_path)
                        .collect(),
                };
                root.add_path(&path, &cost, self.parties);
            }
        }
        root.sort();
        root
    }
}
