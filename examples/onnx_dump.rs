//! Prints the IR graph imported from an ONNX file: `cargo run --example onnx_dump -- FILE [name=value ...]`.

use hawkeye_mpc::frontend::onnx::{import_file, DimBindings};
use hawkeye_mpc::graph::shape_string;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: onnx_dump FILE [name=value ...] [batch=N]");
        std::process::exit(2);
    };
    let mut b = DimBindings::new();
    for spec in args {
        if let Some(n) = spec.strip_prefix("batch=") {
            b.batch = n.parse().ok();
        } else if let Err(e) = b.parse_binding(&spec) {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
    match import_file(&path, &b) {
        Ok(g) => {
            for id in g.node_ids() {
                let n = g.node(id);
                let ins: Vec<String> = g
                    .inputs(id)
                    .iter()
                    .map(|&i| g.node(i).name.clone())
                    .collect();
                println!(
                    "{:<40} [{}] {} {} <- {}",
                    n.name,
                    n.module,
                    serde_json::to_string(&n.op).unwrap_or_default(),
                    shape_string(&n.value.shape),
                    ins.join(", ")
                );
            }
            println!("params {} macs {}", g.parameter_count(), g.mac_count());
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
