//! Dispatch of the reductions (`shaders/reduce.wgsl`): sum and max over any axes.

use super::exec::Kernel;
use super::params::{slots8, ReduceParams};
use super::{dispatch, dispatch_1d, GpuStorage};
use crate::backend::ReduceOp;
use crate::error::{Error, Result};
use crate::op_table::{reduce_row, wgsl_reduce_fns};
use crate::shape::Shape;
use std::sync::OnceLock;

static REDUCE_SRC: OnceLock<String> = OnceLock::new();

/// An entry point of `shaders/reduce.wgsl` with the op table's generated functions appended.
fn reduce_kernel<'a>(
    entry: &'static str,
    constants: &'a [(&'static str, f64)],
) -> Kernel<'a, ReduceParams> {
    Kernel {
        name: "reduce.wgsl",
        source: REDUCE_SRC.get_or_init(|| {
            let file = include_str!("../../../../shaders/reduce.wgsl");
            format!("{file}{}", wgsl_reduce_fns())
        }),
        entry,
        constants,
        params: std::marker::PhantomData,
    }
}

/// Reductions at most this long run one output per invocation; longer ones use the tree.
const SERIAL_MAX: usize = 512;
/// Shortest chunk one tree workgroup reduces.
const MIN_CHUNK: usize = 2048;

/// (dim, stride) pairs.
type Dims = Vec<(usize, usize)>;

/// Kept and reduced (dim, stride) lists of `shape` (size-1 dims dropped, runs merged).
fn group(shape: &Shape, axes: &[usize]) -> (Dims, Dims) {
    let st = shape.strides();
    let mut runs: Vec<(usize, usize, bool)> = Vec::new();
    for (i, &d) in shape.dims().iter().enumerate() {
        if d == 1 {
            continue;
        }
        let r = axes.contains(&i);
        match runs.last_mut() {
            Some(last) if last.2 == r => {
                last.0 *= d;
                last.1 = st[i];
            }
            _ => runs.push((d, st[i], r)),
        }
    }
    let kept = runs.iter().filter(|r| !r.2).map(|r| (r.0, r.1)).collect();
    let red = runs.iter().filter(|r| r.2).map(|r| (r.0, r.1)).collect();
    (kept, red)
}

/// Reduces the sorted, distinct `axes` of `shape`; the output has the keepdim layout.
pub fn reduce(x: &GpuStorage, shape: &Shape, axes: &[usize], op: ReduceOp) -> Result<GpuStorage> {
    reduce_with(x, shape, axes, op, false)
}

/// `pairwise` forces the tree kernel (used to combine chunk partials: a serial f32 sum of
/// large partials would lose the accuracy the tree kept).
fn reduce_with(
    x: &GpuStorage,
    shape: &Shape,
    axes: &[usize],
    op: ReduceOp,
    pairwise: bool,
) -> Result<GpuStorage> {
    let dev = x.device();
    let (kept, red) = group(shape, axes);
    let n_out: usize = kept.iter().map(|d| d.0).product();
    let n_red: usize = red.iter().map(|d| d.0).product();
    let out = GpuStorage::empty(dev, n_out)?;
    if n_out == 0 {
        return Ok(out);
    }
    if kept.len() > 6 || red.len() > 6 {
        return Err(Error::NotImplemented(format!(
            "GPU reduction of {shape} over {axes:?}: too many alternating axes"
        )));
    }
    let empty_input = shape.numel() == 0;
    let mut params = ReduceParams {
        n_out: n_out as u32,
        n_kept: kept.len() as u32,
        n_red_dims: if empty_input { 0 } else { red.len() as u32 },
        n_red: if empty_input { 0 } else { n_red as u32 },
        one: 1.0,
        kept_dims: slots8(kept.iter().map(|d| d.0)),
        kept_strides: slots8(kept.iter().map(|d| d.1)),
        red_dims: slots8(red.iter().map(|d| d.0)),
        red_strides: slots8(red.iter().map(|d| d.1)),
        ..ReduceParams::default()
    };
    let consts = [("OP", reduce_row(op).0 as f64)];
    if empty_input {
        // Nothing to read: the serial kernel with an empty reduction writes the identity.
        params.n_red_dims = 1;
        params.red_dims[0] = 1;
        params.red_strides[0] = 0;
        let k = reduce_kernel("serial", &consts);
        // n_red = 0 makes the loop empty and in0 is never read; an empty input has no buffer
        // worth binding, so a one-float scratch stands in.
        let scratch = GpuStorage::empty(dev, 1)?;
        dispatch_1d(dev, &k, &params, &[&scratch], &[&out], n_out);
        return Ok(out);
    }
    if !pairwise && (n_red <= SERIAL_MAX || n_out >= 8192) {
        let k = reduce_kernel("serial", &consts);
        dispatch_1d(dev, &k, &params, &[x], &[&out], n_out);
        return Ok(out);
    }
    // Enough workgroups to fill the device, each reducing at least MIN_CHUNK elements.
    let target: usize = if dev.is_software() { 64 } else { 1024 };
    let n_chunks = target
        .div_ceil(n_out)
        .clamp(1, n_red.div_ceil(MIN_CHUNK).max(1))
        .min(4096);
    // Whole vec4s when the reduced run is contiguous and every run starts 16-byte aligned.
    let vec = red.len() == 1
        && red[0].1 == 1
        && n_red.is_multiple_of(4)
        && kept.iter().all(|&(_, s)| s % 4 == 0);
    let chunk = n_red
        .div_ceil(n_chunks)
        .next_multiple_of(if vec { 4 } else { 1 });
    let n_chunks = n_red.div_ceil(chunk);
    params.chunk_len = chunk as u32;
    params.n_chunks = n_chunks as u32;
    let consts = [consts[0], ("VEC", vec as u32 as f64)];
    let k = reduce_kernel("tree", &consts);
    let result = if n_chunks == 1 {
        out
    } else {
        drop(out);
        GpuStorage::empty(dev, n_out * n_chunks)?
    };
    dispatch(
        dev,
        &k,
        &params,
        &[x, x],
        &[&result],
        dev.ctx.grid((n_out * n_chunks) as u64),
    );
    if n_chunks == 1 {
        return Ok(result);
    }
    let partial = result;
    reduce_with(
        &partial,
        &Shape::from(vec![n_out, n_chunks]),
        &[1],
        op,
        true,
    )
}
