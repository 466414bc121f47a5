//! Stored parameter values carried alongside a graph.
//!
//! The IR itself only needs shapes; the values of parameters matter only when a graph is
//! written back to a model file. An importer records where each parameter's values live (a
//! shared slice of the file it read, or a reference into an external weight file that is never
//! read at import time), so memory stays proportional to the graph rather than to the weights.
//! Parameters without a record (built-in zoo models, stripped files) get deterministic
//! placeholder values ([`WeightData::Placeholder`], drawn as PyTorch initialises such a
//! parameter, seeded by its name) wherever values are needed: on export, when parameter-only
//! subgraphs are folded, and in the optimizer's check.

use bytes::Bytes;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// Where the values of one parameter are stored. `data_type` is the ONNX
/// `TensorProto.DataType` code of the stored elements (1 = float32, 10 = float16, ...), and the
/// bytes are little-endian in row-major order, as ONNX stores `raw_data`.
#[derive(Clone, PartialEq)]
pub enum WeightData {
    /// Bytes held in memory (shared with the buffer they were read from, not copied).
    Inline { data_type: i32, bytes: Bytes },
    /// `length` bytes at `offset` of the file at `path` (ONNX external data), not read until
    /// an export needs them.
    External {
        data_type: i32,
        path: PathBuf,
        offset: u64,
        length: u64,
    },
    /// Values of shape `shape` drawn from `draw` by the PCG-64 stream `stream`, each rounded to
    /// float32 (the type they are written as): the placeholder of a parameter without stored
    /// values, fixed when it was first needed so that every later copy of the graph gives
    /// the parameter the same values however it is used.
    Placeholder {
        draw: crate::interpret::random::Draw,
        stream: u64,
        shape: Vec<usize>,
    },
}

impl WeightData {
    /// The ONNX element type code of the stored values.
    pub fn data_type(&self) -> i32 {
        match self {
            WeightData::Inline { data_type, .. } | WeightData::External { data_type, .. } => {
                *data_type
            }
            WeightData::Placeholder { .. } => 1,
        }
    }

    /// Number of stored bytes.
    pub fn byte_len(&self) -> u64 {
        match self {
            WeightData::Inline { bytes, .. } => bytes.len() as u64,
            WeightData::External { length, .. } => *length,
            WeightData::Placeholder { shape, .. } => super::numel(shape) as u64 * 4,
        }
    }

    /// The stored values as `f64`, in row-major order: float32, float64, float16 and
    /// bfloat16 elements are decoded exactly (every one of them is an `f64`). External data is
    /// read from its file. Fails on other element types, on an unreadable or short file, and
    /// when the byte count is not a whole number of elements.
    pub fn to_f64(&self) -> Result<Vec<f64>, String> {
        let stored;
        let raw: &[u8] = match self {
            WeightData::Inline { bytes, .. } => bytes,
            WeightData::External {
                path,
                offset,
                length,
                ..
            } => {
                stored = read_range(path, *offset, *length)?;
                &stored
            }
            WeightData::Placeholder {
                draw,
                stream,
                shape,
            } => {
                return Ok(crate::interpret::random::draw_values(*draw, *stream, shape)
                    .into_iter()
                    .map(|v| v as f32 as f64)
                    .collect())
            }
        };
        let decode = |size: usize, f: &dyn Fn(&[u8]) -> f64| -> Result<Vec<f64>, String> {
            if raw.len() % size != 0 {
                return Err(format!(
                    "{} stored bytes are not a whole number of {size}-byte elements",
                    raw.len()
                ));
            }
            Ok(raw.chunks_exact(size).map(f).collect())
        };
        let le2 = |c: &[u8]| u16::from_le_bytes([c[0], c[1]]);
        match self.data_type() {
            1 => decode(4, &|c| {
                f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64
            }),
            11 => decode(8, &|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))),
            10 => decode(2, &|c| crate::frontend::onnx::f16_to_f64(le2(c))),
            16 => decode(2, &|c| crate::frontend::onnx::bf16_to_f64(le2(c))),
            t => Err(format!(
                "stored values of ONNX element type {t} cannot be read as real numbers"
            )),
        }
    }
}

impl WeightData {
    /// Values stored as float32 (each `f64` rounded to the nearest float32).
    pub fn from_f32(values: &[f64]) -> WeightData {
        WeightData::Inline {
            data_type: 1,
            bytes: values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect::<Vec<u8>>()
                .into(),
        }
    }
}

fn read_range(path: &std::path::Path, offset: u64, length: u64) -> Result<Vec<u8>, String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = std::fs::File::open(path).map_err(fail)?;
    f.seek(SeekFrom::Start(offset)).map_err(fail)?;
    let mut buf = Vec::new();
    f.take(length).read_to_end(&mut buf).map_err(fail)?;
    if buf.len() as u64 != length {
        return Err(format!(
            "{}: expected {length} bytes at offset {offset}, found {}",
            path.display(),
            buf.len()
        ));
    }
    Ok(buf)
}

/// Summarises instead of dumping the bytes.
impl fmt::Debug for WeightData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightData::Inline { data_type, bytes } => {
                write!(f, "Inline(type {data_type}, {} bytes)", bytes.len())
            }
            WeightData::External {
                data_type,
                path,
                offset,
                length,
            } => write!(
                f,
                "External(type {data_type}, {} bytes at {offset} of {})",
                length,
                path.display()
            ),
            WeightData::Placeholder { draw, shape, .. } => {
                write!(
                    f,
                    "Placeholder({} from {draw:?})",
                    super::shape_string(shape)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_decode_exactly() {
        let f32s: Vec<u8> = [1.5f32, -0.1, 3e-8]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let w = WeightData::Inline {
            data_type: 1,
            bytes: Bytes::from(f32s),
        };
        assert_eq!(
            w.to_f64().unwrap(),
            vec![1.5, -0.1f32 as f64, 3e-8f32 as f64]
        );
        let f64s: Vec<u8> = [0.1f64, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let w = WeightData::Inline {
            data_type: 11,
            bytes: Bytes::from(f64s),
        };
        assert_eq!(w.to_f64().unwrap(), vec![0.1, -2.0]);
        // float16 1.0 = 0x3c00, -2.0 = 0xc000; bfloat16 1.0 = 0x3f80.
        let w = WeightData::Inline {
            data_type: 10,
            bytes: Bytes::from(vec![0x00, 0x3c, 0x00, 0xc0]),
        };
        assert_eq!(w.to_f64().unwrap(), vec![1.0, -2.0]);
        let w = WeightData::Inline {
            data_type: 16,
            bytes: Bytes::from(vec![0x80, 0x3f]),
        };
        assert_eq!(w.to_f64().unwrap(), vec![1.0]);
        let w = WeightData::Inline {
            data_type: 7,
            bytes: Bytes::from(vec![0; 8]),
        };
        assert!(w.to_f64().unwrap_err().contains("element type 7"));
        let w = WeightData::Inline {
            data_type: 1,
            bytes: Bytes::from(vec![0; 6]),
        };
        assert!(w.to_f64().is_err());
    }

    #[test]
    fn external_values_are_read_from_their_file() {
        let path = std::env::temp_dir().join(format!("hawkeye-weights-{}.bin", std::process::id()));
        let mut bytes = vec![0xffu8; 3];
        bytes.extend(2.5f32.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let w = WeightData::External {
            data_type: 1,
            path: path.clone(),
            offset: 3,
            length: 4,
        };
        assert_eq!(w.to_f64().unwrap(), vec![2.5]);
        let short = WeightData::External {
            data_type: 1,
            path: path.clone(),
            offset: 3,
            length: 8,
        };
        assert!(short.to_f64().unwrap_err().contains("expected 8 bytes"));
        std::fs::remove_file(&path).unwrap();
    }
}
