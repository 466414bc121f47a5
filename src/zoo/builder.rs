//! A small builder that reads like PyTorch module code: `scope` opens a submodule, layer
//! methods create their parameters under the module path (`layer1.0.conv1.weight`) and return
//! the output node.

use crate::graph::{
    ConstValue, ElemKind, Graph, GraphError, NodeId, Op, ParamRole, ValueInfo, Visibility,
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

    /// `nn.BatchNorm2d` / `nn.BatchNorm1d` (inference form) as submodule `name`.
    pub fn batchnorm(&mut self, name: &str, x: NodeId) -> BuildResult {
        let c = self.shape(x).get(1).copied().unwrap_or(0);
        self.scope(name, |b| {
            let scale = b.param("weight", ParamRole::Weight, vec![c])?;
            let bias = b.param("bias", ParamRole::Bias, vec![c])?;
            let mean = b.param("running_mean", ParamRole::RunningMean, vec![c])?;
            let var = b.param("running_var", ParamRole::RunningVar, vec![c])?;
            b.op(Op::BatchNorm { eps: 1e-5 }, &[x, scale, bias, mean, var])
        })
    }

    /// `nn.LayerNorm(last dim, eps)` as submodule `name`.
    pub fn layernorm(&mut self, name: &str, x: NodeId, eps: f64) -> BuildResult {
        let d = self.shape(x).last().copied().unwrap_or(0);
        self.scope(name, |b| {
            let w = b.param("weight", ParamRole::Weight, vec![d])?;
            let bias = b.param("bias", ParamRole::Bias, vec![d])?;
            b.op(Op::LayerNorm { axis: -1, eps }, &[x, w, bias])
        })
    }

    /// `nn.Embedding(num, dim)` as submodule `name`, looked up at integer `ids`.
    pub fn embedding(&mut self, name: &str, ids: NodeId, num: usize, dim: usize) -> BuildResult {
        self.scope(name, |b| {
            let table = b.param("weight", ParamRole::Weight, vec![num, dim])?;
            b.op(Op::Gather { axis: 0 }, &[table, ids])
        })
    }

    pub fn relu(&mut self, x: NodeId) -> BuildResult {
        self.op(Op::Relu, &[x])
    }

    pub fn add(&mut self, a: NodeId, b: NodeId) -> BuildResult {
        self.op(Op::Add, &[a, b])
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

    pub fn flatten(&mut self, x: NodeId) -> BuildResult {
        self.op(Op::Flatten { axis: 1 }, &[x])
    }

    /// Finishes the graph with the given outputs.
    pub fn finish(mut self, outputs: Vec<NodeId>) -> Graph {
        self.graph.set_outputs(outputs);
        self.graph
    }
}
