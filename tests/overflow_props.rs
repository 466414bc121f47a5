//! Property tests near the overflow limits: shapes whose element counts or window arithmetic
//! approach 2^48 and 2^64 are either accepted with an exact element count within the limit,
//! or refused with an error; never a panic, never a wrapped count.

use hawkeye_mpc::graph::{checked_numel, ElemKind, Graph, Op, ValueInfo, Visibility, MAX_ELEMENTS};
use proptest::prelude::*;

/// A dim near a power of two from 2^0 to 2^64 (saturating at usize::MAX).
fn dim() -> impl Strategy<Value = usize> {
    (0u32..=64, -2i64..=2).prop_map(|(p, off)| {
        let base: u128 = 1u128 << p;
        (base as i128 + off as i128).clamp(1, usize::MAX as i128) as usize
    })
}

fn secret(shape: Vec<usize>) -> ValueInfo {
    ValueInfo::new(shape, ElemKind::Real, Visibility::Secret)
}

fn exact_count(shape: &[usize]) -> u128 {
    shape
        .iter()
        .fold(1u128, |n, &d| n.saturating_mul(d as u128))
}

proptest! {
    #[test]
    fn sources_are_within_the_limit_or_refused(shape in prop::collection::vec(dim(), 0..5)) {
        let mut g = Graph::new("p");
        let exact = exact_count(&shape);
        match g.add_source("x", "", Op::Input, secret(shape.clone())) {
            Ok(id) => {
                prop_assert!(exact <= MAX_ELEMENTS as u128);
                prop_assert_eq!(g.node(id).value.numel() as u128, exact);
            }
            Err(e) => prop_assert!(
                exact > MAX_ELEMENTS as u128 || shape.contains(&0),
                "{shape:?} refused: {e}"
            ),
        }
        prop_assert_eq!(
            checked_numel(&shape).map(|n| n as u128),
            (exact <= MAX_ELEMENTS as u128).then_some(exact)
        );
    }

    #[test]
    fn windows_and_products_never_wrap(
        h in dim(), w in dim(), k in dim(), stride in dim(), pad in dim(), dilation in dim(),
        n in dim(),
    ) {
        let mut g = Graph::new("p");
        let Ok(x) = g.add_source("x", "", Op::Input, secret(vec![1, 1, h.min(1 << 20), w.min(1 << 20)])) else {
            return Ok(());
        };
        let Ok(wt) = g.add_source("w", "", Op::Parameter { role: Default::default() }, secret(vec![1, 1, k.min(1 << 10), 1])) else {
            return Ok(());
        };
        let conv = Op::Conv2d {
            stride: [stride, 1],
            padding: [pad, 0, pad, 0],
            dilation: [dilation, 1],
            groups: 1,
        };
        if let Ok(id) = g.add("conv", "", conv, &[x, wt]) {
            let out = &g.node(id).value.shape;
            // The exact window count, computed in 128 bits.
            let (hh, kk) = (h.min(1 << 20) as u128, k.min(1 << 10) as u128);
            let span = dilation as u128 * (kk - 1) + 1;
            let padded = hh + 2 * pad as u128;
            prop_assert!(padded >= span);
            prop_assert_eq!(out[2] as u128, (padded - span) / stride as u128 + 1);
        }
        // A product of two secret matrices of n x n.
        let mut g = Graph::new("m");
        if let (Ok(a), Ok(b)) = (
            g.add_source("a", "", Op::Input, secret(vec![n, 1])),
            g.add_source("b", "", Op::Input, secret(vec![1, n])),
        ) {
            match g.add("mm", "", Op::MatMul, &[a, b]) {
                Ok(id) => prop_assert_eq!(g.node(id).value.numel() as u128, n as u128 * n as u128),
                Err(e) => prop_assert!(n as u128 * n as u128 > MAX_ELEMENTS as u128, "{e}"),
            }
        }
    }
}
