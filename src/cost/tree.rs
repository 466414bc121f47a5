//! Cost figures and the call-chain tree they are attributed along (op > sub-op > primitive).

use serde::Serialize;

/// Communication of one piece of work. Bits are totals over all parties; rounds are the
/// framework's own round count, summed over sequential work.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cost {
    pub online_bits: f64,
    pub online_rounds: f64,
    pub offline_bits: f64,
    pub offline_rounds: f64,
    /// Online bits sent by each party (sums to `online_bits`).
    pub party_online_bits: Vec<f64>,
}

impl Cost {
    /// The zero cost for `parties` parties.
    pub fn zero(parties: usize) -> Cost {
        Cost {
            party_online_bits: vec![0.0; parties],
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
