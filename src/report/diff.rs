//! `hawkeye diff`: two profiles that are not equivalent (a variant with fewer ReLUs, another
//! block, another framework), totals and per-layer deltas with the layers aligned by structure:
//! the sequences of layer types are diffed (Myers, `similar`), so an inserted or removed layer
//! shows as one row and the rest stay paired.

use super::layers::LayerRow;
use super::numbers::{Rounds, Units};
use super::{csv_field, seconds};
use crate::cost::Cost;
use crate::profile::{AttributionNode, Network, Profile};
use similar::{capture_diff_slices, Algorithm, DiffOp};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write;
use std::hash::Hash;

/// One aligned row: a layer of A, of B, or one of each.
#[derive(Debug, Clone)]
pub struct Pair<'a> {
    pub a: Option<&'a LayerRow>,
    pub b: Option<&'a LayerRow>,
}

impl Pair<'_> {
    fn online(row: Option<&LayerRow>) -> f64 {
        row.map_or(0.0, |r| r.cost.online_bits)
    }

    fn rounds(row: Option<&LayerRow>) -> f64 {
        row.map_or(0.0, |r| r.cost.online_rounds)
    }

    /// Online communication of B minus A.
    pub fn delta_bits(&self) -> f64 {
        Self::online(self.b) - Self::online(self.a)
    }
}

/// The layers of `a` and `b` aligned by their sequence of types; in a stretch that differs,
/// layers are paired by position.
pub fn align<'a>(a: &'a [LayerRow], b: &'a [LayerRow]) -> Vec<Pair<'a>> {
    align_by(a, b, Algorithm::Myers, |r| r.kind.clone(), |_| ())
}

/// The layers of `a` and `b` aligned by their sequences of `key` (diffed like text with
/// `algorithm`: Myers in general, Patience when keys are unique). In a stretch that differs, a
/// layer of `a` is paired with the next unpaired layer of `b` of the same `partner` key, in
/// order; the others stand alone.
pub fn align_by<'a, K, P>(
    a: &'a [LayerRow],
    b: &'a [LayerRow],
    algorithm: Algorithm,
    key: impl Fn(&LayerRow) -> K,
    partner: impl Fn(&LayerRow) -> P,
) -> Vec<Pair<'a>>
where
    K: Hash + Eq + Ord,
    P: Hash + Eq,
{
    let (ka, kb): (Vec<K>, Vec<K>) = (a.iter().map(&key).collect(), b.iter().map(&key).collect());
    let mut out = Vec::new();
    for op in capture_diff_slices(algorithm, &ka, &kb) {
        match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => out.extend((0..len).map(|i| Pair {
                a: Some(&a[old_index + i]),
                b: Some(&b[new_index + i]),
            })),
            DiffOp::Delete {
                old_index, old_len, ..
            } => out.extend((old_index..old_index + old_len).map(|i| Pair {
                a: Some(&a[i]),
                b: None,
            })),
            DiffOp::Insert {
                new_index, new_len, ..
            } => out.extend((new_index..new_index + new_len).map(|i| Pair {
                a: None,
                b: Some(&b[i]),
            })),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => pair_stretch(
                &a[old_index..old_index + old_len],
                &b[new_index..new_index + new_len],
                &partner,
                &mut out,
            ),
        }
    }
    out
}

/// Pairs a stretch of `a` with one of `b` in order: each layer of `a` with the first layer of
/// `b` after the last pair that has its `partner` key (linear time).
pub fn pair_stretch<'a, P: Hash + Eq>(
    a: &'a [LayerRow],
    b: &'a [LayerRow],
    partner: &impl Fn(&LayerRow) -> P,
    out: &mut Vec<Pair<'a>>,
) {
    let mut positions: HashMap<P, VecDeque<usize>> = HashMap::new();
    for (j, r) in b.iter().enumerate() {
        positions.entry(partner(r)).or_default().push_back(j);
    }
    let mut next = 0;
    for ra in a {
        let found = positions.get_mut(&partner(ra)).and_then(|q| {
            while q.front().is_some_and(|&j| j < next) {
                q.pop_front();
            }
            q.pop_front()
        });
        match found {
            Some(j) => {
                out.extend(b[next..j].iter().map(|rb| Pair {
                    a: None,
                    b: Some(rb),
                }));
                out.push(Pair {
                    a: Some(ra),
                    b: Some(&b[j]),
                });
                next = j + 1;
            }
            None => out.push(Pair {
                a: Some(ra),
                b: None,
            }),
        }
    }
    out.extend(b[next..].iter().map(|rb| Pair {
        a: None,
        b: Some(rb),
    }));
}

/// A signed amount: `+1.20 MB`, `-512 B`, `0 B`.
fn signed(units: Units, bits: f64) -> String {
    let sign = if bits > 0.0 {
        "+"
    } else if bits < 0.0 {
        "-"
    } else {
        ""
    };
    format!("{sign}{}", units.amount(bits.abs()))
}

fn change(a: f64, b: f64) -> String {
    if a > 0.0 {
        format!("{:+.1}%", 100.0 * (b - a) / a)
    } else {
        "-".to_string()
    }
}

/// What the reader asked to see.
pub struct View {
    pub network: Network,
    pub units: Units,
    /// Show only the K rows that change most (in execution order); `None`: every row.
    pub top: Option<usize>,
}

/// The human rendering: totals of both, then the aligned layers.
pub fn text(a: &Profile, b: &Profile, pairs: &[Pair], view: &View) -> String {
    let u = view.units;
    let rounds = Rounds::of(
        [a, b]
            .iter()
            .flat_map(|p| [p.total.online_rounds, p.total.offline_rounds])
            .chain(
                pairs
                    .iter()
                    .flat_map(|p| [Pair::rounds(p.a), Pair::rounds(p.b)]),
            ),
    );
    let mut out = String::new();
    let _ = writeln!(out, "A: {} under {}", a.model, a.framework);
    let _ = writeln!(out, "B: {} under {}\n", b.model, b.framework);
    let time = |c: &Cost| view.network.online_seconds(c) + view.network.offline_seconds(c);
    let totals = [
        (
            "online",
            u.amount(a.total.online_bits),
            u.amount(b.total.online_bits),
            signed(u, b.total.online_bits - a.total.online_bits),
            change(a.total.online_bits, b.total.online_bits),
        ),
        (
            "offline",
            u.amount(a.total.offline_bits),
            u.amount(b.total.offline_bits),
            signed(u, b.total.offline_bits - a.total.offline_bits),
            change(a.total.offline_bits, b.total.offline_bits),
        ),
        (
            "online rounds",
            rounds.fmt(a.total.online_rounds),
            rounds.fmt(b.total.online_rounds),
            {
                let d = b.total.online_rounds - a.total.online_rounds;
                format!("{}{}", if d > 0.0 { "+" } else { "" }, rounds.fmt(d))
            },
            change(a.total.online_rounds, b.total.online_rounds),
        ),
        (
            "network time",
            seconds(time(&a.total)),
            seconds(time(&b.total)),
            String::new(),
            change(time(&a.total), time(&b.total)),
        ),
    ];
    let _ = writeln!(
        out,
        "{:<14}  {:>12}  {:>12}  {:>12}  {:>8}",
        format!("({})", view.network.name),
        "A",
        "B",
        "B - A",
        "change"
    );
    for (name, x, y, d, c) in totals {
        let _ = writeln!(out, "{name:<14}  {x:>12}  {y:>12}  {d:>12}  {c:>8}");
    }
    let shown: Vec<&Pair> = match view.top {
        None => pairs.iter().collect(),
        Some(k) => {
            let mut by_change: Vec<(usize, f64)> = pairs
                .iter()
                .enumerate()
                .map(|(i, p)| (i, p.delta_bits().abs()))
                .collect();
            by_change.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            let mut keep: Vec<usize> = by_change.into_iter().take(k).map(|(i, _)| i).collect();
            keep.sort_unstable();
            keep.into_iter().map(|i| &pairs[i]).collect()
        }
    };
    let name = |r: Option<&LayerRow>| r.map_or("-".to_string(), LayerRow::name);
    let rows: Vec<[String; 6]> = shown
        .iter()
        .map(|p| {
            [
                name(p.a),
                name(p.b),
                u.amount(Pair::online(p.a)),
                u.amount(Pair::online(p.b)),
                signed(u, p.delta_bits()),
                format!(
                    "{} -> {}",
                    p.a.map_or("-".into(), |r| rounds.fmt(r.cost.online_rounds)),
                    p.b.map_or("-".into(), |r| rounds.fmt(r.cost.online_rounds))
                ),
            ]
        })
        .collect();
    let header = [
        "layer in A",
        "layer in B",
        "online A",
        "online B",
        "B - A",
        "rounds",
    ];
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - c.chars().count();
            if i < 2 || i == 5 {
                let _ = write!(s, "{c}{}  ", super::spaces(pad));
            } else {
                let _ = write!(s, "{}{c}  ", super::spaces(pad));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    out.push('\n');
    out.push_str(&line(header));
    for r in &rows {
        out.push_str(&line(r.each_ref().map(String::as_str)));
    }
    if shown.len() < pairs.len() {
        let _ = writeln!(
            out,
            "({} of {} aligned layers shown: the largest changes; --top to change)",
            shown.len(),
            pairs.len()
        );
    }
    if let Some(note) = rounds.footnote("a framework here", "a per-party mean") {
        let _ = writeln!(out, "\n{note}");
    }
    out
}

/// CSV of every aligned row.
pub fn csv(pairs: &[Pair], units: Units) -> String {
    let u = units.name();
    let mut out = format!(
        "layer_a,type_a,layer_b,type_b,online_{u}_a,online_{u}_b,delta_{u},online_rounds_a,online_rounds_b\n"
    );
    let field = |r: Option<&LayerRow>, f: fn(&LayerRow) -> String| r.map_or(String::new(), f);
    for p in pairs {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            field(p.a, |r| csv_field(&r.path)),
            field(p.a, |r| csv_field(&r.kind)),
            field(p.b, |r| csv_field(&r.path)),
            field(p.b, |r| csv_field(&r.kind)),
            units.count(Pair::online(p.a)),
            units.count(Pair::online(p.b)),
            units.count(p.delta_bits()),
            field(p.a, |r| super::numbers::number(r.cost.online_rounds)),
            field(p.b, |r| super::numbers::number(r.cost.online_rounds)),
        );
    }
    out
}

/// Both trees under one root label, so that a two-sided flame graph matches their frames.
pub fn common_root(tree: &AttributionNode) -> AttributionNode {
    AttributionNode {
        label: "total".into(),
        ..tree.clone()
    }
}
