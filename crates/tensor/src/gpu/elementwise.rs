//! Dispatch of the elementwise kernels (`shaders/unary.wgsl`, `shaders/binary.wgsl`).

use super::exec::Kernel;
use super::params::{slots8, Binary4Params, BinaryParams, UnaryParams};
use super::{dispatch_1d, GpuStorage};
use crate::backend::{BinaryOp, UnaryOp};
use crate::cpu::elementwise::collapse;
use crate::error::{Error, Result};
use crate::op_table::{binary_row, unary_row, wgsl_binary_fn, wgsl_unary_fn};
use crate::shape::Shape;
use std::sync::OnceLock;

/// Most dims a broadcast may have after merging contiguous runs.
pub(crate) const MAX_RANK: usize = 8;

/// A shader file with the op table's generated `fn op` appended, built once per process.
fn with_op_table(
    cell: &'static OnceLock<String>,
    file: &'static str,
    generated: fn() -> String,
) -> &'static str {
    cell.get_or_init(|| format!("{file}{}", generated()))
}

static UNARY_SRC: OnceLock<String> = OnceLock::new();
static BINARY_SRC: OnceLock<String> = OnceLock::new();
static BINARY4_SRC: OnceLock<String> = OnceLock::new();

/// `kernel!` for a file whose `fn op` comes from the op table.
macro_rules! table_kernel {
    ($cell:expr, $file:literal, $params:ty, $gen:expr, $consts:expr) => {
        Kernel::<$params> {
            name: $file,
            source: with_op_table(
                &$cell,
                include_str!(concat!("../../../../shaders/", $file)),
                $gen,
            ),
            entry: "main",
            constants: $consts,
            params: std::marker::PhantomData,
        }
    };
}

/// `op` applied to every element.
pub fn unary(a: &GpuStorage, op: UnaryOp) -> Result<GpuStorage> {
    let dev = a.device();
    let out = GpuStorage::empty(dev, a.len())?;
    let (code, _) = unary_row(op);
    let (p0, p1) = op.params();
    let consts = [("OP", code as f64)];
    let k = table_kernel!(UNARY_SRC, "unary.wgsl", UnaryParams, wgsl_unary_fn, &consts);
    let n4 = a.len().div_ceil(4);
    let params = UnaryParams {
        n4: n4 as u32,
        p0,
        p1,
    };
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
    let (code, _) = binary_row(op);
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
            ("OP", code as f64),
            ("SA", (na == 1 && n > 1) as u32 as f64),
            ("SB", (nb == 1 && n > 1) as u32 as f64),
        ];
        let k = table_kernel!(
            BINARY4_SRC,
            "binary4.wgsl",
            Binary4Params,
            || wgsl_binary_fn(true),
            &consts
        );
        let params = Binary4Params { n4: n4 as u32 };
        dispatch_1d(dev, &k, &params, &[a, b], &[&out], n4);
        return Ok(out);
    }
    let params = BinaryParams {
        n: n as u32,
        rank: dims.len() as u32,
        dims: slots8(dims.iter().copied()),
        a_strides: slots8(st[0].iter().copied()),
        b_strides: slots8(st[1].iter().copied()),
        ..BinaryParams::default()
    };
    let consts = [("OP", code as f64)];
    let k = table_kernel!(
        BINARY_SRC,
        "binary.wgsl",
        BinaryParams,
        || wgsl_binary_fn(false),
        &consts
    );
    dispatch_1d(dev, &k, &params, &[a, b], &[&out], n);
    Ok(out)
}
