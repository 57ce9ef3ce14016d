//! Dispatch of the elementwise kernels (`shaders/unary.wgsl`, `shaders/binary.wgsl`).

use super::{dispatch_1d, kernel, GpuStorage};
use crate::backend::{BinaryOp, UnaryOp};
use crate::cpu::elementwise::collapse;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// Most dims a broadcast may have after merging contiguous runs.
pub(crate) const MAX_RANK: usize = 8;

fn unary_code(op: UnaryOp) -> (u32, f32, f32) {
    use UnaryOp::*;
    match op {
        Neg => (0, 0.0, 0.0),
        Exp => (1, 0.0, 0.0),
        Log => (2, 0.0, 0.0),
        Sqrt => (3, 0.0, 0.0),
        Abs => (4, 0.0, 0.0),
        Sign => (5, 0.0, 0.0),
        Relu => (6, 0.0, 0.0),
        Step => (7, 0.0, 0.0),
        LeakyRelu(a) => (8, a, 0.0),
        LeakyReluGrad(a) => (9, a, 0.0),
        Sigmoid => (10, 0.0, 0.0),
        Tanh => (11, 0.0, 0.0),
        Softplus => (12, 0.0, 0.0),
        Clamp(lo, hi) => (13, lo, hi),
        ClampMask(lo, hi) => (14, lo, hi),
        Powf(p) => (15, p, 0.0),
        Affine(a, b) => (16, a, b),
        Recip => (17, 0.0, 0.0),
    }
}

/// `op` applied to every element.
pub fn unary(a: &GpuStorage, op: UnaryOp) -> Result<GpuStorage> {
    let dev = a.device();
    let out = GpuStorage::empty(dev, a.len())?;
    let (code, p0, p1) = unary_code(op);
    let consts = [("OP", code as f64)];
    let k = kernel!("unary.wgsl", "main", &consts);
    let n4 = a.len().div_ceil(4);
    let params = [n4 as u32, p0.to_bits(), p1.to_bits()];
    dispatch_1d(dev, &k, &params, &[a], &[&out], n4);
    Ok(out)
}

/// `op(a, b)` with `a_shape` and `b_shape` broadcast to `out_shape`.
pub fn binary(
    a: &GpuStorage,
    a_shape: &Shape,
    b: &GpuStorage,
    b_shape: &Shape,
    out_shape: &Shape,
    op: BinaryOp,
) -> Result<GpuStorage> {
    let dev = a.device();
    let n = out_shape.numel();
    let out = GpuStorage::empty(dev, n)?;
    if n == 0 {
        return Ok(out);
    }
    let (dims, st) = collapse(
        out_shape.dims(),
        &[
            a_shape.broadcast_strides(out_shape),
            b_shape.broadcast_strides(out_shape),
        ],
    );
    if dims.len() > MAX_RANK {
        return Err(Error::NotImplemented(format!(
            "GPU broadcast of {a_shape} and {b_shape} to {out_shape}: more than {MAX_RANK} dims after merging"
        )));
    }
    // Contiguous operands (same layout, or one a single value): the vec4 kernel.
    let (na, nb) = (a_shape.numel(), b_shape.numel());
    if (na == n || na == 1) && (nb == n || nb == 1) {
        let n4 = n.div_ceil(4);
        let consts = [
            ("OP", op as u32 as f64),
            ("SA", (na == 1 && n > 1) as u32 as f64),
            ("SB", (nb == 1 && n > 1) as u32 as f64),
        ];
        let k = kernel!("binary4.wgsl", "main", &consts);
        dispatch_1d(dev, &k, &[n4 as u32], &[a, b], &[&out], n4);
        return Ok(out);
    }
    let mut params = vec![0u32; 26];
    params[0] = n as u32;
    params[1] = dims.len() as u32;
    for (i, &d) in dims.iter().enumerate() {
        params[2 + i] = d as u32;
        params[10 + i] = st[0][i] as u32;
        params[18 + i] = st[1][i] as u32;
    }
    let code = op as u32;
    let consts = [("OP", code as f64)];
    let k = kernel!("binary.wgsl", "main", &consts);
    dispatch_1d(dev, &k, &params, &[a, b], &[&out], n);
    Ok(out)
}
