//! Average pooling and bilinear resizing on NCHW planes, each with its adjoint.

use crate::geometry::{Pool2dSpec, UpsampleSpec};
use rayon::prelude::*;

/// Mean over each k x k window (stride `s`, no padding).
pub fn avg_pool2d(x: &[f32], p: &Pool2dSpec) -> Vec<f32> {
    let mut out = super::buffers::for_overwrite(p.nc * p.oh * p.ow);
    let inv = 1.0 / (p.k * p.k) as f32;
    out.par_chunks_mut(p.oh * p.ow)
        .enumerate()
        .for_each(|(c, o)| {
            let plane = &x[c * p.h * p.w..(c + 1) * p.h * p.w];
            for i in 0..p.oh {
                for j in 0..p.ow {
                    let mut s = 0.0;
                    for di in 0..p.k {
                        let row = &plane[(i * p.stride + di) * p.w + j * p.stride..][..p.k];
                        s += row.iter().sum::<f32>();
                    }
                    o[i * p.ow + j] = s * inv;
                }
            }
        });
    out
}

/// Adjoint of [`avg_pool2d`]: spreads each output gradient evenly over its window.
pub fn avg_pool2d_backward(dy: &[f32], p: &Pool2dSpec) -> Vec<f32> {
    let mut dx = super::buffers::zeroed(p.nc * p.h * p.w);
    let inv = 1.0 / (p.k * p.k) as f32;
    dx.par_chunks_mut(p.h * p.w)
        .enumerate()
        .for_each(|(c, plane)| {
            let g = &dy[c * p.oh * p.ow..(c + 1) * p.oh * p.ow];
            for i in 0..p.oh {
                for j in 0..p.ow {
                    let v = g[i * p.ow + j] * inv;
                    for di in 0..p.k {
                        for t in &mut plane[(i * p.stride + di) * p.w + j * p.stride..][..p.k] {
                            *t += v;
                        }
                    }
                }
            }
        });
    dx
}

/// Source index and weights of one output coordinate (PyTorch, `align_corners=False`).
#[inline]
pub(crate) fn bilinear_source(dst: usize, in_len: usize, out_len: usize) -> (usize, usize, f32) {
    let scale = in_len as f32 / out_len as f32;
    let src = ((dst as f32 + 0.5) * scale - 0.5).max(0.0);
    let i0 = (src as usize).min(in_len - 1);
    let i1 = if i0 + 1 < in_len { i0 + 1 } else { i0 };
    (i0, i1, src - i0 as f32)
}

/// Bilinear resize of each plane from h x w to oh x ow.
pub fn upsample_bilinear(x: &[f32], u: &UpsampleSpec) -> Vec<f32> {
    let mut out = super::buffers::for_overwrite(u.nc * u.oh * u.ow);
    let cols: Vec<_> = (0..u.ow).map(|j| bilinear_source(j, u.w, u.ow)).collect();
    out.par_chunks_mut(u.oh * u.ow)
        .enumerate()
        .for_each(|(c, o)| {
            let plane = &x[c * u.h * u.w..(c + 1) * u.h * u.w];
            for i in 0..u.oh {
                let (r0, r1, ly) = bilinear_source(i, u.h, u.oh);
                for (j, &(c0, c1, lx)) in cols.iter().enumerate() {
                    let top = plane[r0 * u.w + c0] * (1.0 - lx) + plane[r0 * u.w + c1] * lx;
                    let bot = plane[r1 * u.w + c0] * (1.0 - lx) + plane[r1 * u.w + c1] * lx;
                    o[i * u.ow + j] = top * (1.0 - ly) + bot * ly;
                }
            }
        });
    out
}

/// Adjoint of [`upsample_bilinear`]: scatters each output gradient to its four sources.
pub fn upsample_bilinear_backward(dy: &[f32], u: &UpsampleSpec) -> Vec<f32> {
    let mut dx = super::buffers::zeroed(u.nc * u.h * u.w);
    let cols: Vec<_> = (0..u.ow).map(|j| bilinear_source(j, u.w, u.ow)).collect();
    dx.par_chunks_mut(u.h * u.w)
        .enumerate()
        .for_each(|(c, plane)| {
            let g = &dy[c * u.oh * u.ow..(c + 1) * u.oh * u.ow];
            for i in 0..u.oh {
                let (r0, r1, ly) = bilinear_source(i, u.h, u.oh);
                for (j, &(c0, c1, lx)) in cols.iter().enumerate() {
                    let v = g[i * u.ow + j];
                    plane[r0 * u.w + c0] += v * (1.0 - ly) * (1.0 - lx);
                    plane[r0 * u.w + c1] += v * (1.0 - ly) * lx;
                    plane[r1 * u.w + c0] += v * ly * (1.0 - lx);
                    plane[r1 * u.w + c1] += v * ly * lx;
                }
            }
        });
    dx
}
