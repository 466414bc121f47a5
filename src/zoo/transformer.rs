//! Transformers: HuggingFace BERT (base and tiny) and GPT-2 small, torchvision ViT-B/16.
//!
//! Module and parameter names are those of the reference `state_dict`s: BERT as `BertModel`
//! (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`,
//! `pooler.dense`), GPT-2 as `GPT2LMHeadModel` (`transformer.h.0.attn.c_attn.weight`,
//! `lm_head`), ViT as torchvision's `VisionTransformer`
//! (`encoder.layers.encoder_layer_0.self_attention.in_proj_weight`, `heads.head`).
//!
//! Token ids are a secret integer input `input_ids`; position ids (and BERT's token type ids,
//! all 0 as when HF's `BertModel` is called without them) are public integer constants of
//! shape `[1, seq]`, broadcast over the batch, so every embedding is a `gather`. No padding mask is applied. Attention scales by the public
//! constant 1/sqrt(head dim) as a multiplication.

use super::{BuildResult, Conv, ModelBuilder, ZooOptions};
use crate::graph::{ConstValue, Graph, GraphError, NodeId, Op, ParamRole};

/// Where attention applies its 1/sqrt(head dim) factor.
#[derive(Debug, Clone, Copy)]
enum Scaling {
    /// On the scores `q k^T` (HF BERT and GPT-2).
    Scores,
    /// On the queries, before the product (PyTorch's `nn.MultiheadAttention`).
    Queries,
}

/// Multi-head scaled dot-product attention over already projected queries, keys and values.
struct Attention<'a> {
    heads: usize,
    scaling: Scaling,
    /// Additive mask broadcast over the scores `[batch, heads, seq, seq]`.
    mask: Option<NodeId>,
    /// Dropout on the attention probabilities: submodule name and p.
    dropout: Option<(&'a str, f64)>,
}

impl Attention<'_> {
    /// Attends in the current module over `q`, `k`, `v` of shape `[batch, seq, hidden]`:
    /// split into heads, `softmax(q k^T / sqrt(d) + mask) v`, merge the heads.
    fn apply(&self, b: &mut ModelBuilder, q: NodeId, k: NodeId, v: NodeId) -> BuildResult {
        let hidden = b.shape(q)[2];
        let factor = 1.0 / ((hidden / self.heads) as f64).sqrt();
        let heads = self.heads as i64;
        // [batch, seq, hidden] -> [batch, seq, heads, head dim], then heads before seq.
        let q = b.reshape(q, &[0, 0, heads, -1])?;
        let mut q = b.transpose(q, &[0, 2, 1, 3])?;
        // Keys go straight to [batch, heads, head dim, seq], ready for q @ kᵀ.
        let k = b.reshape(k, &[0, 0, heads, -1])?;
        let k_t = b.transpose(k, &[0, 2, 3, 1])?;
        let v = b.reshape(v, &[0, 0, heads, -1])?;
        let v = b.transpose(v, &[0, 2, 1, 3])?;
        if let Scaling::Queries = self.scaling {
            q = b.scale(q, factor)?;
        }
        let mut scores = b.matmul(q, k_t)?;
        if let Scaling::Scores = self.scaling {
            scores = b.scale(scores, factor)?;
        }
        if let Some(mask) = self.mask {
            scores = b.add(scores, mask)?;
        }
        let mut probs = b.softmax(scores)?;
        if let Some((name, p)) = self.dropout {
            probs = b.dropout(name, probs, p)?;
        }
        let context = b.matmul(probs, v)?;
        let context = b.transpose(context, &[0, 2, 1, 3])?;
        b.reshape(context, &[0, 0, -1])
    }
}

/// Position ids `0..seq` as a public `[1, seq]` constant of the current module, checked
/// against the model's number of positions.
fn position_ids(b: &mut ModelBuilder, seq: usize, max_positions: usize) -> BuildResult {
    if seq > max_positions {
        return Err(GraphError::node(
            "position_ids",
            &b.module(),
            format!("sequence length {seq} exceeds the model's {max_positions} positions"),
        ));
    }
    let ids = ConstValue::Data((0..seq).map(|i| i as f64).collect());
    b.int_constant("position_ids", ids, vec![1, seq])
}

/// `x[:, 0]`: the first token of `[batch, seq, hidden]`, as `[batch, hidden]`.
fn first_token(b: &mut ModelBuilder, x: NodeId) -> BuildResult {
    let first = b.slice(x, 1, 0, 1)?;
    b.reshape(first, &[0, -1])
}

/// Sizes of a BERT encoder (HF `BertConfig`; the vocabulary, positions and token types are
/// those of the uncased English checkpoints).
#[derive(Debug, Clone, Copy)]
struct BertConfig {
    hidden: usize,
    layers: usize,
    heads: usize,
    intermediate: usize,
}

const BERT_VOCAB: usize = 30522;
const BERT_MAX_POSITIONS: usize = 512;
const BERT_TOKEN_TYPES: usize = 2;
const BERT_LAYERNORM_EPS: f64 = 1e-12;
const BERT_DROPOUT: f64 = 0.1;

/// `dense`, dropout and `LayerNorm(x + residual)` as the current module (HF `BertSelfOutput`
/// and `BertOutput`).
fn bert_output(b: &mut ModelBuilder, x: NodeId, residual: NodeId, hidden: usize) -> BuildResult {
    let x = b.linear("dense", x, hidden, true)?;
    let x = b.dropout("dropout", x, BERT_DROPOUT)?;
    let x = b.add(x, residual)?;
    b.layernorm("LayerNorm", x, BERT_LAYERNORM_EPS)
}

/// One `BertLayer` as the current module.
fn bert_layer(b: &mut ModelBuilder, x: NodeId, cfg: BertConfig) -> BuildResult {
    let attention = b.scope("attention", |b| {
        let context = b.scope("self", |b| {
            let q = b.linear("query", x, cfg.hidden, true)?;
            let k = b.linear("key", x, cfg.hidden, true)?;
            let v = b.linear("value", x, cfg.hidden, true)?;
            Attention {
                heads: cfg.heads,
                scaling: Scaling::Scores,
                mask: None,
                dropout: Some(("dropout", BERT_DROPOUT)),
            }
            .apply(b, q, k, v)
        })?;
        b.scope("output", |b| bert_output(b, context, x, cfg.hidden))
    })?;
    let intermediate = b.scope("intermediate", |b| {
        let y = b.linear("dense", attention, cfg.intermediate, true)?;
        b.scope("intermediate_act_fn", |b| b.gelu(y, false))
    })?;
    b.scope("output", |b| {
        bert_output(b, intermediate, attention, cfg.hidden)
    })
}

/// HF `BertModel` (embeddings, encoder, pooler); outputs the last hidden state
/// `[batch, seq, hidden]` and the pooled output `[batch, hidden]`.
fn bert(name: &str, cfg: BertConfig, o: &ZooOptions) -> BuildResult<Graph> {
    let seq = o.seq_len.unwrap_or(128);
    let mut b = ModelBuilder::new(name);
    let ids = b.int_input("input_ids", vec![o.batch, seq])?;
    let x = b.scope("embeddings", |b| {
        let positions = position_ids(b, seq, BERT_MAX_POSITIONS)?;
        let token_types = b.int_constant("token_type_ids", ConstValue::Fill(0.0), vec![1, seq])?;
        let words = b.embedding("word_embeddings", ids, BERT_VOCAB, cfg.hidden)?;
        let types = b.embedding(
            "token_type_embeddings",
            token_types,
            BERT_TOKEN_TYPES,
            cfg.hidden,
        )?;
        let x = b.add(words, types)?;
        let positions = b.embedding(
            "position_embeddings",
            positions,
            BERT_MAX_POSITIONS,
            cfg.hidden,
        )?;
        let x = b.add(x, positions)?;
        let x = b.layernorm("LayerNorm", x, BERT_LAYERNORM_EPS)?;
        b.dropout("dropout", x, BERT_DROPOUT)
    })?;
    let x = b.scope("encoder.layer", |b| {
        (0..cfg.layers).try_fold(x, |x, i| b.scope(&i.to_string(), |b| bert_layer(b, x, cfg)))
    })?;
    let pooled = b.scope("pooler", |b| {
        let first = first_token(b, x)?;
        let y = b.linear("dense", first, cfg.hidden, true)?;
        b.scope("activation", |b| b.tanh(y))
    })?;
    Ok(b.finish(vec![x, pooled]))
}

/// HF `bert-base-uncased`: 12 layers, hidden 768, 12 heads, intermediate 3072.
pub fn bert_base(o: &ZooOptions) -> BuildResult<Graph> {
    let cfg = BertConfig {
        hidden: 768,
        layers: 12,
        heads: 12,
        intermediate: 3072,
    };
    bert("bert-base", cfg, o)
}

/// HF `google/bert_uncased_L-2_H-128_A-2` (BERT-Tiny): 2 layers, hidden 128, 2 heads,
/// intermediate 512.
pub fn bert_tiny(o: &ZooOptions) -> BuildResult<Graph> {
    let cfg = BertConfig {
        hidden: 128,
        layers: 2,
        heads: 2,
        intermediate: 512,
    };
    bert("bert-tiny", cfg, o)
}

const GPT2_VOCAB: usize = 50257;
const GPT2_POSITIONS: usize = 1024;
const GPT2_HIDDEN: usize = 768;
const GPT2_LAYERS: usize = 12;
const GPT2_HEADS: usize = 12;
const GPT2_LAYERNORM_EPS: f64 = 1e-5;
const GPT2_DROPOUT: f64 = 0.1;
/// Score of a masked (future) position: HF GPT-2's historical `masked_bias`.
const GPT2_MASKED_SCORE: f64 = -1e4;

/// HF's `Conv1D` as submodule `name`: `x @ weight + bias` with `weight` stored `[in, out]`,
/// as in GPT-2's `state_dict`.
fn conv1d(b: &mut ModelBuilder, name: &str, x: NodeId, out: usize) -> BuildResult {
    let inner = b.shape(x).last().copied().unwrap_or(0);
    b.scope(name, |b| {
        let weight = b.param("weight", ParamRole::Weight, vec![inner, out])?;
        let bias = b.param("bias", ParamRole::Bias, vec![out])?;
        let y = b.matmul(x, weight)?;
        b.add(y, bias)
    })
}

/// One GPT-2 `GPT2Block` as the current module (pre-norm attention and MLP).
fn gpt2_block(b: &mut ModelBuilder, x: NodeId, causal_mask: NodeId) -> BuildResult {
    let h = GPT2_HIDDEN as i64;
    let y = b.layernorm("ln_1", x, GPT2_LAYERNORM_EPS)?;
    let y = b.scope("attn", |b| {
        let qkv = conv1d(b, "c_attn", y, 3 * GPT2_HIDDEN)?;
        let q = b.slice(qkv, -1, 0, h)?;
        let k = b.slice(qkv, -1, h, 2 * h)?;
        let v = b.slice(qkv, -1, 2 * h, 3 * h)?;
        let context = Attention {
            heads: GPT2_HEADS,
            scaling: Scaling::Scores,
            mask: Some(causal_mask),
            dropout: Some(("attn_dropout", GPT2_DROPOUT)),
        }
        .apply(b, q, k, v)?;
        let y = conv1d(b, "c_proj", context, GPT2_HIDDEN)?;
        b.dropout("resid_dropout", y, GPT2_DROPOUT)
    })?;
    let x = b.add(y, x)?;
    let y = b.layernorm("ln_2", x, GPT2_LAYERNORM_EPS)?;
    let y = b.scope("mlp", |b| {
        let y = conv1d(b, "c_fc", y, 4 * GPT2_HIDDEN)?;
        let y = b.scope("act", |b| b.gelu(y, true))?;
        let y = conv1d(b, "c_proj", y, GPT2_HIDDEN)?;
        b.dropout("dropout", y, GPT2_DROPOUT)
    })?;
    b.add(x, y)
}

/// HF `gpt2` as `GPT2LMHeadModel`: token and position embeddings, 12 pre-norm blocks with
/// causal self-attention and a tanh-GELU MLP, final LayerNorm, and `lm_head` tied to the token
/// embedding (the same parameter node, so counted once). Outputs the logits
/// `[batch, seq, vocab]`.
pub fn gpt2_small(o: &ZooOptions) -> BuildResult<Graph> {
    let seq = o.seq_len.unwrap_or(128);
    let mut b = ModelBuilder::new("gpt2-small");
    let ids = b.int_input("input_ids", vec![o.batch, seq])?;
    let (token_embedding, x) = b.scope("transformer", |b| {
        let positions = position_ids(b, seq, GPT2_POSITIONS)?;
        let (wte, tokens) = b.scope("wte", |b| {
            let table = b.param("weight", ParamRole::Weight, vec![GPT2_VOCAB, GPT2_HIDDEN])?;
            let tokens = b.op(Op::Gather { axis: 0 }, &[table, ids])?;
            Ok((table, tokens))
        })?;
        let positions = b.embedding("wpe", positions, GPT2_POSITIONS, GPT2_HIDDEN)?;
        let x = b.add(tokens, positions)?;
        let x = b.dropout("drop", x, GPT2_DROPOUT)?;
        let mask = b.constant(
            "causal_mask",
            ConstValue::CausalMask(GPT2_MASKED_SCORE),
            vec![seq, seq],
        )?;
        let x = b.scope("h", |b| {
            (0..GPT2_LAYERS).try_fold(x, |x, i| {
                b.scope(&i.to_string(), |b| gpt2_block(b, x, mask))
            })
        })?;
        let x = b.layernorm("ln_f", x, GPT2_LAYERNORM_EPS)?;
        Ok((wte, x))
    })?;
    let logits = b.scope("lm_head", |b| b.op(Op::Linear, &[x, token_embedding]))?;
    Ok(b.finish(vec![logits]))
}

const VIT_PATCH: usize = 16;
const VIT_HIDDEN: usize = 768;
const VIT_LAYERS: usize = 12;
const VIT_HEADS: usize = 12;
const VIT_MLP: usize = 3072;
const VIT_LAYERNORM_EPS: f64 = 1e-6;

/// One torchvision `EncoderBlock` as the current module: pre-norm self-attention
/// (`nn.MultiheadAttention` with a packed `in_proj_weight`) and a GELU MLP, each with a
/// residual connection. Dropouts have p = 0 in `vit_b_16` and are left out.
fn vit_encoder_block(b: &mut ModelBuilder, x: NodeId) -> BuildResult {
    let h = VIT_HIDDEN as i64;
    let y = b.layernorm("ln_1", x, VIT_LAYERNORM_EPS)?;
    let y = b.scope("self_attention", |b| {
        let weight = b.param(
            "in_proj_weight",
            ParamRole::Weight,
            vec![3 * VIT_HIDDEN, VIT_HIDDEN],
        )?;
        let bias = b.param("in_proj_bias", ParamRole::Bias, vec![3 * VIT_HIDDEN])?;
        let qkv = b.op(Op::Linear, &[y, weight, bias])?;
        let q = b.slice(qkv, -1, 0, h)?;
        let k = b.slice(qkv, -1, h, 2 * h)?;
        let v = b.slice(qkv, -1, 2 * h, 3 * h)?;
        let context = Attention {
            heads: VIT_HEADS,
            scaling: Scaling::Queries,
            mask: None,
            dropout: None,
        }
        .apply(b, q, k, v)?;
        b.linear("out_proj", context, VIT_HIDDEN, true)
    })?;
    let x = b.add(y, x)?;
    let y = b.layernorm("ln_2", x, VIT_LAYERNORM_EPS)?;
    let y = b.scope("mlp", |b| {
        let y = b.linear("0", y, VIT_MLP, true)?;
        let y = b.scope("1", |b| b.gelu(y, false))?;
        b.linear("3", y, VIT_HIDDEN, true)
    })?;
    b.add(x, y)
}

/// torchvision `vit_b_16`: 16x16 patches embedded by a strided conv, a class token, learned
/// position embeddings, 12 encoder blocks, final LayerNorm, and the head on the class token.
pub fn vit_b16(o: &ZooOptions) -> BuildResult<Graph> {
    let r = o.resolution.unwrap_or(224);
    let mut b = ModelBuilder::new("vit-b16");
    if r % VIT_PATCH != 0 {
        return Err(GraphError::node(
            "input",
            "",
            format!("resolution {r} is not a multiple of the patch size {VIT_PATCH}"),
        ));
    }
    let patches = (r / VIT_PATCH) * (r / VIT_PATCH);
    let x = b.input("input", vec![o.batch, 3, r, r])?;
    let patch_conv = Conv::new(VIT_HIDDEN, VIT_PATCH).stride(VIT_PATCH);
    let x = b.conv2d("conv_proj", x, patch_conv)?;
    let x = b.reshape(x, &[0, VIT_HIDDEN as i64, -1])?;
    let x = b.transpose(x, &[0, 2, 1])?;
    let class_token = b.param("class_token", ParamRole::Weight, vec![1, 1, VIT_HIDDEN])?;
    let class_token = b.op(
        Op::Expand {
            shape: vec![o.batch, 1, VIT_HIDDEN],
        },
        &[class_token],
    )?;
    let x = b.concat(&[class_token, x], 1)?;
    let x = b.scope("encoder", |b| {
        let positions = b.param(
            "pos_embedding",
            ParamRole::Weight,
            vec![1, patches + 1, VIT_HIDDEN],
        )?;
        let x = b.add(x, positions)?;
        let x = b.scope("layers", |b| {
            (0..VIT_LAYERS).try_fold(x, |x, i| {
                b.scope(&format!("encoder_layer_{i}"), |b| vit_encoder_block(b, x))
            })
        })?;
        b.layernorm("ln", x, VIT_LAYERNORM_EPS)
    })?;
    let x = first_token(&mut b, x)?;
    let y = b.scope("heads", |b| {
        b.linear("head", x, o.classes.unwrap_or(1000), true)
    })?;
    Ok(b.finish(vec![y]))
}
