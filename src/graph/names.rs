//! The index of a graph's nodes by name, which does not hold the names: a name is hashed
//! once (FxHash) to its node, and the name itself is read from the node, so each name is
//! stored once in the graph (a million-node graph saves a million strings). Two names with
//! the same hash, which practically never happen, are told apart by a second map that does
//! hold the later name.

use rustc_hash::{FxBuildHasher, FxHashMap};
use std::collections::hash_map::Entry;
use std::hash::BuildHasher;

/// Node ids (`Id`) by the hash of their name.
#[derive(Debug, Clone, Default)]
pub(super) struct NameIndex<Id> {
    by_hash: FxHashMap<u64, Id>,
    /// Names whose hash an earlier, different name already has.
    collided: FxHashMap<String, Id>,
}

impl<Id: Copy> NameIndex<Id> {
    /// Makes room for `more` names.
    pub(super) fn reserve(&mut self, more: usize) {
        self.by_hash.reserve(more);
    }

    /// The node named `name`, given the name of every node (`name_of`).
    pub(super) fn get<'n>(&self, name: &str, name_of: impl Fn(Id) -> &'n str) -> Option<Id> {
        match self.by_hash.get(&hash(name)) {
            Some(&id) if name_of(id) == name => Some(id),
            Some(_) => self.collided.get(name).copied(),
            None => None,
        }
    }

    /// Records that `id` is named `name`, or returns the node that already has the name.
    pub(super) fn insert<'n>(
        &mut self,
        name: &str,
        id: Id,
        name_of: impl Fn(Id) -> &'n str,
    ) -> Result<(), Id> {
        match self.by_hash.entry(hash(name)) {
            Entry::Vacant(free) => {
                free.insert(id);
                Ok(())
            }
            Entry::Occupied(taken) if name_of(*taken.get()) == name => Err(*taken.get()),
            Entry::Occupied(_) => match self.collided.entry(name.to_string()) {
                Entry::Occupied(taken) => Err(*taken.get()),
                Entry::Vacant(free) => {
                    free.insert(id);
                    Ok(())
                }
            },
        }
    }
}

fn hash(name: &str) -> u64 {
    FxBuildHasher.hash_one(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_and_taken_names_refused_even_when_hashes_collide() {
        let named = ["a", "z"];
        let name_of = |i: usize| named[i];
        let mut index: NameIndex<usize> = NameIndex::default();
        assert_eq!(index.insert("a", 0, name_of), Ok(()));
        assert_eq!(index.insert("a", 5, name_of), Err(0));
        // a collision: z's hash filed to node 0, which is named "a"
        index.by_hash.insert(hash("z"), 0);
        assert_eq!(index.get("z", name_of), None);
        assert_eq!(index.insert("z", 1, name_of), Ok(()));
        assert_eq!(index.get("z", name_of), Some(1));
        assert_eq!(index.insert("z", 2, name_of), Err(1));
        assert_eq!(index.get("a", name_of), Some(0));
        assert_eq!(index.get("b", name_of), None);
    }
}
