//! Generated from the op table: every unary and binary row with a backward rule, and every
//! reduction row, gets a central finite-difference gradient check and a second-order check on every
//! device, with no code per op. (CPU-vs-WGSL forward agreement per row is in
//! src/op_table_tests.rs.)

mod common;
use common::*;
use vaecam_tensor::op_table::{UnaryOpRow, BINARY_OPS, REDUCE_OPS, UNARY_OPS};

const EPS: f32 = 1e-3;
const RTOL: f64 = 2e-2;
const ATOL: f64 = 3e-3;

/// Inputs in the row's test range (capped to [-3, 3], where f32 finite differences of exp or
/// tanh are still informative), kept 0.05 away from the kinks an op can have: 0 and its
/// constants (clamp's bounds).
fn row_inputs(row: &UnaryOpRow, n: usize, seed: u64) -> Vec<f32> {
    let (lo, hi) = (row.test_range.0.max(-3.0), row.test_range.1.min(3.0));
    let (p0, p1) = row.example.params();
    values(n, seed, lo, hi)
        .into_iter()
        .map(|v| {
            let mut v = v;
            for k in [0.0, p0, p1] {
                if (v - k).abs() < 0.05 {
                    v = if v >= k { k + 0.05 } else { k - 0.05 };
                }
            }
            v.clamp(lo, hi)
        })
        .collect()
}

#[test]
fn only_derivative_masks_lack_a_backward_rule() {
    // A new op without a rule would silently get zero gradients: only the masks may.
    let without: Vec<&str> = UNARY_OPS
        .iter()
        .filter(|r| r.backward.is_none())
        .map(|r| r.name)
        .collect();
    assert_eq!(without, ["sign", "step", "leaky_relu_grad", "clamp_mask"]);
}

/// Binary operands: `b` at least 0.3 from zero (div) and 0.1 from `a` (no max/min ties
/// within a finite-difference step); `b` takes the shapes `[3, 4]`, `[4]` and `[3, 1]`, so
/// every rule is also checked through broadcasting's sum back.
fn binary_operands(b_shape: &[usize], seed: u64) -> [(Vec<f32>, Vec<usize>); 2] {
    let a = values(12, seed, -1.0, 1.0);
    let n: usize = b_shape.iter().product();
    let b: Vec<f32> = values(n, seed + 7, 0.3, 1.5)
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let v = if i % 2 == 0 { v } else { -v };
            // The a's this b meets under broadcasting; keep away from all of them.
            let near = (0..12).any(|j| {
                let bi = match b_shape {
                    [3, 4] => j,
                    [4] => j % 4,
                    _ => j / 4,
                };
                bi == i && (a[j] - v).abs() < 0.1
            });
            if near {
                v + 0.25 * v.signum()
            } else {
                v
            }
        })
        .collect();
    [(a, vec![3, 4]), (b, b_shape.to_vec())]
}

#[test]
fn only_comparisons_lack_a_binary_backward_rule() {
    let without: Vec<&str> = BINARY_OPS
        .iter()
        .filter(|r| r.backward.is_none())
        .map(|r| r.name)
        .collect();
    assert_eq!(without, ["ge", "le", "eq"]);
}

device_tests! {
    fn every_binary_row_gradient_matches_finite_differences(dev: &Device) {
        for row in BINARY_OPS.iter().filter(|r| r.backward.is_some()) {
            for b_shape in [&[3, 4][..], &[4], &[3, 1]] {
                let what = format!("{} with b {b_shape:?}", row.name);
                let x = binary_operands(b_shape, 4);
                check_grad(dev, &x, |x| x[0].binary_op(&x[1], row.op), EPS, RTOL, ATOL, &what);
                // f = op(a, b) * c: second derivatives in a and b and the cross terms.
                let [a, b] = x;
                let c = (values(12, 11, -1.0, 1.0), vec![3, 4]);
                check_second_order(dev, &[a, b, c], |x| x[0].binary_op(&x[1], row.op)?.mul(&x[2]), EPS, RTOL, ATOL, &what);
            }
        }
    }

    fn every_unary_row_gradient_matches_finite_differences(dev: &Device) {
        for row in UNARY_OPS.iter().filter(|r| r.backward.is_some()) {
            let x = (row_inputs(row, 12, 1), vec![3, 4]);
            check_grad(dev, &[x], |x| x[0].unary_op(row.example), EPS, RTOL, ATOL, row.name);
        }
    }

    fn every_unary_row_second_order_matches_finite_differences(dev: &Device) {
        // f = op(x) * y: d2/dx2 exercises op'' and the cross term exercises op'.
        for row in UNARY_OPS.iter().filter(|r| r.backward.is_some()) {
            let x = (row_inputs(row, 12, 2), vec![3, 4]);
            let y = (values(12, 9, -1.0, 1.0), vec![3, 4]);
            check_second_order(dev, &[x, y], |x| x[0].unary_op(row.example)?.mul(&x[1]), EPS, RTOL, ATOL, row.name);
        }
    }

    fn every_reduce_row_gradient_matches_finite_differences(dev: &Device) {
        // Distinct random values: no ties for max.
        for row in REDUCE_OPS {
            for axes in [&[1][..], &[0, 2], &[0, 1, 2]] {
                let x = (values(24, 3, -1.0, 1.0), vec![2, 3, 4]);
                let what = format!("{} over {axes:?}", row.name);
                check_grad(dev, std::slice::from_ref(&x), |x| x[0].reduce_op(row.op, axes, false), EPS, RTOL, ATOL, &what);
                check_second_order(dev, &[x], |x| x[0].reduce_op(row.op, axes, true)?.square(), EPS, RTOL, ATOL, &what);
            }
        }
    }
}
