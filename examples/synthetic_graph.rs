//! Writes a synthetic graph for the optimizer's scale figures in the README:
//! `cargo run --release --example synthetic_graph -- chain|siblings NODES OUT.json`.

#[path = "../benches/common/synthetic.rs"]
mod synthetic;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, nodes, out] = args.as_slice() else {
        return Err("usage: synthetic_graph chain|siblings NODES OUT.json".into());
    };
    if kind != "chain" && kind != "siblings" {
        return Err(format!("graph kind '{kind}' is not chain or siblings").into());
    }
    let nodes: usize = nodes
        .parse()
        .map_err(|e| format!("NODES '{nodes}' is not a count: {e}"))?;
    let g = synthetic::build(kind, nodes);
    hawkeye_mpc::frontend::write_model(&g, std::path::Path::new(out))?;
    eprintln!("wrote {out} ({} nodes)", g.len());
    Ok(())
}
