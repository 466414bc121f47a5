//! The optimizer's search is linear in the graph, checked by counting the extractor's work
//! units, not by timing: on graphs whose every layer is a sibling merge (every layer a
//! candidate of the extractor's sharing pass), twice the layers cost at most 2.2 times the
//! work, the search finishes (saturated, no work-limit stop) and every layer gets the same
//! rewrite.

use hawkeye_mpc::cost;
use hawkeye_mpc::optimize::{self, Limits, Options, RuleSet};
use hawkeye_mpc::zoo::synthetic;
use std::time::Duration;

/// Extraction work units and saving per layer of the sibling graph of `layers` layers.
fn sibling_search(layers: usize) -> (u64, f64) {
    let crypten = cost::load_framework("crypten", &[]).unwrap();
    let rules = RuleSet::builtin().unwrap();
    let g = synthetic::sibling_layers(layers).unwrap();
    let options = Options {
        limits: Limits {
            time: Duration::from_secs(3600),
            ..Limits::for_graph(g.len())
        },
        ..Options::default()
    };
    let out = optimize::optimize(&g, &crypten, &rules, &options, None).unwrap();
    assert_eq!(out.saturation.stop, "saturated", "{layers} layers");
    assert_eq!(out.extraction.note, None, "{layers} layers");
    // Each layer's two linears become one product with the summed weights.
    let distributed = out
        .rewrites
        .iter()
        .filter(|r| r.rule == "matmul-distribute-left")
        .count();
    assert_eq!(distributed, layers);
    assert_eq!(out.rewrites.len(), layers);
    let saving = (out.before_cost - out.after_cost) / layers as f64;
    (out.extraction.work, saving)
}

#[test]
fn the_sharing_pass_is_linear_in_the_layers() {
    let (small, saving_small) = sibling_search(500);
    let (large, saving_large) = sibling_search(1000);
    assert!(saving_small > 0.0);
    assert!(
        (saving_small - saving_large).abs() <= 1e-9 * saving_small,
        "{saving_small} {saving_large}"
    );
    let ratio = large as f64 / small as f64;
    assert!(
        (1.8..=2.2).contains(&ratio),
        "work {small} at 500 layers, {large} at 1000: ratio {ratio:.3}"
    );
}
