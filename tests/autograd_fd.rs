//! Gradient correctness: the backward graph of every differentiable op, evaluated by the
//! reference interpreter (`hawkeye_mpc::interpret`, in `f64`), against central finite differences of the forward
//! graph, on random shapes and attributes (proptest). The checked function is
//! `sum(r * op(inputs))` with a fixed random `r`, so every output element's gradient counts.

use hawkeye_mpc::autograd::{
    backward, train_step, BackwardOptions, Loss, Optimizer, TrainOptions, Training,
};
use hawkeye_mpc::graph::{
    ConstValue, ElemKind, Graph, NodeId, Op, ParamRole, ValueInfo, Visibility,
};
use hawkeye_mpc::interpret::{evaluate_all, Arithmetic, Bindings, Tensor};
use hawkeye_mpc::zoo::{Conv, ModelBuilder};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// Proptest draws its cases from this seed, so every run (and CI) checks the same cases;
/// change it to explore others.
const PROPTEST_SEED: u64 = 0x4841_574B;

/// Every node's value in `f64`.
fn evaluate(g: &Graph, feeds: &Bindings) -> Vec<Tensor> {
    evaluate_all(g, feeds, Arithmetic::Float).expect("the graph evaluates")
}

/// `feeds` with element `k` of the value bound to `name` moved by `delta`.
fn nudged(feeds: &Bindings, name: &str, k: usize, delta: f64) -> Bindings {
    let t = feeds.get(name).expect("a bound value");
    let mut data = t.to_vec();
    data[k] += delta;
    let mut out = feeds.clone();
    out.insert(name, Tensor::with_kind(t.shape(), data, t.kind()).unwrap());
    out
}

/// A small deterministic generator for tensor values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        // xorshift64*, mapped to [0, 1)
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n - 1)
    }
}

/// How to draw an input's values.
#[derive(Clone, Copy, Debug)]
enum Dist {
    /// Uniform in (-2, 2), at least 0.05 away from 0 (kinks of relu, abs, ...).
    Signed,
    /// Uniform in (0.5, 2).
    Positive,
    /// A grid `0.1 k + offset`: distinct values, so max/min/argmax are stable under the
    /// finite-difference step.
    Grid(f64),
    /// Distinct values within every reduction group: a shuffled ramp.
    Distinct,
    /// One-hot rows of this length (cross-entropy labels).
    OneHot(usize),
}

fn values(rng: &mut Rng, n: usize, dist: Dist) -> Vec<f64> {
    match dist {
        Dist::Signed => (0..n)
            .map(|_| {
                let v = rng.uniform(-2.0, 2.0);
                if v.abs() < 0.05 {
                    v + 0.1f64.copysign(v)
                } else {
                    v
                }
            })
            .collect(),
        Dist::Positive => (0..n).map(|_| rng.uniform(0.5, 2.0)).collect(),
        Dist::Grid(offset) => (0..n)
            .map(|_| 0.1 * (rng.below(41) as f64 - 20.0) + offset)
            .collect(),
        Dist::OneHot(k) => (0..n / k)
            .flat_map(|_| {
                let hot = rng.below(k);
                (0..k).map(move |j| if j == hot { 1.0 } else { 0.0 })
            })
            .collect(),
        Dist::Distinct => {
            let mut v: Vec<f64> = (0..n).map(|i| i as f64 * 0.1 - n as f64 * 0.05).collect();
            for i in (1..n).rev() {
                v.swap(i, rng.below(i + 1));
            }
            v
        }
    }
}

struct Case {
    g: Graph,
    feeds: Bindings,
    rng: Rng,
}

impl Case {
    fn new(seed: u64) -> Case {
        Case {
            g: Graph::new("fd"),
            feeds: Bindings::new(),
            rng: Rng(seed | 1),
        }
    }

    fn input(&mut self, shape: Vec<usize>, dist: Dist) -> NodeId {
        let name = self.g.fresh_name("x");
        let id = self
            .g
            .add_source(
                name.clone(),
                "",
                Op::Input,
                ValueInfo::new(shape.clone(), ElemKind::Real, Visibility::Secret),
            )
            .unwrap();
        let n = shape.iter().product();
        let data = values(&mut self.rng, n, dist);
        self.feeds.insert(name, Tensor::new(&shape, data).unwrap());
        id
    }

    fn int_input(&mut self, shape: Vec<usize>, below: usize) -> NodeId {
        let id = self
            .g
            .add_source(
                "ids",
                "",
                Op::Input,
                ValueInfo::new(shape.clone(), ElemKind::Int, Visibility::Secret),
            )
            .unwrap();
        let n = shape.iter().product();
        let data = (0..n).map(|_| self.rng.below(below) as i64).collect();
        self.feeds.insert("ids", Tensor::int(&shape, data).unwrap());
        id
    }

    /// Applies `op`; `None` when its attributes do not fit the shapes.
    fn op(&mut self, op: Op, inputs: &[NodeId]) -> Option<NodeId> {
        let name = self.g.fresh_name(op.name());
        self.g.add(name, "m", op, inputs).ok()
    }

    /// Checks the gradient of `sum(r * out)` with respect to `wrt`.
    fn check(mut self, out: NodeId, wrt: &[NodeId]) -> Result<(), TestCaseError> {
        let shape = self.g.node(out).value.shape.clone();
        let n: usize = shape.iter().product();
        let r: Vec<f64> = (0..n).map(|_| self.rng.uniform(-1.0, 1.0)).collect();
        let r = self
            .g
            .add_source(
                "r",
                "",
                Op::Constant {
                    value: ConstValue::Data(r),
                },
                ValueInfo::new(shape, ElemKind::Real, Visibility::Public),
            )
            .unwrap();
        let p = self.g.add("weighted", "", Op::Mul, &[out, r]).unwrap();
        let loss = self
            .g
            .add(
                "loss",
                "",
                Op::ReduceSum {
                    axes: vec![],
                    keepdims: false,
                },
                &[p],
            )
            .unwrap();
        let grads = backward(&mut self.g, loss, None, wrt, &BackwardOptions::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let vals = evaluate(&self.g, &self.feeds);
        for (&w, grad) in wrt.iter().zip(grads) {
            let wshape = self.g.node(w).value.shape.clone();
            let analytic = match grad {
                Some(gn) => vals[gn.index()].clone(),
                None => Tensor::new(&wshape, vec![0.0; wshape.iter().product()]).unwrap(),
            };
            prop_assert_eq!(analytic.shape(), wshape.as_slice());
            let analytic = analytic.to_vec();
            let wname = &self.g.node(w).name;
            for (k, &a) in analytic.iter().enumerate() {
                let h = 1e-5;
                let at = |delta: f64| {
                    let feeds = nudged(&self.feeds, wname, k, delta);
                    evaluate(&self.g, &feeds)[loss.index()].to_vec()[0]
                };
                let fd = (at(h) - at(-h)) / (2.0 * h);
                prop_assert!(
                    (a - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
                    "d/d{}[{k}]: backward graph {a}, finite difference {fd}",
                    self.g.node(w).name
                );
            }
        }
        Ok(())
    }
}

fn shape(max_rank: usize, max_dim: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1..=max_dim, 0..=max_rank)
}

fn unary_ops() -> impl Strategy<Value = (Op, Dist)> {
    prop_oneof![
        Just((Op::Neg, Dist::Signed)),
        Just((Op::Relu, Dist::Signed)),
        Just((Op::LeakyRelu { alpha: 0.1 }, Dist::Signed)),
        Just((Op::Sigmoid, Dist::Signed)),
        Just((Op::Tanh, Dist::Signed)),
        Just((Op::Gelu { approximate: false }, Dist::Signed)),
        Just((Op::Gelu { approximate: true }, Dist::Signed)),
        Just((Op::Exp, Dist::Signed)),
        Just((Op::Log, Dist::Positive)),
        Just((Op::Reciprocal, Dist::Positive)),
        Just((Op::Sqrt, Dist::Positive)),
        Just((Op::Rsqrt, Dist::Positive)),
        Just((Op::Square, Dist::Signed)),
        Just((Op::Pow { exponent: 3.0 }, Dist::Signed)),
        Just((Op::Pow { exponent: 2.0 }, Dist::Signed)),
        Just((Op::Pow { exponent: -1.5 }, Dist::Positive)),
        Just((Op::Abs, Dist::Signed)),
        Just((Op::Identity, Dist::Signed)),
        Just((Op::Dropout { p: 0.1 }, Dist::Signed)),
    ]
}

/// A shape and two operand shapes that broadcast to it.
fn broadcast_shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (
        shape(3, 3),
        any::<u16>(),
        any::<u16>(),
        0..3usize,
        0..3usize,
    )
        .prop_map(|(full, ma, mb, da, db)| {
            let cut = |mask: u16, drop: usize| -> Vec<usize> {
                let s: Vec<usize> = full
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| if mask >> i & 1 == 1 { 1 } else { d })
                    .collect();
                s[drop.min(s.len())..].to_vec()
            };
            (cut(ma, da), cut(mb, db))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, rng_seed: RngSeed::Fixed(PROPTEST_SEED), ..ProptestConfig::default() })]

    #[test]
    fn unary(op in unary_ops(), s in shape(3, 3), seed in any::<u64>()) {
        let (op, dist) = op;
        let mut c = Case::new(seed);
        let x = c.input(s, dist);
        let y = c.op(op, &[x]).unwrap();
        c.check(y, &[x])?;
    }

    #[test]
    fn binary_broadcasting(
        op in prop_oneof![Just(Op::Add), Just(Op::Sub), Just(Op::Mul), Just(Op::Div), Just(Op::Max), Just(Op::Min)],
        (sa, sb) in broadcast_shapes(),
        seed in any::<u64>(),
    ) {
        let mut c = Case::new(seed);
        let (da, db) = match op {
            Op::Div => (Dist::Signed, Dist::Positive),
            Op::Max | Op::Min => (Dist::Grid(0.0), Dist::Grid(0.05)),
            _ => (Dist::Signed, Dist::Signed),
        };
        let a = c.input(sa, da);
        let b = c.input(sb, db);
        let y = c.op(op, &[a, b]).unwrap();
        c.check(y, &[a, b])?;
    }

    #[test]
    fn operand_used_twice(s in shape(2, 3), seed in any::<u64>()) {
        let mut c = Case::new(seed);
        let x = c.input(s, Dist::Signed);
        let y = c.op(Op::Mul, &[x, x]).unwrap();
        let z = c.op(Op::Add, &[y, x]).unwrap();
        c.check(z, &[x])?;
    }

    #[test]
    fn matmul(
        ra in 1..=4usize, rb in 1..=4usize,
        (m, k, n) in (1..=3usize, 1..=3usize, 1..=3usize),
        batch in prop::collection::vec(1..=2usize, 2),
        ones in any::<u8>(),
        seed in any::<u64>(),
    ) {
        let mut c = Case::new(seed);
        let batch_of = |r: usize, shift: u8| -> Vec<usize> {
            let lead = r.saturating_sub(2);
            batch[2 - lead..].iter().enumerate()
                .map(|(i, &d)| if ones >> (i as u8 + shift) & 1 == 1 { 1 } else { d }).collect()
        };
        let sa = if ra == 1 { vec![k] } else { [batch_of(ra, 0), vec![m, k]].concat() };
        let sb = if rb == 1 { vec![k] } else { [batch_of(rb, 4), vec![k, n]].concat() };
        let a = c.input(sa, Dist::Signed);
        let b = c.input(sb, Dist::Signed);
        let y = c.op(Op::MatMul, &[a, b]).unwrap();
        c.check(y, &[a, b])?;
    }

    #[test]
    fn linear(lead in shape(2, 3), (i, o) in (1..=4usize, 1..=4usize), bias: bool, seed in any::<u64>()) {
        let mut c = Case::new(seed);
        let x = c.input([lead, vec![i]].concat(), Dist::Signed);
        let w = c.input(vec![o, i], Dist::Signed);
        let mut ins = vec![x, w];
        if bias {
            ins.push(c.input(vec![o], Dist::Signed));
        }
        let y = c.op(Op::Linear, &ins).unwrap();
        c.check(y, &ins)?;
    }

    #[test]
    fn conv2d(
        (n, groups, cg, og) in (1..=2usize, 1..=3usize, 1..=2usize, 1..=2usize),
        (kh, kw) in (1..=3usize, 1..=3usize),
        stride in (1..=2usize, 1..=2usize),
        dilation in (1..=2usize, 1..=2usize),
        padding in prop::array::uniform4(0..=2usize),
        (h, w) in (3..=6usize, 3..=6usize),
        bias: bool,
        seed in any::<u64>(),
    ) {
        let mut c = Case::new(seed);
        let x = c.input(vec![n, cg * groups, h, w], Dist::Signed);
        let wt = c.input(vec![og * groups, cg, kh, kw], Dist::Signed);
        let mut ins = vec![x, wt];
        if bias {
            ins.push(c.input(vec![og * groups], Dist::Signed));
        }
        let op = Op::Conv2d { stride: [stride.0, stride.1], padding, dilation: [dilation.0, dilation.1], groups };
        let Some(y) = c.op(op, &ins) else { return Ok(()) };
        c.check(y, &ins)?;
    }

    #[test]
    fn pooling(
        max: bool,
        rank in 3..=4usize,
        kernel in (1..=3usize, 1..=3usize),
        stride in (1..=3usize, 1..=3usize),
        pad in prop::array::uniform4(0..=1usize),
        dilation in (1..=2usize, 1..=2usize),
        ceil_mode: bool,
        count_include_pad: bool,
        (h, w) in (3..=7usize, 3..=7usize),
        seed in any::<u64>(),
    ) {
        let mut c = Case::new(seed);
        let s = if rank == 3 { vec![2, h, w] } else { vec![1, 2, h, w] };
        let x = c.input(s, Dist::Distinct);
        let op = if max {
            Op::MaxPool2d { kernel: [kernel.0, kernel.1], stride: [stride.0, stride.1], padding: pad, dilation: [dilation.0, dilation.1], ceil_mode, argmax: false }
        } else {
            Op::AvgPool2d { kernel: [kernel.0, kernel.1], stride: [stride.0, stride.1], padding: pad, ceil_mode, count_include_pad }
        };
        let Some(y) = c.op(op, &[x]) else { return Ok(()) };
        c.check(y, &[x])?;
    }

    #[test]
    fn global_and_adaptive_pooling(global: bool, (n, ch) in (1..=2usize, 1..=2usize), (oh, ow) in (1..=3usize, 1..=3usize), (fh, fw) in (1..=2usize, 1..=2usize), seed in any::<u64>()) {
        let mut c = Case::new(seed);
        let x = c.input(vec![n, ch, oh * fh, ow * fw], Dist::Signed);
        let op = if global { Op::GlobalAvgPool } else { Op::AdaptiveAvgPool2d { output: [oh, ow] } };
        let y = c.op(op, &[x]).unwrap();
        c.check(y, &[x])?;
    }

    #[test]
    fn softmax(log: bool, s in prop::collection::vec(1..=4usize, 1..=3), axis in any::<prop::sample::Index>(), seed in any::<u64>()) {
        let mut c = Case::new(seed);
        let axis = axis.index(s.len()) as i64 - if seed % 2 == 0 { s.len() as i64 } else { 0 };
        let x = c.input(s, Dist::Signed);
        let op = if log { Op::LogSoftmax { axis } } else { Op::Softmax { axis } };
        let y = c.op(op, &[x]).unwrap();
        c.check(y, &[x])?;
    }

    #[test]
    fn batch_norm_fused_training(lead in 1..=3usize, ch in 1..=3usize, spatial in shape(2, 3), seed in any::<u64>()) {
        // a batch of one element per channel has no variance to differentiate stably
        prop_assume!(lead * spatial.iter().product::<usize>() > 1);
        let mut c = Case::new(seed);
        let x = c.input([vec![lead, ch], spatial].concat(), Dist::Signed);
        let y = c.op(Op::BatchNormNormalize { eps: 1e-5 }, &[x]).unwrap();
        c.check(y, &[x])?;
    }

    #[test]
    fn batch_norm_inference(lead in 1..=2usize, ch in 1..=3usize, spatial in shape(2, 3), seed in any::<u64>()) {
        let mut c = Case::new(seed);
        let x = c.input([vec![lead, ch], spatial].concat(), Dist::Signed);
        let scale = c.input(vec![ch], Dist::Signed);
        let bias = c.input(vec![ch], Dist::Signed);
        let mean = c.input(vec![ch], Dist::Signed);
        let var = c.input(vec![ch], Dist::Positive);
        let y = c.op(Op::BatchNorm { eps: 1e-5 }, &[x, scale, bias, mean, var]).unwrap();
        c.check(y, &[x, scale, bias, mean, var])?;
    }

    #[test]
    fn layer_norm(s in prop::collection::vec(1..=4usize, 1..=3), axis in any::<prop::sample::Index>(), affine in 0..=2usize, seed in any::<u64>()) {
        let mut c = Case::new(seed);
        let a = axis.index(s.len());
        // a normalized group of one element has no variance to differentiate stably
        prop_assume!(s[a..].iter().product::<usize>() > 1);
        let x = c.input(s.clone(), Dist::Signed);
        let mut ins = vec![x];
        for _ in 0..affine {
            ins.push(c.input(s[a..].to_vec(), Dist::Signed));
        }
        let y = c
            .op(
                Op::LayerNorm {
                    axis: a as i64,
                    eps: 1e-5,
                    form: hawkeye_mpc::graph::NormForm::Fused,
                },
                &ins,
            )
            .unwrap();
        c.check(y, &ins)?;
    }

    #[test]
    fn gather(vocab in 1..=5usize, dim in 1..=3usize, ids in shape(2, 3), axis in 0..=1i64, seed in any::<u64>()) {
        let mut c = Case::new(seed);
        let data = c.input(vec![vocab, dim], Dist::Signed);
        let size = if axis == 0 { vocab } else { dim };
        let idx = c.int_input(ids, size);
        let y = c.op(Op::Gather { axis }, &[data, idx]).unwrap();
        c.check(y, &[data])?;
    }

    #[test]
    fn data_movement(
        s in prop::collection::vec(1..=3usize, 1..=3),
        which in 0..6usize,
        pick in any::<prop::sample::Index>(),
        (start, end, step) in (-4..=4i64, -4..=5i64, 1..=3i64),
        seed in any::<u64>(),
    ) {
        let mut c = Case::new(seed);
        let x = c.input(s.clone(), Dist::Signed);
        let r = s.len();
        let a = pick.index(r);
        let (y, wrt) = match which {
            0 => (c.op(Op::Reshape { shape: vec![-1] }, &[x]), vec![x]),
            1 => (c.op(Op::Flatten { axis: a as i64 }, &[x]), vec![x]),
            2 => {
                let mut perm: Vec<usize> = (0..r).collect();
                perm.rotate_left(a);
                (c.op(Op::Transpose { perm }, &[x]), vec![x])
            }
            3 => {
                let mut s2 = s.clone();
                s2[a] = 2;
                let x2 = c.input(s2, Dist::Signed);
                (c.op(Op::Concat { axis: a as i64 }, &[x, x2, x]), vec![x, x2])
            }
            4 => (c.op(Op::Slice { axis: a as i64, start, end, step }, &[x]), vec![x]),
            _ => {
                let mut to = vec![2];
                to.extend(s.iter().map(|&d| if d == 1 { 3 } else { d }));
                (c.op(Op::Expand { shape: to }, &[x]), vec![x])
            }
        };
        let Some(y) = y else { return Ok(()) };
        c.check(y, &wrt)?;
    }

    #[test]
    fn reductions(
        s in prop::collection::vec(1..=3usize, 1..=3),
        which in 0..3usize,
        mask in any::<u8>(),
        keepdims: bool,
        seed in any::<u64>(),
    ) {
        let mut c = Case::new(seed);
        let x = c.input(s.clone(), Dist::Distinct);
        let axes: Vec<i64> = (0..s.len()).filter(|&i| mask >> i & 1 == 1).map(|i| i as i64).collect();
        let op = match which {
            0 => Op::ReduceSum { axes, keepdims },
            1 => Op::ReduceMean { axes, keepdims },
            _ => Op::ReduceMax { axes, keepdims },
        };
        let y = c.op(op, &[x]).unwrap();
        c.check(y, &[x])?;
    }

    #[test]
    fn losses(ce: bool, (n, k) in (1..=3usize, 2..=4usize), seed in any::<u64>()) {
        let mut c = Case::new(seed);
        let p = c.input(vec![n, k], Dist::Signed);
        let t = c.input(vec![n, k], if ce { Dist::OneHot(k) } else { Dist::Signed });
        let op = if ce { Op::CrossEntropy } else { Op::Mse };
        let y = c.op(op, &[p, t]).unwrap();
        // labels are data: only the prediction's gradient is built for cross-entropy
        let wrt = if ce { vec![p] } else { vec![p, t] };
        c.check(y, &wrt)?;
    }
}

/// Checks a whole training step: with SGD at learning rate 1 the update phase outputs
/// `p - grad`, which must match finite differences of the step's loss output.
fn check_train_step(forward: Graph, loss: Loss, batch_stats: bool, seed: u64) {
    check_train_step_as(
        forward.clone(),
        loss,
        batch_stats,
        Training::default(),
        seed,
    );
    let crypten = Training {
        seed: Visibility::Secret,
        eager: true,
        fused_batchnorm: true,
        gelu_tanh_ops: true,
        ..Training::default()
    };
    check_train_step_as(forward, loss, batch_stats, crypten, seed);
}

fn check_train_step_as(
    forward: Graph,
    loss: Loss,
    batch_stats: bool,
    training: Training,
    seed: u64,
) {
    let options = TrainOptions {
        loss,
        optimizer: Optimizer::Sgd { lr: 1.0 },
        batch_stats,
        training,
        ..TrainOptions::default()
    };
    let step = train_step(&forward, &options).unwrap();
    let mut rng = Rng(seed | 1);
    let mut feeds = Bindings::new();
    for id in step.node_ids() {
        let node = step.node(id);
        let dist = match node.op {
            Op::Input if node.name == "loss.labels" && loss == Loss::CrossEntropy => {
                Dist::OneHot(*node.value.shape.last().unwrap())
            }
            Op::Parameter {
                role: ParamRole::RunningVar,
            } => Dist::Positive,
            Op::Input | Op::Parameter { .. } => Dist::Signed,
            _ => continue,
        };
        let shape = node.value.shape.clone();
        let data = values(&mut rng, shape.iter().product(), dist);
        feeds.insert(node.name.clone(), Tensor::new(&shape, data).unwrap());
    }
    let vals = evaluate(&step, &feeds);
    let loss_node = step.outputs()[0];
    let params: Vec<NodeId> = step
        .node_ids()
        .filter(|&id| matches!(step.node(id).op, Op::Parameter { role } if role.is_trainable()))
        .collect();
    let updated = &step.outputs()[1..];
    assert_eq!(params.len(), updated.len());
    for (&p, &np) in params.iter().zip(updated) {
        let pname = &step.node(p).name;
        let before = feeds.get(pname).unwrap().to_vec();
        let after = vals[np.index()].to_vec();
        for k in 0..before.len() {
            let analytic = before[k] - after[k];
            let h = 1e-5;
            let at = |delta: f64| {
                let f = nudged(&feeds, pname, k, delta);
                evaluate(&step, &f)[loss_node.index()].to_vec()[0]
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (analytic - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
                "{}: d loss/d {}[{k}]: update {analytic}, finite difference {fd}",
                forward.name,
                step.node(p).name
            );
        }
    }
}

#[test]
fn training_steps_match_finite_differences() {
    // a CNN with batch normalization (batch statistics), max pooling and a linear head
    let mut b = ModelBuilder::new("cnn");
    let x = b.input("input", vec![3, 2, 6, 6]).unwrap();
    let x = b
        .conv2d("conv", x, Conv::new(3, 3).padding(1).stride(2))
        .unwrap();
    let x = b.batchnorm("bn", x).unwrap();
    let x = b.scope("relu", |b| b.relu(x)).unwrap();
    let x = b.scope("pool", |b| b.max_pool(x, 2, 1, 0)).unwrap();
    let x = b.flatten(x).unwrap();
    let y = b.linear("fc", x, 4, true).unwrap();
    let cnn = b.finish(vec![y]);
    for (loss, stats) in [
        (Loss::CrossEntropy, true),
        (Loss::Mse, true),
        (Loss::CrossEntropy, false),
    ] {
        check_train_step(cnn.clone(), loss, stats, 7);
    }

    // a transformer-style block: layer norm, attention-like products, GELU, softmax
    let mut b = ModelBuilder::new("block");
    let x = b.input("input", vec![2, 3, 4]).unwrap();
    let h = b.layernorm("ln", x, 1e-5).unwrap();
    let q = b.linear("q", h, 4, true).unwrap();
    let k = b.linear("k", h, 4, false).unwrap();
    let kt = b.transpose(k, &[0, 2, 1]).unwrap();
    let s = b.matmul(q, kt).unwrap();
    let a = b.softmax(s).unwrap();
    let v = b.matmul(a, h).unwrap();
    let v = b.gelu(v, false).unwrap();
    let v = b.add(v, x).unwrap();
    let y = b.linear("head", v, 3, true).unwrap();
    let block = b.finish(vec![y]);
    check_train_step(block.clone(), Loss::CrossEntropy, true, 11);
    check_train_step(block, Loss::Mse, true, 13);
}
