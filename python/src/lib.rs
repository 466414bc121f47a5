//! Python bindings of hawkeye-mpc: the native module `hawkeye_mpc._native`.
//!
//! A thin layer: each function takes the same choices as the command line, calls the Rust
//! library, and hands back the library's own renderings (the JSON documents of the README and
//! the CLI's text views), which the pure-Python package `hawkeye_mpc` wraps in classes. Errors
//! carry the CLI's message and a kind (`file_not_found` or `value`) that the Python side turns
//! into `FileNotFoundError` / `ValueError` subclasses of `hawkeye_mpc.HawkeyeError`.

use hawkeye_mpc::request::{self, ModelSource, ProfileRequest, RequestError, TrainRequest};
use hawkeye_mpc::{cost, report, zoo};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;

pyo3::create_exception!(_native, NativeError, PyException);

/// Raises a [`NativeError`] whose arguments are `(kind, message)`.
fn raise(e: RequestError) -> PyErr {
    NativeError::new_err((e.kind.as_str(), e.message))
}

/// A model as Python gives it: a zoo name or a file path (str), or ONNX bytes.
fn model_source(model: &Bound<'_, PyAny>) -> PyResult<ModelSource> {
    if let Ok(b) = model.cast::<PyBytes>() {
        return Ok(ModelSource::OnnxBytes(b.as_bytes().to_vec()));
    }
    if let Ok(s) = model.extract::<String>() {
        return Ok(ModelSource::Spec(s));
    }
    let path = model
        .py()
        .import("os")?
        .getattr("fspath")?
        .call1((model,))
        .and_then(|p| p.extract::<String>());
    match path {
        Ok(p) => Ok(ModelSource::Spec(p)),
        Err(_) => Err(NativeError::new_err((
            "type",
            format!(
                "model must be a zoo name, a path to a .onnx or .json file, or ONNX bytes, not {}",
                model.get_type().name()?
            ),
        ))),
    }
}

/// The model-shape and costing keywords every function shares: the dict of the Python
/// package's `_shape_kwargs`.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Shape {
    batch: Option<usize>,
    dims: Vec<(String, usize)>,
    resolution: Option<usize>,
    seq_len: Option<usize>,
    classes: Option<usize>,
    network: Option<String>,
    set: Vec<(String, f64)>,
}

/// The training keywords: the dict of the Python package's `_train_kwargs` (`None` for
/// inference).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Train {
    loss: String,
    optimizer: String,
    lr: f64,
    grad_threshold: Option<f64>,
    default_grad_threshold: bool,
}

/// The request every costing function shares.
fn profile_request(
    model: &Bound<'_, PyAny>,
    framework: String,
    weights: Option<String>,
    train: Option<TrainRequest>,
    shape: Shape,
) -> PyResult<ProfileRequest> {
    Ok(ProfileRequest {
        model: model_source(model)?,
        framework,
        weights,
        train,
        batch: shape.batch,
        dims: shape.dims,
        resolution: shape.resolution,
        seq_len: shape.seq_len,
        classes: shape.classes,
        network: shape.network,
        overrides: shape.set,
    })
}

/// Training options; `None` for inference.
fn train_request(train: Option<Train>, frozen_batchnorm: bool) -> Option<TrainRequest> {
    train.map(|t| TrainRequest {
        loss: t.loss,
        optimizer: t.optimizer,
        lr: t.lr,
        grad_threshold: t.grad_threshold,
        default_grad_threshold: t.default_grad_threshold,
        frozen_batchnorm,
    })
}

/// Profiles a model: returns `(profile JSON, text view)`.
#[pyfunction]
#[pyo3(signature = (model, framework, *, weights, train, frozen_batchnorm, shape, depth, top))]
#[allow(clippy::too_many_arguments)]
fn profile(
    model: &Bound<'_, PyAny>,
    framework: String,
    weights: Option<String>,
    train: Option<Train>,
    frozen_batchnorm: bool,
    shape: Shape,
    depth: Option<usize>,
    top: Option<usize>,
) -> PyResult<(String, String)> {
    let train = train_request(train, frozen_batchnorm);
    let req = profile_request(model, framework, weights, train, shape)?;
    let done = request::run_profile(&req).map_err(raise)?;
    Ok((done.json(), done.text(depth, top)))
}

/// Profiles a model under several frameworks (all built-ins when `frameworks` is `None`):
/// a JSON list of `{"framework", "profile"}` or `{"framework", "error"}`.
#[pyfunction]
#[pyo3(signature = (model, frameworks, *, weights, train, frozen_batchnorm, shape))]
fn compare(
    model: &Bound<'_, PyAny>,
    frameworks: Option<Vec<String>>,
    weights: Option<String>,
    train: Option<Train>,
    frozen_batchnorm: bool,
    shape: Shape,
) -> PyResult<String> {
    let train = train_request(train, frozen_batchnorm);
    let req = profile_request(model, String::new(), weights, train, shape)?;
    request::run_compare(&req, frameworks.as_deref()).map_err(raise)
}

/// Optimizes a model: returns `(report JSON, report text, optimized ONNX bytes, before
/// profile JSON, after profile JSON)`.
#[pyfunction]
#[pyo3(signature = (model, framework, *, weights=None, objective="time".to_string(),
    allow_approx=false, samples=2, max_error=None, error_metric="relative".to_string(),
    max_sites=None, force=false, rules_only=Vec::new(), exclude_rules=Vec::new(), modules=None,
    check_inputs=None, shape))]
#[allow(clippy::too_many_arguments)]
fn optimize<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    framework: String,
    weights: Option<String>,
    objective: String,
    allow_approx: bool,
    samples: usize,
    max_error: Option<f64>,
    error_metric: String,
    max_sites: Option<usize>,
    force: bool,
    rules_only: Vec<String>,
    exclude_rules: Vec<String>,
    modules: Option<String>,
    check_inputs: Option<PathBuf>,
    shape: Shape,
) -> PyResult<(String, String, Bound<'py, PyBytes>, String, String)> {
    let req = profile_request(model, framework, weights, None, shape)?;
    let defaults = request::OptimizeSettings::default();
    let settings = request::OptimizeSettings {
        objective,
        allow_approx,
        samples,
        max_error,
        error_metric,
        max_sites: max_sites.unwrap_or(defaults.max_sites),
        force,
        rules_only,
        exclude_rules,
        modules,
        check_inputs,
    };
    let done = request::run_optimize(&req, &settings).map_err(raise)?;
    Ok((
        done.report_json,
        done.report_text,
        PyBytes::new(py, &done.onnx),
        done.before_json,
        done.after_json,
    ))
}

/// Checks that `variant` computes what `original` does: returns `(verdict, largest relative
/// error, exit status, text report)`.
#[pyfunction]
#[pyo3(signature = (original, variant, framework, *, weights=None, samples=8, seed=0,
    tolerance=0.01, shape))]
#[allow(clippy::too_many_arguments)]
fn equiv(
    original: &Bound<'_, PyAny>,
    variant: &Bound<'_, PyAny>,
    framework: String,
    weights: Option<String>,
    samples: usize,
    seed: u64,
    tolerance: f64,
    shape: Shape,
) -> PyResult<(String, f64, i32, String)> {
    let req = profile_request(original, framework, weights, None, shape)?;
    let variant = model_source(variant)?;
    let done = request::run_equiv(&req, &variant, samples, seed, tolerance).map_err(raise)?;
    Ok((
        done.verdict.as_str().to_string(),
        done.max_rel,
        done.verdict.exit_code(),
        done.text,
    ))
}

/// The built-in frameworks: a JSON list of `{name, aliases, description, provenance,
/// parties, rounds, default_weights}`.
#[pyfunction]
fn frameworks() -> PyResult<String> {
    let models =
        cost::builtin_frameworks().map_err(|e| raise(RequestError::value(format!("{e}"))))?;
    Ok(report::catalog::frameworks_json(&models))
}

/// The built-in rewrite rules: a JSON list of `{name, class, direction, multi, file, line,
/// why}`, as `hawkeye rules --format json` lists them.
#[pyfunction]
fn rules() -> PyResult<String> {
    let set = hawkeye_mpc::optimize::RuleSet::builtin()
        .map_err(|e| raise(RequestError::value(format!("{e}"))))?;
    Ok(report::catalog::rules_json(&set))
}

/// The model zoo: a JSON list of `{name, description, knobs}`.
#[pyfunction]
fn models() -> String {
    report::catalog::models_json(zoo::MODELS)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add_function(wrap_pyfunction!(profile, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(optimize, m)?)?;
    m.add_function(wrap_pyfunction!(equiv, m)?)?;
    m.add_function(wrap_pyfunction!(frameworks, m)?)?;
    m.add_function(wrap_pyfunction!(models, m)?)?;
    m.add_function(wrap_pyfunction!(rules, m)?)?;
    Ok(())
}
