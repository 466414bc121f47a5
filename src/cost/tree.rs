//! Cost figures and the call-chain tree they are attributed along (op > sub-op > primitive).

use serde::{Serialize, Serializer};
use smallvec::SmallVec;
use std::ops::{Deref, DerefMut};

/// Parties whose figures a [`PerParty`] holds without a heap allocation (every built-in
/// framework has 2 or 3); more spill to the heap.
const INLINE_PARTIES: usize = 3;

/// One figure per party, held inline for up to [`INLINE_PARTIES`] parties, so that a [`Cost`]
/// (one per graph node, per call-chain node and per attribution-tree node) costs no allocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerParty(SmallVec<[f64; INLINE_PARTIES]>);

impl PerParty {
    /// `value` for each of `parties` parties.
    pub fn splat(value: f64, parties: usize) -> PerParty {
        PerParty(SmallVec::from_elem(value, parties))
    }
}

impl Deref for PerParty {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &self.0
    }
}

impl DerefMut for PerParty {
    fn deref_mut(&mut self) -> &mut [f64] {
        &mut self.0
    }
}

impl<'a> IntoIterator for &'a PerParty {
    type Item = &'a f64;
    type IntoIter = std::slice::Iter<'a, f64>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<f64> for PerParty {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Self {
        PerParty(iter.into_iter().collect())
    }
}

impl From<Vec<f64>> for PerParty {
    fn from(v: Vec<f64>) -> Self {
        PerParty(SmallVec::from_vec(v))
    }
}

impl PartialEq<Vec<f64>> for PerParty {
    fn eq(&self, other: &Vec<f64>) -> bool {
        self[..] == other[..]
    }
}

impl Serialize for PerParty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self[..].serialize(s)
    }
}

/// Communication of one piece of work. Bits are totals over all parties; rounds are the
/// framework's own round count, summed over sequential work.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cost {
    pub online_bits: f64,
    pub online_rounds: f64,
    pub offline_bits: f64,
    pub offline_rounds: f64,
    /// Online bits sent by each party (sums to `online_bits`).
    pub party_online_bits: PerParty,
}

impl Cost {
    /// The zero cost for `parties` parties.
    pub fn zero(parties: usize) -> Cost {
        Cost {
            party_online_bits: PerParty::splat(0.0, parties),
            ..Cost::default()
        }
    }

    /// Adds sequential work.
    pub fn add(&mut self, other: &Cost) {
        self.online_bits += other.online_bits;
        self.online_rounds += other.online_rounds;
        self.offline_bits += other.offline_bits;
        self.offline_rounds += other.offline_rounds;
        if self.party_online_bits.len() < other.party_online_bits.len() {
            self.party_online_bits
                .0
                .resize(other.party_online_bits.len(), 0.0);
        }
        for (a, b) in self
            .party_online_bits
            .iter_mut()
            .zip(&other.party_online_bits)
        {
            *a += b;
        }
    }

    /// `times` sequential repetitions; rounds are further multiplied by `levels` (a batched
    /// call spread over the levels of a tree).
    pub fn scaled(&self, times: f64, levels: f64) -> Cost {
        Cost {
            online_bits: self.online_bits * times,
            online_rounds: self.online_rounds * times * levels,
            offline_bits: self.offline_bits * times,
            offline_rounds: self.offline_rounds * times * levels,
            party_online_bits: self.party_online_bits.iter().map(|b| b * times).collect(),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.online_bits == 0.0
            && self.online_rounds == 0.0
            && self.offline_bits == 0.0
            && self.offline_rounds == 0.0
    }
}

/// What a node of the call chain is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CostKind {
    /// An IR op (the root of a node's chain).
    Op,
    /// A sub-op (a function of the cost model).
    SubOp,
    /// A protocol primitive (a leaf).
    Primitive,
}

/// A node of the call chain with the total cost of its subtree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostNode {
    pub label: String,
    pub kind: CostKind,
    /// How many times it runs (sequentially) at this place of the chain.
    pub calls: f64,
    pub cost: Cost,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<CostNode>,
}

impl CostNode {
    /// A node whose cost is the sum of its children's.
    pub fn with_children(
        label: String,
        kind: CostKind,
        parties: usize,
        children: Vec<CostNode>,
    ) -> CostNode {
        let mut cost = Cost::zero(parties);
        for c in &children {
            cost.add(&c.cost);
        }
        CostNode {
            label,
            kind,
            calls: 1.0,
            cost,
            children,
        }
    }
}
