//! Dispatch of the data-movement kernels (`shaders/layout.wgsl`) and buffer copies.

use super::elementwise::MAX_RANK;
use super::params::{slots8, LayoutParams};
use super::{dispatch_1d, kernel, GpuDevice, GpuStorage};
use crate::cpu::elementwise::collapse;
use crate::error::{Error, Result};
use crate::shape::Shape;

/// `n` copies of `v`.
pub fn full(dev: &GpuDevice, n: usize, v: f32) -> Result<GpuStorage> {
    let out = GpuStorage::empty(dev, n)?;
    let k = kernel!("layout.wgsl", "fill", LayoutParams, &[]);
    let params = LayoutParams {
        n: n as u32,
        value: v,
        ..LayoutParams::default()
    };
    dispatch_1d(dev, &k, &params, &[], &[&out], n);
    Ok(out)
}

/// Copies the strided view (`dims`, `strides` into `x`) into a contiguous buffer.
fn strided(x: &GpuStorage, dims: &[usize], strides: &[usize]) -> Result<GpuStorage> {
    let dev = x.device();
    let n: usize = dims.iter().product();
    let out = GpuStorage::empty(dev, n)?;
    if n == 0 {
        return Ok(out);
    }
    let out_strides = Shape::from(dims.to_vec()).strides();
    let (d, st) = collapse(dims, &[strides.to_vec(), out_strides]);
    if d.len() > MAX_RANK {
        return Err(Error::NotImplemented(format!(
            "GPU layout copy over {dims:?}: more than {MAX_RANK} dims after merging"
        )));
    }
    let params = LayoutParams {
        n: n as u32,
        rank: d.len() as u32,
        dims: slots8(d.iter().copied()),
        strides: slots8(st[0].iter().copied()),
        ..LayoutParams::default()
    };
    let k = kernel!("layout.wgsl", "strided", LayoutParams, &[]);
    dispatch_1d(dev, &k, &params, &[x], &[&out], n);
    Ok(out)
}

/// Materialises `x` (of `shape`) broadcast to `out`.
pub fn broadcast_to(x: &GpuStorage, shape: &Shape, out: &Shape) -> Result<GpuStorage> {
    strided(x, out.dims(), &shape.broadcast_strides(out))
}

/// Output axis `i` is input axis `perm[i]`.
pub fn permute(x: &GpuStorage, shape: &Shape, perm: &[usize]) -> Result<GpuStorage> {
    let st = shape.strides();
    let dims: Vec<usize> = perm.iter().map(|&p| shape.dim(p)).collect();
    let strides: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    strided(x, &dims, &strides)
}

fn split(shape: &Shape, axis: usize) -> (usize, usize, usize) {
    let d = shape.dims();
    (
        d[..axis].iter().product(),
        d[axis],
        d[axis + 1..].iter().product(),
    )
}

fn window(
    x: &GpuStorage,
    outer: usize,
    inner: usize,
    len_in: usize,
    len_out: usize,
    shift: i64,
) -> Result<GpuStorage> {
    let dev = x.device();
    let n = outer * len_out * inner;
    let out = GpuStorage::empty(dev, n)?;
    let params = LayoutParams {
        n: n as u32,
        len_out: len_out as u32,
        inner: inner as u32,
        len_in: len_in as u32,
        shift: shift as i32,
        ..LayoutParams::default()
    };
    let k = kernel!("layout.wgsl", "window", LayoutParams, &[]);
    dispatch_1d(dev, &k, &params, &[x], &[&out], n);
    Ok(out)
}

/// `len` entries from `start` along `axis`.
pub fn slice(
    x: &GpuStorage,
    shape: &Shape,
    axis: usize,
    start: usize,
    len: usize,
) -> Result<GpuStorage> {
    let (outer, full, inner) = split(shape, axis);
    window(x, outer, inner, full, len, start as i64)
}

/// `x` placed at `start` along `axis` inside zeros of length `full`.
pub fn pad_axis(
    x: &GpuStorage,
    shape: &Shape,
    axis: usize,
    start: usize,
    full: usize,
) -> Result<GpuStorage> {
    let (outer, len, inner) = split(shape, axis);
    window(x, outer, inner, len, full, -(start as i64))
}

/// Concatenation along `axis`.
pub fn concat(parts: &[(&GpuStorage, &Shape)], axis: usize) -> Result<GpuStorage> {
    let dev = parts[0].0.device();
    let (outer, _, inner) = split(parts[0].1, axis);
    let total: usize = parts.iter().map(|p| p.1.dim(axis)).sum();
    let out = GpuStorage::empty(dev, outer * total * inner)?;
    let k = kernel!("layout.wgsl", "place", LayoutParams, &[]);
    let mut at = 0;
    for (x, sh) in parts {
        let len = sh.dim(axis);
        let n = outer * len * inner;
        let params = LayoutParams {
            n: n as u32,
            len_out: len as u32,
            inner: inner as u32,
            len_in: total as u32,
            at: at as u32,
            ..LayoutParams::default()
        };
        dispatch_1d(dev, &k, &params, &[x], &[&out], n);
        at += len;
    }
    Ok(out)
}

/// Entries `idx` along `axis`.
pub fn index_select(x: &GpuStorage, shape: &Shape, axis: usize, idx: &[u32]) -> Result<GpuStorage> {
    let dev = x.device();
    let (outer, full, inner) = split(shape, axis);
    let n = outer * idx.len() * inner;
    let out = GpuStorage::empty(dev, n)?;
    if n == 0 {
        return Ok(out);
    }
    let ib = GpuStorage::from_u32(dev, idx)?;
    let params = LayoutParams {
        n: n as u32,
        k: idx.len() as u32,
        inner: inner as u32,
        len_in: full as u32,
        ..LayoutParams::default()
    };
    let k = kernel!("layout.wgsl", "select_rows", LayoutParams, &[]);
    dispatch_1d(dev, &k, &params, &[x, &ib], &[&out], n);
    Ok(out)
}

/// Adjoint of [`index_select`]: entry j is added into entry `idx[j]` of zeros of size `full`.
pub fn index_add(
    x: &GpuStorage,
    shape: &Shape,
    axis: usize,
    idx: &[u32],
    full: usize,
) -> Result<GpuStorage> {
    let dev = x.device();
    let (outer, k, inner) = split(shape, axis);
    let n = outer * full * inner;
    if k == 0 {
        return self::full(dev, n, 0.0);
    }
    let out = GpuStorage::empty(dev, n)?;
    let ib = GpuStorage::from_u32(dev, &idx[..k])?;
    let params = LayoutParams {
        n: n as u32,
        k: k as u32,
        inner: inner as u32,
        len_in: full as u32,
        ..LayoutParams::default()
    };
    let kern = kernel!("layout.wgsl", "add_rows", LayoutParams, &[]);
    dispatch_1d(dev, &kern, &params, &[x, &ib], &[&out], n);
    Ok(out)
}

/// Overwrites `dst` with `src` (same length).
pub fn copy_from(dst: &GpuStorage, src: &GpuStorage) -> Result<()> {
    dst.device()
        .ctx
        .copy(src.buf(), dst.buf(), src.len().min(dst.len()) as u64 * 4);
    Ok(())
}
