//! Folded stacks (Brendan Gregg's format, one `frame;frame;frame value` line per leaf) and SVG
//! flame graphs (with `inferno`) of an attribution tree, weighted by online communication in
//! bytes or bits.

use super::numbers::Units;
use crate::profile::AttributionNode;
use std::collections::{BTreeMap, BTreeSet};

/// Folded stack lines of a tree, weighted by online communication in `units` (leaves under one
/// unit omitted).
pub fn folded(tree: &AttributionNode, units: Units) -> String {
    let per_unit = match units {
        Units::Bytes => 8.0,
        Units::Bits => 1.0,
    };
    tree.leaf_paths()
        .into_iter()
        .map(|(path, c)| (path, (c.online_bits / per_unit).round()))
        .filter(|(_, v)| *v >= 1.0)
        .map(|(path, v)| {
            let frames: Vec<String> = path.iter().map(|f| f.replace([';', ' '], "_")).collect();
            format!("{} {}\n", frames.join(";"), v as u64)
        })
        .collect()
}

/// An interactive SVG flame graph of a tree (open it in a browser); tooltips in `units`.
pub fn svg(tree: &AttributionNode, title: &str, units: Units) -> Result<Vec<u8>, String> {
    let folded = folded(tree, units);
    if folded.is_empty() {
        return Err("nothing to draw: the profile has no communication".to_string());
    }
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = units.name().to_string();
    let mut out = Vec::new();
    inferno::flamegraph::from_lines(&mut options, folded.lines(), &mut out)
        .map_err(|e| format!("cannot draw the flame graph: {e}"))?;
    Ok(out)
}

/// A differential flame graph of two trees: frames as wide as in `after`, coloured by the
/// change from `before` (red grew, blue shrank); stacks gone from `after` are not drawn.
pub fn diff_svg(
    before: &AttributionNode,
    after: &AttributionNode,
    title: &str,
    units: Units,
) -> Result<Vec<u8>, String> {
    let (b, a) = (folded(before, units), folded(after, units));
    if a.is_empty() {
        return Err("nothing to draw: the optimized profile has no communication".to_string());
    }
    let mut diff = Vec::new();
    inferno::differential::from_readers(
        inferno::differential::Options::default(),
        b.as_bytes(),
        a.as_bytes(),
        &mut diff,
    )
    .map_err(|e| format!("cannot compare the profiles: {e}"))?;
    let diff = String::from_utf8(diff).map_err(|e| e.to_string())?;
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = units.name().to_string();
    let mut out = Vec::new();
    inferno::flamegraph::from_lines(&mut options, diff.lines(), &mut out)
        .map_err(|e| format!("cannot draw the flame graph: {e}"))?;
    Ok(out)
}

/// A differential flame graph of what an optimization removed: frames as wide as in `before`
/// (the input), coloured by the change to `after` (blue shrank, so work the result no longer
/// does is drawn in full blue; red grew); stacks only in `after` (work moved or added) are
/// drawn as wide as in `after`, red. Tooltips give the width and the change.
pub fn removed_svg(
    before: &AttributionNode,
    after: &AttributionNode,
    title: &str,
    units: Units,
) -> Result<Vec<u8>, String> {
    let counts = |folded: &str| -> BTreeMap<String, u64> {
        let mut map = BTreeMap::new();
        for line in folded.lines() {
            if let Some((stack, v)) = line.rsplit_once(' ') {
                *map.entry(stack.to_string()).or_default() += v.parse::<u64>().unwrap_or(0);
            }
        }
        map
    };
    let (b, a) = (
        counts(&folded(before, units)),
        counts(&folded(after, units)),
    );
    if b.is_empty() && a.is_empty() {
        return Err("nothing to draw: neither profile has communication".to_string());
    }
    let mut stacks: BTreeSet<&String> = b.keys().collect();
    stacks.extend(a.keys());
    // inferno draws the last count and, negated, colours by first - last.
    let lines: Vec<String> = stacks
        .into_iter()
        .map(|s| {
            let (was, is) = (
                b.get(s).copied().unwrap_or(0),
                a.get(s).copied().unwrap_or(0),
            );
            if was > 0 {
                format!("{s} {is} {was}")
            } else {
                format!("{s} {} {is}", is.saturating_mul(2))
            }
        })
        .collect();
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = units.name().to_string();
    options.negate_differentials = true;
    let mut out = Vec::new();
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut out)
        .map_err(|e| format!("cannot draw the flame graph: {e}"))?;
    Ok(out)
}
