//! The nodes of an ONNX file as a framework's frontend reads them (op type, name, module, and
//! which operands are computed from the model's inputs), for the loadability check of
//! [`crate::cost::loadability`].

use super::error::OnnxError;
use super::naming::module_of_node;
use super::proto::ModelProto;
use crate::cost::loadability::SourceNode;
use prost::Message;
use std::collections::HashSet;
use std::path::Path;

/// The top-level nodes of the ONNX file at `path`, in file order.
pub fn source_nodes_of_file(path: &Path) -> Result<Vec<SourceNode>, OnnxError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
        file: file.clone(),
        source,
    })?;
    source_nodes(&bytes, &file)
}

/// The top-level nodes of an ONNX model (`file` names it in errors). An operand is secret when
/// it is computed from a graph input that is not an initializer.
pub fn source_nodes(bytes: &[u8], file: &str) -> Result<Vec<SourceNode>, OnnxError> {
    let invalid = |reason: String| OnnxError::Invalid {
        file: file.to_string(),
        reason,
    };
    let model =
        ModelProto::decode(bytes).map_err(|e| invalid(format!("protobuf decoding failed: {e}")))?;
    let graph = model
        .graph
        .ok_or_else(|| invalid("the model has no graph".into()))?;
    let weights: HashSet<&str> = graph
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    let mut secret: HashSet<String> = graph
        .input
        .iter()
        .filter_map(|v| v.name.clone())
        .filter(|n| !weights.contains(n.as_str()))
        .collect();
    let mut nodes = Vec::with_capacity(graph.node.len());
    for n in &graph.node {
        let op_type = n.op_type.clone().unwrap_or_default();
        let secret_operands: Vec<bool> = n.input.iter().map(|v| secret.contains(v)).collect();
        if secret_operands.iter().any(|&s| s) {
            secret.extend(n.output.iter().filter(|o| !o.is_empty()).cloned());
        }
        let name = match n.name.as_deref() {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => op_type.clone(),
        };
        nodes.push(SourceNode {
            module: module_of_node(&name),
            op_type,
            name,
            secret_operands,
        });
    }
    Ok(nodes)
}

/// One dim of a declared model input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputDim {
    Fixed(i64),
    Symbolic(String),
    Unknown,
}

/// The graph inputs (not initializers) of an ONNX model with their declared dims.
pub fn input_dims(bytes: &[u8], file: &str) -> Result<Vec<(String, Vec<InputDim>)>, OnnxError> {
    use super::proto::tensor_shape_proto::dimension::Value as D;
    use super::proto::type_proto::Value as T;
    let model = ModelProto::decode(bytes).map_err(|e| OnnxError::Invalid {
        file: file.to_string(),
        reason: format!("protobuf decoding failed: {e}"),
    })?;
    let Some(graph) = model.graph else {
        return Ok(Vec::new());
    };
    let weights: HashSet<&str> = graph
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    Ok(graph
        .input
        .iter()
        .filter(|v| !weights.contains(v.name.as_deref().unwrap_or("")))
        .map(|v| {
            let dims = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
                Some(T::TensorType(t)) => t
                    .shape
                    .as_ref()
                    .map(|s| {
                        s.dim
                            .iter()
                            .map(|d| match &d.value {
                                Some(D::DimValue(n)) => InputDim::Fixed(*n),
                                Some(D::DimParam(p)) if !p.is_empty() => {
                                    InputDim::Symbolic(p.clone())
                                }
                                _ => InputDim::Unknown,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            (v.name.clone().unwrap_or_default(), dims)
        })
        .collect())
}
