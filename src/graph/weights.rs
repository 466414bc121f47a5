//! Stored parameter values carried alongside a graph.
//!
//! The IR itself only needs shapes; the values of parameters matter only when a graph is
//! written back to a model file. An importer records where each parameter's values live (a
//! shared slice of the file it read, or a reference into an external weight file that is never
//! read at import time), so memory stays proportional to the graph rather than to the weights.
//! Parameters without a record (built-in zoo models, stripped files) get placeholder values on
//! export.

use bytes::Bytes;
use std::fmt;
use std::path::PathBuf;

/// Where the values of one parameter are stored. `data_type` is the ONNX
/// `TensorProto.DataType` code of the stored elements (1 = float32, 10 = float16, ...), and the
/// bytes are little-endian in row-major order, as ONNX stores `raw_data`.
#[derive(Clone, PartialEq, Eq)]
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
}

impl WeightData {
    /// The ONNX element type code of the stored values.
    pub fn data_type(&self) -> i32 {
        match self {
            WeightData::Inline { data_type, .. } | WeightData::External { data_type, .. } => {
                *data_type
            }
        }
    }

    /// Number of stored bytes.
    pub fn byte_len(&self) -> u64 {
        match self {
            WeightData::Inline { bytes, .. } => bytes.len() as u64,
            WeightData::External { length, .. } => *length,
        }
    }
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
        }
    }
}
