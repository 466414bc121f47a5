//! Folded stacks (Brendan Gregg's format, one `frame;frame;frame value` line per leaf) and SVG
//! flame graphs (with `inferno`) of an attribution tree, weighted by online communication in
//! bytes or bits.

use super::numbers::Units;
use crate::profile::AttributionNode;

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
