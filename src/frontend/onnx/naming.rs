//! How ONNX names map to the IR's module paths, and the marker our exporter leaves in
//! `doc_string`s so that an exported graph imports back exactly.
//!
//! PyTorch's exporter names a node after the chain of module scopes it ran in and its op type:
//! `/layer1/layer1.0/conv1/Conv`. Each scope component is a module's attribute name, except
//! that the child of a container is written with its parent's name in front (`layer1.0`,
//! `layers.0`). [`module_of_node`] undoes that (`layer1.0.conv1`); [`node_scope`] does it.

use crate::graph::{Op, ParamRole, Phase, Visibility};
use serde::{Deserialize, Serialize};

/// The module path of a node named the way PyTorch's exporter names nodes; empty for names
/// without a scope (`Conv_12`, `/Flatten`).
///
/// ```
/// use hawkeye_mpc::frontend::onnx::module_of_node;
/// assert_eq!(module_of_node("/layer1/layer1.0/conv1/Conv"), "layer1.0.conv1");
/// assert_eq!(module_of_node("/1/layers/layers.0/Conv"), "1.layers.0");
/// assert_eq!(module_of_node("/0/Conv"), "0");
/// assert_eq!(module_of_node("/bert/encoder/layer.0/attention/self/query/MatMul"),
///            "bert.encoder.layer.0.attention.self.query");
/// assert_eq!(module_of_node("Conv_0"), "");
/// ```
pub fn module_of_node(name: &str) -> String {
    let Some(rest) = name.strip_prefix('/') else {
        return String::new();
    };
    let comps: Vec<&str> = rest.split('/').collect();
    let scope = &comps[..comps.len() - 1];
    let mut segments: Vec<&str> = Vec::with_capacity(scope.len());
    for (i, comp) in scope.iter().enumerate() {
        let seg = i
            .checked_sub(1)
            .and_then(|p| comp.strip_prefix(scope[p]))
            .and_then(|s| s.strip_prefix('.'))
            .unwrap_or(comp);
        segments.push(seg);
    }
    segments.join(".")
}

/// The node-name prefix of a module, PyTorch style, ending in `/`:
/// `layer1.0.conv1` → `/layer1/layer1.0/conv1/`; the top level → `/`.
pub fn node_scope(module: &str) -> String {
    let mut out = String::from("/");
    if module.is_empty() {
        return out;
    }
    let mut prev = String::new();
    for (i, seg) in module.split('.').enumerate() {
        let comp = if i > 0 && !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            format!("{prev}.{seg}")
        } else {
            seg.to_string()
        };
        out.push_str(&comp);
        out.push('/');
        prev = comp;
    }
    out
}

/// The module of a parameter named PyTorch style (`layer1.0.conv1.weight` → `layer1.0.conv1`);
/// `None` for names that carry no module (`onnx::Conv_193`, `cls_token`).
pub fn module_of_param(name: &str) -> Option<String> {
    if name.contains("::") || name.contains('/') {
        return None;
    }
    name.rsplit_once('.').map(|(m, _)| m.to_string())
}

/// The role of a parameter from its name's last component, if that names one.
pub fn role_of_param(name: &str) -> Option<ParamRole> {
    match name.rsplit('.').next()? {
        "weight" => Some(ParamRole::Weight),
        "bias" => Some(ParamRole::Bias),
        "running_mean" => Some(ParamRole::RunningMean),
        "running_var" => Some(ParamRole::RunningVar),
        _ => None,
    }
}

/// A float attribute or tensor element stored as float32, read back as the shortest decimal
/// that rounds to it (`0.01f32` → `0.01`, not `0.009999999776482582`), which is the value the
/// model's author wrote.
pub fn f32_to_f64(v: f32) -> f64 {
    if !v.is_finite() {
        return v as f64;
    }
    format!("{v}").parse().unwrap_or(v as f64)
}

/// Whether `v` survives being stored as float32 and read back with [`f32_to_f64`].
pub fn survives_f32(v: f64) -> bool {
    let back = f32_to_f64(v as f32);
    back == v || (v.is_nan() && back.is_nan())
}

/// Prefix of the `doc_string` marker.
pub const MARKER_PREFIX: &str = "hawkeye:";

/// What our exporter records on a node, initializer or graph input for the importer: the IR
/// facts that the ONNX form does not carry by itself. Every field is optional; an empty marker
/// (`hawkeye:{}`) still says "this node is one IR node: do not fold it into a constant and do
/// not fuse it with its neighbours". Helper nodes of an IR node's expansion carry no marker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// IR node name, when it differs from the ONNX name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Module path, when the ONNX name does not give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ParamRole>,
    /// The exact IR op, when the ONNX form loses it (float32 attributes, ops ONNX lacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    /// With `op`: how many leading ONNX inputs are the op's inputs (default: all; none for
    /// a constant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<usize>,
}

impl Marker {
    /// The marker in a `doc_string`, if it has one (an unreadable marker counts as none).
    pub fn parse(doc: Option<&str>) -> Option<Marker> {
        let json = doc?.strip_prefix(MARKER_PREFIX)?;
        serde_json::from_str(json).ok()
    }

    /// The `doc_string` form.
    pub fn to_doc(&self) -> String {
        format!(
            "{MARKER_PREFIX}{}",
            serde_json::to_string(self).expect("marker serializes")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_invert_module_paths() {
        for m in [
            "",
            "0",
            "layer1.0.conv1",
            "1.layers.0",
            "layer1.0.downsample.0",
            "bert.encoder.layer.0.attention.self.query",
            "a.0.1.b",
            "features.3.block.1.fc1",
        ] {
            let name = format!("{}Conv", node_scope(m));
            assert_eq!(module_of_node(&name), m, "{name}");
        }
        assert_eq!(node_scope("layer1.0.conv1"), "/layer1/layer1.0/conv1/");
    }

    #[test]
    fn float32_values_read_back_as_written() {
        assert_eq!(f32_to_f64(0.01), 0.01);
        assert_eq!(f32_to_f64(9.999999747378752e-06_f64 as f32), 1e-5);
        assert!(
            survives_f32(0.5) && survives_f32(1e-12) && !survives_f32(std::f64::consts::SQRT_2)
        );
    }

    #[test]
    fn param_names_give_module_and_role() {
        assert_eq!(
            module_of_param("layer1.0.conv1.weight").as_deref(),
            Some("layer1.0.conv1")
        );
        assert_eq!(module_of_param("onnx::Conv_193"), None);
        assert_eq!(role_of_param("bn.running_var"), Some(ParamRole::RunningVar));
        assert_eq!(role_of_param("cls_token"), None);
    }
}
