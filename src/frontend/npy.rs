//! Input values from NumPy files: a `.npy` file holds the one input of a single-input model;
//! a `.npz` file (`np.savez` / `np.savez_compressed`) holds one array per graph input, named
//! after the input (`np.savez(f, input_ids=ids)`) or positional in input order
//! (`np.savez(f, x)` writes `arr_0`). Arrays of float32, float64, int64 or int32 are read
//! (`ndarray-npy`) and checked against the graph's input shapes.

use crate::graph::{shape_string, ElemKind, Graph, Op};
use crate::interpret::{Bindings, Tensor};
use ndarray::ArrayD;
use ndarray_npy::{NpzReader, ReadNpyExt};
use std::fs::File;
use std::path::Path;

/// Reads one sample of values for every input of `graph` from a `.npy` or `.npz` file.
/// Errors name the file, the array or input, the reason and the fix.
pub fn read_inputs(graph: &Graph, path: &Path) -> Result<Bindings, String> {
    let file = path.display().to_string();
    let inputs: Vec<_> = graph
        .node_ids()
        .filter(|&id| matches!(graph.node(id).op, Op::Input))
        .collect();
    let names: Vec<&str> = inputs
        .iter()
        .map(|&id| graph.node(id).name.as_str())
        .collect();
    let open = || File::open(path).map_err(|e| format!("{file}: {e}"));
    let mut arrays: Vec<(String, ArrayD<f64>)> = Vec::new();
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("npy") => {
            if names.len() != 1 {
                return Err(format!(
                    "{file}: a .npy file holds one array, the model has {} inputs ({}); \
                     give a .npz file with one array per input (np.savez(FILE, {}))",
                    names.len(),
                    names.join(", "),
                    names
                        .iter()
                        .map(|n| format!("{n}=..."))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            arrays.push((names[0].to_string(), read_any(open, &file)?));
        }
        Some("npz") => {
            let mut npz = NpzReader::new(open()?).map_err(|e| format!("{file}: {e}"))?;
            let keys: Vec<String> = npz
                .names()
                .map_err(|e| format!("{file}: {e}"))?
                .into_iter()
                .map(|k| k.trim_end_matches(".npy").to_string())
                .collect();
            let positional: Vec<String> = (0..names.len()).map(|i| format!("arr_{i}")).collect();
            let by_name = keys.iter().all(|k| names.contains(&k.as_str()));
            let by_position = !by_name && keys.iter().all(|k| positional.contains(k));
            if !(by_name || by_position) || keys.len() != names.len() {
                return Err(format!(
                    "{file}: holds arrays {}, the model's inputs are {}; save one array per \
                     input, named after it (np.savez(FILE, {}))",
                    list(&keys),
                    names.join(", "),
                    names
                        .iter()
                        .map(|n| format!("{n}=..."))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            for (i, name) in names.iter().enumerate() {
                let key = if by_name {
                    name.to_string()
                } else {
                    positional[i].clone()
                };
                let array = read_npz_any(&mut npz, &key, &format!("{file}: array '{key}'"))?;
                arrays.push((name.to_string(), array));
            }
        }
        _ => {
            return Err(format!(
                "{file}: inputs are read from .npy or .npz files (numpy.save / numpy.savez)"
            ))
        }
    }
    let mut bindings = Bindings::new();
    for (name, array) in arrays {
        let id = graph.find(&name).expect("an input of the graph");
        let node = graph.node(id);
        if array.shape() != node.value.shape.as_slice() {
            return Err(format!(
                "{file}: the array for input '{name}' has shape {}, the model's input is {}; \
                 save an array of that shape (or bind the model's dims with --batch / --dim)",
                shape_string(array.shape()),
                shape_string(&node.value.shape)
            ));
        }
        if let Some(bad) = array.iter().find(|v| !v.is_finite()) {
            return Err(format!(
                "{file}: the array for input '{name}' holds {bad}; inputs must be finite"
            ));
        }
        if node.value.kind == ElemKind::Int {
            if let Some(bad) = array.iter().find(|v| v.fract() != 0.0) {
                return Err(format!(
                    "{file}: input '{name}' holds integers (token ids), the array has {bad}; \
                     save an integer array"
                ));
            }
        }
        bindings.insert(name, Tensor::from_array(array, node.value.kind));
    }
    Ok(bindings)
}

fn list(keys: &[String]) -> String {
    if keys.is_empty() {
        "none".to_string()
    } else {
        keys.join(", ")
    }
}

/// Reads a `.npy` stream of float32, float64, int64 or int32 elements as `f64`.
fn read_any<R: std::io::Read>(
    mut open: impl FnMut() -> Result<R, String>,
    what: &str,
) -> Result<ArrayD<f64>, String> {
    if let Ok(a) = ArrayD::<f64>::read_npy(open()?) {
        return Ok(a);
    }
    if let Ok(a) = ArrayD::<f32>::read_npy(open()?) {
        return Ok(a.mapv(f64::from));
    }
    if let Ok(a) = ArrayD::<i64>::read_npy(open()?) {
        return Ok(a.mapv(|v| v as f64));
    }
    match ArrayD::<i32>::read_npy(open()?) {
        Ok(a) => Ok(a.mapv(f64::from)),
        Err(e) => Err(format!(
            "{what}: not a float32, float64, int64 or int32 array ({e}); save it with one of \
             those dtypes"
        )),
    }
}

/// Reads array `key` of an `.npz` file as `f64`, trying each element type.
fn read_npz_any(npz: &mut NpzReader<File>, key: &str, what: &str) -> Result<ArrayD<f64>, String> {
    let names = [key.to_string(), format!("{key}.npy")];
    for n in &names {
        if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<f64>, ndarray::IxDyn>(n) {
            return Ok(a);
        }
        if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<f32>, ndarray::IxDyn>(n) {
            return Ok(a.mapv(f64::from));
        }
        if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<i64>, ndarray::IxDyn>(n) {
            return Ok(a.mapv(|v| v as f64));
        }
        if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<i32>, ndarray::IxDyn>(n) {
            return Ok(a.mapv(f64::from));
        }
    }
    Err(format!(
        "{what}: not a float32, float64, int64 or int32 array; save it with one of those dtypes"
    ))
}
