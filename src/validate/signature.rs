//! The interface two graphs must share to be compared: the same inputs (by name, with the same
//! shape, element kind and visibility) and the same number of outputs with the same shapes
//! (outputs are matched by position; their names may differ).

use crate::graph::{shape_string, ElemKind, Graph, Op, Shape, Visibility};

/// One input of a graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSignature {
    pub name: String,
    pub shape: Shape,
    pub kind: ElemKind,
    pub visibility: Visibility,
}

impl InputSignature {
    /// `1x3x8x8 real secret`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {}",
            shape_string(&self.shape),
            self.kind.as_str(),
            self.visibility
        )
    }
}

/// What a caller of a graph sees: its inputs (in node order) and output shapes (in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub inputs: Vec<InputSignature>,
    pub outputs: Vec<Shape>,
}

impl Signature {
    pub fn of(graph: &Graph) -> Signature {
        Signature {
            inputs: graph
                .node_ids()
                .map(|id| graph.node(id))
                .filter(|n| matches!(n.op, Op::Input))
                .map(|n| InputSignature {
                    name: n.name.clone(),
                    shape: n.value.shape.clone(),
                    kind: n.value.kind,
                    visibility: n.value.visibility,
                })
                .collect(),
            outputs: graph
                .outputs()
                .iter()
                .map(|&o| graph.node(o).value.shape.clone())
                .collect(),
        }
    }

    /// Every difference between this (the original's) signature and the variant's, one
    /// sentence each; empty when they match.
    pub fn mismatches(&self, variant: &Signature) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.inputs {
            match variant.inputs.iter().find(|b| b.name == a.name) {
                None => out.push(format!(
                    "input '{}' ({}) is not an input of the variant",
                    a.name,
                    a.describe()
                )),
                Some(b) if a != b => out.push(format!(
                    "input '{}' is {} in the original but {} in the variant",
                    a.name,
                    a.describe(),
                    b.describe()
                )),
                Some(_) => {}
            }
        }
        for b in &variant.inputs {
            if !self.inputs.iter().any(|a| a.name == b.name) {
                out.push(format!(
                    "input '{}' ({}) is not an input of the original",
                    b.name,
                    b.describe()
                ));
            }
        }
        if self.outputs.len() != variant.outputs.len() {
            out.push(format!(
                "the original has {} outputs, the variant {}",
                self.outputs.len(),
                variant.outputs.len()
            ));
        } else {
            for (i, (a, b)) in self.outputs.iter().zip(&variant.outputs).enumerate() {
                if a != b {
                    out.push(format!(
                        "output {i} has shape {} in the original but {} in the variant",
                        shape_string(a),
                        shape_string(b)
                    ));
                }
            }
        }
        out
    }
}
