//! A training step as one graph: the forward pass (normalization layers in training form),
//! the loss against secret labels, the backward pass and the optimizer update, each node in
//! its phase, so that a profile reports forward / loss / backward / update apart.

use super::builder::{backward, BackwardOptions};
use super::decompose;
use super::emit::Emitter;
use super::loss::{self, Loss};
use super::optim::{self, Optimizer};
use super::AutogradError;
use crate::graph::{ConstValue, ElemKind, Graph, NodeId, Op, Phase, ValueInfo, Visibility};
use std::collections::HashMap;

/// How a framework trains, as its cost model states it (`[training]`; defaults: jax/SPU's
/// behaviour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Training {
    /// Visibility of the gradient seed `d loss / d loss = 1`: public (a literal that jax folds
    /// away) or secret (CrypTen's `loss.backward()` seeds with an encrypted 1, so the loss
    /// gradient is multiplied by it).
    pub seed: Visibility,
    /// Eager autograd (CrypTen): every function on the tape returns the gradients of all its
    /// inputs, and everything built runs. Otherwise compiled (jax under XLA): only gradients
    /// that reach a parameter, public factors folded (into broadcasts and each other), and
    /// nodes no output needs dropped.
    pub eager: bool,
    /// Batch normalization as one function with a closed-form backward (CrypTen), instead of
    /// its tensor ops differentiated one by one.
    pub fused_batchnorm: bool,
    /// GELU written from tensor ops in its tanh form (CrypTen's models), differentiated op by
    /// op, instead of one op with its own backward (`gelu_grad`, jax's).
    pub gelu_tanh_ops: bool,
    /// A compiled step runs a max pool whose gradient is needed as an argmax pool, paired
    /// with that gradient (SPU's compiler: `pphlo.argmax` and `pphlo.maxpool_scatter`).
    pub argmax_pool: bool,
    /// The compiler rewrites `y / (sqrt(x) + eps)` with `eps` below float32's epsilon into
    /// `y * rsqrt(x + eps)` (SPU's default passes), which optax's Adam meets.
    pub rsqrt_rewrite: bool,
}

impl Training {
    /// The training behaviour a cost model states (`[training]`).
    pub fn of(model: &crate::cost::CostModel) -> Training {
        use crate::cost::{AutogradStyle, BatchNormStyle, GeluStyle, MaxPoolStyle, SqrtPlusEps};
        Training {
            seed: model.training.loss_seed,
            eager: model.training.autograd == AutogradStyle::Eager,
            fused_batchnorm: model.training.batchnorm == BatchNormStyle::Fused,
            // a model that prices GELU through the erf form keeps it one op
            gelu_tanh_ops: model.training.gelu == GeluStyle::TensorOps,
            argmax_pool: model.training.max_pool == MaxPoolStyle::Argmax,
            rsqrt_rewrite: model.training.sqrt_plus_eps == SqrtPlusEps::Rsqrt,
        }
    }
}

impl Default for Training {
    fn default() -> Self {
        Training {
            seed: Visibility::Public,
            eager: false,
            fused_batchnorm: false,
            gelu_tanh_ops: false,
            argmax_pool: false,
            rsqrt_rewrite: false,
        }
    }
}

/// What to train and how.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    pub loss: Loss,
    pub optimizer: Optimizer,
    /// CrypTen's `update_parameters(grad_threshold=T)`: gradients are zeroed where
    /// `grad^2 >= T^2` before the update (CrypTen's default is 100).
    pub grad_threshold: Option<f64>,
    /// Batch normalization in training mode (batch statistics, PyTorch's `model.train()`);
    /// false keeps the running statistics (a frozen-batchnorm fine-tuning step).
    pub batch_stats: bool,
    pub training: Training,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            loss: Loss::CrossEntropy,
            optimizer: Optimizer::default(),
            grad_threshold: None,
            batch_stats: true,
            training: Training::default(),
        }
    }
}

/// The graph of one training step of the model `forward` on its last output: outputs the
/// loss, then the new value of every trainable parameter, then the new optimizer state.
///
/// ```
/// use hawkeye_mpc::autograd::{train_step, TrainOptions};
/// use hawkeye_mpc::graph::Phase;
/// use hawkeye_mpc::zoo;
/// let mlp = zoo::build("mlp", &Default::default()).unwrap().unwrap();
/// let step = train_step(&mlp, &TrainOptions::default()).unwrap();
/// let phases: Vec<Phase> = step.node_ids().map(|id| step.node(id).phase).collect();
/// assert!(phases.contains(&Phase::Backward) && phases.contains(&Phase::Update));
/// assert_eq!(step.outputs().len(), 1 + 6); // loss, 3 weights, 3 biases
/// ```
pub fn train_step(forward: &Graph, options: &TrainOptions) -> Result<Graph, AutogradError> {
    let &last = forward
        .outputs()
        .last()
        .ok_or_else(|| AutogradError::Invalid(format!("model '{}' has no output", forward.name)))?;
    let mut g = Graph::new(forward.name.clone());
    let mut stop_gradient = Vec::new();
    let map = replay(forward, &mut g, options, &mut stop_gradient)?;
    let output = map[&last];

    let (loss, _labels) = loss::build(&mut g, output, options.loss)?;

    let params: Vec<NodeId> = g
        .node_ids()
        .filter(|&id| {
            let n = g.node(id);
            matches!(n.op, Op::Parameter { role } if role.is_trainable())
                && n.value.kind == ElemKind::Real
        })
        .collect();
    g.set_phase(Phase::Backward);
    let seed = match options.training.seed {
        Visibility::Public => None,
        vis => Some(g.add_source(
            "loss.grad_seed",
            "loss",
            Op::Constant {
                value: ConstValue::Fill(1.0),
            },
            ValueInfo::new(vec![], ElemKind::Real, vis),
        )?),
    };
    let eager = options.training.eager;
    let grads = backward(
        &mut g,
        loss,
        seed,
        &params,
        &BackwardOptions {
            all_input_grads: eager,
            fold_scales: !eager,
            stop_gradient,
        },
    )?;

    g.set_phase(Phase::Update);
    let mut new_params = Vec::new();
    let mut new_state = Vec::new();
    for (&p, grad) in params.iter().zip(grads) {
        let Some(grad) = grad else { continue };
        let mut e = Emitter::new(&mut g);
        let node = e.graph.node(p);
        let (module, name) = (node.module.clone(), node.name.clone());
        e.at(&module, &name);
        let grad = match options.grad_threshold {
            Some(t) => e.op(Op::GradThreshold { threshold: t }, &[grad])?,
            None => grad,
        };
        let (np, state) = optim::step(
            &mut e,
            &options.optimizer,
            p,
            grad,
            options.training.rsqrt_rewrite,
        )?;
        new_params.push(np);
        new_state.extend(state);
    }
    let mut outputs = vec![loss];
    outputs.extend(new_params);
    outputs.extend(new_state);
    g.set_outputs(outputs);
    g.set_phase(Phase::Forward);
    if eager {
        Ok(g)
    } else {
        prune(&g, options.training.argmax_pool)
    }
}

/// The graph without the nodes its outputs do not need (a compiler's dead-code
/// elimination); with `argmax_pool`, every max pool whose gradient is computed is the argmax
/// pool that gradient scatters with.
fn prune(g: &Graph, argmax_pool: bool) -> Result<Graph, AutogradError> {
    let ids: Vec<NodeId> = g.node_ids().collect();
    let mut live = vec![false; ids.len()];
    for &o in g.outputs() {
        live[o.index()] = true;
    }
    for &id in ids.iter().rev() {
        if live[id.index()] {
            for i in g.inputs(id) {
                live[i.index()] = true;
            }
        }
    }
    // the pools' inputs and attributes that a live gradient scatters into
    let scattered: Vec<(NodeId, Op)> = ids
        .iter()
        .filter(|id| argmax_pool && live[id.index()])
        .filter_map(|&id| match &g.node(id).op {
            Op::MaxPool2dGrad {
                kernel,
                stride,
                padding,
                dilation,
                ceil_mode,
            } => Some((
                g.inputs(id)[1],
                Op::MaxPool2d {
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                    dilation: *dilation,
                    ceil_mode: *ceil_mode,
                    argmax: false,
                },
            )),
            _ => None,
        })
        .collect();
    let mut out = Graph::new(g.name.clone());
    let mut map: HashMap<NodeId, NodeId> = HashMap::new();
    for &id in ids.iter().filter(|id| live[id.index()]) {
        let node = g.node(id);
        out.set_phase(node.phase);
        let op = match &node.op {
            Op::MaxPool2d { .. } if scattered.contains(&(g.inputs(id)[0], node.op.clone())) => {
                let mut op = node.op.clone();
                if let Op::MaxPool2d { argmax, .. } = &mut op {
                    *argmax = true;
                }
                op
            }
            op => op.clone(),
        };
        let new = if node.op.is_source() {
            out.add_source(
                node.name.clone(),
                node.module.clone(),
                node.op.clone(),
                node.value.clone(),
            )?
        } else {
            let ins: Vec<NodeId> = g.inputs(id).iter().map(|i| map[i]).collect();
            out.add(node.name.clone(), node.module.clone(), op, &ins)?
        };
        map.insert(id, new);
    }
    out.set_outputs(g.outputs().iter().map(|o| map[o]).collect());
    out.set_phase(Phase::Forward);
    Ok(out)
}

/// Copies the forward graph into `g`, with batch normalization (batch statistics when
/// `batch_stats`), layer normalization and, where the framework writes them so, GELU,
/// softmax and dropout as forward ops. Returns the node map; adds to `stop_gradient` the nodes the
/// framework uses as constants.
fn replay(
    forward: &Graph,
    g: &mut Graph,
    options: &TrainOptions,
    stop_gradient: &mut Vec<NodeId>,
) -> Result<HashMap<NodeId, NodeId>, AutogradError> {
    let batch_stats = options.batch_stats;
    let fused_batchnorm = options.training.fused_batchnorm;
    let mut map: HashMap<NodeId, NodeId> = HashMap::with_capacity(forward.len());
    g.set_phase(Phase::Forward);
    for id in forward.node_ids() {
        let node = forward.node(id);
        let ins: Vec<NodeId> = forward.inputs(id).iter().map(|i| map[i]).collect();
        let new = if node.op.is_source() {
            g.add_source(
                node.name.clone(),
                node.module.clone(),
                node.op.clone(),
                node.value.clone(),
            )?
        } else {
            let mut e = Emitter::new(g);
            e.at(&node.module, &node.name);
            match node.op {
                Op::BatchNorm { eps } if batch_stats && fused_batchnorm => {
                    decompose::batch_norm_fused(&mut e, ins[0], ins[1], ins[2], eps)?
                }
                Op::BatchNorm { eps } if batch_stats => {
                    decompose::batch_norm_train(&mut e, ins[0], ins[1], ins[2], eps)?
                }
                Op::BatchNorm { eps } => {
                    decompose::batch_norm_eval(&mut e, ins[0], ins[1], ins[2], ins[3], ins[4], eps)?
                }
                Op::LayerNorm { axis, eps, .. } => decompose::layer_norm(
                    &mut e,
                    ins[0],
                    ins.get(1).copied(),
                    ins.get(2).copied(),
                    axis,
                    eps,
                )?,
                Op::Gelu { approximate: true } if options.training.gelu_tanh_ops => {
                    decompose::gelu_tanh(&mut e, ins[0])?
                }
                // flax's dropout under jax: select(mask, x / keep, 0) with a public mask (a
                // PRNG key the program holds): the scaling, then the mask (local). CrypTen's
                // is one function (a public product both ways), kept as the op.
                Op::Dropout { p } if !options.training.eager && p > 0.0 => {
                    let scaled = e.scale(ins[0], 1.0 / (1.0 - p))?;
                    e.op(Op::Dropout { p }, &[scaled])?
                }
                // jax 0.4.34's softmax is its tensor ops (no custom derivative by default)
                Op::Softmax { axis } if !options.training.eager => {
                    let (y, max) = decompose::softmax(&mut e, ins[0], axis)?;
                    stop_gradient.push(max);
                    y
                }
                _ => g.add(
                    node.name.clone(),
                    node.module.clone(),
                    node.op.clone(),
                    &ins,
                )?,
            }
        };
        map.insert(id, new);
    }
    Ok(map)
}
