//! Training steps as graphs: every zoo model builds one with every optimizer; gradient nodes
//! keep their forward node's module in the backward phase; steps survive the JSON format;
//! framework styles (secret seed, all input gradients) change exactly what they should.

use hawkeye_mpc::autograd::{train_step, Loss, Optimizer, TrainOptions, Training};
use hawkeye_mpc::frontend::json::{from_json, to_json};
use hawkeye_mpc::graph::{Graph, Op, Phase, Visibility};
use hawkeye_mpc::zoo::{self, ZooOptions, MODELS};

const OPTIMIZERS: &[&str] = &["sgd", "momentum", "adam", "adamw"];

fn model(name: &str) -> Graph {
    zoo::build(name, &ZooOptions::default()).unwrap().unwrap()
}

fn count(g: &Graph, phase: Phase) -> usize {
    g.node_ids().filter(|&id| g.node(id).phase == phase).count()
}

#[test]
fn every_zoo_model_and_optimizer_builds_a_training_step() {
    for m in MODELS {
        let g = model(m.name);
        let params = g
            .node_ids()
            .filter(|&id| matches!(g.node(id).op, Op::Parameter { role } if role.is_trainable()))
            .count();
        for opt in OPTIMIZERS {
            let options = TrainOptions {
                optimizer: Optimizer::named(opt, 0.01).unwrap(),
                ..TrainOptions::default()
            };
            let step = train_step(&g, &options).unwrap_or_else(|e| panic!("{} {opt}: {e}", m.name));
            let states = options.optimizer.state_names().len();
            assert_eq!(
                step.outputs().len(),
                1 + params * (1 + states),
                "{} {opt}: loss, new parameters and new state",
                m.name
            );
            for phase in [Phase::Forward, Phase::Loss, Phase::Backward, Phase::Update] {
                assert!(
                    count(&step, phase) > 0,
                    "{} {opt}: no {phase:?} node",
                    m.name
                );
            }
        }
    }
}

#[test]
fn gradient_nodes_keep_the_module_of_their_forward_node() {
    let step = train_step(&model("lenet5"), &TrainOptions::default()).unwrap();
    let node = |name: &str| step.node(step.find(name).unwrap_or_else(|| panic!("no {name}")));
    for (name, op, module) in [
        ("conv2.grad.conv2d_grad_input", "conv2d_grad_input", "conv2"),
        (
            "conv1.grad.conv2d_grad_weight",
            "conv2d_grad_weight",
            "conv1",
        ),
        ("pool1.grad.max_pool2d_grad", "max_pool2d_grad", "pool1"),
        ("relu3.grad.relu_grad", "relu_grad", "relu3"),
        (
            "loss.cross_entropy.grad.cross_entropy_grad",
            "cross_entropy_grad",
            "loss",
        ),
    ] {
        let n = node(name);
        assert_eq!(
            (n.op.name(), n.module.as_str(), n.phase),
            (op, module, Phase::Backward)
        );
    }
    // the first conv's input gradient is not needed, so not built
    assert!(step.find("conv1.grad.conv2d_grad_input").is_none());
    let update = node("fc2.weight.sub");
    assert_eq!(
        (update.module.as_str(), update.phase),
        ("fc2", Phase::Update)
    );
}

#[test]
fn training_steps_survive_the_json_format() {
    let options = TrainOptions {
        optimizer: Optimizer::named("adam", 1e-3).unwrap(),
        grad_threshold: Some(100.0),
        training: Training {
            seed: Visibility::Secret,
            eager: true,
            fused_batchnorm: true,
            gelu_tanh_ops: true,
            ..Training::default()
        },
        ..TrainOptions::default()
    };
    for name in ["lenet5", "bert-tiny", "mobilenetv3-small"] {
        let step = train_step(&model(name), &options).unwrap();
        let back = from_json(&to_json(&step), "step.json").unwrap();
        assert!(
            back == step,
            "{name}: the JSON round trip changed the graph"
        );
    }
}

#[test]
fn framework_styles_change_only_what_they_say() {
    let mlp = model("mlp");
    let base = train_step(&mlp, &TrainOptions::default()).unwrap();
    let crypten = train_step(
        &mlp,
        &TrainOptions {
            training: Training {
                seed: Visibility::Secret,
                eager: true,
                fused_batchnorm: true,
                gelu_tanh_ops: true,
                ..Training::default()
            },
            ..TrainOptions::default()
        },
    )
    .unwrap();
    let muls = |g: &Graph, module: &str| {
        g.node_ids()
            .filter(|&id| {
                let n = g.node(id);
                n.phase == Phase::Backward && n.module == module && !n.op.is_source()
            })
            .map(|id| g.node(id).op.name())
            .collect::<Vec<_>>()
    };
    // CrypTen multiplies the loss gradient by its encrypted seed ...
    assert_eq!(muls(&base, "loss"), ["cross_entropy_grad"]);
    assert_eq!(muls(&crypten, "loss"), ["cross_entropy_grad", "mul"]);
    // ... and computes the (unused) gradient of the data input of the first layer
    assert_eq!(muls(&base, "fc1"), ["transpose", "mat_mul", "reduce_sum"]);
    assert_eq!(
        muls(&crypten, "fc1"),
        ["mat_mul", "transpose", "mat_mul", "reduce_sum"]
    );
    let mse = train_step(
        &mlp,
        &TrainOptions {
            loss: Loss::Mse,
            ..TrainOptions::default()
        },
    )
    .unwrap();
    assert_eq!(muls(&mse, "loss"), ["sub", "mul"]);
}
