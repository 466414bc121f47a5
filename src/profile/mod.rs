//! The static profile: every node of a graph costed under one framework, with costs attributed
//! along the full chain module path > op > sub-op > primitive.
//!
//! Ops run one after another, as the real frameworks run them, so total rounds are the sum
//! over ops; `critical_path_rounds` is what an ideal schedule running independent ops in
//! parallel would need. Lowerings are memoised per (op, operand shapes and visibilities), and
//! the attribution tree finds children by hash, so profiling is linear in the graph size.
//!
//! ```
//! use hawkeye_mpc::{cost, profile::Profile, zoo};
//! let graph = zoo::build("mlp", &Default::default()).unwrap().unwrap();
//! let model = cost::load_framework("spu-semi2k", &[]).unwrap();
//! let profile = Profile::new(&graph, &model).unwrap();
//! assert_eq!(profile.total.online_bits / 8.0, 1_943_888.0); // measured: SPU 0.9.5, spec a_mlp_b1
//! ```

mod attribution;
mod network;

pub use attribution::{AttributionNode, GroupBy};
pub use network::Network;

use crate::cost::{
    lower_op, Cost, CostKind, CostModel, CostModelError, CostNode, Lowered, PerParty,
};
use crate::graph::{Graph, NodeId, Op, Phase, ValueInfo};
use rustc_hash::{FxHashMap, FxHasher};
use serde::Serialize;
use smallvec::SmallVec;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProfileError {
    /// Ops the framework cannot cost (all of them, one line each).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    NoCost(Vec<CostModelError>),
}

/// A formula's failure names the first node it failed on and that node's attributes (a
/// refusal of `[unsupported]` is a sentence about the op already).
fn at_node(mut e: CostModelError, node: &crate::graph::Node) -> CostModelError {
    if !e.entry.starts_with("unsupported") {
        let attributes = serde_json::to_string(&node.op).unwrap_or_default();
        e.reason = format!(
            "{} (first at node '{}': {attributes}): this cost model does not cover that form of the op; `hawkeye compare MODEL` shows the frameworks that do",
            e.reason, node.name
        );
    }
    e
}

/// How one node was costed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "how")]
pub enum NodeCosting {
    /// Sources (inputs, parameters, constants): nothing to compute.
    Source,
    /// No secret operand: computed in plaintext.
    Plaintext,
    /// Computed locally on shares.
    Local,
    /// Its call chain under the framework.
    Chain { chain: Arc<CostNode> },
}

/// One costed node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeProfile {
    #[serde(skip)]
    pub id: NodeId,
    pub name: String,
    pub module: String,
    pub op: &'static str,
    pub phase: Phase,
    pub cost: Cost,
    #[serde(flatten)]
    pub costing: NodeCosting,
}

/// The cost of one module instance (a layer).
#[derive(Debug, Clone, Serialize)]
pub struct LayerProfile {
    pub path: String,
    /// The op that costs most in the module (the first one when all are free).
    pub op: &'static str,
    pub cost: Cost,
}

/// The cost of one module instance, its path borrowed ([`Profile::layer_costs`]).
#[derive(Debug, Clone)]
pub struct LayerCost<'a> {
    pub path: &'a str,
    /// The op that costs most in the module (the first one when all are free).
    pub op: &'static str,
    pub cost: Cost,
}

/// A graph's profile under one framework.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub model: String,
    pub framework: String,
    pub parties: usize,
    pub nodes: Vec<NodeProfile>,
    pub total: Cost,
    /// One-time setup (OT extension, HE keys) of the primitives used, apart from `total`.
    pub setup: Cost,
    /// Online rounds of an ideal schedule that runs independent ops in parallel.
    pub critical_path_rounds: f64,
}

impl Profile {
    /// Costs every node of `graph` under `model`.
    pub fn new(graph: &Graph, model: &CostModel) -> Result<Profile, ProfileError> {
        let parties = model.parties();
        let mut memo = LoweringMemo::default();
        // Each failure once, with the first node it failed on.
        let mut errors: Vec<(CostModelError, NodeId)> = Vec::new();
        let mut nodes = Vec::with_capacity(graph.len());
        let mut finish_rounds: Vec<f64> = vec![0.0; graph.len()];
        let mut total = Cost::zero(parties);
        let mut critical: f64 = 0.0;
        for id in graph.node_ids() {
            let node = graph.node(id);
            let input_ids = graph.input_ids(id);
            let inputs: SmallVec<[&ValueInfo; 4]> =
                input_ids.iter().map(|&i| &graph.node(i).value).collect();
            let costing = if node.op.is_source() {
                NodeCosting::Source
            } else {
                match memo.get_or_lower(model, &node.op, &inputs, &node.value) {
                    Ok(costing) => costing,
                    Err(e) => {
                        if !errors.iter().any(|(seen, _)| *seen == e) {
                            errors.push((e, id));
                        }
                        NodeCosting::Plaintext
                    }
                }
            };
            let cost = match &costing {
                NodeCosting::Chain { chain } => chain.cost.clone(),
                _ => Cost::zero(parties),
            };
            let start = input_ids
                .iter()
                .map(|i| finish_rounds[i.index()])
                .fold(0.0, f64::max);
            finish_rounds[id.index()] = start + cost.online_rounds;
            critical = critical.max(finish_rounds[id.index()]);
            total.add(&cost);
            nodes.push(NodeProfile {
                id,
                name: node.name.clone(),
                module: node.module.clone(),
                op: node.op.name(),
                phase: node.phase,
                cost,
                costing,
            });
        }
        if !errors.is_empty() {
            let named = errors.into_iter().map(|(e, id)| at_node(e, graph.node(id)));
            return Err(ProfileError::NoCost(named.collect()));
        }
        let setup = setup_cost(model, &nodes).map_err(|e| ProfileError::NoCost(vec![e]))?;
        Ok(Profile {
            model: graph.name.clone(),
            framework: model.framework.name.clone(),
            parties,
            nodes,
            total,
            setup,
            critical_path_rounds: critical,
        })
    }

    /// Module instances in execution order (first appearance), sources excluded.
    pub fn layers(&self) -> Vec<LayerProfile> {
        self.layer_costs()
            .into_iter()
            .map(|l| LayerProfile {
                path: l.path.to_string(),
                op: l.op,
                cost: l.cost,
            })
            .collect()
    }

    /// [`Profile::layers`] with the paths borrowed from the profile's nodes.
    pub fn layer_costs(&self) -> Vec<LayerCost<'_>> {
        let mut order: Vec<LayerCost> = Vec::new();
        let mut index: FxHashMap<&str, usize> = FxHashMap::default();
        let mut costliest: Vec<f64> = Vec::new();
        for n in self
            .nodes
            .iter()
            .filter(|n| !matches!(n.costing, NodeCosting::Source))
        {
            let i = *index.entry(n.module.as_str()).or_insert_with(|| {
                order.push(LayerCost {
                    path: &n.module,
                    op: n.op,
                    cost: Cost::zero(self.parties),
                });
                costliest.push(-1.0);
                order.len() - 1
            });
            order[i].cost.add(&n.cost);
            if n.cost.online_bits > costliest[i] {
                costliest[i] = n.cost.online_bits;
                order[i].op = n.op;
            }
        }
        order
    }

    /// Total cost per phase, in phase order (phases without nodes omitted).
    pub fn phases(&self) -> Vec<(Phase, Cost)> {
        let mut out: Vec<(Phase, Cost)> = Vec::new();
        for n in &self.nodes {
            match out.iter_mut().find(|(p, _)| *p == n.phase) {
                Some((_, c)) => c.add(&n.cost),
                None => out.push((n.phase, n.cost.clone())),
            }
        }
        out.sort_by_key(|(p, _)| *p);
        out
    }
}

/// Lowerings already made in one profile, by a structural hash of (op, operand values, output
/// value); entries with equal hashes are told apart by comparing the values themselves. A hit
/// shares the chain (`Arc`), it does not copy it.
#[derive(Default)]
struct LoweringMemo {
    entries: FxHashMap<u64, Vec<MemoEntry>>,
}

struct MemoEntry {
    op: Op,
    inputs: Vec<ValueInfo>,
    output: ValueInfo,
    costing: NodeCosting,
}

impl LoweringMemo {
    fn get_or_lower(
        &mut self,
        model: &CostModel,
        op: &Op,
        inputs: &[&ValueInfo],
        output: &ValueInfo,
    ) -> Result<NodeCosting, CostModelError> {
        let mut hasher = FxHasher::default();
        // Ops hold floats (no `Hash`): their debug form is hashed, written straight into the
        // hasher without building a string.
        let _ = write!(HashWriter(&mut hasher), "{op:?}");
        inputs.hash(&mut hasher);
        output.hash(&mut hasher);
        let bucket = self.entries.entry(hasher.finish()).or_default();
        let same = |e: &&MemoEntry| {
            e.op == *op && e.output == *output && e.inputs.iter().eq(inputs.iter().copied())
        };
        if let Some(hit) = bucket.iter().find(same) {
            return Ok(hit.costing.clone());
        }
        let costing = match lower_op(model, op, inputs, output)? {
            Lowered::Plaintext => NodeCosting::Plaintext,
            Lowered::Local => NodeCosting::Local,
            Lowered::Chain(chain) => NodeCosting::Chain {
                chain: Arc::new(chain),
            },
        };
        bucket.push(MemoEntry {
            op: op.clone(),
            inputs: inputs.iter().map(|&v| v.clone()).collect(),
            output: output.clone(),
            costing: costing.clone(),
        });
        Ok(costing)
    }
}

/// Feeds formatted text to a hasher.
struct HashWriter<'a>(&'a mut FxHasher);

impl std::fmt::Write for HashWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// The one-time setup of every primitive the profile uses.
fn setup_cost(model: &CostModel, nodes: &[NodeProfile]) -> Result<Cost, CostModelError> {
    fn used(node: &CostNode, names: &mut Vec<String>) {
        if node.kind == CostKind::Primitive && !names.contains(&node.label) {
            names.push(node.label.clone());
        }
        node.children.iter().for_each(|c| used(c, names));
    }
    let mut names = Vec::new();
    for n in nodes {
        if let NodeCosting::Chain { chain } = &n.costing {
            used(chain, &mut names);
        }
    }
    let mut total = Cost::zero(model.parties());
    let vars = model.base_vars();
    for s in &model.setup {
        if s.when_used
            .iter()
            .any(|&p| names.contains(&model.primitives[p].name))
        {
            let eval = |f: &crate::cost::Formula| {
                f.eval(&vars)
                    .map_err(|r| model.error(&format!("setup {}", s.label), r))
            };
            let bits = eval(&s.online_bits)?;
            total.add(&Cost {
                online_bits: bits,
                online_rounds: eval(&s.online_rounds)?,
                party_online_bits: PerParty::splat(bits / model.parties() as f64, model.parties()),
                ..Cost::default()
            });
        }
    }
    Ok(total)
}
