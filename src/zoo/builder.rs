//! A small builder that reads like PyTorch module code: `scope` opens a submodule, layer
//! methods create their parameters under the module path (`layer1.0.conv1.weight`) and return
//! the output node.

use crate::graph::{
    ConstValue, ElemKind, Graph, GraphError, NodeId, NormForm, Op, ParamRole, ValueInfo, Visibility,
};

/// Settings of a conv layer, PyTorch defaults (`stride 1, padding 0, groups 1, bias true`).
#[derive(Debug, Clone, Copy)]
pub struct Conv {
    pub out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub groups: usize,
    pub bias: bool,
}

impl Conv {
    pub fn new(out: usize, kernel: usize) -> Self {
        Conv {
            out,
            kernel,
            stride: 1,
            padding: 0,
            groups: 1,
            bias: true,
        }
    }
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = s;
        self
    }
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = p;
        self
    }
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
    pub fn no_bias(mut self) -> Self {
        self.bias = false;
        self
    }
}

/// One module of an `nn.Sequential` (see [`ModelBuilder::sequential`]).
#[derive(Debug, Clone, Copy)]
pub enum Layer {
    Conv(Conv),
    /// `nn.BatchNorm2d` over the channels of its input.
    BatchNorm,
    Relu,
    MaxPool {
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    AvgPool {
        kernel: usize,
        stride: usize,
    },
    /// `nn.Linear` with bias, to this many output features.
    Linear(usize),
    /// `nn.Dropout(p)`.
    Dropout(f64),
}

/// Builds a graph module by module. Parameters are secret by default (the profiler's
/// `--weights` option re-labels them).
pub struct ModelBuilder {
    graph: Graph,
    scope: Vec<String>,
}

pub type BuildResult<T = NodeId> = Result<T, GraphError>;

impl ModelBuilder {
    pub fn new(name: &str) -> Self {
        ModelBuilder {
            graph: Graph::new(name),
            scope: Vec::new(),
        }
    }

    /// Module path of the current scope.
    pub fn module(&self) -> String {
        self.scope.join(".")
    }

    fn path(&self, name: &str) -> String {
        if self.scope.is_empty() {
            name.to_string()
        } else if name.is_empty() {
            self.module()
        } else {
            format!("{}.{}", self.module(), name)
        }
    }

    /// Runs `f` inside submodule `name` (like an attribute of an `nn.Module`).
    pub fn scope<R>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        self.scope.push(name.to_string());
        let r = f(self);
        self.scope.pop();
        r
    }

    /// The shape of a node's value.
    pub fn shape(&self, x: NodeId) -> Vec<usize> {
        self.graph.node(x).value.shape.clone()
    }

    /// A secret real-valued model input.
    pub fn input(&mut self, name: &str, shape: Vec<usize>) -> BuildResult {
        let module = self.module();
        self.graph.add_source(
            name,
            module,
            Op::Input,
            ValueInfo::new(shape, ElemKind::Real, Visibility::Secret),
        )
    }

    /// A secret integer model input (token ids).
    pub fn int_input(&mut self, name: &str, shape: Vec<usize>) -> BuildResult {
        let module = self.module();
        self.graph.add_source(
            name,
            module,
            Op::Input,
            ValueInfo::new(shape, ElemKind::Int, Visibility::Secret),
        )
    }

    /// A parameter `<module>.<name>` of the current module.
    pub fn param(&mut self, name: &str, role: ParamRole, shape: Vec<usize>) -> BuildResult {
        let full = self.path(name);
        let module = self.module();
        self.graph.add_source(
            full,
            module,
            Op::Parameter { role },
            ValueInfo::new(shape, ElemKind::Real, Visibility::Secret),
        )
    }

    /// A public constant in the current module.
    pub fn constant(&mut self, name: &str, value: ConstValue, shape: Vec<usize>) -> BuildResult {
        let full = self.graph.fresh_name(&self.path(name));
        let module = self.module();
        self.graph.add_source(
            full,
            module,
            Op::Constant { value },
            ValueInfo::new(shape, ElemKind::Real, Visibility::Public),
        )
    }

    /// A public integer constant in the current module (position or token type ids).
    pub fn int_constant(
        &mut self,
        name: &str,
        value: ConstValue,
        shape: Vec<usize>,
    ) -> BuildResult {
        let full = self.graph.fresh_name(&self.path(name));
        let module = self.module();
        self.graph.add_source(
            full,
            module,
            Op::Constant { value },
            ValueInfo::new(shape, ElemKind::Int, Visibility::Public),
        )
    }

    /// A public scalar constant in the current module.
    pub fn scalar(&mut self, name: &str, value: f64) -> BuildResult {
        self.constant(name, ConstValue::Fill(value), vec![])
    }

    /// Applies `op` in the current module; the node is named after the module (and the op when
    /// the module already has a node of that name).
    pub fn op(&mut self, op: Op, inputs: &[NodeId]) -> BuildResult {
        let base = if self.scope.is_empty() {
            op.name().to_string()
        } else {
            self.module()
        };
        let name = self.graph.fresh_name(&base);
        let name = if name != base && !self.scope.is_empty() {
            self.graph.fresh_name(&format!("{base}.{}", op.name()))
        } else {
            name
        };
        let module = self.module();
        self.graph.add(name, module, op, inputs)
    }

    /// `nn.Conv2d` as submodule `name`.
    pub fn conv2d(&mut self, name: &str, x: NodeId, c: Conv) -> BuildResult {
        let cin = self.shape(x).get(1).copied().unwrap_or(0);
        self.scope(name, |b| {
            let w = b.param(
                "weight",
                ParamRole::Weight,
                vec![c.out, cin / c.groups.max(1), c.kernel, c.kernel],
            )?;
            let mut inputs = vec![x, w];
            if c.bias {
                inputs.push(b.param("bias", ParamRole::Bias, vec![c.out])?);
            }
            let p = c.padding;
            b.op(
                Op::Conv2d {
                    stride: [c.stride; 2],
                    padding: [p; 4],
                    dilation: [1, 1],
                    groups: c.groups,
                },
                &inputs,
            )
        })
    }

    /// `nn.Sequential(*layers)` as submodule `name`: layer `i` is submodule `name.i`.
    pub fn sequential(&mut self, name: &str, x: NodeId, layers: &[Layer]) -> BuildResult {
        self.scope(name, |b| {
            layers.iter().enumerate().try_fold(x, |x, (i, &layer)| {
                let name = i.to_string();
                match layer {
                    Layer::Conv(c) => b.conv2d(&name, x, c),
                    Layer::BatchNorm => b.batchnorm(&name, x),
                    Layer::Relu => b.scope(&name, |b| b.relu(x)),
                    Layer::MaxPool {
                        kernel,
                        stride,
                        padding,
                    } => b.scope(&name, |b| b.max_pool(x, kernel, stride, padding)),
                    Layer::AvgPool { kernel, stride } => {
                        b.scope(&name, |b| b.avg_pool(x, kernel, stride))
                    }
                    Layer::Linear(out) => b.linear(&name, x, out, true),
                    Layer::Dropout(p) => b.dropout(&name, x, p),
                }
            })
        })
    }

    /// `nn.Linear(in, out, bias)` as submodule `name`.
    pub fn linear(&mut self, name: &str, x: NodeId, out: usize, bias: bool) -> BuildResult {
        let inner = self.shape(x).last().copied().unwrap_or(0);
        self.scope(name, |b| {
            let w = b.param("weight", ParamRole::Weight, vec![out, inner])?;
            let mut inputs = vec![x, w];
            if bias {
                inputs.push(b.param("bias", ParamRole::Bias, vec![out])?);
            }
            b.op(Op::Linear, &inputs)
        })
    }

    /// `nn.BatchNorm2d` / `nn.BatchNorm1d` (inference form, PyTorch's eps 1e-5) as submodule
    /// `name`.
    pub fn batchnorm(&mut self, name: &str, x: NodeId) -> BuildResult {
        self.batchnorm_eps(name, x, 1e-5)
    }

    /// `nn.BatchNorm2d(eps=eps)` (inference form) as submodule `name`.
    pub fn batchnorm_eps(&mut self, name: &str, x: NodeId, eps: f64) -> BuildResult {
        let c = self.shape(x).get(1).copied().unwrap_or(0);
        self.scope(name, |b| {
            let scale = b.param("weight", ParamRole::Weight, vec![c])?;
            let bias = b.param("bias", ParamRole::Bias, vec![c])?;
            let mean = b.param("running_mean", ParamRole::RunningMean, vec![c])?;
            let var = b.param("running_var", ParamRole::RunningVar, vec![c])?;
            b.op(Op::BatchNorm { eps }, &[x, scale, bias, mean, var])
        })
    }

    /// `nn.LayerNorm(last dim, eps)` as submodule `name`.
    pub fn layernorm(&mut self, name: &str, x: NodeId, eps: f64) -> BuildResult {
        let d = self.shape(x).last().copied().unwrap_or(0);
        self.scope(name, |b| {
            let w = b.param("weight", ParamRole::Weight, vec![d])?;
            let bias = b.param("bias", ParamRole::Bias, vec![d])?;
            b.op(
                Op::LayerNorm {
                    axis: -1,
                    eps,
                    form: NormForm::Fused,
                },
                &[x, w, bias],
            )
        })
    }

    /// `nn.Embedding(num, dim)` as submodule `name`, looked up at integer `ids`.
    pub fn embedding(&mut self, name: &str, ids: NodeId, num: usize, dim: usize) -> BuildResult {
        self.scope(name, |b| {
            let table = b.param("weight", ParamRole::Weight, vec![num, dim])?;
            b.op(Op::Gather { axis: 0 }, &[table, ids])
        })
    }

    /// `nn.Dropout(p)` as submodule `name` (the identity at inference).
    pub fn dropout(&mut self, name: &str, x: NodeId, p: f64) -> BuildResult {
        self.scope(name, |b| b.op(Op::Dropout { p }, &[x]))
    }

    pub fn relu(&mut self, x: NodeId) -> BuildResult {
        self.op(Op::Relu, &[x])
    }

    /// `relu6(x) = min(relu(x), 6)`.
    pub fn relu6(&mut self, x: NodeId) -> BuildResult {
        let r = self.relu(x)?;
        let six = self.scalar("clip", 6.0)?;
        self.op(Op::Min, &[r, six])
    }

    /// `hardsigmoid(x) = relu6(x + 3) / 6`.
    pub fn hardsigmoid(&mut self, x: NodeId) -> BuildResult {
        let three = self.scalar("shift", 3.0)?;
        let shifted = self.add(x, three)?;
        let clipped = self.relu6(shifted)?;
        self.scale(clipped, 1.0 / 6.0)
    }

    /// `hardswish(x) = x * relu6(x + 3) / 6`.
    pub fn hardswish(&mut self, x: NodeId) -> BuildResult {
        let gate = self.hardsigmoid(x)?;
        self.mul(x, gate)
    }

    /// GELU; `approximate` selects the tanh form (HF `gelu_new`), otherwise the exact erf form.
    pub fn gelu(&mut self, x: NodeId, approximate: bool) -> BuildResult {
        self.op(Op::Gelu { approximate }, &[x])
    }

    pub fn tanh(&mut self, x: NodeId) -> BuildResult {
        self.op(Op::Tanh, &[x])
    }

    /// Softmax over the last dim.
    pub fn softmax(&mut self, x: NodeId) -> BuildResult {
        self.op(Op::Softmax { axis: -1 }, &[x])
    }

    pub fn add(&mut self, a: NodeId, b: NodeId) -> BuildResult {
        self.op(Op::Add, &[a, b])
    }

    pub fn mul(&mut self, a: NodeId, b: NodeId) -> BuildResult {
        self.op(Op::Mul, &[a, b])
    }

    /// `x * factor` with a public scalar `factor`.
    pub fn scale(&mut self, x: NodeId, factor: f64) -> BuildResult {
        let f = self.scalar("scale", factor)?;
        self.mul(x, f)
    }

    /// `a @ b` with numpy semantics.
    pub fn matmul(&mut self, a: NodeId, b: NodeId) -> BuildResult {
        self.op(Op::MatMul, &[a, b])
    }

    /// `x.reshape(shape)`; -1 infers a dim, 0 keeps the input dim.
    pub fn reshape(&mut self, x: NodeId, shape: &[i64]) -> BuildResult {
        self.op(
            Op::Reshape {
                shape: shape.to_vec(),
            },
            &[x],
        )
    }

    /// `x.permute(perm)`.
    pub fn transpose(&mut self, x: NodeId, perm: &[usize]) -> BuildResult {
        self.op(
            Op::Transpose {
                perm: perm.to_vec(),
            },
            &[x],
        )
    }

    /// `torch.cat(xs, axis)`.
    pub fn concat(&mut self, xs: &[NodeId], axis: i64) -> BuildResult {
        self.op(Op::Concat { axis }, xs)
    }

    /// Elements `start..end` of `axis` (Python slice bounds).
    pub fn slice(&mut self, x: NodeId, axis: i64, start: i64, end: i64) -> BuildResult {
        self.op(
            Op::Slice {
                axis,
                start,
                end,
                step: 1,
            },
            &[x],
        )
    }

    pub fn max_pool(
        &mut self,
        x: NodeId,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> BuildResult {
        self.op(
            Op::MaxPool2d {
                kernel: [kernel; 2],
                stride: [stride; 2],
                padding: [padding; 4],
                dilation: [1, 1],
                ceil_mode: false,
                argmax: false,
            },
            &[x],
        )
    }

    pub fn avg_pool(&mut self, x: NodeId, kernel: usize, stride: usize) -> BuildResult {
        self.op(
            Op::AvgPool2d {
                kernel: [kernel; 2],
                stride: [stride; 2],
                padding: [0; 4],
                ceil_mode: false,
                count_include_pad: true,
            },
            &[x],
        )
    }

    /// `nn.AdaptiveAvgPool2d(output)`.
    pub fn adaptive_avg_pool(&mut self, x: NodeId, output: usize) -> BuildResult {
        self.op(
            Op::AdaptiveAvgPool2d {
                output: [output; 2],
            },
            &[x],
        )
    }

    pub fn flatten(&mut self, x: NodeId) -> BuildResult {
        self.op(Op::Flatten { axis: 1 }, &[x])
    }

    /// Finishes the graph with the given outputs.
    pub fn finish(mut self, outputs: Vec<NodeId>) -> Graph {
        self.graph.set_outputs(outputs);
        self.graph
    }
}
