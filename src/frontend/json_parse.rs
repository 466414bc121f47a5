//! A native JSON graph file as parsed, before its graph is built ([`super::json`]): the
//! strings borrowed from the file's text (copied only when they hold escapes), a node's
//! attributes kept apart from its fixed fields, and no intermediate `serde_json::Value` tree
//! beyond the attributes themselves, so reading costs little more than one pass over the text.

use crate::graph::{ElemKind, Phase, Shape, Visibility};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A string of the file: borrowed from its text unless it holds escapes.
#[derive(Deserialize, Default)]
pub(super) struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileIn<'a> {
    #[serde(borrow)]
    pub format: Text<'a>,
    pub version: u32,
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow)]
    pub nodes: Vec<NodeIn<'a>>,
    #[serde(borrow)]
    pub outputs: Vec<Text<'a>>,
}

/// One node: its fixed fields, and every other key as an attribute of its op.
pub(super) struct NodeIn<'a> {
    pub name: Text<'a>,
    pub op: Text<'a>,
    pub inputs: Vec<Text<'a>>,
    pub module: Text<'a>,
    pub shape: Option<Shape>,
    pub kind: Option<ElemKind>,
    pub visibility: Option<Visibility>,
    pub phase: Phase,
    /// A parameter's stored values, row-major.
    pub values: Option<Vec<f64>>,
    /// The op's attributes, in file order.
    pub attrs: Vec<(Text<'a>, serde_json::Value)>,
}

impl<'de: 'a, 'a> Deserialize<'de> for NodeIn<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(NodeVisitor(PhantomData))
    }
}

struct NodeVisitor<'a>(PhantomData<NodeIn<'a>>);

/// Sets a fixed field once: a second occurrence of the key is an error.
fn once<T, E: de::Error>(slot: &mut Option<T>, key: &'static str, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(key));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de: 'a, 'a> Visitor<'de> for NodeVisitor<'a> {
    type Value = NodeIn<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a node object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeIn<'a>, A::Error> {
        let (mut name, mut op, mut inputs, mut module) = (None, None, None, None);
        let (mut shape, mut kind, mut visibility, mut phase, mut values) =
            (None, None, None, None, None);
        let mut attrs = Vec::new();
        while let Some(key) = map.next_key::<Text<'a>>()? {
            match &*key {
                "name" => once(&mut name, "name", map.next_value()?)?,
                "op" => once(&mut op, "op", map.next_value()?)?,
                "inputs" => once(&mut inputs, "inputs", map.next_value()?)?,
                "module" => once(&mut module, "module", map.next_value()?)?,
                "shape" => once(&mut shape, "shape", map.next_value()?)?,
                "kind" => once(&mut kind, "kind", map.next_value()?)?,
                "visibility" => once(&mut visibility, "visibility", map.next_value()?)?,
                "phase" => once(&mut phase, "phase", map.next_value()?)?,
                "values" => once(&mut values, "values", map.next_value()?)?,
                _ => {
                    let value = map.next_value()?;
                    attrs.push((key, value));
                }
            }
        }
        Ok(NodeIn {
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            op: op.ok_or_else(|| de::Error::missing_field("op"))?,
            inputs: inputs.unwrap_or_default(),
            module: module.unwrap_or_default(),
            shape: shape.flatten(),
            kind: kind.flatten(),
            visibility: visibility.flatten(),
            phase: phase.unwrap_or_default(),
            values: values.flatten(),
            attrs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_borrowed_unless_escaped_and_attributes_kept_apart() {
        let text = r#"{"name": "a\"b", "op": "conv2d", "module": "m.1", "inputs": ["x"],
            "stride": [2, 2], "shape": null, "groups": 3}"#;
        let n: NodeIn = serde_json::from_str(text).unwrap();
        assert!(matches!(n.name.0, Cow::Owned(ref s) if s == "a\"b"));
        assert!(matches!(n.module.0, Cow::Borrowed("m.1")));
        assert_eq!(&*n.inputs[0], "x");
        assert_eq!(n.shape, None);
        let attrs: Vec<(&str, String)> =
            n.attrs.iter().map(|(k, v)| (&**k, v.to_string())).collect();
        assert_eq!(attrs, [("stride", "[2,2]".into()), ("groups", "3".into())]);
    }

    #[test]
    fn missing_and_repeated_fields_are_errors() {
        let e = serde_json::from_str::<NodeIn>(r#"{"op": "relu"}"#)
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "missing field `name` at line 1 column 14");
        let e = serde_json::from_str::<NodeIn>(r#"{"name": "a", "name": "b", "op": "relu"}"#)
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "duplicate field `name` at line 1 column 25");
    }
}
