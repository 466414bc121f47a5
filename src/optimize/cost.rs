//! The cost of e-nodes: what the profiler's lowering charges for one application under the
//! chosen framework, with the shapes and visibilities of the e-classes involved, reduced to one
//! number by the objective. Lowerings are memoised per (op, operand values, output value).

use super::analysis::{node_op, operand_values, EGraph};
use super::language::{TensorNode, TensorOp};
use crate::cost::{lower_op, Cost, CostModel, CostModelError, Lowered};
use crate::profile::Network;
use egg::Id;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// What the optimizer minimises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Online time on a network: rounds x RTT + bits / bandwidth.
    Time(Network),
    /// Online bits.
    OnlineBits,
    /// Online rounds.
    Rounds,
    /// Online plus offline bits.
    TotalBits,
}

impl Objective {
    /// The objective's value of a cost.
    pub fn of(&self, c: &Cost) -> f64 {
        match self {
            Objective::Time(n) => n.online_seconds(c),
            Objective::OnlineBits => c.online_bits,
            Objective::Rounds => c.online_rounds,
            Objective::TotalBits => c.online_bits + c.offline_bits,
        }
    }

    /// The unit of [`Objective::of`].
    pub fn unit(&self) -> &'static str {
        match self {
            Objective::Time(_) => "s",
            Objective::OnlineBits | Objective::TotalBits => "bits",
            Objective::Rounds => "rounds",
        }
    }

    /// The objective's name as the command line takes it.
    pub fn name(&self) -> &'static str {
        match self {
            Objective::Time(_) => "time",
            Objective::OnlineBits => "online-bits",
            Objective::Rounds => "rounds",
            Objective::TotalBits => "total-bits",
        }
    }

    /// Parses `time`, `online-bits`, `rounds` or `total-bits` (`time` on `network`).
    pub fn parse(name: &str, network: Network) -> Result<Objective, String> {
        Ok(match name {
            "time" => Objective::Time(network),
            "online-bits" => Objective::OnlineBits,
            "rounds" => Objective::Rounds,
            "total-bits" => Objective::TotalBits,
            other => {
                return Err(format!(
                    "objective '{other}' is not time, online-bits, rounds or total-bits"
                ))
            }
        })
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Objective::Time(n) => write!(f, "online time on {n}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Objective {
    type Err = String;
    /// Parses an objective; `time` is on the LAN (use [`Objective::parse`] for another network).
    fn from_str(s: &str) -> Result<Objective, String> {
        Objective::parse(s, Network::LAN)
    }
}

/// The cost of every e-node of an e-graph: `costs[class][i]` for the i-th e-node of the class,
/// `f64::INFINITY` when the framework cannot run it.
#[derive(Debug, Clone)]
pub struct NodeCosts {
    costs: HashMap<Id, Vec<f64>>,
    /// Why some e-nodes cannot be costed (first few distinct reasons).
    pub uncostable: Vec<CostModelError>,
}

impl NodeCosts {
    /// Costs every e-node.
    pub fn new(egraph: &EGraph, model: &CostModel, objective: Objective) -> NodeCosts {
        let mut memo: HashMap<String, Option<f64>> = HashMap::new();
        let mut uncostable: Vec<CostModelError> = Vec::new();
        let mut costs = HashMap::with_capacity(egraph.number_of_classes());
        for class in egraph.classes() {
            let row = class
                .nodes
                .iter()
                .map(|n| {
                    node_cost(
                        egraph,
                        class.id,
                        n,
                        model,
                        objective,
                        &mut memo,
                        &mut uncostable,
                    )
                })
                .collect();
            costs.insert(class.id, row);
        }
        NodeCosts { costs, uncostable }
    }

    /// The costs of the e-nodes of a (canonical) e-class, in the e-class's node order.
    pub fn of(&self, class: Id) -> &[f64] {
        &self.costs[&class]
    }

    /// Makes the `i`-th e-node of a (canonical) e-class unchoosable (infinite cost).
    pub fn exclude(&mut self, class: Id, i: usize) {
        if let Some(c) = self.costs.get_mut(&class).and_then(|row| row.get_mut(i)) {
            *c = f64::INFINITY;
        }
    }
}

fn node_cost(
    egraph: &EGraph,
    class: Id,
    node: &TensorNode,
    model: &CostModel,
    objective: Objective,
    memo: &mut HashMap<String, Option<f64>>,
    uncostable: &mut Vec<CostModelError>,
) -> f64 {
    match node.op {
        TensorOp::Apply(_) => {}
        _ => return 0.0,
    }
    let (Some(op), Some(inputs), Some(output)) = (
        node_op(egraph, node),
        operand_values(egraph, node),
        egraph[class].data.value.as_ref(),
    ) else {
        return f64::INFINITY;
    };
    let key = format!("{op:?}|{inputs:?}|{output:?}");
    if let Some(c) = memo.get(&key) {
        return c.unwrap_or(f64::INFINITY);
    }
    let cost = match op_cost(model, &op, &inputs, output, objective) {
        Ok(c) => Some(c),
        Err(e) => {
            if uncostable.len() < 8 && !uncostable.contains(&e) {
                uncostable.push(e);
            }
            None
        }
    };
    memo.insert(key, cost);
    cost.unwrap_or(f64::INFINITY)
}

/// The objective's value of one application of `op` (0 for plaintext and local ops).
pub fn op_cost(
    model: &CostModel,
    op: &crate::graph::Op,
    inputs: &[&crate::graph::ValueInfo],
    output: &crate::graph::ValueInfo,
    objective: Objective,
) -> Result<f64, CostModelError> {
    Ok(match lower_op(model, op, inputs, output)? {
        Lowered::Plaintext | Lowered::Local => 0.0,
        Lowered::Chain(chain) => objective.of(&chain.cost),
    })
}
