//! 2-D convolution kernels (PyTorch semantics: cross-correlation, NCHW,
//! weight `[c_out, c_in, kh, kw]`, no groups or dilation) on f32 slices.
//!
//! All three passes lower to GEMM over an im2col matrix `[c_in*kh*kw, cols]`
//! built for a chunk of images at a time: chunks keep the buffer small
//! (bounded, not batch-sized) while giving the GEMM enough columns to fill its
//! 32-wide register tile on small feature maps (an 8x8 -> 4x4 layer has only
//! 16 output pixels per image). Chunks run in parallel on rayon's pool.

use super::conv_simd::RowPlan;
#[cfg(target_arch = "x86_64")]
use super::conv_simd::{narrow_col2im, PackedIm2col, PlaneGather};
use super::gemm::{dot_nt, gemm_par, gemm_seq, Dims, DotShape, Strided, StridedMut};
#[cfg(target_arch = "x86_64")]
use super::gemm_avx512::PACKED_NR;
use crate::geometry::Conv2dGeometry;
// The direct-loop twins the tests compare against, reachable beside the kernels they check.
pub use super::conv_reference::{
    conv2d_backward_data_reference, conv2d_backward_weight_reference, conv2d_forward_reference,
};
use rayon::prelude::*;

/// Range of output positions `o` whose input index `o*s + k - p` lies in
/// `[0, len)`.
pub(super) fn valid_range(out: usize, len: usize, s: usize, k: usize, p: usize) -> (usize, usize) {
    // o*s + k >= p  <=>  o >= ceil((p - k) / s)
    let lo = if p > k { (p - k).div_ceil(s) } else { 0 };
    // o*s + k - p < len  <=>  o*s < len + p - k
    let hi = if len + p > k {
        (len + p - k).div_ceil(s)
    } else {
        0
    };
    (lo.min(out), hi.clamp(lo.min(out), out))
}

/// Fills `col[krows, nb*ohw]` (column `b*ohw + oy*ow + ox`) from `nb` images.
fn im2col(g: &Conv2dGeometry, x: &[f32], nb: usize, col: &mut [f32]) {
    let (ohw, hw, ncols) = (g.ohw(), g.h * g.w, nb * g.ohw());
    let ((sh, sw), (ph, pw)) = (g.stride, g.padding);
    #[cfg(target_arch = "x86_64")]
    if let Some(plan) = PlaneGather::for_im2col(g) {
        let taps = g.kh * g.kw;
        for c in 0..g.c_in {
            for b in 0..nb {
                let src = &x[(b * g.c_in + c) * hw..][..hw];
                let dst = &mut col[c * taps * ncols + b * ohw..][..(taps - 1) * ncols + ohw];
                // SAFETY: the plan's indices are in-plane; the row extents were sliced.
                unsafe { plan.gather_im2col(src.as_ptr(), dst.as_mut_ptr(), ncols) };
            }
        }
        return;
    }
    // A row plan depends on the column tap only.
    let plans: Vec<_> = (0..g.kw)
        .map(|kj| RowPlan::new(g.ow, g.w, sw, kj as isize - pw as isize))
        .collect();
    for c in 0..g.c_in {
        for ki in 0..g.kh {
            let (ylo, yhi) = valid_range(g.oh, g.h, sh, ki, ph);
            for (kj, plan) in plans.iter().enumerate() {
                let row = (c * g.kh + ki) * g.kw + kj;
                let base = kj as isize - pw as isize;
                for b in 0..nb {
                    let src = &x[(b * g.c_in + c) * hw..][..hw];
                    let dst = &mut col[row * ncols + b * ohw..][..ohw];
                    dst[..ylo * g.ow].fill(0.0);
                    dst[yhi * g.ow..].fill(0.0);
                    if let Some(plan) = &plan {
                        let first = (ylo * sh + ki).wrapping_sub(ph) * g.w;
                        // SAFETY: rows ylo..yhi are inside both planes (valid_range).
                        unsafe {
                            plan.gather_rows(
                                dst[ylo * g.ow..].as_mut_ptr(),
                                g.ow,
                                src.as_ptr().add(first),
                                sh * g.w,
                                yhi - ylo,
                            )
                        };
                        continue;
                    }
                    for oy in ylo..yhi {
                        let srow = &src[(oy * sh + ki - ph) * g.w..][..g.w];
                        gather_row(&mut dst[oy * g.ow..][..g.ow], srow, sw, base);
                    }
                }
            }
        }
    }
}

/// Adds the columns of `col[krows, nb*ohw]` back into `nb` images of `dx`
/// (the adjoint of [`im2col`]); `dx` must be zeroed by the caller.
fn col2im(g: &Conv2dGeometry, col: &[f32], nb: usize, dx: &mut [f32]) {
    let (ohw, hw, ncols) = (g.ohw(), g.h * g.w, nb * g.ohw());
    let ((sh, sw), (ph, pw)) = (g.stride, g.padding);
    #[cfg(target_arch = "x86_64")]
    if g.w <= 16 && g.ow <= 16 && super::avx512_available() {
        // SAFETY: feature detected; slice extents checked by the caller's
        // chunking (col holds krows rows of nb*ohw, dx nb planes).
        return unsafe { narrow_col2im(g, col, nb, dx) };
    }
    // Short rows revisit the same dx row after a few instructions, where a
    // masked load right behind a masked store to it stalls (no store
    // forwarding): scalar there.
    let plans: Vec<_> = (0..g.kw)
        .map(|kj| {
            if g.ow >= 8 {
                RowPlan::new(g.ow, g.w, sw, kj as isize - pw as isize)
            } else {
                None
            }
        })
        .collect();
    for b in 0..nb {
        for c in 0..g.c_in {
            // One image plane at a time, so it stays in L1 across the taps.
            let dst = &mut dx[(b * g.c_in + c) * hw..][..hw];
            for ki in 0..g.kh {
                let (ylo, yhi) = valid_range(g.oh, g.h, sh, ki, ph);
                for (kj, plan) in plans.iter().enumerate() {
                    let row = (c * g.kh + ki) * g.kw + kj;
                    let base = kj as isize - pw as isize;
                    let src = &col[row * ncols + b * ohw..][..ohw];
                    if let Some(plan) = plan {
                        if yhi > ylo {
                            let first = (ylo * sh + ki - ph) * g.w;
                            // SAFETY: rows ylo..yhi are inside both planes (valid_range).
                            unsafe {
                                plan.scatter_add_rows(
                                    dst[first..].as_mut_ptr(),
                                    sh * g.w,
                                    src[ylo * g.ow..].as_ptr(),
                                    g.ow,
                                    yhi - ylo,
                                )
                            };
                        }
                        continue;
                    }
                    for oy in ylo..yhi {
                        let drow = &mut dst[(oy * sh + ki - ph) * g.w..][..g.w];
                        scatter_add_row(drow, &src[oy * g.ow..][..g.ow], sw, base);
                    }
                }
            }
        }
    }
}

/// `dst[o] = src[o*s + base]`, or 0 where that index is outside `src`
/// (the zero padding).
fn gather_row(dst: &mut [f32], src: &[f32], s: usize, base: isize) {
    let (lo, hi) = in_bounds(dst.len(), src.len(), s, base);
    dst[..lo].fill(0.0);
    dst[hi..].fill(0.0);
    for (o, d) in dst.iter_mut().enumerate().take(hi).skip(lo) {
        *d = src[((o * s) as isize + base) as usize];
    }
}

/// `dst[o*s + base] += src[o]` wherever that index is inside `dst`.
fn scatter_add_row(dst: &mut [f32], src: &[f32], s: usize, base: isize) {
    let (lo, hi) = in_bounds(src.len(), dst.len(), s, base);
    for (o, v) in src.iter().enumerate().take(hi).skip(lo) {
        dst[((o * s) as isize + base) as usize] += v;
    }
}

/// Range of `o` in `[0, n)` with `0 <= o*s + base < len`.
fn in_bounds(n: usize, len: usize, s: usize, base: isize) -> (usize, usize) {
    let lo = if base < 0 {
        (base.unsigned_abs()).div_ceil(s)
    } else {
        0
    };
    let end = len as isize - base;
    let hi = if end > 0 {
        (end as usize).div_ceil(s)
    } else {
        0
    };
    (lo.min(n), hi.clamp(lo.min(n), n))
}

/// Copies `nb` images of `[c, ohw]` into one `[c, nb*ohw]` matrix, or back.
fn regroup(c: usize, ohw: usize, nb: usize, src: &[f32], dst: &mut [f32], to_wide: bool) {
    for b in 0..nb {
        for ch in 0..c {
            let img = (b * c + ch) * ohw;
            let wide = ch * nb * ohw + b * ohw;
            if to_wide {
                dst[wide..wide + ohw].copy_from_slice(&src[img..img + ohw]);
            } else {
                dst[img..img + ohw].copy_from_slice(&src[wide..wide + ohw]);
            }
        }
    }
}

/// `C = A*B` (or `+=`), on one thread when chunks already run in parallel.
fn gemm(par: bool, d: Dims, a: Strided, b: Strided, c: &mut [f32], acc: bool) {
    assert!(c.len() >= d.m * d.n);
    let beta = if acc { 1.0 } else { 0.0 };
    let c = StridedMut::rows(c.as_mut_ptr(), d.n);
    // SAFETY: callers pass operands sized for these shapes (they are slices
    // checked against the geometry), and `c` is a distinct &mut.
    unsafe {
        if par {
            gemm_par(d, a, b, c, beta)
        } else {
            gemm_seq(d, a, b, c, beta)
        }
    }
}

fn mat(s: &[f32], rs: usize, cs: usize) -> Strided {
    Strided {
        ptr: s.as_ptr(),
        rs: rs as isize,
        cs: cs as isize,
    }
}

/// Runs `f(first_image, images, out_chunk, par_gemm)` over the batch in
/// chunks of `nb` images, where `out_chunk` is the chunk's part of `out`
/// (`per_image` floats per image). With fewer chunks than threads the
/// chunks run in turn and the GEMMs inside are threaded instead.
fn for_chunks<F>(g: &Conv2dGeometry, out: &mut [f32], per_image: usize, f: F)
where
    F: Fn(usize, usize, &mut [f32], bool, &mut Vec<f32>, &mut Vec<f32>) + Sync,
{
    let nb = chunk(g);
    if per_image == 0 || g.n == 0 {
        return;
    }
    let chunks = g.n.div_ceil(nb);
    if chunks >= rayon::current_num_threads() {
        out.par_chunks_mut(nb * per_image)
            .enumerate()
            .for_each(|(i, o)| {
                with_scratch(|s1, s2| f(i * nb, o.len() / per_image, o, false, s1, s2))
            });
    } else {
        let threaded = g.flops() >= THREADED_GEMM_MIN_FLOPS;
        with_scratch(|s1, s2| {
            for (i, o) in out.chunks_mut(nb * per_image).enumerate() {
                f(i * nb, o.len() / per_image, o, threaded, s1, s2);
            }
        });
    }
}

/// Below this much work a batch too small to split by images runs on one
/// thread: waking the pool costs more than the second core returns, and the
/// single-threaded paths (packed im2col) are the faster ones.
const THREADED_GEMM_MIN_FLOPS: usize = 1 << 25;

thread_local! {
    static SCRATCH: std::cell::Cell<(Vec<f32>, Vec<f32>)> = const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with this thread's two scratch buffers. They persist across
/// calls because buffers of this size come straight from mmap, and fresh
/// ones cost a page fault per 4 KiB on every call. Taken out rather than
/// borrowed, so a nested call on the same thread (rayon work stealing while
/// a threaded GEMM waits) just starts with empty ones.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<f32>, &mut Vec<f32>) -> R) -> R {
    let (mut a, mut b) = SCRATCH.with(|s| s.take());
    let r = f(&mut a, &mut b);
    SCRATCH.with(|s| s.set((a, b)));
    r
}

fn scratch(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

/// The packed-B GEMM of the active SIMD path (both read 48-wide panels).
///
/// # Safety
/// As for `gemm_avx512::gemm_prepacked_b`, on a CPU with the active path.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn gemm_prepacked_b(
    m: usize,
    n: usize,
    k: usize,
    a: Strided,
    pb: *const f32,
    c: *mut f32,
    rsc: isize,
) {
    if super::avx2_active() {
        super::gemm_avx2::gemm_prepacked_b(m, n, k, a, pb, c, rsc)
    } else {
        super::gemm_avx512::gemm_prepacked_b(m, n, k, a, pb, c, rsc)
    }
}

/// `y[n, c_out, oh, ow] = conv2d(x[n, c_in, h, w], w)`; `y` is overwritten.
///
/// # Panics
/// If a slice length does not match the geometry.
pub fn conv2d_forward(g: &Conv2dGeometry, x: &[f32], w: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), g.x_len(), "conv2d_forward: x length mismatch");
    assert_eq!(w.len(), g.w_len(), "conv2d_forward: w length mismatch");
    assert_eq!(y.len(), g.y_len(), "conv2d_forward: y length mismatch");
    #[cfg(target_arch = "x86_64")]
    if super::conv_winograd::suits(g) {
        return super::conv_winograd::conv2d_forward(g, x, w, y);
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    if super::conv_direct::suits(g) {
        return super::conv_direct::conv2d_forward(g, x, w, y);
    }
    let (k, ohw, chw) = (g.krows(), g.ohw(), g.c_in * g.h * g.w);
    #[cfg(target_arch = "x86_64")]
    let packed = PackedIm2col::new(g);
    for_chunks(g, y, g.c_out * ohw, |i0, nb, yc, par, col, tmp| {
        #[cfg(target_arch = "x86_64")]
        if let (Some(plan), false) = (&packed, par) {
            let ncols = nb * ohw;
            let pb = scratch(col, k * ncols.next_multiple_of(PACKED_NR));
            plan.fill(g, &x[i0 * chw..(i0 + nb) * chw], nb, pb);
            // SAFETY: feature checked by PackedIm2col::new; pb sized above;
            // out is c_out x ncols, w is c_out x k.
            let run = |out: &mut [f32]| unsafe {
                gemm_prepacked_b(
                    g.c_out,
                    ncols,
                    k,
                    mat(w, k, 1),
                    pb.as_ptr(),
                    out.as_mut_ptr(),
                    ncols as isize,
                )
            };
            if nb == 1 {
                run(yc);
            } else {
                let t = scratch(tmp, g.c_out * ncols);
                run(t);
                regroup(g.c_out, ohw, nb, t, yc, false);
            }
            return;
        }
        let col = scratch(col, k * nb * ohw);
        im2col(g, &x[i0 * chw..(i0 + nb) * chw], nb, col);
        let (ncols, wm, cm) = (nb * ohw, mat(w, k, 1), mat(col, nb * ohw, 1));
        if nb == 1 {
            let d = Dims {
                m: g.c_out,
                n: ncols,
                k,
            };
            gemm(par, d, wm, cm, yc, false);
        } else {
            let tmp = scratch(tmp, g.c_out * ncols);
            let d = Dims {
                m: g.c_out,
                n: ncols,
                k,
            };
            gemm(par, d, wm, cm, tmp, false);
            regroup(g.c_out, ohw, nb, tmp, yc, false);
        }
    });
}

/// `dx[n, c_in, h, w]` from `dy[n, c_out, oh, ow]` (the gradient of
/// [`conv2d_forward`] with respect to x); `dx` is overwritten. This is also
/// conv_transpose2d's forward pass, with `dy` as its input.
///
/// # Panics
/// If a slice length does not match the geometry.
pub fn conv2d_backward_data(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    assert_eq!(
        dy.len(),
        g.y_len(),
        "conv2d_backward_data: dy length mismatch"
    );
    assert_eq!(
        w.len(),
        g.w_len(),
        "conv2d_backward_data: w length mismatch"
    );
    assert_eq!(
        dx.len(),
        g.x_len(),
        "conv2d_backward_data: dx length mismatch"
    );
    #[cfg(target_arch = "x86_64")]
    if super::conv_winograd::suits(g) {
        return super::conv_winograd::conv2d_backward_data(g, dy, w, dx);
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    if super::conv_direct::suits_backward_data(g) {
        return super::conv_direct::conv2d_backward_data(g, dy, w, dx);
    }
    let (k, ohw, chw) = (g.krows(), g.ohw(), g.c_in * g.h * g.w);
    let yimg = g.c_out * ohw;
    for_chunks(g, dx, chw, |i0, nb, dxc, par, col, tmp| {
        let ncols = nb * ohw;
        let dyc = &dy[i0 * yimg..(i0 + nb) * yimg];
        let dyw: &[f32] = if nb == 1 {
            dyc
        } else {
            let t = scratch(tmp, g.c_out * ncols);
            regroup(g.c_out, ohw, nb, dyc, t, true);
            t
        };
        let col = scratch(col, k * ncols);
        // col = W^T * dy: W is stored [c_out, k], read transposed.
        let d = Dims {
            m: k,
            n: ncols,
            k: g.c_out,
        };
        gemm(par, d, mat(w, 1, k), mat(dyw, ncols, 1), col, false);
        dxc.fill(0.0);
        col2im(g, col, nb, dxc);
    });
}

/// `dw[c_out, c_in, kh, kw]` from `x` and `dy` (the gradient of
/// [`conv2d_forward`] with respect to w); `dw` is overwritten.
///
/// # Panics
/// If a slice length does not match the geometry.
pub fn conv2d_backward_weight(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    assert_eq!(
        x.len(),
        g.x_len(),
        "conv2d_backward_weight: x length mismatch"
    );
    assert_eq!(
        dy.len(),
        g.y_len(),
        "conv2d_backward_weight: dy length mismatch"
    );
    assert_eq!(
        dw.len(),
        g.w_len(),
        "conv2d_backward_weight: dw length mismatch"
    );
    if g.n == 0 || dw.is_empty() {
        dw.fill(0.0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if super::conv_winograd::suits(g) {
        return super::conv_winograd_weight::conv2d_backward_weight(g, x, dy, dw);
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    if super::conv_direct::suits_backward_weight(g) {
        return super::conv_direct::conv2d_backward_weight(g, x, dy, dw);
    }
    let (k, ohw, chw, nb) = (g.krows(), g.ohw(), g.c_in * g.h * g.w, chunk(g));
    let yimg = g.c_out * ohw;
    let chunks = g.n.div_ceil(nb);
    let par_chunks = chunks >= rayon::current_num_threads();
    let threaded_gemm = !par_chunks && g.flops() >= THREADED_GEMM_MIN_FLOPS;
    // Accumulated transposed, dw^T[k, c_out] += col[k, cols] * dy_chunk^T:
    // the big operand (col) is then packed along its contiguous rows, and the
    // tall-skinny shape suits the 14x32 tile when c_out is 32 or 64.
    let add_chunk = |ci: usize, dwt: &mut [f32], col: &mut Vec<f32>, tmp: &mut Vec<f32>| {
        let i0 = ci * nb;
        let nbi = nb.min(g.n - i0);
        let ncols = nbi * ohw;
        let col = scratch(col, k * ncols);
        im2col(g, &x[i0 * chw..(i0 + nbi) * chw], nbi, col);
        let dyc = &dy[i0 * yimg..(i0 + nbi) * yimg];
        let dyw: &[f32] = if nbi == 1 {
            dyc
        } else {
            let t = scratch(tmp, g.c_out * ncols);
            regroup(g.c_out, ohw, nbi, dyc, t, true);
            t
        };
        if k * g.c_out <= 1024 {
            let shape = DotShape {
                m: k,
                n: g.c_out,
                len: ncols,
                lda: ncols,
                ldb: ncols,
            };
            dot_nt(shape, col, dyw, dwt);
        } else {
            let (a, b) = (mat(col, ncols, 1), mat(dyw, 1, ncols));
            let d = Dims {
                m: k,
                n: g.c_out,
                k: ncols,
            };
            gemm(threaded_gemm, d, a, b, dwt, true);
        }
    };
    // One partial dw^T per group of chunks (a group per thread), in a buffer
    // kept by this thread across calls: fresh ones cost page faults.
    let groups = if par_chunks {
        rayon::current_num_threads().min(chunks)
    } else {
        1
    };
    let len = dw.len();
    let mut parts = PARTIALS.with(|p| p.take());
    if parts.len() < groups * len {
        parts.resize(groups * len, 0.0);
    }
    let parts_used = &mut parts[..groups * len];
    parts_used.fill(0.0);
    let run_group = |gi: usize, part: &mut [f32]| {
        let range = gi * chunks / groups..(gi + 1) * chunks / groups;
        with_scratch(|col, tmp| range.for_each(|ci| add_chunk(ci, part, col, tmp)));
    };
    if groups > 1 {
        parts_used
            .par_chunks_mut(len)
            .enumerate()
            .for_each(|(gi, part)| run_group(gi, part));
    } else {
        run_group(0, parts_used);
    }
    let (first, rest) = parts_used.split_at_mut(len);
    for part in rest.chunks_exact(len) {
        first.iter_mut().zip(part).for_each(|(x, y)| *x += y);
    }
    // Blocked transpose: a plain one strides its stores by k floats, which
    // for k = 1024 keeps hitting the same cache sets.
    for r0 in (0..k).step_by(16) {
        for co0 in (0..g.c_out).step_by(16) {
            for co in co0..(co0 + 16).min(g.c_out) {
                for r in r0..(r0 + 16).min(k) {
                    dw[co * k + r] = first[r * g.c_out + co];
                }
            }
        }
    }
    PARTIALS.with(|p| p.set(parts));
}

thread_local! {
    static PARTIALS: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

#[cfg(test)]
#[path = "conv_tests.rs"]
mod tests;

/// Images per chunk: enough output columns for efficient GEMM tiles, no more than a fair
/// share of the batch per thread, and an im2col buffer of at most 4 MiB unless a single
/// image needs more.
fn chunk(g: &Conv2dGeometry) -> usize {
    const TARGET_COLS: usize = 512;
    const MAX_COL_FLOATS: usize = 1 << 20;
    let threads = rayon::current_num_threads().max(1);
    let mut nb = TARGET_COLS.div_ceil(g.ohw().max(1));
    nb = nb.min(g.n.div_ceil(threads)).max(1);
    while nb > 1 && nb * g.ohw() * g.krows() > MAX_COL_FLOATS {
        nb -= 1;
    }
    nb
}
