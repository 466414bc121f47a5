//! Imports ONNX files and writes them back (placeholder weights where stripped):
//! `cargo run --example onnx_reexport -- OUT_DIR FILE...` (binds batch 2, sequence dims 8).

use hawkeye_mpc::frontend::onnx::{export_file, import_file, DimBindings};
use std::path::Path;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().expect("usage: onnx_reexport OUT_DIR FILE...");
    let b = DimBindings::new()
        .batch(2)
        .bind("sequence", 8)
        .bind("sequence_length", 8);
    for f in args {
        let g = import_file(&f, &b).unwrap_or_else(|e| panic!("{e}"));
        let name = Path::new(&f).file_name().expect("a file name");
        export_file(&g, Path::new(&out).join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
}
