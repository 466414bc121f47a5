//! The tensor-graph IR: a DAG (on petgraph) of single-output op nodes, each with its inferred
//! value (shape, element kind, visibility), its module path and its phase.
//!
//! Graphs are append-only: a node can only name inputs that already exist, so the graph is
//! acyclic by construction and node order is a topological order. Every `add` runs shape
//! inference and visibility propagation, so a `Graph` is always well-shaped.
//!
//! ```
//! use hawkeye_mpc::graph::{Graph, Op, ValueInfo, ElemKind, Visibility};
//! let mut g = Graph::new("tiny");
//! let x = g.add_source("x", "", Op::Input, ValueInfo::new(vec![1, 4], ElemKind::Real, Visibility::Secret)).unwrap();
//! let w = g.add_source("fc.weight", "fc", Op::Parameter { role: Default::default() },
//!                      ValueInfo::new(vec![2, 4], ElemKind::Real, Visibility::Public)).unwrap();
//! let y = g.add("fc", "fc", Op::Linear, &[x, w]).unwrap();
//! g.set_outputs(vec![y]);
//! assert_eq!(g.node(y).value.shape, vec![1, 2]);
//! assert_eq!(g.node(y).value.visibility, Visibility::Secret);
//! ```

mod error;
mod names;
mod op;
mod shape;
mod value;
mod weights;

pub use error::GraphError;
pub use op::{ConstValue, NormForm, Op, ParamRole};
pub use shape::{broadcast, normalize_axis, slice_bounds};
pub use value::{
    check_elements, checked_numel, numel, shape_string, ElemKind, Phase, Shape, ValueInfo,
    Visibility, MAX_ELEMENTS,
};
pub use weights::WeightData;

use names::NameIndex;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use smallvec::SmallVec;
use std::collections::HashMap;

/// Index of a node in its graph.
pub type NodeId = NodeIndex<u32>;

/// One op application and the value it produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Unique name within the graph (ONNX node / initializer name, PyTorch parameter name).
    pub name: String,
    /// Dotted module path of the PyTorch module instance the node belongs to
    /// (`layer3.1.conv2`; empty for the top level).
    pub module: String,
    pub op: Op,
    pub value: ValueInfo,
    pub phase: Phase,
}

/// A model graph: nodes in topological order plus the list of graph outputs.
#[derive(Debug, Clone)]
pub struct Graph {
    pub name: String,
    dag: DiGraph<Node, usize>,
    outputs: Vec<NodeId>,
    by_name: NameIndex<NodeId>,
    /// Phase given to nodes added from now on.
    current_phase: Phase,
    /// Stored values of parameters, by parameter node name (only for graphs imported from
    /// files that carry weights; see [`WeightData`]). Not part of graph equality.
    weights: HashMap<String, WeightData>,
    /// The names the outputs have in the model file the graph came from (ONNX graph output
    /// names), in output order; empty when the file named nothing beyond the nodes.
    output_names: Vec<String>,
}

impl Graph {
    pub fn new(name: impl Into<String>) -> Self {
        Graph {
            name: name.into(),
            dag: DiGraph::new(),
            outputs: Vec::new(),
            by_name: NameIndex::default(),
            current_phase: Phase::Forward,
            weights: HashMap::new(),
            output_names: Vec::new(),
        }
    }

    /// Makes room for `nodes` more nodes and `edges` more input edges (a graph read from a
    /// file, whose size is known, then grows without copying its nodes).
    pub fn reserve(&mut self, nodes: usize, edges: usize) {
        self.dag.reserve_nodes(nodes);
        self.dag.reserve_edges(edges);
        self.by_name.reserve(nodes);
    }

    /// The phase given to nodes added from now on.
    pub fn phase(&self) -> Phase {
        self.current_phase
    }

    /// Records where the values of parameter `name` are stored.
    pub fn set_weight(&mut self, name: impl Into<String>, data: WeightData) {
        self.weights.insert(name.into(), data);
    }

    /// The stored values of parameter `name`, if the graph carries them.
    pub fn weight(&self, name: &str) -> Option<&WeightData> {
        self.weights.get(name)
    }

    /// All stored parameter values, by parameter name.
    pub fn weights(&self) -> &HashMap<String, WeightData> {
        &self.weights
    }

    /// Sets the phase of nodes added from now on (autograd and optimizer builders).
    pub fn set_phase(&mut self, phase: Phase) {
        self.current_phase = phase;
    }

    /// Adds a source node (input, parameter, constant) with its declared value.
    pub fn add_source(
        &mut self,
        name: impl Into<String>,
        module: impl Into<String>,
        op: Op,
        value: ValueInfo,
    ) -> Result<NodeId, GraphError> {
        let (name, module) = (name.into(), module.into());
        let fail = |reason: String| GraphError::node(&name, &module, reason);
        check_elements(&value.shape).map_err(fail)?;
        if !op.is_source() {
            return Err(fail(format!("op '{}' needs inputs", op.name())));
        }
        if let Op::Constant {
            value: ConstValue::Data(data),
        } = &op
        {
            if data.len() != value.numel() {
                return Err(fail(format!(
                    "constant has {} values but shape {} holds {}",
                    data.len(),
                    shape_string(&value.shape),
                    value.numel()
                )));
            }
        }
        if let Op::Constant {
            value: ConstValue::CausalMask(_),
        } = &op
        {
            if value.shape.len() < 2 {
                return Err(fail("a causal mask needs rank 2 or more".to_string()));
            }
        }
        if value.shape.contains(&0) {
            return Err(fail(format!(
                "shape {} has a zero dim",
                shape_string(&value.shape)
            )));
        }
        self.insert(name, module, op, value, &[])
    }

    /// Adds an op node over existing nodes, inferring its value.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        module: impl Into<String>,
        op: Op,
        inputs: &[NodeId],
    ) -> Result<NodeId, GraphError> {
        let (name, module) = (name.into(), module.into());
        let value = self
            .infer(&op, inputs)
            .map_err(|reason| GraphError::node(&name, &module, reason))?;
        self.insert(name, module, op, value, inputs)
    }

    /// The value `op` would produce over `inputs`, or why it cannot be applied.
    pub fn infer(&self, op: &Op, inputs: &[NodeId]) -> Result<ValueInfo, String> {
        let values: SmallVec<[&ValueInfo; 4]> =
            inputs.iter().map(|&i| &self.dag[i].value).collect();
        infer_value(op, &values)
    }

    fn insert(
        &mut self,
        name: String,
        module: String,
        op: Op,
        value: ValueInfo,
        inputs: &[NodeId],
    ) -> Result<NodeId, GraphError> {
        let id = NodeId::new(self.dag.node_count());
        let dag = &self.dag;
        if self.by_name.insert(&name, id, |n| &dag[n].name).is_err() {
            return Err(GraphError::node(
                &name,
                &module,
                "a node with this name already exists".to_string(),
            ));
        }
        let added = self.dag.add_node(Node {
            name,
            module,
            op,
            value,
            phase: self.current_phase,
        });
        debug_assert_eq!(added, id, "nodes are appended");
        for (slot, &input) in inputs.iter().enumerate() {
            self.dag.add_edge(input, id, slot);
        }
        Ok(id)
    }

    /// A name not yet used in the graph, built from `base` (`base`, `base_1`, `base_2`, ...).
    pub fn fresh_name(&self, base: &str) -> String {
        if self.find(base).is_none() {
            return base.to_string();
        }
        (1..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| self.find(n).is_none())
            .expect("unbounded")
    }

    pub fn set_outputs(&mut self, outputs: Vec<NodeId>) {
        self.outputs = outputs;
    }

    /// Records the names the outputs take in a written model file (one per output, in
    /// order), as the file the graph came from named them.
    pub fn set_output_names(&mut self, names: Vec<String>) {
        self.output_names = names;
    }

    /// The recorded file names of the outputs (empty when none were recorded).
    pub fn output_names(&self) -> &[String] {
        &self.output_names
    }

    pub fn outputs(&self) -> &[NodeId] {
        &self.outputs
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.dag[id]
    }

    /// Moves node `id` into module `module` (a dotted path; empty for the top level).
    pub fn set_module(&mut self, id: NodeId, module: impl Into<String>) {
        self.dag[id].module = module.into();
    }

    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name, |n| &self.dag[n].name)
    }

    pub fn len(&self) -> usize {
        self.dag.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.dag.node_count() == 0
    }

    /// Node ids in topological (insertion) order.
    pub fn node_ids(&self) -> impl DoubleEndedIterator<Item = NodeId> + ExactSizeIterator {
        self.dag.node_indices()
    }

    /// The inputs of a node, in operand order.
    pub fn inputs(&self, id: NodeId) -> Vec<NodeId> {
        self.input_ids(id).into_vec()
    }

    /// The inputs of a node, in operand order, held inline for up to four (no allocation for
    /// almost every op).
    pub fn input_ids(&self, id: NodeId) -> SmallVec<[NodeId; 4]> {
        let mut edges: SmallVec<[(usize, NodeId); 4]> = self
            .dag
            .edges_directed(id, Direction::Incoming)
            .map(|e| (*e.weight(), e.source()))
            .collect();
        edges.sort_unstable();
        edges.into_iter().map(|(_, n)| n).collect()
    }

    /// The nodes that read a node's value (each once).
    pub fn users(&self, id: NodeId) -> Vec<NodeId> {
        let mut users: Vec<NodeId> = self
            .dag
            .neighbors_directed(id, Direction::Outgoing)
            .collect();
        users.sort_unstable();
        users.dedup();
        users
    }

    /// Values of a node's inputs, in operand order.
    pub fn input_values(&self, id: NodeId) -> Vec<&ValueInfo> {
        self.inputs(id)
            .into_iter()
            .map(|i| &self.dag[i].value)
            .collect()
    }

    /// The underlying petgraph DAG (edge weight = operand slot), for graph algorithms.
    pub fn dag(&self) -> &DiGraph<Node, usize> {
        &self.dag
    }

    /// Trainable parameter count (PyTorch's `sum(p.numel() for p in model.parameters())`).
    pub fn parameter_count(&self) -> u64 {
        self.dag
            .node_weights()
            .filter(|n| matches!(n.op, Op::Parameter { role } if role.is_trainable()))
            .map(|n| n.value.numel() as u64)
            .sum()
    }

    /// Multiply-accumulate count of the forward pass (conv, linear, matmul).
    pub fn mac_count(&self) -> u128 {
        self.node_ids()
            .filter(|&id| self.dag[id].phase.is_forward())
            .map(|id| {
                let ins: Vec<&[usize]> = self
                    .input_values(id)
                    .into_iter()
                    .map(|v| v.shape.as_slice())
                    .collect();
                self.dag[id].op.macs(&ins, &self.dag[id].value.shape)
            })
            .sum()
    }

    /// A copy in which every parameter has the given visibility, with visibility propagated
    /// again through the graph (`--weights secret|public|server`).
    pub fn with_parameter_visibility(&self, visibility: Visibility) -> Graph {
        let mut g = self.clone();
        g.set_parameter_visibility(visibility);
        g
    }

    /// Gives every parameter `visibility` and propagates it, in place (see
    /// [`Graph::with_parameter_visibility`]).
    pub fn set_parameter_visibility(&mut self, visibility: Visibility) {
        for id in self.dag.node_indices() {
            let vis = if matches!(self.dag[id].op, Op::Parameter { .. }) {
                visibility
            } else if self.dag[id].op.is_source() {
                self.dag[id].value.visibility
            } else {
                Visibility::combine(
                    self.dag
                        .edges_directed(id, Direction::Incoming)
                        .map(|e| self.dag[e.source()].value.visibility),
                )
            };
            self.dag[id].value.visibility = vis;
        }
    }
}

/// The value `op` produces over operands of the given values (shape inference and visibility
/// propagation), or why it cannot be applied. Sources declare their values and are rejected.
pub fn infer_value(op: &Op, inputs: &[&ValueInfo]) -> Result<ValueInfo, String> {
    if op.is_source() {
        return Err(format!(
            "op '{}' declares its value and takes no inputs",
            op.name()
        ));
    }
    let (lo, hi) = op.arity();
    if inputs.len() < lo || inputs.len() > hi {
        let expected = match (lo, hi) {
            (l, h) if l == h => format!("{l}"),
            (l, usize::MAX) => format!("at least {l}"),
            (l, h) => format!("{l} to {h}"),
        };
        return Err(format!(
            "op '{}' takes {expected} inputs, got {}",
            op.name(),
            inputs.len()
        ));
    }
    let (shape, kind) = shape::infer(op, inputs)?;
    check_elements(&shape)?;
    let visibility = Visibility::combine(inputs.iter().map(|v| v.visibility));
    Ok(ValueInfo::new(shape, kind, visibility))
}

/// Structural equality: same name, nodes (with inputs in order) and outputs. Stored weight
/// values are not compared.
impl PartialEq for Graph {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.outputs == other.outputs
            && self.len() == other.len()
            && self
                .node_ids()
                .zip(other.node_ids())
                .all(|(a, b)| self.dag[a] == other.dag[b] && self.inputs(a) == other.inputs(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(shape: Vec<usize>) -> ValueInfo {
        ValueInfo::new(shape, ElemKind::Real, Visibility::Secret)
    }
    fn public(shape: Vec<usize>) -> ValueInfo {
        ValueInfo::new(shape, ElemKind::Real, Visibility::Public)
    }

    #[test]
    fn visibility_propagates_from_inputs() {
        let mut g = Graph::new("t");
        let w = g
            .add_source(
                "w",
                "",
                Op::Parameter {
                    role: ParamRole::Weight,
                },
                public(vec![3, 3]),
            )
            .unwrap();
        let c = g
            .add_source(
                "c",
                "",
                Op::Constant {
                    value: ConstValue::Fill(2.0),
                },
                public(vec![]),
            )
            .unwrap();
        let x = g
            .add_source("x", "", Op::Input, secret(vec![3, 3]))
            .unwrap();
        let pw = g.add("pw", "", Op::Mul, &[w, c]).unwrap();
        assert_eq!(g.node(pw).value.visibility, Visibility::Public);
        let y = g.add("y", "", Op::MatMul, &[x, pw]).unwrap();
        assert_eq!(g.node(y).value.visibility, Visibility::Secret);
        let served = g.with_parameter_visibility(Visibility::Server);
        assert_eq!(served.node(pw).value.visibility, Visibility::Server);
        assert_eq!(served.node(y).value.visibility, Visibility::Secret);
    }

    #[test]
    fn shape_errors_name_the_node() {
        let mut g = Graph::new("t");
        let x = g
            .add_source("x", "", Op::Input, secret(vec![2, 3]))
            .unwrap();
        let w = g
            .add_source(
                "fc.weight",
                "fc",
                Op::Parameter {
                    role: ParamRole::Weight,
                },
                secret(vec![4, 5]),
            )
            .unwrap();
        let err = g
            .add("fc", "fc", Op::Linear, &[x, w])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "node 'fc' (module fc): linear weight 4x5 expects 5 input features, input 2x3 has 3"
        );
        let err = g.add("r", "", Op::Relu, &[x, w]).unwrap_err().to_string();
        assert_eq!(err, "node 'r': op 'relu' takes 1 inputs, got 2");
    }
}
