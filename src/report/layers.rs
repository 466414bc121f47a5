//! The per-layer table (`hawkeye profile --format layers|layers-csv`), like torchinfo's
//! summary: one row per module instance in execution order with its type, output shape,
//! parameters, online communication, rounds, share and dominant primitive.

use super::numbers::{Rounds, Units};
use super::percent;
use crate::cost::{Cost, CostKind, CostNode};
use crate::graph::{shape_string, Graph, NodeId, Op};
use crate::profile::{NodeCosting, Profile};
use rustc_hash::{FxHashMap, FxHashSet};
use std::fmt::Write;

/// One module instance.
#[derive(Debug, Clone)]
pub struct LayerRow {
    /// Module path (`features.3`; `(top)` for nodes outside any module).
    pub path: String,
    /// The PyTorch-style type of its ops (`ReLU`, `Conv2d`, `Linear+GELU`).
    pub kind: String,
    /// Shape of the last value it computes.
    pub output: String,
    /// Trainable parameters it owns.
    pub params: u64,
    pub cost: Cost,
    /// The primitive that carries most of its online communication (`-` when it sends none).
    pub primitive: String,
}

impl LayerRow {
    /// `features.3 (ReLU)`.
    pub fn name(&self) -> String {
        format!("{} ({})", self.path, self.kind)
    }
}

/// The PyTorch module class an op usually comes from.
fn torch_type(op: &Op) -> &'static str {
    match op {
        Op::Conv2d { .. } => "Conv2d",
        Op::Linear => "Linear",
        Op::MatMul => "MatMul",
        Op::Relu => "ReLU",
        Op::LeakyRelu { .. } => "LeakyReLU",
        Op::Sigmoid => "Sigmoid",
        Op::Tanh => "Tanh",
        Op::Gelu { .. } => "GELU",
        Op::Softmax { .. } => "Softmax",
        Op::LogSoftmax { .. } => "LogSoftmax",
        Op::MaxPool2d { .. } => "MaxPool2d",
        Op::AvgPool2d { .. } => "AvgPool2d",
        Op::GlobalAvgPool => "AdaptiveAvgPool2d",
        Op::AdaptiveAvgPool2d { .. } => "AdaptiveAvgPool2d",
        Op::BatchNorm { .. } => "BatchNorm",
        Op::LayerNorm { .. } => "LayerNorm",
        Op::Gather { .. } => "Embedding",
        Op::Flatten { .. } => "Flatten",
        Op::Dropout { .. } => "Dropout",
        Op::Identity => "Identity",
        other => other.name(),
    }
}

/// The primitive leaves of a call chain, summed by label.
fn primitives<'a>(node: &'a CostNode, out: &mut FxHashMap<&'a str, f64>) {
    if node.kind == CostKind::Primitive || node.children.is_empty() {
        *out.entry(&node.label).or_default() += node.cost.online_bits;
    } else {
        node.children.iter().for_each(|c| primitives(c, out));
    }
}

/// The rows of `profile`, made from `graph` (the graph it profiled), in execution order.
pub fn rows(graph: &Graph, profile: &Profile) -> Vec<LayerRow> {
    rows_of(graph, profile, |_| true)
}

/// The rows of the `k` layers that send the most online bits (none that send nothing),
/// largest first, equal ones in execution order: the overview's table, without making the
/// rows of the other layers. The same rows, in the same order, as the first `k` of [`rows`]
/// sorted stably by online bits, largest first.
pub fn costliest(graph: &Graph, profile: &Profile, k: usize) -> Vec<LayerRow> {
    let layers = profile.layer_costs();
    // (online bits, execution index) of the layers sending any, the largest k first
    let mut sending: Vec<(f64, usize)> = layers
        .iter()
        .enumerate()
        .filter(|(_, l)| l.cost.online_bits > 0.0)
        .map(|(i, l)| (l.cost.online_bits, i))
        .collect();
    let first = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if sending.len() > k && k > 0 {
        sending.select_nth_unstable_by(k - 1, first);
    }
    sending.truncate(k);
    // A row's parameters are found by its path, `(top)` for the top level, as `rows` does.
    let mut keep: FxHashSet<&str> = FxHashSet::default();
    for &(_, i) in &sending {
        let module = layers[i].path;
        keep.insert(module);
        if module.is_empty() {
            keep.insert("(top)");
        }
    }
    let mut rows = rows_of(graph, profile, |module| keep.contains(module));
    // Besides the winners, only a module named `(top)` can have a row here: it comes after the
    // k-th winner in (bits, execution order), so the stable sort leaves it beyond the first k.
    rows.retain(|r| r.cost.online_bits > 0.0);
    rows.sort_by(|a, b| b.cost.online_bits.total_cmp(&a.cost.online_bits));
    rows.truncate(k);
    rows
}

/// The rows of the modules `keep` accepts (and the parameters of those modules), in execution
/// order.
fn rows_of(graph: &Graph, profile: &Profile, keep: impl Fn(&str) -> bool) -> Vec<LayerRow> {
    struct Acc<'a> {
        row: LayerRow,
        kinds: Vec<&'static str>,
        prims: FxHashMap<&'a str, f64>,
        /// The last node computed in the layer (its value is the layer's output).
        last: NodeId,
    }
    let mut order: Vec<Acc> = Vec::new();
    let mut index: FxHashMap<&str, usize> = FxHashMap::default();
    let mut params: FxHashMap<&str, u64> = FxHashMap::default();
    for n in &profile.nodes {
        if !keep(&n.module) {
            continue;
        }
        let node = graph.node(n.id);
        if let Op::Parameter { role } = &node.op {
            if role.is_trainable() {
                *params.entry(n.module.as_str()).or_default() += node.value.numel() as u64;
            }
        }
        if matches!(n.costing, NodeCosting::Source) {
            continue;
        }
        let i = *index.entry(n.module.as_str()).or_insert_with(|| {
            order.push(Acc {
                row: LayerRow {
                    path: if n.module.is_empty() {
                        "(top)".to_string()
                    } else {
                        n.module.clone()
                    },
                    kind: String::new(),
                    output: String::new(),
                    params: 0,
                    cost: Cost::zero(profile.parties),
                    primitive: String::new(),
                },
                kinds: Vec::new(),
                prims: FxHashMap::default(),
                last: n.id,
            });
            order.len() - 1
        });
        let acc = &mut order[i];
        acc.row.cost.add(&n.cost);
        acc.last = n.id;
        let kind = torch_type(&node.op);
        let shapes_only = matches!(
            node.op,
            Op::Reshape { .. } | Op::Transpose { .. } | Op::Expand { .. } | Op::Slice { .. }
        );
        if !acc.kinds.contains(&kind) && (!shapes_only || acc.kinds.is_empty()) {
            acc.kinds.push(kind);
        }
        if let NodeCosting::Chain { chain } = &n.costing {
            primitives(chain, &mut acc.prims);
        }
    }
    order
        .into_iter()
        .map(|mut acc| {
            acc.row.output = shape_string(&graph.node(acc.last).value.shape);
            acc.row.params = params
                .get(acc.row.path.as_str())
                .copied()
                .unwrap_or_default();
            acc.row.kind = match acc.kinds.len() {
                0..=3 => acc.kinds.join("+"),
                _ => format!("{}+…", acc.kinds[..2].join("+")),
            };
            let mut prims: Vec<(&str, f64)> = acc.prims.into_iter().collect();
            prims.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            acc.row.primitive = prims
                .into_iter()
                .find(|(_, bits)| *bits > 0.0)
                .map_or("-".to_string(), |(label, _)| label.to_string());
            acc.row
        })
        .collect()
}

/// The human table: aligned columns and a total line.
pub fn text(rows: &[LayerRow], total: &Cost, units: Units, rounds: Rounds) -> String {
    let header = [
        "layer (type)",
        "output shape",
        "params",
        "online",
        "rounds",
        "share",
        "dominant primitive",
    ];
    let mut table: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.name(),
                r.output.clone(),
                super::catalog::group_digits(r.params),
                units.amount(r.cost.online_bits),
                rounds.fmt(r.cost.online_rounds),
                percent(r.cost.online_bits, total.online_bits),
                r.primitive.clone(),
            ]
        })
        .collect();
    table.push([
        "total".to_string(),
        String::new(),
        super::catalog::group_digits(rows.iter().map(|r| r.params).sum::<u64>()),
        units.amount(total.online_bits),
        rounds.fmt(total.online_rounds),
        percent(total.online_bits, total.online_bits),
        String::new(),
    ]);
    let mut widths = header.map(|h| h.chars().count());
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 7]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            // names, shapes and primitives left-aligned; figures right-aligned
            if matches!(i, 0 | 1 | 6) {
                let _ = write!(s, "{cell}{}  ", super::spaces(pad));
            } else {
                let _ = write!(s, "{}{cell}  ", super::spaces(pad));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header);
    let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    out.push_str(&"─".repeat(rule));
    out.push('\n');
    let (body, last) = table.split_at(table.len() - 1);
    for row in body {
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    out.push_str(&"─".repeat(rule));
    out.push('\n');
    out.push_str(&line(last[0].each_ref().map(String::as_str)));
    out
}

/// The same rows as CSV, communication in `units`.
pub fn csv(rows: &[LayerRow], total: &Cost, units: Units) -> String {
    let u = units.name();
    let mut out = format!(
        "layer,type,output_shape,params,online_{u},online_rounds,offline_{u},offline_rounds,share,dominant_primitive\n"
    );
    for r in rows {
        let share = if total.online_bits > 0.0 {
            format!("{:.4}", r.cost.online_bits / total.online_bits)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            super::csv_field(&r.path),
            super::csv_field(&r.kind),
            r.output,
            r.params,
            units.count(r.cost.online_bits),
            super::numbers::number(r.cost.online_rounds),
            units.count(r.cost.offline_bits),
            super::numbers::number(r.cost.offline_rounds),
            share,
            super::csv_field(&r.primitive)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cost, zoo};

    /// The overview's pick from every row: those sending anything, stably sorted by online
    /// bits, the first `k`.
    fn first_k_of_all_rows(graph: &Graph, profile: &Profile, k: usize) -> Vec<String> {
        let mut all = rows(graph, profile);
        all.retain(|r| r.cost.online_bits > 0.0);
        all.sort_by(|a, b| b.cost.online_bits.total_cmp(&a.cost.online_bits));
        all.truncate(k);
        all.iter().map(|r| format!("{r:?}")).collect()
    }

    #[test]
    fn costliest_rows_are_the_first_of_all_rows_sorted() {
        let model = cost::load_framework("spu-semi2k", &[]).unwrap();
        let graphs = [
            // every block costs the same: ties go to the earlier layer
            zoo::synthetic::linear_relu_chain(30).unwrap(),
            zoo::synthetic::sibling_layers(12).unwrap(),
            zoo::build("resnet18", &Default::default())
                .unwrap()
                .unwrap(),
        ];
        for graph in &graphs {
            let profile = Profile::new(graph, &model).unwrap();
            let sending = rows(graph, &profile)
                .iter()
                .filter(|r| r.cost.online_bits > 0.0)
                .count();
            assert!(sending > 10, "{}: {sending} layers send", graph.name);
            for k in [0, 1, 3, 10, sending, sending + 5] {
                let picked: Vec<String> = costliest(graph, &profile, k)
                    .iter()
                    .map(|r| format!("{r:?}"))
                    .collect();
                assert_eq!(picked.len(), k.min(sending), "{} k={k}", graph.name);
                assert_eq!(picked, first_k_of_all_rows(graph, &profile, k));
            }
        }
    }
}
