//! Shape options (`--batch`, `--dim`, `--resolution`, `--seq-len`, `--classes`) checked
//! against the model they are given for: an option that does not apply (a fixed dim, a dim
//! name the model lacks, a zoo knob the model does not take, a zoo knob on a file) is an error
//! naming the model's real input names and shapes, never silently ignored.

use super::onnx::{input_dims, InputDim};
use super::{LoadError, LoadOptions};
use crate::graph::{Graph, Op};
use crate::zoo::{ZooModel, ZooOptions};
use std::path::Path;

/// `name [d0, d1, ...]` for every input of a graph.
pub fn graph_inputs(g: &Graph) -> Vec<(String, Vec<usize>)> {
    g.node_ids()
        .map(|id| g.node(id))
        .filter(|n| matches!(n.op, Op::Input))
        .map(|n| (n.name.clone(), n.value.shape.clone()))
        .collect()
}

fn list<T: std::fmt::Display>(inputs: &[(String, Vec<T>)]) -> String {
    inputs
        .iter()
        .map(|(n, d)| {
            let dims: Vec<String> = d.iter().map(|x| x.to_string()).collect();
            format!("{n} [{}]", dims.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::fmt::Display for InputDim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputDim::Fixed(n) => write!(f, "{n}"),
            InputDim::Symbolic(s) => write!(f, "{s}"),
            InputDim::Unknown => write!(f, "?"),
        }
    }
}

fn error(model: &str, reason: String) -> LoadError {
    LoadError::Option {
        model: model.to_string(),
        reason,
    }
}

/// Checks the zoo knobs given for zoo model `m`.
pub fn check_zoo(m: &ZooModel, options: &LoadOptions) -> Result<(), LoadError> {
    let inputs = || {
        (m.build)(&ZooOptions::default())
            .map(|g| list(&graph_inputs(&g)))
            .unwrap_or_default()
    };
    if let Some((name, value)) = options.dims.dims.iter().next() {
        return Err(error(
            m.name,
            format!(
                "--dim {name}={value} does not apply to a zoo model, which takes {} (inputs at the defaults: {})",
                m.knobs,
                inputs()
            ),
        ));
    }
    let knobs: Vec<&str> = m.knobs.split(", ").collect();
    let given = [
        ("resolution", options.zoo.resolution),
        ("seq_len", options.zoo.seq_len),
        ("classes", options.zoo.classes),
    ];
    for (knob, value) in given {
        if let Some(v) = value.filter(|_| !knobs.contains(&knob)) {
            return Err(error(
                m.name,
                format!(
                    "--{} {v} does not apply: {} takes {} (inputs at the defaults: {})",
                    knob.replace('_', "-"),
                    m.name,
                    m.knobs,
                    inputs()
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the options given for a model file before it is read: zoo knobs do not apply, and
/// for ONNX every `--dim` must name a symbolic dim and `--batch` must meet a symbolic batch.
pub fn check_file(path: &Path, options: &LoadOptions, onnx: bool) -> Result<(), LoadError> {
    let file = path.display().to_string();
    let given = [
        ("resolution", options.zoo.resolution),
        ("seq-len", options.zoo.seq_len),
        ("classes", options.zoo.classes),
    ];
    let knob = given.iter().find_map(|(k, v)| v.map(|v| (k, v)));
    if !onnx {
        return match knob {
            Some((k, v)) => Err(error(
                &file,
                format!("--{k} {v} applies to zoo models only; a JSON model has fixed shapes"),
            )),
            None => Ok(()),
        };
    }
    let bytes = std::fs::read(path).map_err(|source| super::onnx::OnnxError::Io {
        file: file.clone(),
        source,
    })?;
    let inputs = input_dims(&bytes, &file)?;
    let shown = list(&inputs);
    if let Some((k, v)) = knob {
        return Err(error(
            &file,
            format!(
                "--{k} {v} applies to zoo models only; bind a model file's symbolic dims with --batch N and --dim NAME=N (inputs: {shown})"
            ),
        ));
    }
    let mut symbolic: Vec<&str> = Vec::new();
    for d in inputs.iter().flat_map(|(_, d)| d.iter()) {
        if let InputDim::Symbolic(s) = d {
            if !symbolic.contains(&s.as_str()) {
                symbolic.push(s);
            }
        }
    }
    for (name, value) in &options.dims.dims {
        if !symbolic.contains(&name.as_str()) {
            let names = if symbolic.is_empty() {
                "none".to_string()
            } else {
                symbolic.join(", ")
            };
            return Err(error(
                &file,
                format!(
                    "--dim {name}={value} does not apply: no input has a symbolic dim '{name}' (inputs: {shown}; symbolic dims: {names})"
                ),
            ));
        }
    }
    if let (true, Some(batch)) = (options.batch_given, options.dims.batch) {
        let applies = inputs.iter().any(|(_, d)| match d.first() {
            Some(InputDim::Symbolic(s)) => !options.dims.dims.contains_key(s),
            Some(InputDim::Unknown) => true,
            Some(InputDim::Fixed(n)) => *n == batch as i64,
            None => false,
        });
        if !applies {
            return Err(error(
                &file,
                format!(
                    "--batch {batch} does not apply: no input has a symbolic batch dim (inputs: {shown}); export the model with a dynamic batch, e.g. torch.onnx.export(..., dynamic_axes={{'input': {{0: 'batch'}}}})"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks `--batch` and `--dim` against a JSON model's fixed input shapes.
pub fn check_json(g: &Graph, file: &str, options: &LoadOptions) -> Result<(), LoadError> {
    let inputs = graph_inputs(g);
    if let Some((name, value)) = options.dims.dims.iter().next() {
        return Err(error(
            file,
            format!(
                "--dim {name}={value} does not apply: a JSON model has fixed shapes (inputs: {})",
                list(&inputs)
            ),
        ));
    }
    if let (true, Some(batch)) = (options.batch_given, options.dims.batch) {
        if inputs.iter().any(|(_, d)| d.first() != Some(&batch)) {
            return Err(error(
                file,
                format!(
                    "--batch {batch} does not apply: a JSON model has fixed shapes (inputs: {})",
                    list(&inputs)
                ),
            ));
        }
    }
    Ok(())
}
