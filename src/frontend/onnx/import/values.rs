//! The importer's values: initializers classified as parameters or constants, graph inputs
//! bound to concrete dims, and the lookups node conversion uses (a value's IR node, its
//! constant tensor, its shape; parameters made IR nodes with their stored weights).

use super::*;

impl<'m> Importer<'m> {
    pub(super) fn node_error(&self, n: &ONode, reason: String) -> OnnxError {
        OnnxError::Node {
            file: self.file.clone(),
            node: n.name.clone(),
            op_type: n.op_type.clone(),
            opset: if n.domain == HAWKEYE_DOMAIN {
                1
            } else {
                self.opset
            },
            reason,
        }
    }

    /// Decides which initializers are parameters and which are constants, and the module,
    /// role and visibility of each parameter.
    pub(super) fn classify_initializers(&mut self, inits: &'m [TensorProto], nodes: &[ONode]) {
        let mut uses: HashMap<&str, Vec<(&ONode, usize)>> = HashMap::new();
        for n in nodes {
            for (slot, v) in n.inputs.iter().enumerate() {
                uses.entry(v.as_str()).or_default().push((n, slot));
            }
        }
        for t in inits {
            let Some(name) = t.name.as_deref() else {
                continue;
            };
            let marker = Marker::parse(t.doc_string.as_deref());
            let dt = t.data_type.unwrap_or(0);
            let empty = Vec::new();
            let used = uses.get(name).unwrap_or(&empty);
            let numel = tensor_dims(t)
                .ok()
                .and_then(|d| checked_numel(&d))
                .unwrap_or(usize::MAX);
            let is_param = marker.is_some()
                || (is_float_type(dt)
                    && (t.data_location == Some(1)
                        || role_of_param(name).is_some()
                        || (numel > 1
                            && !used.iter().all(|(n, s)| is_operand_slot(&n.op_type, *s)))));
            if !is_param {
                let origin = Origin {
                    name: name.to_string(),
                    module: module_of_param(name).unwrap_or_default(),
                    phase: Phase::Forward,
                    visibility: Visibility::Public,
                };
                match from_proto(t) {
                    Ok(v) => {
                        self.vals
                            .insert(name.to_string(), Val::Const(Rc::new(v), Rc::new(origin)));
                    }
                    Err(_) => {
                        // Unreadable: reported if something reads it as a parameter.
                        self.vals
                            .insert(name.to_string(), Val::Param(name.to_string()));
                    }
                }
                continue;
            }
            let first = used.first();
            let consumer_module = first.map(|(n, _)| {
                n.marker
                    .as_ref()
                    .and_then(|m| m.module.clone())
                    .unwrap_or_else(|| module_of_node(&n.name))
            });
            let slot_role = first.and_then(|(n, s)| match (n.op_type.as_str(), *s) {
                ("Conv" | "Gemm" | "LayerNormalization", 2) => Some(ParamRole::Bias),
                ("BatchNormalization", 2) => Some(ParamRole::Bias),
                ("BatchNormalization", 3) => Some(ParamRole::RunningMean),
                ("BatchNormalization", 4) => Some(ParamRole::RunningVar),
                _ => None,
            });
            let m = marker.unwrap_or_default();
            let meta = ParamMeta {
                name: m.name.clone().unwrap_or_else(|| name.to_string()),
                module: m
                    .module
                    .clone()
                    .or_else(|| module_of_param(name))
                    .or(consumer_module)
                    .unwrap_or_default(),
                role: m
                    .role
                    .or_else(|| role_of_param(name))
                    .or(slot_role)
                    .unwrap_or_default(),
                visibility: m.visibility.unwrap_or(Visibility::Secret),
                phase: m.phase.unwrap_or_default(),
            };
            self.params.insert(name.to_string(), meta);
            self.vals
                .insert(name.to_string(), Val::Param(name.to_string()));
        }
    }

    pub(super) fn create_inputs(
        &mut self,
        inputs: &[&ValueInfoProto],
        b: &DimBindings,
    ) -> Result<(), OnnxError> {
        for vi in inputs {
            let name = vi.name.clone().unwrap_or_default();
            let invalid = |reason: String| OnnxError::Invalid {
                file: self.file.clone(),
                reason: format!("input '{name}': {reason}"),
            };
            let (elem, dims) = tensor_type(vi).map_err(invalid)?;
            let kind = if is_float_type(elem) {
                ElemKind::Real
            } else if is_int_type(elem) {
                ElemKind::Int
            } else {
                return Err(invalid(format!(
                    "element type {} is not supported",
                    type_name(elem)
                )));
            };
            let mut shape = Vec::with_capacity(dims.len());
            for (axis, d) in dims.iter().enumerate() {
                let v = match d {
                    Dim::Value(v) => *v,
                    Dim::Param(p) => {
                        match b
                            .dims
                            .get(p)
                            .copied()
                            .or(if axis == 0 { b.batch } else { None })
                        {
                            Some(v) => v,
                            None => {
                                return Err(OnnxError::UnboundDim {
                                    file: self.file.clone(),
                                    input: name.clone(),
                                    dim: p.clone(),
                                    axis,
                                })
                            }
                        }
                    }
                    Dim::Unknown => match (axis, b.batch) {
                        (0, Some(v)) => v,
                        _ => {
                            return Err(OnnxError::UnboundDim {
                                file: self.file.clone(),
                                input: name.clone(),
                                dim: "?".to_string(),
                                axis,
                            })
                        }
                    },
                };
                shape.push(v);
            }
            if checked_numel(&shape).is_none() {
                return Err(invalid(format!("shape {shape:?} is too large")));
            }
            let m = Marker::parse(vi.doc_string.as_deref()).unwrap_or_default();
            self.g.set_phase(m.phase.unwrap_or_default());
            let id = self
                .g
                .add_source(
                    m.name.unwrap_or_else(|| name.clone()),
                    m.module.unwrap_or_default(),
                    Op::Input,
                    ValueInfo::new(shape, kind, m.visibility.unwrap_or(Visibility::Secret)),
                )
                .map_err(|e| invalid(graph_reason(e)))?;
            self.g.set_phase(Phase::Forward);
            self.vals.insert(name, Val::Node(id));
        }
        Ok(())
    }

    /// Checks declared shapes of graph outputs and intermediate values against inferred ones.
    pub(super) fn check_declared(
        &self,
        outputs: &[ValueInfoProto],
        value_info: &[ValueInfoProto],
        nodes: &[ONode],
        b: &DimBindings,
    ) -> Result<(), OnnxError> {
        for vi in outputs.iter().chain(value_info) {
            let name = vi.name.as_deref().unwrap_or("");
            let Some(Val::Node(id)) = self.vals.get(name) else {
                continue;
            };
            let Ok((_, dims)) = tensor_type(vi) else {
                continue;
            };
            if dims.is_empty() && vi.r#type.as_ref().is_some_and(|t| !has_shape(t)) {
                continue;
            }
            let got = &self.g.node(*id).value.shape;
            let fits = dims.len() == got.len()
                && dims.iter().zip(got).all(|(d, &g)| match d {
                    Dim::Value(v) => *v == g,
                    Dim::Param(p) => b.dims.get(p).is_none_or(|&v| v == g),
                    Dim::Unknown => true,
                });
            if !fits {
                let declared: Vec<String> = dims
                    .iter()
                    .map(|d| match d {
                        Dim::Value(v) => v.to_string(),
                        Dim::Param(p) => p.clone(),
                        Dim::Unknown => "?".to_string(),
                    })
                    .collect();
                let reason = format!(
                    "inconsistent shapes: value '{name}' is declared {} but computes to {}",
                    if declared.is_empty() {
                        "scalar".to_string()
                    } else {
                        declared.join("x")
                    },
                    shape_string(got)
                );
                return Err(
                    match nodes.iter().find(|n| n.outputs.iter().any(|o| o == name)) {
                        Some(n) => self.node_error(n, reason),
                        None => OnnxError::Invalid {
                            file: self.file.clone(),
                            reason,
                        },
                    },
                );
            }
        }
        Ok(())
    }

    pub(super) fn cur(&self, n: &ONode) -> Cur {
        let m = n.marker.clone().unwrap_or_default();
        Cur {
            base: m.name.unwrap_or_else(|| n.name.clone()),
            module: m.module.unwrap_or_else(|| module_of_node(&n.name)),
            phase: m.phase.unwrap_or_default(),
            visibility: m.visibility.unwrap_or(Visibility::Public),
        }
    }

    /// Adds an op node for the current ONNX node (`suffix` names a helper node).
    pub(super) fn add(
        &mut self,
        c: &Cur,
        suffix: Option<&str>,
        op: Op,
        inputs: &[NodeId],
    ) -> R<NodeId> {
        let base = match suffix {
            None => c.base.clone(),
            Some(s) => format!("{}:{s}", c.base),
        };
        let name = self.g.fresh_name(&base);
        self.g.set_phase(c.phase);
        let r = self.g.add(name, c.module.clone(), op, inputs);
        self.g.set_phase(Phase::Forward);
        let id = r.map_err(graph_reason)?;
        if checked_numel(&self.g.node(id).value.shape).is_none() {
            return Err(format!(
                "result of shape {} is too large",
                shape_string(&self.g.node(id).value.shape)
            ));
        }
        Ok(id)
    }

    /// A scalar IR constant for the current node.
    pub(super) fn scalar(&mut self, c: &Cur, suffix: &str, v: f64) -> R<NodeId> {
        let name = self.g.fresh_name(&format!("{}:{suffix}", c.base));
        self.g
            .add_source(
                name,
                c.module.clone(),
                Op::Constant {
                    value: crate::graph::ConstValue::Fill(v),
                },
                ValueInfo::new(vec![], ElemKind::Real, Visibility::Public),
            )
            .map_err(graph_reason)
    }

    pub(super) fn val(&self, v: &str) -> R<&Val> {
        self.vals
            .get(v)
            .ok_or_else(|| format!("value '{v}' is not available (its producer was not converted)"))
    }

    /// The IR node holding value `v` (creating constant and parameter nodes on first read).
    pub(super) fn data(&mut self, v: &str) -> R<NodeId> {
        match self.val(v)?.clone() {
            Val::Node(id) => Ok(id),
            Val::Param(init) => self.param(&init),
            Val::Const(t, origin) => {
                if let Some(&id) = self.const_nodes.get(v) {
                    return Ok(id);
                }
                let id = self.materialize(&t, &origin)?;
                self.const_nodes.insert(v.to_string(), id);
                Ok(id)
            }
        }
    }

    pub(super) fn materialize(&mut self, t: &Tensor, o: &Origin) -> R<NodeId> {
        let name = self.g.fresh_name(&o.name);
        let kind = if t.is_int() {
            ElemKind::Int
        } else {
            ElemKind::Real
        };
        self.g.set_phase(o.phase);
        let r = self.g.add_source(
            name,
            o.module.clone(),
            Op::Constant {
                value: t.const_value(),
            },
            ValueInfo::new(t.dims.clone(), kind, o.visibility),
        );
        self.g.set_phase(Phase::Forward);
        r.map_err(graph_reason)
    }

    pub(super) fn param(&mut self, init: &str) -> R<NodeId> {
        if let Some(&id) = self.param_nodes.get(init) {
            return Ok(id);
        }
        let t = *self
            .inits
            .get(init)
            .ok_or_else(|| format!("initializer '{init}' is missing"))?;
        let meta = self
            .params
            .get(init)
            .ok_or_else(|| format!("initializer '{init}' cannot be read as a parameter"))?;
        let dt = t.data_type.unwrap_or(0);
        if !is_float_type(dt) {
            return Err(format!(
                "parameter '{init}' has element type {}",
                type_name(dt)
            ));
        }
        let dims = tensor_dims(t)?;
        let weight = self.weight_data(t, &dims)?;
        let (name, module, role, vis, phase) = (
            meta.name.clone(),
            meta.module.clone(),
            meta.role,
            meta.visibility,
            meta.phase,
        );
        self.g.set_phase(phase);
        let r = self.g.add_source(
            name.clone(),
            module,
            Op::Parameter { role },
            ValueInfo::new(dims, ElemKind::Real, vis),
        );
        self.g.set_phase(Phase::Forward);
        let id = r.map_err(graph_reason)?;
        if let Some(w) = weight {
            self.g.set_weight(name, w);
        }
        self.param_nodes.insert(init.to_string(), id);
        Ok(id)
    }

    /// Where a parameter's values are, without reading them. `None` for stripped tensors (no
    /// data, or external data whose file is absent or too short).
    fn weight_data(&self, t: &TensorProto, dims: &[usize]) -> R<Option<WeightData>> {
        let name = t.name.as_deref().unwrap_or("");
        let dt = t.data_type.unwrap_or(0);
        let size = elem_size(dt)
            .ok_or_else(|| format!("parameter '{name}' has element type {}", type_name(dt)))?;
        let bytes = (checked_numel(dims).ok_or("too large")? as u64)
            .checked_mul(size as u64)
            .ok_or_else(|| format!("parameter '{name}' of shape {dims:?} is too large"))?;
        if t.data_location == Some(1) {
            let entry = |k: &str| {
                t.external_data
                    .iter()
                    .find(|e| e.key.as_deref() == Some(k))
                    .and_then(|e| e.value.clone())
            };
            let location = entry("location").ok_or_else(|| {
                format!("initializer '{name}' has external data without a location")
            })?;
            let num = |k: &str| -> R<u64> {
                entry(k)
                    .map(|v| {
                        v.parse().map_err(|_| {
                            format!("initializer '{name}': external data {k} '{v}' is not a number")
                        })
                    })
                    .transpose()
                    .map(|v| v.unwrap_or(0))
            };
            let offset = num("offset")?;
            let length = match num("length")? {
                0 => bytes,
                l => l,
            };
            if length != bytes {
                return Err(format!(
                    "initializer '{name}': external data has {length} bytes, shape needs {bytes}"
                ));
            }
            let escape = |e: external::Escape| {
                format!(
                    "initializer '{name}': external data location '{location}' {}; external \
                     data is read only from inside the model's folder: move the data file \
                     there and give its location relative to the model file",
                    e.reason()
                )
            };
            // Checked as text before any file system access: a refused location reveals
            // nothing about this machine's files.
            external::check_text(&location).map_err(escape)?;
            let Some(dir) = &self.base_dir else {
                return Ok(None);
            };
            let Some(path) = external::resolve(dir, &location).map_err(escape)? else {
                return Ok(None);
            };
            let present = std::fs::metadata(&path)
                .is_ok_and(|m| m.is_file() && m.len() >= offset.saturating_add(length));
            return Ok(present.then_some(WeightData::External {
                data_type: dt,
                path,
                offset,
                length,
            }));
        }
        if let Some(raw) = t.raw_data.as_ref().filter(|r| !r.is_empty()) {
            if raw.len() as u64 != bytes {
                return Err(format!(
                    "initializer '{name}' of shape {dims:?} and type {} has {} bytes of raw data, expected {bytes}",
                    type_name(dt),
                    raw.len()
                ));
            }
            return Ok(Some(WeightData::Inline {
                data_type: dt,
                bytes: raw.clone(),
            }));
        }
        // Values in typed fields: re-encode as raw little-endian bytes.
        let n = bytes as usize / size;
        let mut out = Vec::with_capacity(bytes as usize);
        let filled = match dt {
            1 if t.float_data.len() == n => {
                t.float_data
                    .iter()
                    .for_each(|v| out.extend(v.to_le_bytes()));
                true
            }
            11 if t.double_data.len() == n => {
                t.double_data
                    .iter()
                    .for_each(|v| out.extend(v.to_le_bytes()));
                true
            }
            10 | 16 if t.int32_data.len() == n => {
                t.int32_data
                    .iter()
                    .for_each(|&v| out.extend((v as u16).to_le_bytes()));
                true
            }
            _ => false,
        };
        let any = !(t.float_data.is_empty() && t.double_data.is_empty() && t.int32_data.is_empty());
        if !filled && any {
            return Err(format!(
                "initializer '{name}' of shape {dims:?} holds the wrong number of values"
            ));
        }
        Ok(filled.then(|| WeightData::Inline {
            data_type: dt,
            bytes: Bytes::from(out),
        }))
    }

    pub(super) fn konst(&self, v: &str) -> Option<Rc<Tensor>> {
        match self.vals.get(v)? {
            Val::Const(t, _) => Some(t.clone()),
            _ => None,
        }
    }

    /// A constant operand (shape, axes, exponent, ...).
    pub(super) fn need_const(&self, n: &ONode, slot: usize, what: &str) -> R<Rc<Tensor>> {
        let v = n
            .inputs
            .get(slot)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("has no {what} input"))?;
        self.konst(v).ok_or_else(|| {
            format!("{what} '{v}' is not a constant (only static shapes are supported)")
        })
    }

    pub(super) fn opt_const(&self, n: &ONode, slot: usize) -> Option<Rc<Tensor>> {
        n.inputs
            .get(slot)
            .filter(|v| !v.is_empty())
            .and_then(|v| self.konst(v))
    }

    pub(super) fn shape_of(&self, v: &str) -> R<Vec<usize>> {
        match self.val(v)? {
            Val::Node(id) => Ok(self.g.node(*id).value.shape.clone()),
            Val::Const(t, _) => Ok(t.dims.clone()),
            Val::Param(init) => {
                let t = self
                    .inits
                    .get(init.as_str())
                    .ok_or_else(|| format!("initializer '{init}' is missing"))?;
                tensor_dims(t)
            }
        }
    }

    pub(super) fn input_data(&mut self, n: &ONode, slot: usize) -> R<NodeId> {
        let v = n
            .inputs
            .get(slot)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("input {slot} is missing"))?
            .clone();
        self.data(&v)
    }

    pub(super) fn opt_data(&mut self, n: &ONode, slot: usize) -> R<Option<NodeId>> {
        match n.inputs.get(slot).filter(|v| !v.is_empty()).cloned() {
            Some(v) => self.data(&v).map(Some),
            None => Ok(None),
        }
    }

    pub(super) fn set_out(&mut self, n: &ONode, id: NodeId) {
        if let Some(o) = n.outputs.first().filter(|o| !o.is_empty()) {
            self.vals.insert(o.clone(), Val::Node(id));
        }
    }

    /// Extra outputs must not be read (Dropout mask, MaxPool indices, ...).
    pub(super) fn single_output(&self, n: &ONode) -> R<()> {
        if let Some(o) = n
            .outputs
            .iter()
            .skip(1)
            .find(|o| !o.is_empty() && self.read.contains(*o))
        {
            return Err(format!(
                "output '{o}' is read, but only the first output is supported"
            ));
        }
        Ok(())
    }
}
