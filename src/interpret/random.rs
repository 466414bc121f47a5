//! Deterministic random bindings: every input and parameter of a graph drawn from a seed.
//!
//! Each node has its own PCG-64 stream, seeded from the seed and the node's name, so a value
//! depends only on (seed, name, shape, how the node is used): adding or removing other nodes
//! leaves it unchanged.
//!
//! What is drawn, by how the node is used:
//! - real inputs: U(-1, 1); the target of a `cross_entropy`: one-hot rows;
//! - integer inputs (token ids): uniform over `0..n`, where `n` is the size of the indexed
//!   axis of the table of the `gather` that reads them (followed through reshapes, slices and
//!   the like; the smallest when several), 10 when no gather reads them;
//! - weights of `linear`, `conv2d` and `mat_mul`, and their biases (also a bias added to a
//!   `mat_mul`, as HF's `Conv1D`): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default
//!   initialisation (`kaiming_uniform_(a=sqrt(5))`);
//! - embedding tables (`gather` data): N(0, 1), as `nn.Embedding`;
//! - normalization scales and running variances: U(0.5, 1.5) (positive); normalization
//!   shifts and running means: U(-0.5, 0.5);
//! - a parameter read by a function defined only on positive numbers (`sqrt`, `rsqrt`,
//!   `log`; directly or through reshapes, slices and the like): U(0.5, 1.5), as a variance, so that a placeholder never makes the model's own
//!   weight arithmetic undefined;
//! - any other parameter: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with PyTorch's fan-in
//!   (`shape[1] * prod(shape[2..])`) for rank 2 and more, U(-0.1, 0.1) for a bias, U(-1, 1)
//!   otherwise.

use super::bindings::Bindings;
use super::tensor::Tensor;
use crate::graph::{normalize_axis, numel, ElemKind, Graph, NodeId, Op, ParamRole, WeightData};
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, RngExt, SeedableRng};
use rand_pcg::Pcg64;

/// A distribution to draw a node's elements from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Draw {
    Uniform {
        low: f64,
        high: f64,
    },
    Normal {
        std: f64,
    },
    /// One-hot rows over the last dim.
    OneHot,
    /// Whole numbers in `0..n`.
    Integers {
        n: u64,
    },
}

impl Draw {
    fn symmetric(bound: f64) -> Draw {
        Draw::Uniform {
            low: -bound,
            high: bound,
        }
    }

    fn fan_in(fan_in: usize) -> Draw {
        Draw::symmetric(1.0 / (fan_in.max(1) as f64).sqrt())
    }
}

impl Bindings {
    /// Values for every input and parameter of `graph`, drawn deterministically from `seed`
    /// (see the module documentation for the distributions).
    pub fn random(graph: &Graph, seed: u64) -> Bindings {
        let mut bindings = Bindings::new();
        for id in graph.node_ids() {
            let node = graph.node(id);
            if matches!(node.op, Op::Input | Op::Parameter { .. }) {
                bindings.insert(node.name.clone(), random_tensor(graph, id, seed));
            }
        }
        bindings
    }
}

/// The random value of one source node for `seed`.
pub fn random_tensor(graph: &Graph, id: NodeId, seed: u64) -> Tensor {
    let node = graph.node(id);
    let shape = &node.value.shape;
    let data = draw_values(draw_for(graph, id), stream(seed, &node.name), shape);
    let array = ArrayD::from_shape_vec(IxDyn(shape), data).expect("numel matches the shape");
    Tensor::from_array(array, node.value.kind)
}

/// The PCG-64 stream of node `name` for `seed`.
fn stream(seed: u64, name: &str) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ fnv1a(name)
}

/// The seed of placeholder weights: a parameter without stored values gets what
/// [`Bindings::random`] would draw for it with this seed.
pub const PLACEHOLDER_SEED: u64 = 0x005E_ED0F_4A7E;

/// The placeholder of parameter `id` of `graph` (which must not have stored values): the
/// values [`Bindings::random`] draws for it with [`PLACEHOLDER_SEED`], as PyTorch initialises
/// a parameter used this way, rounded to float32.
pub fn placeholder(graph: &Graph, id: NodeId) -> WeightData {
    let node = graph.node(id);
    WeightData::Placeholder {
        draw: draw_for(graph, id),
        stream: stream(PLACEHOLDER_SEED, &node.name),
        shape: node.value.shape.clone(),
    }
}

/// A copy of `graph` in which every parameter without stored values has its placeholder
/// ([`placeholder`]), fixed while the parameter is still used as the model uses it.
pub fn with_placeholders(graph: &Graph) -> Graph {
    let mut g = graph.clone();
    for id in graph.node_ids() {
        let node = graph.node(id);
        if matches!(node.op, Op::Parameter { .. }) && graph.weight(&node.name).is_none() {
            g.set_weight(node.name.clone(), placeholder(graph, id));
        }
    }
    g
}

/// Values of shape `shape` drawn from `draw` by the PCG-64 stream `stream`, in row-major
/// order.
pub fn draw_values(draw: Draw, stream: u64, shape: &[usize]) -> Vec<f64> {
    let mut rng = Pcg64::seed_from_u64(stream);
    let n = numel(shape);
    match draw {
        Draw::Uniform { low, high } => (0..n)
            .map(|_| low + (high - low) * unit(&mut rng))
            .collect(),
        Draw::Normal { std } => (0..n).map(|_| std * normal(&mut rng)).collect(),
        Draw::Integers { n: hi } => (0..n)
            .map(|_| rng.random_range(0..hi.max(1)) as f64)
            .collect(),
        Draw::OneHot => {
            let classes = shape.last().copied().unwrap_or(1).max(1);
            let mut d = vec![0.0; n];
            for row in d.chunks_mut(classes) {
                row[rng.random_range(0..classes)] = 1.0;
            }
            d
        }
    }
}

/// How the value of source node `id` is drawn.
pub fn draw_for(graph: &Graph, id: NodeId) -> Draw {
    let node = graph.node(id);
    let uses = uses(graph, id);
    match node.op {
        Op::Input if node.value.kind == ElemKind::Int => Draw::Integers {
            n: vocabulary(graph, id).unwrap_or(10),
        },
        Op::Input => {
            if uses
                .iter()
                .any(|&(u, slot)| slot == 1 && matches!(graph.node(u).op, Op::CrossEntropy))
            {
                Draw::OneHot
            } else {
                Draw::symmetric(1.0)
            }
        }
        Op::Parameter { role } => parameter_draw(graph, id, role, &uses),
        _ => Draw::symmetric(1.0),
    }
}

fn parameter_draw(graph: &Graph, id: NodeId, role: ParamRole, uses: &[(NodeId, usize)]) -> Draw {
    let shape = &graph.node(id).value.shape;
    match role {
        ParamRole::RunningMean => return Draw::symmetric(0.5),
        ParamRole::RunningVar => {
            return Draw::Uniform {
                low: 0.5,
                high: 1.5,
            }
        }
        _ => {}
    }
    if uses
        .iter()
        .any(|&(u, slot)| slot == 0 && matches!(graph.node(u).op, Op::Gather { .. }))
    {
        return Draw::Normal { std: 1.0 };
    }
    if read_as_positive(graph, id) {
        return Draw::Uniform {
            low: 0.5,
            high: 1.5,
        };
    }
    let weight_fan_in = |w: NodeId| conv_fan_in(&graph.node(w).value.shape);
    for &(u, slot) in uses {
        let user = graph.node(u);
        let draw = match (&user.op, slot) {
            (Op::Linear | Op::Conv2d { .. }, 1) => Some(Draw::fan_in(conv_fan_in(shape))),
            (Op::Linear | Op::Conv2d { .. }, 2) => {
                Some(Draw::fan_in(weight_fan_in(graph.inputs(u)[1])))
            }
            (Op::MatMul, 0) => Some(Draw::fan_in(*shape.last().unwrap_or(&1))),
            (Op::MatMul, 1) => Some(Draw::fan_in(if shape.len() >= 2 {
                shape[shape.len() - 2]
            } else {
                shape[0]
            })),
            (Op::BatchNorm { .. } | Op::LayerNorm { .. }, 1) => Some(Draw::Uniform {
                low: 0.5,
                high: 1.5,
            }),
            (Op::BatchNorm { .. } | Op::LayerNorm { .. }, 2) => Some(Draw::symmetric(0.5)),
            (Op::BatchNorm { .. }, 3) => Some(Draw::symmetric(0.5)),
            (Op::BatchNorm { .. }, 4) => Some(Draw::Uniform {
                low: 0.5,
                high: 1.5,
            }),
            (Op::Add, s) if s < 2 => {
                // A bias added to `x @ W` (HF Conv1D): W's fan-in.
                let other = graph.inputs(u)[1 - s];
                match graph.node(other).op {
                    Op::MatMul => {
                        let w = &graph.node(graph.inputs(other)[1]).value.shape;
                        (w.len() >= 2).then(|| Draw::fan_in(w[w.len() - 2]))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(draw) = draw {
            return draw;
        }
    }
    if shape.len() >= 2 {
        Draw::fan_in(conv_fan_in(shape))
    } else if role == ParamRole::Bias {
        Draw::symmetric(0.1)
    } else {
        Draw::symmetric(1.0)
    }
}

/// PyTorch's fan-in of a weight: `shape[1] * prod(shape[2..])` (`shape[0]` for rank 1).
fn conv_fan_in(shape: &[usize]) -> usize {
    match shape.len() {
        0 => 1,
        1 => shape[0],
        _ => numel(&shape[1..]),
    }
}

/// The (user, operand slot) pairs that read node `id`.
fn uses(graph: &Graph, id: NodeId) -> Vec<(NodeId, usize)> {
    graph
        .users(id)
        .into_iter()
        .flat_map(|u| {
            graph
                .inputs(u)
                .into_iter()
                .enumerate()
                .filter(move |&(_, i)| i == id)
                .map(move |(slot, _)| (u, slot))
        })
        .collect()
}

/// The smallest size of a table axis indexed by `id`'s values, following the values through
/// ops that move them without changing them.
fn vocabulary(graph: &Graph, id: NodeId) -> Option<u64> {
    layout_readers(graph, id)
        .into_iter()
        .filter_map(|(u, slot)| match graph.node(u).op {
            Op::Gather { axis } if slot == 1 => {
                let data = &graph.node(graph.inputs(u)[0]).value.shape;
                normalize_axis(axis, data.len())
                    .ok()
                    .map(|a| data[a] as u64)
            }
            _ => None,
        })
        .min()
}

/// Whether the value of `id` reaches a function defined only on positive numbers (`sqrt`,
/// `rsqrt`, `log`), directly or through ops that only move its elements.
fn read_as_positive(graph: &Graph, id: NodeId) -> bool {
    layout_readers(graph, id)
        .into_iter()
        .any(|(u, slot)| slot == 0 && matches!(graph.node(u).op, Op::Sqrt | Op::Rsqrt | Op::Log))
}

/// The (user, operand slot) pairs that read the elements of `id`, followed through ops that
/// only move elements (reshapes, slices, expands and the like); those ops are not listed.
fn layout_readers(graph: &Graph, id: NodeId) -> Vec<(NodeId, usize)> {
    let mut readers = Vec::new();
    let mut stack = vec![id];
    let mut seen = std::collections::HashSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        for (u, slot) in uses(graph, n) {
            if graph.node(u).op.moves_elements_only() {
                stack.push(u);
            } else {
                readers.push((u, slot));
            }
        }
    }
    readers
}

/// FNV-1a hash of a name (stable across platforms and Rust versions).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Uniform in [0, 1) with 53 random bits.
fn unit(rng: &mut Pcg64) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Standard normal by the Box-Muller transform.
fn normal(rng: &mut Pcg64) -> f64 {
    let u1 = 1.0 - unit(rng);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
