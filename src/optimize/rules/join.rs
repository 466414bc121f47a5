//! Multi-pattern search by hash join: each root pattern is searched on its own (egg indexes
//! e-classes by op, so that is linear in the candidates), and the matches are joined on the
//! variables the patterns share, through a hash index keyed by those variables' e-classes.
//!
//! egg's own `MultiPattern` binds the first root and then scans every e-class for the next
//! one, which pairs every layer with every other (quadratic: a 100k-node graph ran out of
//! memory). Here sibling layers meet only when they read the same input (`?x`), so the work is
//! the matches of each pattern plus the pairs that really share it. Rules whose patterns share
//! no variable are refused when they are loaded (see [`JoinPattern::new`]).

use crate::optimize::analysis::{EGraph, TensorAnalysis};
use crate::optimize::language::TensorNode;
use egg::{Id, Pattern, SearchMatches, Searcher, Subst, Var};
use rustc_hash::FxHashMap;

/// Root patterns bound to root variables, joined on their shared variables.
#[derive(Debug, Clone)]
pub struct JoinPattern {
    roots: Vec<(Var, Pattern<TensorNode>)>,
    /// Per root after the first: the variables it shares with the roots before it.
    keys: Vec<Vec<Var>>,
    vars: Vec<Var>,
}

impl JoinPattern {
    /// The join of `roots` (at least two); an error when a pattern shares no variable with
    /// the ones before it (its matches would pair with every match of the others).
    pub fn new(roots: Vec<(Var, Pattern<TensorNode>)>) -> Result<JoinPattern, String> {
        let mut bound: Vec<Var> = Vec::new();
        let mut keys = Vec::new();
        for (i, (root, pattern)) in roots.iter().enumerate() {
            let own = pattern_vars(pattern);
            if i > 0 {
                let shared: Vec<Var> = own.iter().filter(|v| bound.contains(v)).copied().collect();
                if shared.is_empty() {
                    return Err(format!(
                        "the pattern of root {root} shares no variable with the patterns before it; a multi-pattern rule must join its patterns on a shared variable (e.g. the siblings' input ?x), or it would pair every match of one with every match of the other"
                    ));
                }
                keys.push(shared);
            }
            bound.extend(own);
            bound.push(*root);
        }
        bound.sort();
        bound.dedup();
        Ok(JoinPattern {
            roots,
            keys,
            vars: bound,
        })
    }
}

fn pattern_vars(p: &Pattern<TensorNode>) -> Vec<Var> {
    Searcher::<TensorNode, TensorAnalysis>::vars(p)
}

/// The matches of one root pattern as substitutions that bind the root too.
fn root_matches(egraph: &EGraph, root: Var, pattern: &Pattern<TensorNode>) -> Vec<Subst> {
    pattern
        .search(egraph)
        .into_iter()
        .flat_map(|m| {
            let eclass = m.eclass;
            m.substs.into_iter().map(move |mut s| {
                s.insert(root, eclass);
                s
            })
        })
        .collect()
}

impl Searcher<TensorNode, TensorAnalysis> for JoinPattern {
    fn search_eclass_with_limit(
        &self,
        egraph: &EGraph,
        eclass: Id,
        limit: usize,
    ) -> Option<SearchMatches<'_, TensorNode>> {
        // Only the matches whose first root is this e-class.
        let (root, _) = self.roots[0];
        self.search_with_limit(egraph, usize::MAX)
            .into_iter()
            .find(|m| m.eclass == eclass)
            .map(|mut m| {
                m.substs.retain(|s| s.get(root) == Some(&eclass));
                m.substs.truncate(limit);
                m
            })
    }

    fn search_with_limit(
        &self,
        egraph: &EGraph,
        limit: usize,
    ) -> Vec<SearchMatches<'_, TensorNode>> {
        let (first_root, first) = &self.roots[0];
        let mut joined = root_matches(egraph, *first_root, first);
        for ((root, pattern), key) in self.roots[1..].iter().zip(&self.keys) {
            let own_vars = {
                let mut v = pattern_vars(pattern);
                v.push(*root);
                v
            };
            let key_of =
                |s: &Subst| -> Option<Vec<Id>> { key.iter().map(|v| s.get(*v).copied()).collect() };
            let mut index: FxHashMap<Vec<Id>, Vec<Subst>> = FxHashMap::default();
            for s in root_matches(egraph, *root, pattern) {
                if let Some(k) = key_of(&s) {
                    index.entry(k).or_default().push(s);
                }
            }
            let mut next = Vec::new();
            'outer: for s in &joined {
                let Some(partners) = key_of(s).and_then(|k| index.get(&k)) else {
                    continue;
                };
                for p in partners {
                    let mut both = s.clone();
                    for &v in &own_vars {
                        if let Some(&id) = p.get(v) {
                            both.insert(v, id);
                        }
                    }
                    next.push(both);
                    if next.len() >= limit {
                        break 'outer;
                    }
                }
            }
            joined = next;
        }
        joined.truncate(limit);
        // Grouped by the first root's e-class, in the order found.
        let mut out: Vec<SearchMatches<TensorNode>> = Vec::new();
        let mut at: FxHashMap<Id, usize> = FxHashMap::default();
        for s in joined {
            let eclass = s[*first_root];
            let i = *at.entry(eclass).or_insert_with(|| {
                out.push(SearchMatches {
                    eclass,
                    substs: Vec::new(),
                    ast: None,
                });
                out.len() - 1
            });
            out[i].substs.push(s);
        }
        out
    }

    fn vars(&self) -> Vec<Var> {
        self.vars.clone()
    }
}
