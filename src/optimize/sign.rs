//! The sign analysis of the e-graph: which e-classes hold values known to be non-negative in
//! every element, for every input.
//!
//! A fact is derived from one e-node and its operands' facts ([`nonneg`]); an e-class is
//! non-negative when any of its e-nodes proves it (the facts are about the class's one value,
//! so they join by `or` when e-classes merge). Rules read the fact through the condition
//! `nonneg(?x)` (`rules/README.md`), e.g. `relu(x) = x` when `x` is non-negative.
//!
//! What proves a value non-negative:
//! - a public constant or scalar whose every element is `>= 0`, and an index (`arg_max`);
//! - ops whose result is `>= 0` whatever the input: `relu`, `abs`, `square`, `softmax`,
//!   `sigmoid`, `exp`, `sqrt`, `rsqrt`, an even integer `pow`, `clip` with a lower bound
//!   `>= 0`, `mse`;
//! - ops that keep the sign of non-negative operands (all operands non-negative): `tanh`,
//!   `gelu`, `leaky_relu`, `reciprocal`, `pow`, `clip` with an upper bound `>= 0`, pools,
//!   reductions (sum, mean, max), layout ops (reshape, flatten, transpose, slice, expand,
//!   concat, gather of the data), `dropout`, `identity`, `add`, `mul`, `div`, `min`,
//!   `mat_mul`, `linear` and `conv2d` (weights and bias non-negative too);
//! - `max` with at least one non-negative operand.
//!
//! Nothing else: a parameter of unknown values, `sub`, `neg`, normalisations and `log` are
//! not known non-negative.

use crate::graph::{ConstValue, Op};

/// Whether a source (input, parameter or constant) is known non-negative.
pub fn source_nonneg(op: &Op) -> bool {
    match op {
        Op::Constant { value } => match value {
            ConstValue::Fill(v) => *v >= 0.0,
            ConstValue::Data(items) => items.iter().all(|v| *v >= 0.0),
            ConstValue::CausalMask(v) => *v >= 0.0,
        },
        _ => false,
    }
}

/// Whether the result of `op` is known non-negative, given for each tensor operand whether it
/// is (the attribute child excluded).
pub fn nonneg(op: &Op, operands: &[bool]) -> bool {
    let all = !operands.is_empty() && operands.iter().all(|&n| n);
    let first = operands.first().copied().unwrap_or(false);
    match op {
        Op::Relu
        | Op::Abs
        | Op::Square
        | Op::Softmax { .. }
        | Op::Sigmoid
        | Op::Exp
        | Op::Sqrt
        | Op::Rsqrt
        | Op::Mse
        | Op::ArgMax { .. } => true,
        Op::Pow { exponent } => {
            (exponent.fract() == 0.0 && exponent.rem_euclid(2.0) == 0.0) || first
        }
        Op::Clip { min, max } => *min >= 0.0 || (first && *max >= 0.0),
        Op::Max => operands.iter().any(|&n| n),
        // The data operand only: the indices say where to read, not what.
        Op::Gather { .. } => first,
        Op::Tanh
        | Op::Gelu { .. }
        | Op::LeakyRelu { .. }
        | Op::Reciprocal
        | Op::MaxPool2d { .. }
        | Op::AvgPool2d { .. }
        | Op::GlobalAvgPool
        | Op::AdaptiveAvgPool2d { .. }
        | Op::ReduceSum { .. }
        | Op::ReduceMean { .. }
        | Op::ReduceMax { .. }
        | Op::Add
        | Op::Mul
        | Op::Div
        | Op::Min
        | Op::MatMul
        | Op::Linear
        | Op::Conv2d { .. } => all,
        op if op.moves_elements_only() => all,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations_are_nonneg_whatever_the_input() {
        for op in [Op::Relu, Op::Abs, Op::Square, Op::Sigmoid, Op::Exp] {
            assert!(nonneg(&op, &[false]), "{}", op.name());
        }
        assert!(nonneg(&Op::Softmax { axis: -1 }, &[false]));
        assert!(nonneg(&Op::Clip { min: 0.0, max: 6.0 }, &[false]));
        assert!(!nonneg(
            &Op::Clip {
                min: -1.0,
                max: 1.0
            },
            &[false]
        ));
        assert!(nonneg(
            &Op::Clip {
                min: -1.0,
                max: 1.0
            },
            &[true]
        ));
        assert!(!nonneg(
            &Op::Clip {
                min: -2.0,
                max: -1.0
            },
            &[true]
        ));
        assert!(nonneg(&Op::Pow { exponent: 2.0 }, &[false]));
        assert!(nonneg(&Op::Pow { exponent: -4.0 }, &[false]));
        assert!(!nonneg(&Op::Pow { exponent: 3.0 }, &[false]));
        assert!(nonneg(&Op::Pow { exponent: 3.0 }, &[true]));
    }

    #[test]
    fn arithmetic_needs_every_operand_nonneg_except_max() {
        assert!(nonneg(&Op::Add, &[true, true]));
        assert!(!nonneg(&Op::Add, &[true, false]));
        assert!(!nonneg(&Op::Sub, &[true, true]));
        assert!(!nonneg(&Op::Neg, &[true]));
        assert!(!nonneg(&Op::Tanh, &[false]));
        assert!(nonneg(&Op::Max, &[false, true]));
        assert!(!nonneg(&Op::Max, &[false, false]));
        assert!(!nonneg(&Op::Min, &[false, true]));
        assert!(nonneg(&Op::Gather { axis: 0 }, &[true, false]));
        assert!(!nonneg(&Op::Log, &[true]));
    }

    #[test]
    fn constants_by_their_values() {
        let c = |value| Op::Constant { value };
        assert!(source_nonneg(&c(ConstValue::Fill(0.0))));
        assert!(!source_nonneg(&c(ConstValue::Fill(-0.5))));
        assert!(source_nonneg(&c(ConstValue::Data(vec![0.0, 2.0]))));
        assert!(!source_nonneg(&c(ConstValue::Data(vec![1.0, -2.0]))));
        assert!(!source_nonneg(&c(ConstValue::CausalMask(-1e9))));
        assert!(!source_nonneg(&Op::Input));
    }
}
