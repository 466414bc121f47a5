//! Frontends: where graphs come from and go to. A model argument on the command line is a zoo
//! model name or a model file: `.json` (the native format, [`json`]) or `.onnx` ([`onnx`]:
//! opsets 11–21 in, opset 17 out).

pub mod json;
mod json_parse;
pub mod npy;
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
    #[error("'{name}' is neither a zoo model nor a model file.{suggestion} See `hawkeye models` for the zoo, or give a path to a .onnx or .json file.")]
    Unknown { name: String, suggestion: String },
    #[error("{file}: no such file; check the path (model files are .onnx or .json).")]
    Missing { file: String },
    #[error("{file}: is a directory, not a model file; give the .onnx or .json file inside it.")]
    Directory { file: String },
    #[error("{file}: is a PyTorch checkpoint, which hawkeye cannot read; export it with torch.onnx.export(model, example_input, \"model.onnx\") and profile the .onnx file.")]
    Checkpoint { file: String },
    #[error("{file}: not a model format hawkeye reads ({what}); give a .onnx file (torch.onnx.export writes one) or a native .json file.")]
    Format { file: String, what: String },
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

impl LoadOptions {
    /// The options of a front end's shape knobs: `batch` (1 when not given) also binds the
    /// symbolic batch dim of ONNX inputs; every option given must apply to the model. Named
    /// dims are bound on `dims` afterwards.
    pub fn new(
        batch: Option<usize>,
        resolution: Option<usize>,
        seq_len: Option<usize>,
        classes: Option<usize>,
    ) -> LoadOptions {
        let given = batch;
        let batch = batch.unwrap_or(1);
        LoadOptions {
            zoo: ZooOptions {
                batch,
                resolution,
                seq_len,
                classes,
            },
            dims: onnx::DimBindings::new().batch(batch),
            batch_given: given.is_some(),
            options_must_apply: true,
        }
    }
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
    let file = spec.to_string();
    let ext = extension(path);
    if path.is_dir() {
        return Err(LoadError::Directory { file });
    }
    match ext.as_deref() {
        Some("pt" | "pth" | "ckpt" | "bin" | "safetensors") => {
            return Err(LoadError::Checkpoint { file })
        }
        Some("json" | "onnx") if !path.exists() => return Err(LoadError::Missing { file }),
        Some("json") => {
            if options.options_must_apply {
                options::check_file(path, options, false)?;
            }
            let g = json::read_file(path)?;
            if options.options_must_apply {
                options::check_json(&g, spec, options)?;
            }
            return Ok(g);
        }
        Some("onnx") => {
            if options.options_must_apply {
                options::check_file(path, options, true)?;
            }
            let mut g = onnx::import_file(path, &options.dims)?;
            // torch.onnx.export names every graph `torch_jit` (or `main_graph`): the file
            // name says more.
            if ["", "torch_jit", "main_graph"].contains(&g.name.as_str()) {
                if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                    g.name = stem.to_string();
                }
            }
            return Ok(g);
        }
        _ => {}
    }
    match ext {
        _ if path.exists() => Err(LoadError::Format {
            file,
            what: match ext {
                Some(e) => format!("a .{e} file"),
                None => "no file extension".to_string(),
            },
        }),
        Some(_) => Err(LoadError::Missing { file }),
        None if spec.contains(['/', '\\']) => Err(LoadError::Missing { file }),
        None => Err(LoadError::Unknown {
            name: file,
            suggestion: crate::suggest::did_you_mean(spec, zoo::MODELS.iter().map(|m| m.name)),
        }),
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
