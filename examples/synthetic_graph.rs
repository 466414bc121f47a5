//! Writes a synthetic graph in the native JSON format, to measure how `hawkeye` scales with the
//! graph size and the module-path depth (README, "Speed").
//!
//! ```text
//! cargo run --release --example synthetic_graph -- chain 1000000 chain1m.json      # 1,000,001 nodes
//! cargo run --release --example synthetic_graph -- siblings 100000 sib100k.json    # 100,003 nodes
//! cargo run --release --example synthetic_graph -- deep 20000 deep20k.json         # 20,000 levels
//! ```

use hawkeye_mpc::frontend::json;
use hawkeye_mpc::zoo::synthetic;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str =
    "usage: synthetic_graph chain NODES OUT.json | siblings NODES OUT.json | deep DEPTH OUT.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, size, out] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let Ok(size) = size.parse::<usize>() else {
        eprintln!("'{size}' is not a whole number; {USAGE}");
        return ExitCode::FAILURE;
    };
    let graph = match kind.as_str() {
        "chain" => synthetic::linear_relu_chain(size / synthetic::NODES_PER_LAYER),
        "siblings" => synthetic::sibling_layers(size.div_ceil(synthetic::NODES_PER_SIBLING_LAYER)),
        "deep" => synthetic::deep_module(size),
        _ => {
            eprintln!("unknown kind '{kind}'; {USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let written = graph.map_err(|e| e.to_string()).and_then(|g| {
        json::write_file(&g, Path::new(out))
            .map_err(|e| e.to_string())
            .map(|()| g.len())
    });
    match written {
        Ok(nodes) => {
            eprintln!("wrote {out} ({nodes} nodes)");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
