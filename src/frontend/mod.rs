//! Frontends: where graphs come from and go to. A model argument on the command line is a zoo
//! model name or a model file: `.json` (the native format, [`json`]) or `.onnx` ([`onnx`]:
//! opsets 11–21 in, opset 17 out).

pub mod json;
pub mod npy;
pub mod onnx;

use crate::graph::Graph;
use crate::zoo::{self, ZooOptions};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LoadError {
    #[error(transparent)]
    Json(#[from] json::JsonError),
    #[error(transparent)]
    Onnx(#[from] onnx::OnnxError),
    #[error("zoo model '{name}': {source}")]
    Zoo {
        name: String,
        source: crate::graph::GraphError,
    },
    #[error("'{0}' is neither a zoo model (see `hawkeye models`) nor a .json or .onnx model file")]
    Unknown(String),
    #[error("{file}: cannot write this format (give a .json or .onnx file)")]
    UnknownOutput { file: String },
}

/// How to instantiate a model: zoo knobs for zoo models, symbolic-dim bindings for ONNX.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub zoo: ZooOptions,
    pub dims: onnx::DimBindings,
}

/// Loads a model given by zoo name or file path.
pub fn load_model(spec: &str, options: &LoadOptions) -> Result<Graph, LoadError> {
    if let Some(model) = zoo::find(spec) {
        return (model.build)(&options.zoo).map_err(|source| LoadError::Zoo {
            name: model.name.to_string(),
            source,
        });
    }
    let path = Path::new(spec);
    match extension(path).as_deref() {
        Some("json") => Ok(json::read_file(path)?),
        Some("onnx") => Ok(onnx::import_file(path, &options.dims)?),
        _ => Err(LoadError::Unknown(spec.to_string())),
    }
}

/// Writes a graph in the format its file extension names (`.json` or `.onnx`).
pub fn write_model(graph: &Graph, path: &Path) -> Result<(), LoadError> {
    match extension(path).as_deref() {
        Some("json") => Ok(json::write_file(graph, path)?),
        Some("onnx") => Ok(onnx::export_file(graph, path)?),
        _ => Err(LoadError::UnknownOutput {
            file: path.display().to_string(),
        }),
    }
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}
