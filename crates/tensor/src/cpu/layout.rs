//! Data movement: broadcast, permute, slice, pad, concat, gather and its adjoint.

use super::elementwise::{collapse, row_offsets};
use super::PAR_MIN;
use crate::shape::Shape;
use rayon::prelude::*;

/// Copies a strided view (dims, strides into `x`) into a contiguous buffer.
fn gather_strided(x: &[f32], dims: &[usize], strides: &[usize]) -> Vec<f32> {
    let n: usize = dims.iter().product();
    let mut out = super::buffers::for_overwrite(n);
    if n == 0 {
        return out;
    }
    let out_strides = Shape::from(dims.to_vec()).strides();
    let (d, st) = collapse(dims, &[strides.to_vec(), out_strides]);
    let inner = *d.last().unwrap();
    let is = *st[0].last().unwrap();
    let rows_per_chunk = (PAR_MIN / inner).max(1);
    let work = |(ci, chunk): (usize, &mut [f32])| {
        let mut offs = [0usize; 1];
        for (r, orow) in chunk.chunks_mut(inner).enumerate() {
            row_offsets(ci * rows_per_chunk + r, &d, &[&st[0]], &mut offs);
            let o = offs[0];
            if is == 1 {
                orow.copy_from_slice(&x[o..o + inner]);
            } else if is == 0 {
                // A broadcast row (a reduction's gradient spread back): one value repeated.
                orow.fill(x[o]);
            } else {
                for (j, v) in orow.iter_mut().enumerate() {
                    *v = x[o + j * is];
                }
            }
        }
    };
    if n >= PAR_MIN {
        out.par_chunks_mut(rows_per_chunk * inner)
            .enumerate()
            .for_each(work);
    } else {
        out.chunks_mut(rows_per_chunk * inner)
            .enumerate()
            .for_each(work);
    }
    out
}

/// Materialises `x` (of `shape`) broadcast to `out`.
pub fn broadcast_to(x: &[f32], shape: &Shape, out: &Shape) -> Vec<f32> {
    gather_strided(x, out.dims(), &shape.broadcast_strides(out))
}

/// Output axis `i` is input axis `perm[i]`.
pub fn permute(x: &[f32], shape: &Shape, perm: &[usize]) -> Vec<f32> {
    let st = shape.strides();
    let dims: Vec<usize> = perm.iter().map(|&p| shape.dim(p)).collect();
    let strides: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    gather_strided(x, &dims, &strides)
}

/// (outer, size of axis, inner) for a contiguous shape.
fn split(shape: &Shape, axis: usize) -> (usize, usize, usize) {
    let d = shape.dims();
    (
        d[..axis].iter().product(),
        d[axis],
        d[axis + 1..].iter().product(),
    )
}

/// `len` entries from `start` along `axis`.
pub fn slice(x: &[f32], shape: &Shape, axis: usize, start: usize, len: usize) -> Vec<f32> {
    let (outer, full, inner) = split(shape, axis);
    let mut out = super::buffers::for_overwrite(outer * len * inner);
    for o in 0..outer {
        let src = &x[(o * full + start) * inner..(o * full + start + len) * inner];
        out[o * len * inner..(o + 1) * len * inner].copy_from_slice(src);
    }
    out
}

/// The adjoint of `slice`: `x` placed at `start` along `axis` inside zeros of length `full`.
pub fn pad_axis(x: &[f32], shape: &Shape, axis: usize, start: usize, full: usize) -> Vec<f32> {
    let (outer, len, inner) = split(shape, axis);
    let mut out = super::buffers::zeroed(outer * full * inner);
    for o in 0..outer {
        out[(o * full + start) * inner..(o * full + start + len) * inner]
            .copy_from_slice(&x[o * len * inner..(o + 1) * len * inner]);
    }
    out
}

/// Concatenation along `axis` (the shapes agree elsewhere).
pub fn concat(parts: &[(&[f32], &Shape)], axis: usize) -> Vec<f32> {
    let (outer, _, inner) = split(parts[0].1, axis);
    let total: usize = parts.iter().map(|p| p.1.dim(axis)).sum();
    let mut out = super::buffers::for_overwrite(outer * total * inner);
    let mut at = 0;
    for (x, sh) in parts {
        let len = sh.dim(axis);
        for o in 0..outer {
            out[(o * total + at) * inner..(o * total + at + len) * inner]
                .copy_from_slice(&x[o * len * inner..(o + 1) * len * inner]);
        }
        at += len;
    }
    out
}

/// Entries `idx` along `axis`.
pub fn index_select(x: &[f32], shape: &Shape, axis: usize, idx: &[u32]) -> Vec<f32> {
    let (outer, full, inner) = split(shape, axis);
    let k = idx.len();
    let mut out = super::buffers::for_overwrite(outer * k * inner);
    for o in 0..outer {
        for (j, &i) in idx.iter().enumerate() {
            let s = (o * full + i as usize) * inner;
            out[(o * k + j) * inner..(o * k + j + 1) * inner].copy_from_slice(&x[s..s + inner]);
        }
    }
    out
}

/// The adjoint of `index_select`: entry `j` of `x` along `axis` is added to entry `idx[j]` of zeros.
pub fn index_add(x: &[f32], shape: &Shape, axis: usize, idx: &[u32], full: usize) -> Vec<f32> {
    let (outer, k, inner) = split(shape, axis);
    let mut out = super::buffers::zeroed(outer * full * inner);
    for o in 0..outer {
        for (j, &i) in idx.iter().enumerate().take(k) {
            let d = (o * full + i as usize) * inner;
            for (t, v) in out[d..d + inner]
                .iter_mut()
                .zip(&x[(o * k + j) * inner..(o * k + j + 1) * inner])
            {
                *t += v;
            }
        }
    }
    out
}
