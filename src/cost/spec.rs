//! The cost-model file as written: the TOML schema, read by serde with unknown fields refused.
//! [`super::model`] checks it and resolves names into a [`super::CostModel`].
//!
//! A file describes one framework implementation:
//! - `include = ["shared/mpspdz-functions.toml", ..]` (optional, a top-level key written before
//!   the first table): files whose entries this file takes in, for lowerings several frameworks
//!   share (see "Includes" below);
//! - `[framework]`: name, aliases, description, provenance, how rounds are counted, the default
//!   weight visibility, and `local_ops` (IR ops that cost nothing in this framework);
//! - `[params]`: protocol parameters (`ring`, `frac`, `parties`, iteration counts ...), numbers
//!   that `--set name=value` overrides;
//! - `[ranges]`: the values each parameter may take (`parties = [2]`, `ring = [32, 64, 128]`,
//!   `exp_iters = { min = 1, max = 64 }`), checked with the overrides at load
//!   ([`super::ranges`]);
//! - `[primitives.NAME]`: closed-form `online_bits` (total over all parties, or
//!   `online_bits_per_party = [..]`, or `online_bits_of_party`: one formula of the variable
//!   `party` = 0, 1, .. for every party, when the party count is a parameter), `online_rounds`,
//!   `offline_bits`, `offline_rounds`;
//! - `[functions.NAME]`: reusable lowerings (`args = [..]`, `steps = [..]`), the sub-ops of the
//!   call chain (exp, reciprocal, a comparison tree ...);
//! - `[ops.OP]`: the lowering of an IR op, one step list per operand-visibility pattern
//!   (`s` secret, `p` public, `v` server-held, `*` any; one letter per operand, missing letters
//!   match anything), e.g. `ss = [..]` and `sp = [..]` for a linear layer.
//!
//! `[training]` (optional) says how the framework trains, beyond what its ops cost:
//! `loss_seed` (`public`, the default: the loss gradient 1 is a literal the framework folds
//! away, as jax; `secret`: an encrypted 1 the loss gradient is multiplied by, as CrypTen's
//! `loss.backward()`); `autograd` (`compiled`, the default: the step is one program, as jax's
//! under XLA, so only gradients that reach a parameter are computed, public factors are
//! folded and unused nodes dropped; `eager`: every function on the tape returns the
//! gradients of all its inputs, as CrypTen's); `batchnorm` (`decomposed`, the default: batch
//! normalization is its tensor ops, differentiated op by op; `fused`: one function with a
//! closed-form backward, `batch_norm_normalize`, as CrypTen's); `grad_threshold` (the
//! framework's default gradient threshold of the update, CrypTen's
//! `update_parameters(grad_threshold=100)`, applied when a training profile asks for it);
//! `gelu` (`function`, the default: one op with its backward op `gelu_grad`, as jax's;
//! `tensor_ops`: the tanh form written from tensor ops and differentiated op by op, as the
//! CrypTen models write it); `max_pool` (`window`, the default: the forward pool is the
//! inference pool and `max_pool2d_grad` finds each window's maximum again; `argmax`: a
//! compiled step runs a max pool whose gradient is needed as an argmax pool, each window's
//! maximum with its one-hot position, and the gradient scatters with it, as SPU's compiler
//! pairs `reduce_window` and `select_and_scatter` into `pphlo.argmax` and
//! `pphlo.maxpool_scatter`: the forward op has `argmax = 1`); `sqrt_plus_eps` (`as_written`,
//! the default; `rsqrt`: the compiler turns `y / (sqrt(x) + eps)` with `eps` below
//! float32's epsilon into `y * rsqrt(x + eps)`, as SPU's default passes do to optax's Adam).
//! Backward ops (`relu_grad`, `conv2d_grad_weight` ...) are ops like the others: a model
//! lowers them in `[ops.*]`; those it does not lower are costed as their textbook
//! composition of forward ops (`cost::fallback`).
//!
//! `[unsupported]` (optional) says, op by op, why the real system cannot run an op the file
//! does not lower: `OP = "sentence"` for every application of the op, or `"OP.PATTERN" =
//! "sentence"` for the operand visibilities of a case pattern only (`"mat_mul.ss"`). The
//! sentence is the error a user sees, so it names the framework, the op, the reason and what
//! to do instead.
//!
//! `[[setup]]` entries are one-time costs (`label`, `online_bits`, `online_rounds`,
//! `when_used = [primitives]`) charged once per run when any listed primitive runs.
//!
//! `[frontend]` (optional) states what the framework's real frontend refuses
//! ([`super::loadability`]): `name`, `source`, `accepts` (the ONNX ops it implements),
//! `other_reason` / `other_closest` for any other op, and `[[frontend.refuses]]` rules (`op`,
//! optional `secret_operand`, the framework's own `reason`, and the `closest` runnable form
//! whose cost is shown).
//!
//! Includes. An included file holds entries only: `[primitives.NAME]`, `[functions.NAME]`,
//! `[ops.OP]`, `[unsupported]` and an `include` list of its own (no `[framework]`, `[params]`
//! or other table: those are the including model's). Its entries are taken into the model as if
//! written there, so they may call the model's primitives and use its parameters, and the
//! model's entries may call them. Rules ([`super::include`] enforces them; every refusal is an
//! error naming the including file, `include[i]`, the reason and the fix):
//! - a path is relative to the folder of the file that includes it and may not leave that
//!   folder: no absolute path, no `..`, and no symbolic link leading out of it (the file's
//!   canonical path must lie in the folder);
//! - an entry is defined in one file only: a model and a file it includes (or two included
//!   files) that define the same `primitives.NAME`, `functions.NAME`, `ops.OP` or
//!   `unsupported` key are an error, never a silent override; to change a shared entry, copy
//!   the included file and change the copy;
//! - each file is included once (a cycle, or a second include of the same file, is an
//!   error), at most 8 levels deep, at most 64 files in all; a file (including or included)
//!   is at most 1 MiB of UTF-8 text and the included files at most 4 MiB together;
//! - the built-in models include the built-in files of `cost_models/shared/`, compiled into the
//!   binary (never files on disk); a model given as text alone (no file) includes nothing.
//!
//! A step is `{ call = "NAME", ARG = "formula", ..., repeat = "k", index = "i", levels = "l",
//! when = "cond", label = "..." }`: it costs `repeat` sequential runs of the callee (with `index`
//! bound to 0..repeat), its rounds multiplied by `levels` (a batched call spread over tree
//! levels), and is skipped when `when` evaluates to 0; `label` renames a function call in the
//! chain.

use super::model::CostModelError;
use crate::graph::Visibility;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Reads TOML text into `T`; an error names the file and the line.
pub(super) fn parse<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, CostModelError> {
    toml::from_str(text).map_err(|e| {
        let place = e
            .span()
            .map(|s| {
                let line = text[..s.start].matches('\n').count() + 1;
                format!("line {line}")
            })
            .unwrap_or_else(|| "file".to_string());
        CostModelError {
            file: file.to_string(),
            entry: place,
            reason: e.message().to_string(),
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSpec {
    /// Files whose entries this one takes in ([`super::include`]).
    #[serde(default)]
    pub(super) include: Vec<String>,
    pub(super) framework: FrameworkSpec,
    #[serde(default)]
    pub(super) params: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) ranges: BTreeMap<String, super::ranges::Range>,
    #[serde(default)]
    pub(super) primitives: BTreeMap<String, PrimitiveSpec>,
    #[serde(default)]
    pub(super) functions: BTreeMap<String, FunctionSpec>,
    #[serde(default)]
    pub(super) ops: BTreeMap<String, OpSpec>,
    #[serde(default)]
    pub(super) setup: Vec<SetupSpec>,
    #[serde(default)]
    pub(super) training: TrainingSpec,
    #[serde(default)]
    pub(super) unsupported: BTreeMap<String, String>,
    pub(super) frontend: Option<super::loadability::FrontendSpec>,
}

/// An included file: entries shared by the models that include it, and the files it includes
/// in turn.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FragmentSpec {
    #[serde(default)]
    pub(super) include: Vec<String>,
    #[serde(default)]
    pub(super) primitives: BTreeMap<String, PrimitiveSpec>,
    #[serde(default)]
    pub(super) functions: BTreeMap<String, FunctionSpec>,
    #[serde(default)]
    pub(super) ops: BTreeMap<String, OpSpec>,
    #[serde(default)]
    pub(super) unsupported: BTreeMap<String, String>,
}

/// How the framework trains (`[training]`); the defaults are jax's (SPU).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// Visibility of the loss gradient seed (1): `public` (a folded literal) or `secret`.
    #[serde(default = "public")]
    pub loss_seed: Visibility,
    #[serde(default)]
    pub autograd: AutogradStyle,
    #[serde(default)]
    pub batchnorm: BatchNormStyle,
    /// The framework's default gradient threshold of the parameter update, if it has one.
    #[serde(default)]
    pub grad_threshold: Option<f64>,
    #[serde(default)]
    pub gelu: GeluStyle,
    #[serde(default)]
    pub max_pool: MaxPoolStyle,
    #[serde(default)]
    pub sqrt_plus_eps: SqrtPlusEps,
}

/// What a compiler makes of `y / (sqrt(x) + eps)` with a tiny `eps`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum SqrtPlusEps {
    /// Runs it as written: a square root and a division.
    #[default]
    AsWritten,
    /// `y * rsqrt(x + eps)` (SPU's `optimize-sqrt-plus-eps` and `rewrite-div-sqrt-pattern`).
    Rsqrt,
}

/// How a compiled training step runs a max pool whose gradient is needed.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum MaxPoolStyle {
    /// The inference pool; the gradient op finds the maxima itself.
    #[default]
    Window,
    /// An argmax pool (the maxima and their one-hot positions) whose positions the gradient
    /// scatters with (SPU: `pphlo.argmax`, `pphlo.maxpool_scatter`).
    Argmax,
}

/// How a framework computes GELU in training.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum GeluStyle {
    /// One function with its own backward (`gelu_grad`, jax's rule reusing the forward's
    /// values).
    #[default]
    Function,
    /// Written from tensor ops (CrypTen has no GELU: the tanh form
    /// `x * 0.5 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`): a tanh-form GELU is
    /// differentiated op by op; the erf form stays one op with its own backward.
    TensorOps,
}

/// How a framework runs autograd.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum AutogradStyle {
    /// One compiled program (jax under XLA): needed gradients only, public factors folded,
    /// unused nodes dropped.
    #[default]
    Compiled,
    /// A tape run op by op (CrypTen): every function returns all its inputs' gradients.
    Eager,
}

/// How a framework computes batch normalization in training.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum BatchNormStyle {
    /// As its tensor ops (mean, variance, rsqrt, scale), differentiated op by op.
    #[default]
    Decomposed,
    /// One function with a closed-form backward (`batch_norm_normalize`).
    Fused,
}

fn public() -> Visibility {
    Visibility::Public
}

impl Default for TrainingSpec {
    fn default() -> Self {
        TrainingSpec {
            loss_seed: Visibility::Public,
            autograd: AutogradStyle::Compiled,
            batchnorm: BatchNormStyle::Decomposed,
            grad_threshold: None,
            gelu: GeluStyle::Function,
            max_pool: MaxPoolStyle::Window,
            sqrt_plus_eps: SqrtPlusEps::AsWritten,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SetupSpec {
    pub(super) label: String,
    #[serde(default)]
    pub(super) doc: String,
    pub(super) online_bits: String,
    #[serde(default = "zero")]
    pub(super) online_rounds: String,
    pub(super) when_used: Vec<String>,
}

/// Descriptive header of a framework.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkSpec {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub description: String,
    /// Where the figures come from (measured runs, source files read, papers ported).
    pub provenance: String,
    /// What one "round" means for this framework.
    pub rounds: String,
    /// Visibility given to parameters unless `--weights` says otherwise.
    pub default_weights: Visibility,
    #[serde(default)]
    pub local_ops: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PrimitiveSpec {
    #[serde(default)]
    pub(super) doc: String,
    #[serde(default)]
    pub(super) source: String,
    pub(super) online_bits: Option<String>,
    pub(super) online_bits_per_party: Option<Vec<String>>,
    pub(super) online_bits_of_party: Option<String>,
    #[serde(default = "zero")]
    pub(super) online_rounds: String,
    #[serde(default = "zero")]
    pub(super) offline_bits: String,
    #[serde(default = "zero")]
    pub(super) offline_rounds: String,
    #[serde(default)]
    pub(super) args: Vec<String>,
}

fn zero() -> String {
    "0".to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FunctionSpec {
    #[serde(default)]
    pub(super) doc: String,
    #[serde(default)]
    pub(super) source: String,
    #[serde(default)]
    pub(super) args: Vec<String>,
    pub(super) steps: Vec<StepSpec>,
}

#[derive(Deserialize)]
pub(super) struct OpSpec {
    #[serde(default)]
    pub(super) doc: String,
    #[serde(default)]
    pub(super) source: String,
    #[serde(flatten)]
    pub(super) cases: BTreeMap<String, Vec<StepSpec>>,
}

#[derive(Deserialize)]
pub(super) struct StepSpec {
    pub(super) call: String,
    pub(super) repeat: Option<String>,
    pub(super) index: Option<String>,
    pub(super) levels: Option<String>,
    pub(super) when: Option<String>,
    pub(super) label: Option<String>,
    #[serde(flatten)]
    pub(super) args: BTreeMap<String, toml::Value>,
}
