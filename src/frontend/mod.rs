//! Frontends: where graphs come from and go to. A model argument on the command line is a zoo
//! model name or a model file: `.json` (the native format, [`json`]) or `.onnx` ([`onnx`]:
//! opsets 11–21 in, opset 17 out).

pub mod json;
pub mod onnx;
pub mod options;

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
    /// A shape option that does not apply to the model.
    #[error("{model}: {reason}")]
    Option { model: String, reason: String },
}

/// How to instantiate a model: zoo knobs for zoo models, symbolic-dim bindings for ONNX.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub zoo: ZooOptions,
    pub dims: onnx::DimBindings,
    /// Whether `--batch` was given (not the default 1): it must then apply to the model.
    pub batch_given: bool,
    /// Whether every given option must apply to the model (an error naming its inputs if
    /// not); off when one set of options serves two models (`equiv`).
    pub options_must_apply: bool,
}

/// Loads a model given by zoo name or file path.
pub fn load_model(spec: &str, options: &LoadOptions) -> Result<Graph, LoadError> {
    if let Some(model) = zoo::find(spec) {
        if options.options_must_apply {
            options::check_zoo(model, options)?;
        }
        return (model.build)(&options.zoo).map_err(|source| LoadError::Zoo {
            name: model.name.to_string(),
            source,
        });
    }
    let path = Path::new(spec);
    match extension(path).as_deref() {
        Some("json") => {
            if options.options_must_apply {
                options::check_file(path, options, false)?;
            }
            let g = json::read_file(path)?;
            if options.options_must_apply {
                options::check_json(&g, spec, options)?;
            }
            Ok(g)
        }
        Some("onnx") => {
            if options.options_must_apply {
                options::check_file(path, options, true)?;
            }
            Ok(onnx::import_file(path, &options.dims)?)
        }
        _ => Err(LoadError::Unknown(spec.to_string())),
    }
}

/// The nodes of model `spec` that `frontend` refuses. For an ONNX file, its own nodes; a zoo
/// or JSON model is checked as `hawkeye export` would write it.
pub fn refusals(
    spec: &str,
    graph: &Graph,
    frontend: &crate::cost::loadability::FrontendSpec,
) -> Result<Vec<crate::cost::loadability::Refusal>, LoadError> {
    let path = Path::new(spec);
    let nodes = if zoo::find(spec).is_none() && extension(path).as_deref() == Some("onnx") {
        onnx::source_nodes_of_file(path)?
    } else {
        onnx::source_nodes(&onnx::export_structure(graph)?, spec)?
    };
    Ok(frontend.refusals(&nodes))
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
