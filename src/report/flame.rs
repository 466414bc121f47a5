//! Folded stacks (Brendan Gregg's format, one `frame;frame;frame value` line per leaf) and SVG
//! flame graphs (with `inferno`) of an attribution tree, weighted by online bits.

use crate::profile::AttributionNode;

/// Folded stack lines of a tree, weighted by online bits (zero-cost leaves omitted).
pub fn folded(tree: &AttributionNode) -> String {
    tree.leaf_paths()
        .into_iter()
        .filter(|(_, c)| c.online_bits >= 1.0)
        .map(|(path, c)| {
            let frames: Vec<String> = path.iter().map(|f| f.replace([';', ' '], "_")).collect();
            format!("{} {}\n", frames.join(";"), c.online_bits.round() as u64)
        })
        .collect()
}

/// An interactive SVG flame graph of a tree (open it in a browser).
pub fn svg(tree: &AttributionNode, title: &str) -> Result<Vec<u8>, String> {
    let folded = folded(tree);
    if folded.is_empty() {
        return Err("nothing to draw: the profile has no communication".to_string());
    }
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = "bits".to_string();
    let mut out = Vec::new();
    inferno::flamegraph::from_lines(&mut options, folded.lines(), &mut out)
        .map_err(|e| format!("cannot draw the flame graph: {e}"))?;
    Ok(out)
}
