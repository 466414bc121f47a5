//! The equivalence checker's library side: the binding policy (stored weights, parameters
//! shared by name, drawn ones), verdicts and the per-module communication join.

use bytes::Bytes;
use hawkeye_mpc::cost;
use hawkeye_mpc::graph::{
    ConstValue, ElemKind, Graph, NodeId, Op, ParamRole, ValueInfo, Visibility, WeightData,
};
use hawkeye_mpc::validate::{check_equivalence, Binder, EquivOptions, Verdict};

fn f32_bytes(v: &[f32]) -> WeightData {
    WeightData::Inline {
        data_type: 1,
        bytes: Bytes::from(v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()),
    }
}

/// `linear(x, fc.weight) * scale` (no scaling when `scale` is `None`).
fn model(name: &str, scale: Option<f64>, weight: Option<&[f32]>) -> Graph {
    let mut g = Graph::new(name);
    let x = g
        .add_source(
            "x",
            "",
            Op::Input,
            ValueInfo::new(vec![2, 3], ElemKind::Real, Visibility::Secret),
        )
        .unwrap();
    let w = g
        .add_source(
            "fc.weight",
            "fc",
            Op::Parameter {
                role: ParamRole::Weight,
            },
            ValueInfo::new(vec![2, 3], ElemKind::Real, Visibility::Secret),
        )
        .unwrap();
    if let Some(values) = weight {
        g.set_weight("fc.weight", f32_bytes(values));
    }
    let mut y: NodeId = g.add("fc", "fc", Op::Linear, &[x, w]).unwrap();
    if let Some(s) = scale {
        let c = g
            .add_source(
                "s",
                "scale",
                Op::Constant {
                    value: ConstValue::Fill(s),
                },
                ValueInfo::new(vec![], ElemKind::Real, Visibility::Public),
            )
            .unwrap();
        y = g.add("scaled", "scale", Op::Mul, &[y, c]).unwrap();
    }
    g.set_outputs(vec![y]);
    g
}

fn options() -> EquivOptions {
    EquivOptions {
        samples: 4,
        seed: 7,
        tolerance: 1e-2,
        weights: Visibility::Secret,
    }
}

const W: [f32; 6] = [0.5, -0.25, 0.125, 1.0, -1.5, 0.75];

#[test]
fn stored_weights_are_bound_and_folded_variants_check_equivalent() {
    let crypten = cost::load_framework("crypten", &[]).unwrap();
    // The original scales by 2 after the layer; the variant folded the 2 into its weights.
    let original = model("original", Some(2.0), Some(&W));
    let folded: Vec<f32> = W.iter().map(|w| 2.0 * w).collect();
    let variant = model("folded", None, Some(&folded));
    let binder = Binder::new(&original, &variant).unwrap();
    let (ob, vb) = binder.bind(7);
    assert_eq!(
        ob.get("fc.weight").unwrap().to_vec(),
        W.iter().map(|&w| w as f64).collect::<Vec<_>>()
    );
    assert_eq!(
        vb.get("fc.weight").unwrap().to_vec(),
        folded.iter().map(|&w| w as f64).collect::<Vec<_>>()
    );
    assert_eq!(ob.get("x"), vb.get("x"));
    let s = binder.summary();
    assert_eq!(
        (s.original.stored, s.variant.stored, s.variant.shared),
        (1, 1, 0)
    );
    let r = check_equivalence(&original, &variant, &crypten, &options()).unwrap();
    assert_eq!(r.verdict, Verdict::Equivalent, "{:?}", r.outputs);
    // The folded variant saves the scaling's multiplication... which is local in CrypTen
    // (a public scalar), so both cost the same.
    let c = r.communication.unwrap();
    assert_eq!(c.original.online_bits, c.variant.online_bits);
    assert!(c
        .modules
        .iter()
        .any(|m| m.path == "scale" && m.variant.is_none()));

    // Without its stored weights the variant shares the original's by name, so the missing
    // factor 2 shows: a relative error of exactly 1/2 of the original's scale.
    let unfolded = model("unfolded", None, None);
    let r = check_equivalence(&original, &unfolded, &crypten, &options()).unwrap();
    assert_eq!(r.bindings.variant.shared, 1);
    assert_eq!(r.verdict, Verdict::Different);
    assert!((r.max_rel - 0.5).abs() < 1e-12, "{}", r.max_rel);
    let worst = r.outputs[0].worst.as_ref().unwrap();
    assert_eq!(worst.original, 2.0 * worst.variant);
}

#[test]
fn parameters_without_a_counterpart_are_drawn_and_named() {
    let crypten = cost::load_framework("crypten", &[]).unwrap();
    let original = model("original", None, None);
    // Same interface, a parameter of another name.
    let mut variant = Graph::new("renamed");
    let x = variant
        .add_source(
            "x",
            "",
            Op::Input,
            ValueInfo::new(vec![2, 3], ElemKind::Real, Visibility::Secret),
        )
        .unwrap();
    let w = variant
        .add_source(
            "dense.weight",
            "dense",
            Op::Parameter {
                role: ParamRole::Weight,
            },
            ValueInfo::new(vec![2, 3], ElemKind::Real, Visibility::Secret),
        )
        .unwrap();
    let y = variant.add("dense", "dense", Op::Linear, &[x, w]).unwrap();
    variant.set_outputs(vec![y]);
    let r = check_equivalence(&original, &variant, &crypten, &options()).unwrap();
    assert_eq!(r.bindings.variant_drawn, vec!["dense.weight".to_string()]);
    assert_eq!(r.verdict, Verdict::Different);
    let text = hawkeye_mpc::report::equiv::text(&r, "a.json", "b.json");
    assert!(
        text.contains("note: variant parameters without a counterpart (dense.weight)"),
        "{text}"
    );
    // Modules only in one graph are listed with '-' on the other side.
    let c = r.communication.unwrap();
    assert!(c
        .modules
        .iter()
        .any(|m| m.path == "fc" && m.variant.is_none()));
    assert!(c
        .modules
        .iter()
        .any(|m| m.path == "dense" && m.original.is_none()));
    assert!(
        text.lines()
            .any(|l| l.contains("│ dense") && l.contains("┆        - ┆") && l.contains("-192 B │")),
        "{text}"
    );
}

#[test]
fn zero_samples_and_stored_weights_of_the_wrong_size_are_errors() {
    let crypten = cost::load_framework("crypten", &[]).unwrap();
    let g = model("m", None, None);
    let mut o = options();
    o.samples = 0;
    assert!(check_equivalence(&g, &g, &crypten, &o).is_err());
    let bad = model("bad", None, Some(&[1.0, 2.0]));
    let e = check_equivalence(&bad, &g, &crypten, &options())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("cannot bind parameters: original: parameter 'fc.weight': "),
        "{e}"
    );
}
