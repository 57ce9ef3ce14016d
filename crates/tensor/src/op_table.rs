//! The op table: one row per elementwise op with its name, CPU scalar function and WGSL
//! expression, and for unary ops the backward rule. The GPU's `switch` over ops is generated
//! from these rows when the pipeline is built ([`wgsl_unary_fn`], [`wgsl_binary_fn`]), and an
//! op's GPU code is its row's position, so the CPU and the WGSL kernels cannot disagree about
//! which op a code means. [`Tensor::unary_op`] records a unary row's backward rule (written
//! with differentiable tensor ops, so gradients of any order work); the binary ops' rules
//! still live in `ops/binary.rs`.
//!
//! Adding a unary op: a `UnaryOp` variant, one row in [`UNARY_OPS`] and a one-line `Tensor`
//! method; `op_table_tests.rs` (CPU vs WGSL) and `tests/op_table_rows.rs` (finite-difference
//! first and second order on every device) then check the row without further code.

use crate::backend::{BinaryOp, ReduceOp, UnaryOp};
use crate::error::Result;
use crate::ops::unary::unary_untracked;
use crate::tensor::Tensor;
use std::mem::discriminant;

/// A unary op's backward rule: `dx = rule(g, y, x, p0, p1)` for the upstream gradient `g`,
/// the output `y`, the input `x` and the op's constants; built from differentiable ops.
pub type UnaryBackward = fn(&Tensor, &Tensor, &Tensor, f32, f32) -> Result<Tensor>;

/// One unary op: how each backend computes it. `p0`, `p1` are the op's constants.
pub struct UnaryOpRow {
    /// The op's name (also in error messages and tests).
    pub name: &'static str,
    /// A representative value of the op (its constants are the ones the tests use).
    pub example: UnaryOp,
    /// The CPU scalar function `f(x, p0, p1)`.
    pub cpu: fn(f32, f32, f32) -> f32,
    /// The WGSL expression in `x`, `p0`, `p1` (helpers from `shaders/unary.wgsl`).
    pub wgsl: &'static str,
    /// Inputs the tests draw from (the op's domain).
    pub test_range: (f32, f32),
    /// The backward rule; `None` for the derivative masks, whose derivative is zero almost
    /// everywhere (they are recorded as constants).
    pub backward: Option<UnaryBackward>,
}

/// `g * mask(x)` for a derivative mask `mask` (recorded as a constant).
fn masked(g: &Tensor, x: &Tensor, mask: UnaryOp) -> Result<Tensor> {
    g.mul(&unary_untracked(x, mask)?)
}

fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn sigmoid(x: f32) -> f32 {
    // Two branches keep exp() from overflowing for large |x|.
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[rustfmt::skip]
/// Every unary op. The order is free: codes are positions, found by [`unary_row`]. (Sigmoid's
/// rule is y (1 - y), written through y so that second derivatives flow through y too.)
pub const UNARY_OPS: &[UnaryOpRow] = &[
    UnaryOpRow { name: "neg", example: UnaryOp::Neg, cpu: |x, _, _| -x, wgsl: "-x", test_range: (-3.0, 3.0), backward: Some(|g, _, _, _, _| g.neg()) },
    UnaryOpRow { name: "exp", example: UnaryOp::Exp, cpu: |x, _, _| x.exp(), wgsl: "exp(x)", test_range: (-3.0, 3.0), backward: Some(|g, y, _, _, _| g.mul(y)) },
    UnaryOpRow { name: "log", example: UnaryOp::Log, cpu: |x, _, _| x.ln(), wgsl: "log(x)", test_range: (0.2, 4.0), backward: Some(|g, _, x, _, _| g.div(x)) },
    UnaryOpRow { name: "sqrt", example: UnaryOp::Sqrt, cpu: |x, _, _| x.sqrt(), wgsl: "sqrt(x)", test_range: (0.2, 4.0), backward: Some(|g, y, _, _, _| g.div(y)?.mul_scalar(0.5)) },
    UnaryOpRow { name: "abs", example: UnaryOp::Abs, cpu: |x, _, _| x.abs(), wgsl: "abs(x)", test_range: (-3.0, 3.0), backward: Some(|g, _, x, _, _| masked(g, x, UnaryOp::Sign)) },
    UnaryOpRow { name: "sign", example: UnaryOp::Sign, cpu: |x, _, _| sign(x), wgsl: "select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0)", test_range: (-3.0, 3.0), backward: None },
    UnaryOpRow { name: "relu", example: UnaryOp::Relu, cpu: |x, _, _| x.max(0.0), wgsl: "max(x, 0.0)", test_range: (-3.0, 3.0), backward: Some(|g, _, x, _, _| masked(g, x, UnaryOp::Step)) },
    UnaryOpRow { name: "step", example: UnaryOp::Step, cpu: |x, _, _| (x > 0.0) as u8 as f32, wgsl: "select(0.0, 1.0, x > 0.0)", test_range: (-3.0, 3.0), backward: None },
    UnaryOpRow { name: "leaky_relu", example: UnaryOp::LeakyRelu(0.2), cpu: |x, a, _| if x > 0.0 { x } else { a * x }, wgsl: "select(p0 * x, x, x > 0.0)", test_range: (-3.0, 3.0), backward: Some(|g, _, x, a, _| masked(g, x, UnaryOp::LeakyReluGrad(a))) },
    UnaryOpRow { name: "leaky_relu_grad", example: UnaryOp::LeakyReluGrad(0.2), cpu: |x, a, _| if x > 0.0 { 1.0 } else { a }, wgsl: "select(p0, 1.0, x > 0.0)", test_range: (-3.0, 3.0), backward: None },
    UnaryOpRow { name: "sigmoid", example: UnaryOp::Sigmoid, cpu: |x, _, _| sigmoid(x), wgsl: "stable_sigmoid(x)", test_range: (-30.0, 30.0), backward: Some(|g, y, _, _, _| g.mul(&y.mul(&y.affine(-1.0, 1.0)?)?)) },
    UnaryOpRow { name: "tanh", example: UnaryOp::Tanh, cpu: |x, _, _| x.tanh(), wgsl: "stable_tanh(x)", test_range: (-30.0, 30.0), backward: Some(|g, y, _, _, _| g.mul(&y.mul(y)?.affine(-1.0, 1.0)?)) },
    UnaryOpRow { name: "softplus", example: UnaryOp::Softplus, cpu: |x, _, _| x.max(0.0) + (-x.abs()).exp().ln_1p(), wgsl: "max(x, 0.0) + log(1.0 + exp(-abs(x)))", test_range: (-30.0, 30.0), backward: Some(|g, _, x, _, _| g.mul(&x.sigmoid()?)) },
    UnaryOpRow { name: "clamp", example: UnaryOp::Clamp(-1.0, 0.5), cpu: |x, lo, hi| x.max(lo).min(hi), wgsl: "min(max(x, p0), p1)", test_range: (-3.0, 3.0), backward: Some(|g, _, x, lo, hi| masked(g, x, UnaryOp::ClampMask(lo, hi))) },
    UnaryOpRow { name: "clamp_mask", example: UnaryOp::ClampMask(-1.0, 0.5), cpu: |x, lo, hi| (x >= lo && x <= hi) as u8 as f32, wgsl: "select(0.0, 1.0, x >= p0 && x <= p1)", test_range: (-3.0, 3.0), backward: None },
    UnaryOpRow { name: "powf", example: UnaryOp::Powf(3.0), cpu: |x, p, _| x.powf(p), wgsl: "powf(x, p0)", test_range: (-2.0, 2.0), backward: Some(|g, _, x, p, _| g.mul(&if p == 2.0 { x.mul_scalar(2.0)? } else { x.powf(p - 1.0)?.mul_scalar(p)? })) },
    UnaryOpRow { name: "affine", example: UnaryOp::Affine(-1.5, 0.25), cpu: |x, a, b| a * x + b, wgsl: "p0 * x + p1", test_range: (-3.0, 3.0), backward: Some(|g, _, _, a, _| g.mul_scalar(a)) },
    UnaryOpRow { name: "recip", example: UnaryOp::Recip, cpu: |x, _, _| 1.0 / x, wgsl: "1.0 / x", test_range: (0.3, 4.0), backward: Some(|g, y, _, _, _| g.mul(&y.mul(y)?)?.neg()) },
];

impl UnaryOp {
    /// The op's constants `(p0, p1)` (zero where it has none).
    pub fn params(self) -> (f32, f32) {
        match self {
            UnaryOp::LeakyRelu(a) | UnaryOp::LeakyReluGrad(a) | UnaryOp::Powf(a) => (a, 0.0),
            UnaryOp::Clamp(a, b) | UnaryOp::ClampMask(a, b) | UnaryOp::Affine(a, b) => (a, b),
            _ => (0.0, 0.0),
        }
    }
}

/// The op's row and its position (the GPU's op code).
pub fn unary_row(op: UnaryOp) -> (usize, &'static UnaryOpRow) {
    UNARY_OPS
        .iter()
        .enumerate()
        .find(|(_, r)| discriminant(&r.example) == discriminant(&op))
        .expect("every UnaryOp has a row in UNARY_OPS (checked by the op-table test)")
}

/// One binary op: how each backend computes it.
pub struct BinaryOpRow {
    /// The op.
    pub op: BinaryOp,
    /// The op's name.
    pub name: &'static str,
    /// The CPU scalar function.
    pub cpu: fn(f32, f32) -> f32,
    /// The WGSL expression in scalars `a`, `b`.
    pub wgsl: &'static str,
    /// The WGSL expression in `vec4<f32>`s `a`, `b` (the contiguous kernel).
    pub wgsl_vec4: &'static str,
}

#[rustfmt::skip]
/// Every binary op. The order is free: codes are positions, found by [`binary_row`].
pub const BINARY_OPS: &[BinaryOpRow] = &[
    BinaryOpRow { op: BinaryOp::Add, name: "add", cpu: |a, b| a + b, wgsl: "a + b", wgsl_vec4: "a + b" },
    BinaryOpRow { op: BinaryOp::Sub, name: "sub", cpu: |a, b| a - b, wgsl: "a - b", wgsl_vec4: "a - b" },
    BinaryOpRow { op: BinaryOp::Mul, name: "mul", cpu: |a, b| a * b, wgsl: "a * b", wgsl_vec4: "a * b" },
    BinaryOpRow { op: BinaryOp::Div, name: "div", cpu: |a, b| a / b, wgsl: "a / b", wgsl_vec4: "a / b" },
    BinaryOpRow { op: BinaryOp::Maximum, name: "maximum", cpu: f32::max, wgsl: "max(a, b)", wgsl_vec4: "max(a, b)" },
    BinaryOpRow { op: BinaryOp::Minimum, name: "minimum", cpu: f32::min, wgsl: "min(a, b)", wgsl_vec4: "min(a, b)" },
    BinaryOpRow { op: BinaryOp::Ge, name: "ge", cpu: |a, b| (a >= b) as u8 as f32, wgsl: "select(0.0, 1.0, a >= b)", wgsl_vec4: "select(vec4(0.0), vec4(1.0), a >= b)" },
    BinaryOpRow { op: BinaryOp::Le, name: "le", cpu: |a, b| (a <= b) as u8 as f32, wgsl: "select(0.0, 1.0, a <= b)", wgsl_vec4: "select(vec4(0.0), vec4(1.0), a <= b)" },
    BinaryOpRow { op: BinaryOp::Eq, name: "eq", cpu: |a, b| (a == b) as u8 as f32, wgsl: "select(0.0, 1.0, a == b)", wgsl_vec4: "select(vec4(0.0), vec4(1.0), a == b)" },
];

/// The op's row and its position (the GPU's op code).
pub fn binary_row(op: BinaryOp) -> (usize, &'static BinaryOpRow) {
    BINARY_OPS
        .iter()
        .enumerate()
        .find(|(_, r)| r.op == op)
        .expect("every BinaryOp has a row in BINARY_OPS (checked by the op-table test)")
}

/// A reduction's backward rule: `dx = rule(g, y, x, axes)` for the upstream gradient `g` and
/// the output `y` (both in the keepdim shape), the input `x` and the reduced axes.
pub type ReduceBackward = fn(&Tensor, &Tensor, &Tensor, &[usize]) -> Result<Tensor>;

/// One reduction: identity, combine and backward rule on each backend.
pub struct ReduceOpRow {
    /// The op.
    pub op: ReduceOp,
    /// The op's name.
    pub name: &'static str,
    /// The identity (the result of an empty reduction).
    pub identity: f64,
    /// CPU: one contiguous run reduced, in f64.
    pub cpu_run: fn(&[f32]) -> f64,
    /// CPU: two partial results combined.
    pub cpu_combine: fn(f64, f64) -> f64,
    /// WGSL: the identity as an f32 expression.
    pub wgsl_identity: &'static str,
    /// WGSL: `a`, `b` (f32) combined.
    pub wgsl_combine: &'static str,
    /// WGSL: `a`, `b` (`vec4<f32>`) combined lane by lane.
    pub wgsl_combine_vec4: &'static str,
    /// The GPU accumulates with Kahan compensation (sums; the CPU uses f64).
    pub compensated: bool,
    /// The backward rule.
    pub backward: ReduceBackward,
}

fn run_sum(x: &[f32]) -> f64 {
    // Eight independent accumulators let the compiler vectorise; f64 keeps large sums exact enough.
    let mut acc = [0f64; 8];
    let chunks = x.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i] as f64;
        }
    }
    acc.iter().sum::<f64>() + rem.iter().map(|&v| v as f64).sum::<f64>()
}

/// NaN propagates, as in the WGSL combine.
fn max_nan(a: f64, b: f64) -> f64 {
    if b > a || b.is_nan() {
        b
    } else {
        a
    }
}

fn run_max(x: &[f32]) -> f64 {
    x.iter().fold(
        f32::NEG_INFINITY,
        |m, &v| {
            if v > m || v.is_nan() {
                v
            } else {
                m
            }
        },
    ) as f64
}

/// d max / dx: the gradient is shared evenly between tied maxima.
fn max_backward(g: &Tensor, y: &Tensor, x: &Tensor, axes: &[usize]) -> Result<Tensor> {
    let mask = x.eq_mask(&y.detach())?;
    let count = mask.sum(axes, true)?;
    g.div(&count)?.broadcast_to(x.shape().clone())?.mul(&mask)
}

/// Every reduction. The order is free: codes are positions, found by [`reduce_row`].
pub const REDUCE_OPS: &[ReduceOpRow] = &[
    ReduceOpRow {
        op: ReduceOp::Sum,
        name: "sum",
        identity: 0.0,
        cpu_run: run_sum,
        cpu_combine: |a, b| a + b,
        wgsl_identity: "0.0",
        wgsl_combine: "a + b",
        wgsl_combine_vec4: "a + b",
        compensated: true,
        backward: |g, _, x, _| g.broadcast_to(x.shape().clone()),
    },
    ReduceOpRow {
        op: ReduceOp::Max,
        name: "max",
        identity: f64::NEG_INFINITY,
        cpu_run: run_max,
        cpu_combine: max_nan,
        wgsl_identity: "neg_inf()",
        wgsl_combine: "select(a, b, b > a || b != b)",
        wgsl_combine_vec4: "select(a, b, (b > a) | (b != b))",
        compensated: false,
        backward: max_backward,
    },
];

/// The reduction's row and its position (the GPU's op code).
pub fn reduce_row(op: ReduceOp) -> (usize, &'static ReduceOpRow) {
    REDUCE_OPS
        .iter()
        .enumerate()
        .find(|(_, r)| r.op == op)
        .expect("every ReduceOp has a row in REDUCE_OPS (checked by the op-table test)")
}

/// WGSL `init()`, `combine(a, b)`, `combine4(a, b)` and `compensated()` over [`REDUCE_OPS`].
pub fn wgsl_reduce_fns() -> String {
    let mut s = wgsl_switch(
        "fn init() -> f32",
        REDUCE_OPS.iter().map(|r| r.wgsl_identity),
        "0.0",
    );
    s += &wgsl_switch(
        "fn combine(a: f32, b: f32) -> f32",
        REDUCE_OPS.iter().map(|r| r.wgsl_combine),
        "a",
    );
    s += &wgsl_switch(
        "fn combine4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32>",
        REDUCE_OPS.iter().map(|r| r.wgsl_combine_vec4),
        "a",
    );
    s += &wgsl_switch(
        "fn compensated() -> bool",
        REDUCE_OPS
            .iter()
            .map(|r| if r.compensated { "true" } else { "false" }),
        "false",
    );
    s
}

/// `switch OP { case i: { return expr_i; } ... }` as the body of `fn op(args) -> ty`.
fn wgsl_switch(signature: &str, exprs: impl Iterator<Item = &'static str>, zero: &str) -> String {
    let mut s = format!("\n// Generated from the op table (crates/tensor/src/op_table.rs).\n{signature} {{\n    switch OP {{\n");
    for (i, e) in exprs.enumerate() {
        s.push_str(&format!("        case {i}u: {{ return {e}; }}\n"));
    }
    s.push_str(&format!(
        "        default: {{ return {zero}; }}\n    }}\n}}\n"
    ));
    s
}

/// WGSL `fn op(x, p0, p1)` over [`UNARY_OPS`].
pub fn wgsl_unary_fn() -> String {
    wgsl_switch(
        "fn op(x: f32, p0: f32, p1: f32) -> f32",
        UNARY_OPS.iter().map(|r| r.wgsl),
        "0.0",
    )
}

/// WGSL `fn op(a, b)` over [`BINARY_OPS`], on scalars or (`vec4`) on `vec4<f32>`s.
pub fn wgsl_binary_fn(vec4: bool) -> String {
    if vec4 {
        wgsl_switch(
            "fn op(a: vec4<f32>, b: vec4<f32>) -> vec4<f32>",
            BINARY_OPS.iter().map(|r| r.wgsl_vec4),
            "vec4(0.0)",
        )
    } else {
        wgsl_switch(
            "fn op(a: f32, b: f32) -> f32",
            BINARY_OPS.iter().map(|r| r.wgsl),
            "0.0",
        )
    }
}

#[cfg(test)]
#[path = "op_table_tests.rs"]
mod tests;
