//! Test support: builds IR graphs from the ground-truth harness's model specs
//! (`tests/fixtures/groundtruth/specs/*.json`) and reads the measured results beside them.
//!
//! Module paths follow the harness's ONNX naming: layer `i` is module `i`, the inner layers of
//! a residual block `i.layers.j` and `i.shortcut.j`, attention projections `i.q_proj` etc.
#![allow(dead_code)]

pub mod random_graph;

use hawkeye_mpc::graph::{ConstValue, Graph, NodeId, Op, Visibility};
use hawkeye_mpc::zoo::{Conv, ModelBuilder};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/groundtruth")
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The spec named `name` (e.g. `c_lenet_b1`).
pub fn spec(name: &str) -> Value {
    read_json(&fixtures().join("specs").join(format!("{name}.json")))
}

/// The measurement of spec `name` under `framework` (`spu_semi2k`, `crypten`, ...), if any.
pub fn measured(framework: &str, name: &str) -> Option<Value> {
    let p = fixtures()
        .join("results")
        .join(framework)
        .join(format!("{name}.json"));
    p.exists().then(|| read_json(&p))
}

/// Names of all specs.
pub fn spec_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures().join("specs"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn u(v: &Value, key: &str, default: usize) -> usize {
    v.get(key)
        .and_then(Value::as_u64)
        .map(|x| x as usize)
        .unwrap_or(default)
}

fn layer(b: &mut ModelBuilder, name: &str, l: &Value, x: NodeId) -> NodeId {
    let ty = l["type"].as_str().unwrap();
    match ty {
        "linear" => b
            .linear(
                name,
                x,
                u(l, "out", 0),
                l.get("bias").and_then(Value::as_bool).unwrap_or(true),
            )
            .unwrap(),
        "conv2d" => {
            let mut c = Conv::new(u(l, "cout", 0), u(l, "k", 0))
                .stride(u(l, "stride", 1))
                .padding(u(l, "pad", 0))
                .groups(u(l, "groups", 1));
            if !l.get("bias").and_then(Value::as_bool).unwrap_or(true) {
                c = c.no_bias();
            }
            b.conv2d(name, x, c).unwrap()
        }
        "batchnorm" => b.batchnorm(name, x).unwrap(),
        "layernorm" => b
            .layernorm(
                name,
                x,
                l.get("eps").and_then(Value::as_f64).unwrap_or(1e-5),
            )
            .unwrap(),
        "residual" => b.scope(name, |b| {
            let short = match l.get("shortcut") {
                Some(s) => b.scope("shortcut", |b| sequence(b, s, x)),
                None => x,
            };
            let f = b.scope("layers", |b| sequence(b, &l["layers"], x));
            b.add(short, f).unwrap()
        }),
        "attention" => b.scope(name, |b| attention(b, x, u(l, "dim", 0), u(l, "heads", 1))),
        "embedding" => b
            .embedding(name, x, u(l, "vocab", 0), u(l, "dim", 0))
            .unwrap(),
        "dropout" => b
            .dropout(name, x, l.get("p").and_then(Value::as_f64).unwrap_or(0.5))
            .unwrap(),
        _ => {
            let op = match ty {
                "relu" => Op::Relu,
                "sigmoid" => Op::Sigmoid,
                "square" => Op::Square,
                "tanh" => Op::Tanh,
                "exp" => Op::Exp,
                "gelu" => Op::Gelu {
                    approximate: l
                        .get("approximate")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                },
                "flatten" => Op::Flatten { axis: 1 },
                "softmax" => Op::Softmax {
                    axis: l.get("dim").and_then(Value::as_i64).unwrap_or(-1),
                },
                "maxpool2d" | "avgpool2d" => {
                    let k = u(l, "k", 0);
                    let s = u(l, "s", k);
                    return b.scope(name, |b| {
                        if ty == "maxpool2d" {
                            b.max_pool(x, k, s, 0).unwrap()
                        } else {
                            b.avg_pool(x, k, s).unwrap()
                        }
                    });
                }
                other => panic!("spec layer type {other} is not supported by the test builder"),
            };
            b.scope(name, |b| b.op(op, &[x]).unwrap())
        }
    }
}

fn sequence(b: &mut ModelBuilder, layers: &Value, mut x: NodeId) -> NodeId {
    for (j, l) in layers.as_array().unwrap().iter().enumerate() {
        x = layer(b, &j.to_string(), l, x);
    }
    x
}

/// Multi-head self-attention as the harness writes it (separate q/k/v projections, no mask).
fn attention(b: &mut ModelBuilder, x: NodeId, dim: usize, heads: usize) -> NodeId {
    let s = b.shape(x);
    let (batch, seq) = (s[0], s[1]);
    let d = dim / heads;
    let split = |b: &mut ModelBuilder, t: NodeId, perm: Vec<usize>| {
        let r = b
            .op(
                Op::Reshape {
                    shape: vec![batch as i64, seq as i64, heads as i64, d as i64],
                },
                &[t],
            )
            .unwrap();
        b.op(Op::Transpose { perm }, &[r]).unwrap()
    };
    let q = b.linear("q_proj", x, dim, true).unwrap();
    let k = b.linear("k_proj", x, dim, true).unwrap();
    let v = b.linear("v_proj", x, dim, true).unwrap();
    let q = split(b, q, vec![0, 2, 1, 3]);
    let v = split(b, v, vec![0, 2, 1, 3]);
    let kt = split(b, k, vec![0, 2, 3, 1]);
    let scores = b.op(Op::MatMul, &[q, kt]).unwrap();
    let scale = b
        .constant("scale", ConstValue::Fill((d as f64).sqrt()), vec![])
        .unwrap();
    let scores = b.op(Op::Div, &[scores, scale]).unwrap();
    let probs = b.op(Op::Softmax { axis: -1 }, &[scores]).unwrap();
    let ctx = b.op(Op::MatMul, &[probs, v]).unwrap();
    let ctx = b
        .op(
            Op::Transpose {
                perm: vec![0, 2, 1, 3],
            },
            &[ctx],
        )
        .unwrap();
    let ctx = b
        .op(
            Op::Reshape {
                shape: vec![batch as i64, seq as i64, dim as i64],
            },
            &[ctx],
        )
        .unwrap();
    b.linear("out_proj", ctx, dim, true).unwrap()
}

/// The inference graph of a spec, with its weights' visibility as the spec says.
pub fn spec_graph(name: &str) -> Graph {
    spec_graph_of(&spec(name))
}

/// Marks every GELU layer of a spec as the tanh form.
fn gelu_tanh(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.get("type").and_then(Value::as_str) == Some("gelu") {
                o.insert("approximate".to_string(), Value::Bool(true));
            }
            o.values_mut().for_each(gelu_tanh);
        }
        Value::Array(a) => a.iter_mut().for_each(gelu_tanh),
        _ => {}
    }
}

fn spec_graph_of(spec: &Value) -> Graph {
    let shape: Vec<usize> = spec["input_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let mut b = ModelBuilder::new(spec["name"].as_str().unwrap_or("spec"));
    // an embedding first: the input is secret integer ids
    let x = if spec["layers"][0]["type"] == "embedding" {
        b.int_input("input", shape).unwrap()
    } else {
        b.input("input", shape).unwrap()
    };
    let y = sequence(&mut b, &spec["layers"], x);
    let g = b.finish(vec![y]);
    match spec.get("weights").and_then(Value::as_str) {
        Some("public") => g.with_parameter_visibility(Visibility::Public),
        _ => g,
    }
}

/// The top-level layer index of a module path (`3.layers.1` -> 3).
pub fn top_layer(module: &str) -> Option<usize> {
    module.split('.').next()?.parse().ok()
}

/// The training options of a training spec (`loss`, `lr`, `optimizer`), for a framework whose
/// cost model states its training style, with or without CrypTen's gradient threshold.
pub fn train_options(
    name: &str,
    model: &hawkeye_mpc::cost::CostModel,
    grad_threshold: Option<f64>,
) -> hawkeye_mpc::autograd::TrainOptions {
    use hawkeye_mpc::autograd::{Loss, Optimizer, TrainOptions, Training};
    let spec = spec(name);
    let lr = spec.get("lr").and_then(Value::as_f64).unwrap_or(0.01);
    let opt = spec.get("optimizer").cloned().unwrap_or(Value::Null);
    let f = |key: &str, default: f64| opt.get(key).and_then(Value::as_f64).unwrap_or(default);
    let betas = opt
        .get("betas")
        .and_then(Value::as_array)
        .map(|b| (b[0].as_f64().unwrap(), b[1].as_f64().unwrap()))
        .unwrap_or((0.9, 0.999));
    let optimizer = match opt.get("type").and_then(Value::as_str).unwrap_or("sgd") {
        "sgd" => Optimizer::Sgd { lr },
        "momentum" => Optimizer::Momentum {
            lr,
            momentum: f("momentum", 0.9),
            weight_decay: f("weight_decay", 0.0),
        },
        "adam" => Optimizer::Adam {
            lr,
            betas,
            eps: f("eps", 1e-8),
            weight_decay: f("weight_decay", 0.0),
            step: 1,
        },
        "adamw" => Optimizer::AdamW {
            lr,
            betas,
            eps: f("eps", 1e-8),
            weight_decay: f("weight_decay", 0.01),
            step: 1,
        },
        "adam_optax" => Optimizer::AdamOptax {
            lr,
            betas,
            eps: f("eps", 1e-8),
            step: 1,
        },
        other => panic!("optimizer {other}"),
    };
    TrainOptions {
        loss: match spec.get("loss").and_then(Value::as_str) {
            Some("mse") => Loss::Mse,
            _ => Loss::CrossEntropy,
        },
        optimizer,
        grad_threshold,
        batch_stats: true,
        training: Training::of(model),
    }
}

/// The training-step graph of a training spec.
pub fn train_graph(
    name: &str,
    model: &hawkeye_mpc::cost::CostModel,
    grad_threshold: Option<f64>,
) -> Graph {
    // CrypTen has no GELU: the harness writes the tanh form from tensor ops.
    let mut spec = spec(name);
    if model.training.gelu == hawkeye_mpc::cost::GeluStyle::TensorOps {
        gelu_tanh(&mut spec);
    }
    hawkeye_mpc::autograd::train_step(
        &spec_graph_of(&spec),
        &train_options(name, model, grad_threshold),
    )
    .unwrap()
}
