//! Frontends: where graphs come from. A model argument on the command line is a zoo model
//! name or a model file (`.json` native format).

pub mod json;

use crate::graph::Graph;
use crate::zoo::{self, ZooOptions};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LoadError {
    #[error(transparent)]
    Json(#[from] json::JsonError),
    #[error("zoo model '{name}': {source}")]
    Zoo {
        name: String,
        source: crate::graph::GraphError,
    },
    #[error("'{0}' is neither a zoo model (see `hawkeye models`) nor a .json model file")]
    Unknown(String),
}

/// Loads a model given by zoo name or file path. Zoo options apply to zoo models only.
pub fn load_model(spec: &str, options: &ZooOptions) -> Result<Graph, LoadError> {
    if let Some(model) = zoo::find(spec) {
        return (model.build)(options).map_err(|source| LoadError::Zoo {
            name: model.name.to_string(),
            source,
        });
    }
    let path = Path::new(spec);
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("json") => Ok(json::read_file(path)?),
        _ => Err(LoadError::Unknown(spec.to_string())),
    }
}
