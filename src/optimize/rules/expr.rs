//! Expressions of rule files: the conditions of `if` lines and the computed attributes and
//! scalars of right-hand sides.
//!
//! Values are numbers, booleans, strings, lists and `null`. Tensor variables (`?x`) are only
//! arguments of the functions below; attribute variables are read by field (`?p.kernel`,
//! fields named as in the JSON format). Operators: `and or not`, `== != < <= > >=` (on any
//! values; values of different types are unequal), `+ - * /` on numbers, list literals
//! `[a, b]`.
//!
//! | function | value |
//! |---|---|
//! | `secret(?t)` `public(?t)` `server(?t)` | whether `?t` has this visibility |
//! | `plain(?t)` | `?t` is not secret (public or server-held) |
//! | `vis(?t)` `kind(?t)` | `'secret'`, `'public'`, `'server'`; `'real'`, `'int'` |
//! | `shape(?t)` `rank(?t)` `numel(?t)` `dim(?t, i)` | static shape facts (`i < 0` from the end) |
//! | `const(?t)` `value(?t)` | whether every element is one known constant, and its value |
//! | `nonneg(?t)` | every element is known `>= 0` (the sign analysis, [`crate::optimize::sign`]) |
//! | `id(?t)` | the e-class id (to order two matches of a symmetric multi-pattern) |
//! | `broadcast(s1, s2)` | numpy broadcast of two shapes, `null` if they do not broadcast |
//! | `swap_last2(r)` | the permutation of rank `r` that swaps the last two dims |
//! | `len(list)` | length of a list |
//! | `at(list, i)` | the element `i` of a list (`i < 0` from the end) |
//! | `floor(x)` | the largest whole number `<= x` (output sizes: `floor((h + pads - k) / s) + 1`) |

use crate::graph::{broadcast, ConstValue, NormForm, Op, ParamRole, ValueInfo, Visibility};
use std::fmt;

/// A value of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Num(f64),
    Bool(bool),
    Str(String),
    List(Vec<Value>),
    Null,
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => write!(f, "{}", *n as i64),
            Value::Num(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => write!(f, "{s}"),
            Value::List(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Null => write!(f, "null"),
        }
    }
}

impl Value {
    fn usizes(items: &[usize]) -> Value {
        Value::List(items.iter().map(|&d| Value::Num(d as f64)).collect())
    }
    fn i64s(items: &[i64]) -> Value {
        Value::List(items.iter().map(|&d| Value::Num(d as f64)).collect())
    }

    /// As JSON, for building attributes (whole numbers become integers).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => J::from(*n as i64),
            Value::Num(n) => J::from(*n),
            Value::Bool(b) => J::Bool(*b),
            Value::Str(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Null => J::Null,
        }
    }

    fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }

    fn as_shape(&self) -> Option<Vec<usize>> {
        match self {
            Value::List(items) => items
                .iter()
                .map(|v| match v {
                    Value::Num(n) if *n >= 0.0 && n.fract() == 0.0 => Some(*n as usize),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
}

/// A layer norm's form as written in the JSON format.
fn norm_form_name(form: NormForm) -> &'static str {
    match form {
        NormForm::Fused => "fused",
        NormForm::DecomposedPow => "decomposed_pow",
        NormForm::DecomposedMul => "decomposed_mul",
    }
}

/// The attribute fields of an op, named and valued as in the JSON format (defaults included).
pub fn attr_fields(op: &Op) -> Vec<(&'static str, Value)> {
    let n = |v: usize| Value::Num(v as f64);
    let i = |v: i64| Value::Num(v as f64);
    let b = Value::Bool;
    let l = Value::usizes;
    match op {
        Op::Parameter { role } => vec![(
            "role",
            Value::Str(
                match role {
                    ParamRole::Weight => "weight",
                    ParamRole::Bias => "bias",
                    ParamRole::RunningMean => "running_mean",
                    ParamRole::RunningVar => "running_var",
                    ParamRole::OptimizerState => "optimizer_state",
                }
                .to_string(),
            ),
        )],
        Op::Constant {
            value: ConstValue::Fill(v),
        } => vec![("fill", Value::Num(*v))],
        Op::Conv2d {
            stride,
            padding,
            dilation,
            groups,
        } => vec![
            ("stride", l(stride)),
            ("padding", l(padding)),
            ("dilation", l(dilation)),
            ("groups", n(*groups)),
        ],
        Op::LeakyRelu { alpha } => vec![("alpha", Value::Num(*alpha))],
        Op::Gelu { approximate } => vec![("approximate", b(*approximate))],
        Op::Pow { exponent } => vec![("exponent", Value::Num(*exponent))],
        Op::Softmax { axis } | Op::LogSoftmax { axis } => vec![("axis", i(*axis))],
        Op::MaxPool2d {
            kernel,
            stride,
            padding,
            dilation,
            ceil_mode,
            ..
        }
        | Op::MaxPool2dGrad {
            kernel,
            stride,
            padding,
            dilation,
            ceil_mode,
        } => vec![
            ("kernel", l(kernel)),
            ("stride", l(stride)),
            ("padding", l(padding)),
            ("dilation", l(dilation)),
            ("ceil_mode", b(*ceil_mode)),
        ],
        Op::AvgPool2d {
            kernel,
            stride,
            padding,
            ceil_mode,
            count_include_pad,
        } => vec![
            ("kernel", l(kernel)),
            ("stride", l(stride)),
            ("padding", l(padding)),
            ("ceil_mode", b(*ceil_mode)),
            ("count_include_pad", b(*count_include_pad)),
        ],
        Op::AdaptiveAvgPool2d { output } => vec![("output", l(output))],
        Op::BatchNorm { eps } => vec![("eps", Value::Num(*eps))],
        Op::LayerNorm { axis, eps, form } => vec![
            ("axis", i(*axis)),
            ("eps", Value::Num(*eps)),
            ("form", Value::Str(norm_form_name(*form).to_string())),
        ],
        Op::Clip { min, max } => vec![("min", Value::Num(*min)), ("max", Value::Num(*max))],
        Op::Gather { axis } | Op::Flatten { axis } | Op::Concat { axis } => {
            vec![("axis", i(*axis))]
        }
        Op::Reshape { shape } => vec![("to", Value::i64s(shape))],
        Op::Expand { shape } => vec![("to", l(shape))],
        Op::Transpose { perm } => vec![("perm", l(perm))],
        Op::Slice {
            axis,
            start,
            end,
            step,
        } => vec![
            ("axis", i(*axis)),
            ("start", i(*start)),
            ("end", i(*end)),
            ("step", i(*step)),
        ],
        Op::ReduceSum { axes, keepdims }
        | Op::ReduceMean { axes, keepdims }
        | Op::ReduceMax { axes, keepdims } => {
            vec![("axes", Value::i64s(axes)), ("keepdims", b(*keepdims))]
        }
        Op::ArgMax { axis, keepdims } => vec![("axis", i(*axis)), ("keepdims", b(*keepdims))],
        Op::Dropout { p } => vec![("p", Value::Num(*p))],
        Op::ReluGrad { alpha } => vec![("alpha", Value::Num(*alpha))],
        Op::GeluGrad { approximate } => vec![("approximate", b(*approximate))],
        Op::AvgPool2dGrad {
            kernel,
            stride,
            padding,
            ceil_mode,
            count_include_pad,
            input,
        } => vec![
            ("kernel", l(kernel)),
            ("stride", l(stride)),
            ("padding", l(padding)),
            ("ceil_mode", b(*ceil_mode)),
            ("count_include_pad", b(*count_include_pad)),
            ("input", l(input)),
        ],
        Op::ReduceMaxGrad { axes, keepdims } | Op::SumProduct { axes, keepdims } => {
            vec![("axes", Value::i64s(axes)), ("keepdims", b(*keepdims))]
        }
        Op::Conv2dGradInput {
            stride,
            padding,
            dilation,
            groups,
            input: size,
        }
        | Op::Conv2dGradWeight {
            stride,
            padding,
            dilation,
            groups,
            kernel: size,
        } => vec![
            ("stride", l(stride)),
            ("padding", l(padding)),
            ("dilation", l(dilation)),
            ("groups", n(*groups)),
            (
                if matches!(op, Op::Conv2dGradInput { .. }) {
                    "input"
                } else {
                    "kernel"
                },
                l(size),
            ),
        ],
        Op::GatherGrad { axis, size } => vec![("axis", i(*axis)), ("size", n(*size))],
        Op::BatchNormNormalize { eps } | Op::BatchNormNormalizeGrad { eps } => {
            vec![("eps", Value::Num(*eps))]
        }
        Op::GradThreshold { threshold } => vec![("threshold", Value::Num(*threshold))],
        _ => vec![],
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnOp {
    Neg,
    Not,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Str(String),
    Bool(bool),
    List(Vec<Expr>),
    /// A tensor variable, as a function argument.
    Tensor(String),
    /// A field of an attribute variable.
    Field(String, String),
    Call(Func, Vec<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// The functions of expressions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Func {
    Secret,
    Public,
    Server,
    Plain,
    Vis,
    Kind,
    Shape,
    Rank,
    Numel,
    Dim,
    Const,
    ValueOf,
    Nonneg,
    Id,
    Broadcast,
    SwapLast2,
    Len,
    At,
    Floor,
}

impl Func {
    /// Name, and for each argument whether it must be a tensor variable.
    pub const ALL: &'static [(&'static str, Func, &'static [bool])] = &[
        ("secret", Func::Secret, &[true]),
        ("public", Func::Public, &[true]),
        ("server", Func::Server, &[true]),
        ("plain", Func::Plain, &[true]),
        ("vis", Func::Vis, &[true]),
        ("kind", Func::Kind, &[true]),
        ("shape", Func::Shape, &[true]),
        ("rank", Func::Rank, &[true]),
        ("numel", Func::Numel, &[true]),
        ("dim", Func::Dim, &[true, false]),
        ("const", Func::Const, &[true]),
        ("value", Func::ValueOf, &[true]),
        ("nonneg", Func::Nonneg, &[true]),
        ("id", Func::Id, &[true]),
        ("broadcast", Func::Broadcast, &[false, false]),
        ("swap_last2", Func::SwapLast2, &[false]),
        ("len", Func::Len, &[false]),
        ("at", Func::At, &[false, false]),
        ("floor", Func::Floor, &[false]),
    ];

    pub fn lookup(name: &str) -> Option<(Func, &'static [bool])> {
        Func::ALL
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, f, args)| (*f, *args))
    }
}

/// What an expression can look up: tensor and attribute variables of one match.
pub trait Scope {
    /// Value, known constant fill and e-class id of a tensor variable.
    fn tensor(&self, var: &str) -> Option<(&ValueInfo, Option<f64>, usize)>;
    /// The attributes bound to an attribute variable.
    fn attrs(&self, var: &str) -> Option<&Op>;
    /// Whether a tensor variable is known non-negative (the sign analysis).
    fn nonneg(&self, var: &str) -> Option<bool>;
}

impl Expr {
    /// Evaluates the expression; `None` when a function is outside its domain (a dim out of
    /// range, the value of a non-constant ...), which makes a condition fail.
    pub fn eval(&self, scope: &dyn Scope) -> Option<Value> {
        Some(match self {
            Expr::Num(n) => Value::Num(*n),
            Expr::Str(s) => Value::Str(s.clone()),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::List(items) => {
                Value::List(items.iter().map(|e| e.eval(scope)).collect::<Option<_>>()?)
            }
            Expr::Tensor(_) => return None,
            Expr::Field(var, field) => {
                let op = scope.attrs(var)?;
                attr_fields(op)
                    .into_iter()
                    .find(|(k, _)| k == field)
                    .map(|(_, v)| v)?
            }
            Expr::Call(f, args) => return call(*f, args, scope),
            Expr::Unary(UnOp::Neg, e) => Value::Num(-e.eval(scope)?.as_num()?),
            Expr::Unary(UnOp::Not, e) => match e.eval(scope)? {
                Value::Bool(b) => Value::Bool(!b),
                _ => return None,
            },
            Expr::Binary(op, a, b) => {
                // `and`/`or` short-circuit, so guards can protect later terms.
                match op {
                    BinOp::And => {
                        return match a.eval(scope)? {
                            Value::Bool(false) => Some(Value::Bool(false)),
                            Value::Bool(true) => match b.eval(scope)? {
                                v @ Value::Bool(_) => Some(v),
                                _ => None,
                            },
                            _ => None,
                        }
                    }
                    BinOp::Or => {
                        return match a.eval(scope)? {
                            Value::Bool(true) => Some(Value::Bool(true)),
                            Value::Bool(false) => match b.eval(scope)? {
                                v @ Value::Bool(_) => Some(v),
                                _ => None,
                            },
                            _ => None,
                        }
                    }
                    _ => {}
                }
                let (x, y) = (a.eval(scope)?, b.eval(scope)?);
                match op {
                    BinOp::Eq => Value::Bool(x == y),
                    BinOp::Ne => Value::Bool(x != y),
                    _ => {
                        let (x, y) = (x.as_num()?, y.as_num()?);
                        match op {
                            BinOp::Add => Value::Num(x + y),
                            BinOp::Sub => Value::Num(x - y),
                            BinOp::Mul => Value::Num(x * y),
                            BinOp::Div => Value::Num(x / y),
                            BinOp::Lt => Value::Bool(x < y),
                            BinOp::Le => Value::Bool(x <= y),
                            BinOp::Gt => Value::Bool(x > y),
                            BinOp::Ge => Value::Bool(x >= y),
                            _ => unreachable!("handled above"),
                        }
                    }
                }
            }
        })
    }

    /// Whether the expression holds (`false` when it cannot be evaluated).
    pub fn holds(&self, scope: &dyn Scope) -> bool {
        self.eval(scope) == Some(Value::Bool(true))
    }

    /// Every variable the expression reads, with whether it is read as a tensor.
    pub fn vars(&self, out: &mut Vec<(String, bool)>) {
        match self {
            Expr::Tensor(v) => out.push((v.clone(), true)),
            Expr::Field(v, _) => out.push((v.clone(), false)),
            Expr::List(items) | Expr::Call(_, items) => items.iter().for_each(|e| e.vars(out)),
            Expr::Unary(_, e) => e.vars(out),
            Expr::Binary(_, a, b) => {
                a.vars(out);
                b.vars(out);
            }
            Expr::Num(_) | Expr::Str(_) | Expr::Bool(_) => {}
        }
    }
}

fn call(f: Func, args: &[Expr], scope: &dyn Scope) -> Option<Value> {
    let tensor = |i: usize| match &args[i] {
        Expr::Tensor(v) => scope.tensor(v),
        _ => None,
    };
    let vis = |i: usize| tensor(i).map(|(v, _, _)| v.visibility);
    Some(match f {
        Func::Secret => Value::Bool(vis(0)? == Visibility::Secret),
        Func::Public => Value::Bool(vis(0)? == Visibility::Public),
        Func::Server => Value::Bool(vis(0)? == Visibility::Server),
        Func::Plain => Value::Bool(vis(0)? != Visibility::Secret),
        Func::Vis => Value::Str(vis(0)?.as_str().to_string()),
        Func::Kind => Value::Str(tensor(0)?.0.kind.as_str().to_string()),
        Func::Shape => Value::usizes(&tensor(0)?.0.shape),
        Func::Rank => Value::Num(tensor(0)?.0.shape.len() as f64),
        Func::Numel => Value::Num(tensor(0)?.0.numel() as f64),
        Func::Dim => {
            let shape = &tensor(0)?.0.shape;
            let i = args[1].eval(scope)?.as_num()?;
            let r = shape.len() as f64;
            let i = if i < 0.0 { i + r } else { i };
            if i < 0.0 || i >= r || i.fract() != 0.0 {
                return None;
            }
            Value::Num(shape[i as usize] as f64)
        }
        Func::Const => Value::Bool(tensor(0)?.1.is_some()),
        Func::ValueOf => Value::Num(tensor(0)?.1?),
        Func::Nonneg => match &args[0] {
            Expr::Tensor(v) => Value::Bool(scope.nonneg(v)?),
            _ => return None,
        },
        Func::Id => Value::Num(tensor(0)?.2 as f64),
        Func::Broadcast => {
            let a = args[0].eval(scope)?.as_shape()?;
            let b = args[1].eval(scope)?.as_shape()?;
            match broadcast(&a, &b) {
                Ok(s) => Value::usizes(&s),
                Err(_) => Value::Null,
            }
        }
        Func::SwapLast2 => {
            let r = args[0].eval(scope)?.as_num()?;
            if r < 2.0 || r.fract() != 0.0 {
                return None;
            }
            let r = r as usize;
            let mut perm: Vec<usize> = (0..r).collect();
            perm.swap(r - 2, r - 1);
            Value::usizes(&perm)
        }
        Func::Len => match args[0].eval(scope)? {
            Value::List(items) => Value::Num(items.len() as f64),
            _ => return None,
        },
        Func::At => {
            let Value::List(items) = args[0].eval(scope)? else {
                return None;
            };
            let i = args[1].eval(scope)?.as_num()?;
            let i = if i < 0.0 { i + items.len() as f64 } else { i };
            if i < 0.0 || i.fract() != 0.0 {
                return None;
            }
            items.get(i as usize)?.clone()
        }
        Func::Floor => Value::Num(args[0].eval(scope)?.as_num()?.floor()),
    })
}
