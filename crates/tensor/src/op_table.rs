//! The op table: one row per elementwise op with its name, CPU scalar function and WGSL
//! expression, and its backward rule. The GPU's `switch` over ops is generated from these rows
//! when the pipeline is built ([`wgsl_unary_fn`], [`wgsl_binary_fn`]), and an op's GPU code is
//! its row's position, so the CPU and the WGSL kernels cannot disagree about which op a code
//! means. [`Tensor::unary_op`] records a unary row's backward rule and the binary ops record
//! theirs (written with differentiable tensor ops, so gradients of any order work).
//!
//! Adding a unary op is one row of the `unary_ops!` table below: the row yields the
//! [`UnaryOp`] variant, its [`UNARY_OPS`] entry, the CPU loop and the `Tensor` method.
//! `op_table_tests.rs` (CPU vs WGSL) and `tests/op_table_rows.rs` (finite-difference first
//! and second order on every device) then check the row without further code.

use crate::backend::{BinaryOp, ReduceOp, Storage};
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

/// A CPU loop over one unary op's scalar function. [`UnaryOp::map_cpu`] hands it a closure
/// of that op alone, so the loop is compiled (and vectorised) once per op, with no dispatch
/// per element.
pub trait UnaryMap {
    /// What the loop produces.
    type Output;
    /// Runs the loop with `f`.
    fn map<F: Fn(f32) -> f32 + Send + Sync + Copy>(self, f: F) -> Self::Output;
}

/// Gives a row's closure its signature (closure literals with `_` parameters need one).
fn scalar_fn<F: Fn(f32, f32, f32) -> f32 + Send + Sync + Copy>(f: F) -> F {
    f
}

/// Expands the unary table. Each row:
/// `Variant(const = test value, ..) => method, cpu: |x, p0, p1| .., wgsl: "..",
/// range: (lo, hi), backward: Some(rule) | None;` with the doc comment shared by the variant
/// and the `Tensor` method.
macro_rules! unary_ops {
    (@f32 $p:ident) => { f32 };
    (@params) => { (0.0, 0.0) };
    (@params $a:ident) => { ($a, 0.0) };
    (@params $a:ident, $b:ident) => { ($a, $b) };
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $(( $($p:ident = $ex:expr),+ ))? => $method:ident,
        cpu: $cpu:expr, wgsl: $wgsl:literal, range: ($lo:expr, $hi:expr), backward: $bw:expr;
    )*) => {
        /// Elementwise unary ops, one per row of the op table. The `*Grad`/`*Mask` variants
        /// (and `Sign`, `Step`) are the derivative masks the backward rules need; they are not
        /// differentiable themselves (their derivative is zero almost everywhere).
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum UnaryOp {
            $( $(#[doc = $doc])* $variant $(( $(unary_ops!(@f32 $p)),+ ))?, )*
        }

        impl UnaryOp {
            /// The op's constants `(p0, p1)` (zero where it has none).
            pub fn params(self) -> (f32, f32) {
                match self {
                    $( UnaryOp::$variant $(( $($p),+ ))? => unary_ops!(@params $($($p),+)?), )*
                }
            }

            /// Runs `m` with this op's scalar function.
            pub fn map_cpu<M: UnaryMap>(self, m: M) -> M::Output {
                let (p0, p1) = self.params();
                match self {
                    $( UnaryOp::$variant { .. } => {
                        let f = scalar_fn($cpu);
                        m.map(move |x| f(x, p0, p1))
                    } )*
                }
            }
        }

        /// Every unary op. The order is free: codes are positions, found by [`unary_row`].
        pub const UNARY_OPS: &[UnaryOpRow] = &[
            $( UnaryOpRow {
                name: stringify!($method),
                example: UnaryOp::$variant $(( $($ex),+ ))?,
                cpu: $cpu,
                wgsl: $wgsl,
                test_range: ($lo, $hi),
                backward: $bw,
            }, )*
        ];

        impl Tensor {
            $(
                $(#[doc = $doc])*
                pub fn $method(&self $($(, $p: f32)+)?) -> Result<Tensor> {
                    self.unary_op(UnaryOp::$variant $(( $($p),+ ))?)
                }
            )*
        }
    };
}

/// `g * mask(x)` for a derivative mask `mask` (recorded as a constant). When nothing is
/// recorded (a first-order backward) on the CPU this is one pass over `g` and `x`; a
/// recorded product keeps the tensor-op form, whose own rule gives higher orders.
fn masked(g: &Tensor, x: &Tensor, mask: UnaryOp) -> Result<Tensor> {
    if !crate::autograd::is_grad_enabled() && g.shape() == x.shape() {
        let fused = {
            let (gs, xs) = (g.storage(), x.storage());
            match (&*gs, &*xs) {
                (Storage::Cpu(gv), Storage::Cpu(xv)) => {
                    Some(crate::cpu::elementwise::mul_by_unary(gv, xv, mask))
                }
                _ => None,
            }
        };
        if let Some(v) = fused {
            return Ok(Tensor::make(
                Storage::Cpu(v),
                x.shape().clone(),
                None,
                false,
            ));
        }
    }
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

/// e^x to within 2 ulp, without branches or calls so that the element loops vectorise (libm's
/// `expf` is one call per element: the sigmoid of a 128 px batch's reconstruction was 8 ms of
/// a texture training step). Cody-Waite reduction `x = n ln2 + r`, |r| <= ln2 / 2, a degree-7
/// Taylor polynomial for e^r (truncation 5e-9, under half an ulp), then 2^n as two normal
/// factors, so that results in the subnormal range round as libm's do and `n = 128`
/// overflows to infinity. NaN stays NaN. Multiplies and adds only, no division or
/// float-to-int conversion, so the baseline SSE2 target vectorises it too.
pub(crate) fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75; // 16 significant bits: n * LN2_HI is exact
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: (v + ROUND) - ROUND rounds v to an integer
    let xc = x.clamp(-104.0, 88.73);
    // t's low mantissa bits hold n exactly (as an integer offset from ROUND's bits), which
    // spares a float-to-int conversion.
    let t = xc * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    // Horner over 1/k! for k = 7 down to 0.
    const C: [f32; 8] = [
        1.0 / 5040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let mut p = C[0];
    for c in &C[1..] {
        p = p * r + c;
    }
    // n in [-150, 128]: each half is a normal power of two. (For NaN, p is NaN already.)
    let n = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let (n1, n2) = (n >> 1, n - (n >> 1));
    let pow2 = |e: i32| f32::from_bits((e.wrapping_add(127) as u32) << 23);
    p * pow2(n1) * pow2(n2)
}

fn sigmoid(x: f32) -> f32 {
    // Through e^-|x| so that the exponential never overflows; both branches as selects.
    let e = exp(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 {
        s
    } else {
        e * s
    }
}

fn powf_backward(g: &Tensor, x: &Tensor, p: f32) -> Result<Tensor> {
    g.mul(&if p == 2.0 {
        x.mul_scalar(2.0)?
    } else {
        x.powf(p - 1.0)?.mul_scalar(p)?
    })
}

// Sigmoid's and tanh's rules are written through y so that second derivatives flow through
// y too.
#[rustfmt::skip]
unary_ops! {
    /// -x
    Neg => neg, cpu: |x, _, _| -x, wgsl: "-x", range: (-3.0, 3.0), backward: Some(|g, _, _, _, _| g.neg());
    /// e^x
    Exp => exp, cpu: |x, _, _| exp(x), wgsl: "exp(x)", range: (-3.0, 3.0), backward: Some(|g, y, _, _, _| g.mul(y));
    /// Natural logarithm.
    Log => log, cpu: |x, _, _| x.ln(), wgsl: "log(x)", range: (0.2, 4.0), backward: Some(|g, _, x, _, _| g.div(x));
    /// Square root.
    Sqrt => sqrt, cpu: |x, _, _| x.sqrt(), wgsl: "sqrt(x)", range: (0.2, 4.0), backward: Some(|g, y, _, _, _| g.div(y)?.mul_scalar(0.5));
    /// |x| (derivative sign(x), 0 at 0).
    Abs => abs, cpu: |x, _, _| x.abs(), wgsl: "abs(x)", range: (-3.0, 3.0), backward: Some(|g, _, x, _, _| masked(g, x, UnaryOp::Sign));
    /// sign(x) in {-1, 0, 1}; not differentiable (zero gradient).
    Sign => sign, cpu: |x, _, _| sign(x), wgsl: "select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0)", range: (-3.0, 3.0), backward: None;
    /// max(x, 0)
    Relu => relu, cpu: |x, _, _| x.max(0.0), wgsl: "max(x, 0.0)", range: (-3.0, 3.0), backward: Some(|g, _, x, _, _| masked(g, x, UnaryOp::Step));
    /// 1 where x > 0, else 0 (relu's derivative; not differentiable).
    Step => step, cpu: |x, _, _| (x > 0.0) as u8 as f32, wgsl: "select(0.0, 1.0, x > 0.0)", range: (-3.0, 3.0), backward: None;
    /// x for x > 0, else `slope * x`.
    LeakyRelu(slope = 0.2) => leaky_relu, cpu: |x, a, _| if x > 0.0 { x } else { a * x }, wgsl: "select(p0 * x, x, x > 0.0)", range: (-3.0, 3.0), backward: Some(|g, _, x, a, _| masked(g, x, UnaryOp::LeakyReluGrad(a)));
    /// 1 where x > 0, else `slope` (leaky_relu's derivative; not differentiable).
    LeakyReluGrad(slope = 0.2) => leaky_relu_grad, cpu: |x, a, _| if x > 0.0 { 1.0 } else { a }, wgsl: "select(p0, 1.0, x > 0.0)", range: (-3.0, 3.0), backward: None;
    /// The logistic sigmoid 1 / (1 + e^-x).
    Sigmoid => sigmoid, cpu: |x, _, _| sigmoid(x), wgsl: "stable_sigmoid(x)", range: (-30.0, 30.0), backward: Some(|g, y, _, _, _| g.mul(&y.mul(&y.affine(-1.0, 1.0)?)?));
    /// Hyperbolic tangent.
    Tanh => tanh, cpu: |x, _, _| x.tanh(), wgsl: "stable_tanh(x)", range: (-30.0, 30.0), backward: Some(|g, y, _, _, _| g.mul(&y.mul(y)?.affine(-1.0, 1.0)?));
    /// ln(1 + e^x), stable for large |x|.
    Softplus => softplus, cpu: |x, _, _| x.max(0.0) + (-x.abs()).exp().ln_1p(), wgsl: "max(x, 0.0) + log(1.0 + exp(-abs(x)))", range: (-30.0, 30.0), backward: Some(|g, _, x, _, _| g.mul(&x.sigmoid()?));
    /// Clamps into [lo, hi] (gradient 1 inside, 0 outside).
    Clamp(lo = -1.0, hi = 0.5) => clamp, cpu: |x, lo, hi| x.max(lo).min(hi), wgsl: "min(max(x, p0), p1)", range: (-3.0, 3.0), backward: Some(|g, _, x, lo, hi| masked(g, x, UnaryOp::ClampMask(lo, hi)));
    /// 1 where lo <= x <= hi, else 0 (clamp's derivative; not differentiable).
    ClampMask(lo = -1.0, hi = 0.5) => clamp_mask, cpu: |x, lo, hi| (x >= lo && x <= hi) as u8 as f32, wgsl: "select(0.0, 1.0, x >= p0 && x <= p1)", range: (-3.0, 3.0), backward: None;
    /// x^p for a constant p.
    Powf(p = 3.0) => powf, cpu: |x, p, _| x.powf(p), wgsl: "powf(x, p0)", range: (-2.0, 2.0), backward: Some(|g, _, x, p, _| powf_backward(g, x, p));
    /// a * x + b for constants a, b.
    Affine(a = -1.5, b = 0.25) => affine, cpu: |x, a, b| a * x + b, wgsl: "p0 * x + p1", range: (-3.0, 3.0), backward: Some(|g, _, _, a, _| g.mul_scalar(a));
    /// 1 / x
    Recip => recip, cpu: |x, _, _| 1.0 / x, wgsl: "1.0 / x", range: (0.3, 4.0), backward: Some(|g, y, _, _, _| g.mul(&y.mul(y)?)?.neg());
}

/// The op's row and its position (the GPU's op code).
pub fn unary_row(op: UnaryOp) -> (usize, &'static UnaryOpRow) {
    UNARY_OPS
        .iter()
        .enumerate()
        .find(|(_, r)| discriminant(&r.example) == discriminant(&op))
        .expect("every UnaryOp has a row in UNARY_OPS (the table macro makes both)")
}

/// A binary op's backward rule: `(da, db) = rule(g, a, b, needs)` for the upstream gradient
/// `g` (in the broadcast shape), the inputs and which of them need a gradient; the caller sums
/// each back to its input's shape. Built from differentiable ops.
pub type BinaryBackward = fn(&Tensor, &Tensor, &Tensor, [bool; 2]) -> Result<[Option<Tensor>; 2]>;

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
    /// The backward rule; `None` for the comparisons (masks, recorded as constants).
    pub backward: Option<BinaryBackward>,
}

/// `Some(f())` where the input needs a gradient.
fn when(need: bool, f: impl FnOnce() -> Result<Tensor>) -> Result<Option<Tensor>> {
    need.then(f).transpose()
}

fn div_backward(g: &Tensor, a: &Tensor, b: &Tensor, n: [bool; 2]) -> Result<[Option<Tensor>; 2]> {
    // d(a/b)/db = -a / b^2
    Ok([
        when(n[0], || g.div(b))?,
        when(n[1], || g.mul(a)?.div(&b.mul(b)?)?.neg())?,
    ])
}

/// max/min: ties send the gradient to the first operand (a subgradient choice); `first` is
/// the mask of where the first operand is chosen.
fn select_backward(
    g: &Tensor,
    a: &Tensor,
    b: &Tensor,
    n: [bool; 2],
    first: BinaryOp,
) -> Result<[Option<Tensor>; 2]> {
    let mask = crate::ops::binary::compare(a, b, first)?;
    Ok([
        when(n[0], || g.mul(&mask))?,
        when(n[1], || g.mul(&mask.affine(-1.0, 1.0)?))?,
    ])
}

#[rustfmt::skip]
/// Every binary op. The order is free: codes are positions, found by [`binary_row`].
pub const BINARY_OPS: &[BinaryOpRow] = &[
    BinaryOpRow { op: BinaryOp::Add, name: "add", cpu: |a, b| a + b, wgsl: "a + b", wgsl_vec4: "a + b",
        backward: Some(|g, _, _, n| Ok([when(n[0], || Ok(g.clone()))?, when(n[1], || Ok(g.clone()))?])) },
    BinaryOpRow { op: BinaryOp::Sub, name: "sub", cpu: |a, b| a - b, wgsl: "a - b", wgsl_vec4: "a - b",
        backward: Some(|g, _, _, n| Ok([when(n[0], || Ok(g.clone()))?, when(n[1], || g.neg())?])) },
    BinaryOpRow { op: BinaryOp::Mul, name: "mul", cpu: |a, b| a * b, wgsl: "a * b", wgsl_vec4: "a * b",
        backward: Some(|g, a, b, n| Ok([when(n[0], || g.mul(b))?, when(n[1], || g.mul(a))?])) },
    BinaryOpRow { op: BinaryOp::Div, name: "div", cpu: |a, b| a / b, wgsl: "a / b", wgsl_vec4: "a / b",
        backward: Some(div_backward) },
    BinaryOpRow { op: BinaryOp::Maximum, name: "maximum", cpu: f32::max, wgsl: "max(a, b)", wgsl_vec4: "max(a, b)",
        backward: Some(|g, a, b, n| select_backward(g, a, b, n, BinaryOp::Ge)) },
    BinaryOpRow { op: BinaryOp::Minimum, name: "minimum", cpu: f32::min, wgsl: "min(a, b)", wgsl_vec4: "min(a, b)",
        backward: Some(|g, a, b, n| select_backward(g, a, b, n, BinaryOp::Le)) },
    BinaryOpRow { op: BinaryOp::Ge, name: "ge", cpu: |a, b| (a >= b) as u8 as f32, wgsl: "select(0.0, 1.0, a >= b)", wgsl_vec4: "select(vec4(0.0), vec4(1.0), a >= b)", backward: None },
    BinaryOpRow { op: BinaryOp::Le, name: "le", cpu: |a, b| (a <= b) as u8 as f32, wgsl: "select(0.0, 1.0, a <= b)", wgsl_vec4: "select(vec4(0.0), vec4(1.0), a <= b)", backward: None },
    BinaryOpRow { op: BinaryOp::Eq, name: "eq", cpu: |a, b| (a == b) as u8 as f32, wgsl: "select(0.0, 1.0, a == b)", wgsl_vec4: "select(vec4(0.0), vec4(1.0), a == b)", backward: None },
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
