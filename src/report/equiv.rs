//! `hawkeye equiv` output: the interface, the binding policy, per-output errors with the worst
//! element, the communication of both graphs by module, the proof status and the verdict.

use super::{bytes, percent};
use crate::cost::Cost;
use crate::graph::shape_string;
use crate::interpret::Arithmetic;
use crate::validate::{CommunicationDiff, EquivReport, ErrorStats, ProofOutcome, EXACT_TOLERANCE};
use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
use std::fmt::Write;

/// A number in short scientific form (`0`, `3.1e-7`, `inf`).
fn num(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if v.is_infinite() {
        "inf".to_string()
    } else if (1e-3..1e4).contains(&v.abs()) {
        format!("{v:.4}")
    } else {
        format!("{v:.2e}")
    }
}

fn arithmetic(a: Arithmetic) -> String {
    match a {
        Arithmetic::Float => "f64".to_string(),
        Arithmetic::Fixed {
            ring_bits,
            frac_bits,
        } => format!("ring 2^{ring_bits}, {frac_bits} fraction bits"),
    }
}

/// The full human-readable report.
pub fn text(r: &EquivReport, original_label: &str, variant_label: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "original: {original_label} ({})\nvariant:  {variant_label} ({})",
        r.original, r.variant
    );
    let sig = &r.signature;
    let inputs: Vec<String> = sig
        .inputs
        .iter()
        .map(|i| format!("{}: {}", i.name, i.describe()))
        .collect();
    let outputs: Vec<String> = sig.outputs.iter().map(|o| shape_string(o)).collect();
    let _ = writeln!(
        s,
        "\ninterface: same inputs ({}) and outputs ({})",
        inputs.join(", "),
        outputs.join(", ")
    );
    bindings(&mut s, r);
    outputs_table(&mut s, r);
    match &r.communication {
        Ok(c) => communication(&mut s, c),
        Err(e) => {
            let _ = writeln!(s, "\ncommunication: not compared: {e}");
        }
    }
    let _ = match &r.proof {
        ProofOutcome::NotAttempted { reason } => {
            writeln!(s, "\ne-graph proof: not attempted ({reason})")
        }
        ProofOutcome::Proved { explanation } => {
            writeln!(s, "\ne-graph proof: proved ({explanation})")
        }
        ProofOutcome::NotFound { reason } => {
            writeln!(s, "\ne-graph proof: none found ({reason}; not a disproof)")
        }
    };
    let _ = writeln!(
        s,
        "\nverdict: {} (largest relative f64 error {}; equivalent up to {}, approximately equal up to {})",
        r.verdict.as_str(),
        num(r.max_rel),
        num(EXACT_TOLERANCE),
        num(r.tolerance)
    );
    s
}

fn bindings(s: &mut String, r: &EquivReport) {
    let b = &r.bindings;
    let _ = writeln!(
        s,
        "\nbindings: {} sample(s), seeds {}..{}; inputs bound by name to the same random values in both graphs",
        r.samples,
        r.seed,
        r.seed.wrapping_add(r.samples as u64 - 1)
    );
    let _ = writeln!(
        s,
        "  original parameters: {} from stored weights, {} placeholders (no stored values: the ones `hawkeye export` writes)",
        b.original.stored, b.original.placeholder
    );
    let _ = writeln!(
        s,
        "  variant parameters:  {} from stored weights, {} shared by name with the original, {} drawn from the seed",
        b.variant.stored, b.variant.shared, b.variant.drawn
    );
    if !b.variant_drawn.is_empty() {
        let mut names: Vec<&str> = b.variant_drawn.iter().take(5).map(String::as_str).collect();
        if b.variant_drawn.len() > 5 {
            names.push("...");
        }
        let _ = writeln!(
            s,
            "  note: variant parameters without a counterpart ({}) have random values, so a mismatch\n  may only mean the weights differ: give both models with their weights (ONNX) to check them",
            names.join(", ")
        );
    }
}

fn outputs_table(s: &mut String, r: &EquivReport) {
    let fixed_from = if r.fixed_from_framework {
        "the framework's"
    } else {
        "assumed: the framework sets no ring/frac"
    };
    let _ = writeln!(
        s,
        "\noutputs: variant against original, in f64 and in fixed point ({}, {fixed_from}):",
        arithmetic(r.fixed)
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "output",
        "shape",
        "f64 max abs",
        "f64 mean abs",
        "f64 max rel",
        "fixed max abs",
        "fixed mean abs",
        "fixed-point noise",
    ]);
    for o in &r.outputs {
        let name = if o.original == o.variant {
            o.original.clone()
        } else {
            format!("{} / {}", o.original, o.variant)
        };
        let cell = |e: &ErrorStats| [num(e.max_abs), num(e.mean_abs)];
        let [fmax, fmean] = cell(&o.float);
        let [xmax, xmean] = cell(&o.fixed);
        t.add_row([
            name,
            shape_string(&o.shape),
            fmax,
            fmean,
            num(o.float.max_rel()),
            xmax,
            xmean,
            num(o.fixed_noise.max_abs),
        ]);
    }
    for c in 2..8 {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    let _ = writeln!(s, "{t}");
    let _ = writeln!(
        s,
        "  (fixed-point noise: the original's own fixed-point error against f64, max abs)"
    );
    for o in &r.outputs {
        if let Some(w) = &o.worst {
            let _ = writeln!(
                s,
                "  counterexample: output '{}' at [{}] in sample {} (seed {}): original {}, variant {} (error {})",
                o.original,
                w.index
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                w.sample,
                w.seed,
                w.original,
                w.variant,
                num((w.original - w.variant).abs())
            );
        }
    }
}

fn communication(s: &mut String, c: &CommunicationDiff) {
    let _ = writeln!(
        s,
        "\ncommunication under {} (weights {}), online:",
        c.framework, c.weights
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["module", "original", "variant", "saved"]);
    let cost = |c: &Option<Cost>| c.as_ref().map_or("-".to_string(), |c| bytes(c.online_bits));
    let saved = |saved: f64, of: f64| {
        if saved == 0.0 {
            "0".to_string()
        } else {
            let sign = if saved < 0.0 { "-" } else { "" };
            let amount = format!("{sign}{}", bytes(saved.abs()));
            if of > 0.0 {
                format!("{amount} ({})", percent(saved, of))
            } else {
                amount
            }
        }
    };
    for m in &c.modules {
        let of = m.original.as_ref().map_or(0.0, |c| c.online_bits);
        if m.original.as_ref().is_none_or(Cost::is_zero)
            && m.variant.as_ref().is_none_or(Cost::is_zero)
        {
            continue;
        }
        t.add_row([
            if m.path.is_empty() {
                "(top)".to_string()
            } else {
                m.path.clone()
            },
            cost(&m.original),
            cost(&m.variant),
            saved(m.saved_online_bits(), of),
        ]);
    }
    t.add_row([
        "total".to_string(),
        bytes(c.original.online_bits),
        bytes(c.variant.online_bits),
        saved(c.saved_online_bits(), c.original.online_bits),
    ]);
    for col in 1..4 {
        if let Some(column) = t.column_mut(col) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let _ = writeln!(s, "{t}");
    let _ = writeln!(
        s,
        "  rounds: original {} online + {} offline, variant {} online + {} offline; offline bits {} -> {}",
        c.original.online_rounds,
        c.original.offline_rounds,
        c.variant.online_rounds,
        c.variant.offline_rounds,
        bytes(c.original.offline_bits),
        bytes(c.variant.offline_bits)
    );
    let _ = writeln!(
        s,
        "  (modules that cost nothing in both graphs are not listed; '-': not in that graph)"
    );
}
