//! Direct convolution: an implicit GEMM that reads the input through an offset table instead
//! of an im2col matrix.
//!
//! For output pixel `p` and reduction index `k = (ci, ki, kj)`, the input value is
//! `xp[base[p] + off[k]]` in a zero-padded copy `xp` of the image: `base[p]` depends only on the
//! pixel (`oy*sh*Wp + ox*sw`) and `off[k]` only on the tap (`ci*Hp*Wp + ki*Wp + kj`). So a
//! register tile of `PX` pixels x `CO` output channels needs, per `k`, one table load, `PX`
//! scalar broadcasts straight from the padded image and `CO / lanes` loads of packed weights:
//! no im2col buffer is written or read (for a k4 s2 layer that buffer is 4x the input), and the
//! forward and data-gradient tasks pad only the input rows they read, into a scratch window
//! that stays in cache (`conv_pad`). Weights are packed once per call as
//! `[co_tile][k][CO]` (zeros past `c_out`).
//!
//! The same tile computes all three passes: the forward pass; the data gradient (and so
//! conv_transpose2d) split into stride^2 phases, each a stride-1 correlation of `dy` with
//! that phase's taps, which writes every input pixel once (no col2im scatter); and the weight
//! gradient, with the tables swapped (a tile's rows are taps, the reduction runs over the
//! pixels of every image).
//!
//! The tiles, one per SIMD ISA, are in `conv_tile`. The three passes stay in this one file
//! (past the usual length) because they share `run_tiles`, the packing and the task layout.

use super::buffers;
use super::conv_pad::{pad_images, PadSpec, Window};
#[cfg(target_arch = "aarch64")]
use super::conv_tile::NeonTile;
use super::conv_tile::Tile;
#[cfg(target_arch = "x86_64")]
use super::conv_tile::{Avx2Tile, Avx512Tile};
use super::gemm::SendPtr;
use super::isa::{self, Isa};
use crate::geometry::Conv2dGeometry;
use rayon::prelude::*;

/// Whether `isa` has a direct kernel (the other paths keep packed im2col + GEMM).
pub(super) fn has_direct(isa: Isa) -> bool {
    matches!(isa, Isa::Avx2 | Isa::Avx512 | Isa::Neon)
}

/// Whether the direct kernel is the faster forward path for `g` on the active ISA. It wins
/// once the reduction is long enough to amortise a tile's setup and transposed store (and
/// the im2col copy it saves grows with the kernel's overlap); tiny reductions (a first layer
/// on one channel) keep the packed-im2col path. On AVX-512 the direct kernel takes layers of
/// 32 output channels and more (one 32-wide tile). Before the reduction blocks ran every
/// channel tile in turn, packed im2col + GEMM was ahead at 32 channels on an AMD Zen 4 (113-122
/// vs 101-107 GFLOP/s on 32->32 @32x32). Now, interleaved on an Intel Xeon, the direct kernel
/// wins: forward 99-108 vs 86-87, weight gradient 75-87 vs 63-72, and the dSprites VAE step
/// 654-713 vs 590-658 images/s.
pub(super) fn suits(g: &Conv2dGeometry) -> bool {
    match isa::active() {
        Isa::Avx512 => g.krows() >= 64 && g.c_out >= 32,
        other => has_direct(other) && g.krows() >= 64 && g.c_out >= 8,
    }
}

/// Whether the direct kernel is the faster backward-data (and conv_transpose) path: as
/// [`suits`] with the roles of the channels swapped (the tile runs over input channels, the
/// reduction over output channels and the taps of one phase).
pub(super) fn suits_backward_data(g: &Conv2dGeometry) -> bool {
    let k = g.c_out * g.kh.div_ceil(g.stride.0) * g.kw.div_ceil(g.stride.1);
    has_direct(isa::active()) && k >= 64 && g.c_in >= 8
}

/// `y = conv2d(x, w)` (overwritten) by the direct kernel of the active ISA.
///
/// # Panics
/// If the active path has no direct kernel (callers check [`suits`]).
pub(super) fn conv2d_forward(g: &Conv2dGeometry, x: &[f32], w: &[f32], y: &mut [f32]) {
    match isa::active() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => forward::<Avx512Tile>(g, x, w, y),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => forward::<Avx2Tile>(g, x, w, y),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => forward::<NeonTile>(g, x, w, y),
        other => panic!("conv_direct: no direct kernel on the {other} path"),
    }
}

/// `dx = conv2d_backward_data(dy, w)` (overwritten) by the direct kernel of the active ISA.
///
/// # Panics
/// If the active path has no direct kernel (callers check [`suits_backward_data`]).
pub(super) fn conv2d_backward_data(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    match isa::active() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => backward_data::<Avx512Tile>(g, dy, w, dx),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => backward_data::<Avx2Tile>(g, dy, w, dx),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => backward_data::<NeonTile>(g, dy, w, dx),
        other => panic!("conv_direct: no direct kernel on the {other} path"),
    }
}

/// `dw = conv2d_backward_weight(x, dy)` (overwritten) by the direct kernel of the active ISA.
///
/// # Panics
/// If the active path has no direct kernel (callers check [`suits_backward_weight`]).
pub(super) fn conv2d_backward_weight(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    match isa::active() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => backward_weight::<Avx512Tile>(g, x, dy, dw),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => backward_weight::<Avx2Tile>(g, x, dy, dw),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => backward_weight::<NeonTile>(g, x, dy, dw),
        other => panic!("conv_direct: no direct kernel on the {other} path"),
    }
}

/// `off[k]` of every tap `k = (ci, ki, kj)` in an image padded to planes of `plane` floats,
/// rows of `wpad`.
fn tap_offsets(g: &Conv2dGeometry, plane: usize, wpad: usize) -> Vec<isize> {
    (0..g.c_in)
        .flat_map(|ci| {
            (0..g.kh)
                .flat_map(move |ki| (0..g.kw).map(move |kj| (ci * plane + ki * wpad + kj) as isize))
        })
        .collect()
}

/// `[co_tile][k][CO]` from `w[c_out][k]`, zeros past `c_out`: written in order (a scatter
/// with a stride of CO floats was most of a small layer's setup), one tile per task.
fn pack_weights(w: &[f32], c_out: usize, k: usize, co: usize) -> Vec<f32> {
    let tiles = c_out.div_ceil(co);
    let mut p = vec![0f32; tiles * k * co];
    p.par_chunks_mut(k * co).enumerate().for_each(|(t, pt)| {
        let rows = co.min(c_out - t * co);
        let w_t = &w[t * co * k..];
        for (kk, dst) in pt.chunks_exact_mut(co).enumerate() {
            for (c, d) in dst[..rows].iter_mut().enumerate() {
                *d = w_t[c * k + kk];
            }
        }
    });
    p
}

/// Where a run of tiles stores: channel `c < channels` of pixel `p` goes to
/// `out + c * stride + pos[p]`.
struct Dest<'a> {
    out: *mut f32,
    stride: usize,
    channels: usize,
    pos: &'a [usize],
}

/// Bytes of packed operand a tile reads per block of its reduction: this much (16 KiB) stays
/// in a 32 KiB L1 beside the image lines while a chunk of tiles reads it. Unblocked, a layer of
/// 32 channels with a 4x4 kernel (reduction 512, 32 KiB of AVX2 weights) streamed the whole
/// tile of weights from L2 for every 6 pixels.
const BLOCK_BYTES: usize = 16 << 10;

/// Reduction steps per block for a tile of `co` channels.
const fn reduction_block(co: usize) -> usize {
    BLOCK_BYTES / (co * std::mem::size_of::<f32>())
}

/// Tiles per chunk: each reduction block is read by this many tiles before the next block.
const CHUNK_TILES: usize = 8;

/// Shortest mean run of consecutive pixels worth the ISA's transposed store: a gather per
/// value loses to plain scalar moves.
const MIN_STORE_RUN: usize = 8;

/// Pixels per parallel task (a whole number of chunks). A task runs every channel tile over
/// its pixels, so the input lines they read are fetched once into L2 and reused by all the
/// channel tiles; when a task was one channel tile over a whole image, an image larger than
/// L2 (32 channels of 66 x 66 padded, 557 KiB) came from L3 once per channel tile.
const TASK_PIXELS: usize = 4 * CHUNK_TILES * 8;

/// The `[start, end)` pixel spans the tasks over `len` pixels take.
fn task_spans(len: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..len)
        .step_by(TASK_PIXELS)
        .map(move |s| (s, (s + TASK_PIXELS).min(len)))
}

/// Runs every channel tile over pixels `bases` of one image: pixel `p` reads the padded image
/// at `img + bases[p] + off[k]` against the packed weights `wt` (`[tile][k][CO]`, `k =
/// off.len()`), and goes to `dst` (whose `pos` lines up with `bases`).
///
/// # Safety
/// As for [`Tile::tile`] for every base; `wt` holds `channels.div_ceil(CO) * k * CO` floats;
/// every `dst` address is writable and no other thread writes it.
unsafe fn run_tiles<T: Tile>(
    img: *const f32,
    bases: &[isize],
    off: &[isize],
    wt: *const f32,
    dst: Dest,
) {
    let Dest {
        out,
        stride,
        channels,
        pos,
    } = dst;
    // Callers leave tap-less phases out (their pixels are zeroed apart), so the first
    // reduction block below writes every accumulator.
    debug_assert!(!off.is_empty(), "run_tiles: an empty reduction");
    let (k, kb) = (off.len(), reduction_block(T::CO));
    let chunk_px = CHUNK_TILES * T::PX;
    let co_tiles = channels.div_ceil(T::CO);
    // One chunk's accumulators for every channel tile: each block of the reduction is run
    // by every channel tile while that block's input lines are in L1. No fill: the first
    // block overwrites every accumulator the scatter below reads.
    let mut acc = buffers::for_overwrite(co_tiles * chunk_px * T::CO);
    let mut base = [[0isize; 8]; CHUNK_TILES];
    for c0 in (0..bases.len()).step_by(chunk_px) {
        let px_chunk = chunk_px.min(bases.len() - c0);
        let tiles = px_chunk.div_ceil(T::PX);
        for (i, tb) in base[..tiles].iter_mut().enumerate() {
            let p0 = c0 + i * T::PX;
            let px = T::PX.min(bases.len() - p0);
            for (r, b) in tb[..T::PX].iter_mut().enumerate() {
                // A short last tile repeats its last pixel; the copies are not stored.
                *b = bases[p0 + r.min(px - 1)];
            }
        }
        for k0 in (0..k).step_by(kb) {
            let k1 = (k0 + kb).min(k);
            for t in 0..co_tiles {
                let w_blk = wt.add((t * k + k0) * T::CO);
                let acc_t = &mut acc[t * chunk_px * T::CO..];
                for (i, tb) in base[..tiles].iter().enumerate() {
                    T::tile(
                        img,
                        &tb[..T::PX],
                        &off[k0..k1],
                        w_blk,
                        acc_t[i * T::PX * T::CO..].as_mut_ptr(),
                        k0 > 0,
                    );
                }
            }
        }
        let run = &pos[c0..c0 + px_chunk];
        // Runs of consecutive pixels (every forward chunk, cut where a task's images meet)
        // take the ISA's transposed store; scattered pixels (the data gradient's phases)
        // are stored one at a time.
        let segments = 1 + run.windows(2).filter(|p| p[1] != p[0] + 1).count();
        if segments * MIN_STORE_RUN <= px_chunk {
            let mut q0 = 0;
            while q0 < px_chunk {
                let mut q1 = q0 + 1;
                while q1 < px_chunk && run[q1] == run[q1 - 1] + 1 {
                    q1 += 1;
                }
                for (t, co0) in (0..channels).step_by(T::CO).enumerate() {
                    T::store_run(
                        acc[(t * chunk_px + q0) * T::CO..].as_ptr(),
                        q1 - q0,
                        T::CO.min(channels - co0),
                        out.add(co0 * stride + run[q0]),
                        stride,
                    );
                }
                q0 = q1;
            }
            continue;
        }
        for (t, co0) in (0..channels).step_by(T::CO).enumerate() {
            let acc_t = &acc[t * chunk_px * T::CO..];
            for c in 0..T::CO.min(channels - co0) {
                let row = out.add((co0 + c) * stride);
                for (q, &p) in run.iter().enumerate() {
                    *row.add(p) = acc_t[q * T::CO + c];
                }
            }
        }
    }
    buffers::recycle(acc);
}

fn forward<T: Tile>(g: &Conv2dGeometry, x: &[f32], w: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), g.x_len(), "conv_direct: x length mismatch");
    assert_eq!(w.len(), g.w_len(), "conv_direct: w length mismatch");
    assert_eq!(y.len(), g.y_len(), "conv_direct: y length mismatch");
    let (sh, sw) = g.stride;
    let spec = PadSpec::conv_input(g);
    let wpad = spec.wpad;
    let k = g.krows();
    let wp = pack_weights(w, g.c_out, k, T::CO);
    let ohw = g.ohw();
    let bases: Vec<isize> = (0..ohw)
        .map(|p| ((p / g.ow) * sh * wpad + (p % g.ow) * sw) as isize)
        .collect();
    // Each task pads only the input rows its pixels read (see `conv_pad`), into planes of
    // the tallest task's rows, so that one tap table serves every task.
    let reach = (0, g.kh - 1);
    let spans: Vec<(usize, usize)> = task_spans(ohw).collect();
    let plane_rows = spans
        .iter()
        .map(|&(p0, p1)| Window::of(&bases[p0..p1], wpad, reach).rows)
        .max()
        .unwrap_or(0);
    let off = tap_offsets(g, plane_rows * wpad, wpad);
    // Small planes: a task takes several whole images, padded one after another, so that
    // its tiles fill up and each block of packed weights serves more pixels. One 4x4 image
    // (16 pixels) filled three 6-pixel tiles and read all the weights for each 16 pixels.
    let group = images_per_task(ohw, g.n);
    let padded_image = g.c_in * plane_rows * wpad;
    let pixels: Vec<usize> = (0..ohw).collect();
    let yptr = SendPtr(y.as_mut_ptr());
    let tasks = g.n.div_ceil(group) * spans.len();
    (0..tasks).into_par_iter().for_each(|task| {
        let (b0, (p0, p1)) = (group * (task / spans.len()), spans[task % spans.len()]);
        let images = group.min(g.n - b0);
        let win = Window::of(&bases[p0..p1], wpad, reach);
        let xp = win.pad(&x[b0 * g.c_in * g.h * g.w..], images, spec, plane_rows);
        let (mut local, mut pos) = (Vec::new(), Vec::new());
        let strides = (padded_image, g.c_out * ohw);
        let span = (&bases[p0..p1], &pixels[p0..p1]);
        win.stack(wpad, span, images, strides, (&mut local, &mut pos));
        // SAFETY: every base + off lies in its image's padded window (the geometry's output
        // size keeps the kernel window inside the padded input, and the window holds every
        // row the span's taps reach); the packed weights hold every channel tile's k * CO
        // floats; tasks write disjoint pixels of disjoint images of y (checked length).
        unsafe {
            run_tiles::<T>(
                xp.as_ptr(),
                &local,
                &off,
                wp.as_ptr(),
                Dest {
                    out: yptr.get().add(b0 * g.c_out * ohw),
                    stride: ohw,
                    channels: g.c_out,
                    pos: &pos,
                },
            )
        };
        buffers::recycle(xp);
    });
}

/// Images per forward task: one unless an image has fewer pixels than a task takes, then as
/// many as fill a task while leaving every thread four tasks.
fn images_per_task(ohw: usize, n: usize) -> usize {
    if ohw >= TASK_PIXELS {
        return 1;
    }
    let fair = n.div_ceil(4 * rayon::current_num_threads());
    (TASK_PIXELS / ohw.max(1)).min(fair).max(1)
}

/// One phase of the backward-data pass: the input pixels `(iy, ix)` with
/// `(iy + ph) % sh == ry` and `(ix + pw) % sw == rx` receive exactly the kernel taps
/// `ki = ry + sh*t`, `kj = rx + sw*u` from `dy[q_y - t, q_x - u]`, `q = (i + p - r) / s`: a
/// stride-1 correlation, with no scatter and no zero taps.
struct Phase {
    /// Per pixel: offset of `dy[q_y, q_x]` in the padded image, and its `iy * w + ix`.
    bases: Vec<isize>,
    pos: Vec<usize>,
    /// Packed `[ci_tile][(co, t, u)][CO]` weights.
    wp: Vec<f32>,
    off: Vec<isize>,
}

fn backward_data<T: Tile>(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    assert_eq!(dy.len(), g.y_len(), "conv_direct: dy length mismatch");
    assert_eq!(w.len(), g.w_len(), "conv_direct: w length mismatch");
    assert_eq!(dx.len(), g.x_len(), "conv_direct: dx length mismatch");
    let ((sh, sw), (ph, pw)) = (g.stride, g.padding);
    // dy padded so that every q - t and q - u of every pixel lies inside: q runs up to
    // (h - 1 + ph) / sh and t up to ceil(kh / sh) - 1.
    let (top, left) = (g.kh.div_ceil(sh), g.kw.div_ceil(sw));
    let wpad = left + g.ow.max((g.w - 1 + pw) / sw + 1);
    // The pixels of each phase, its taps (t < ty, u < tx) and its residues (ry, rx).
    let mut layout = Vec::new();
    let mut untouched = Vec::new();
    for ry in 0..sh {
        for rx in 0..sw {
            let ty = if ry < g.kh {
                (g.kh - ry).div_ceil(sh)
            } else {
                0
            };
            let tx = if rx < g.kw {
                (g.kw - rx).div_ceil(sw)
            } else {
                0
            };
            let (mut bases, mut pos) = (Vec::new(), Vec::new());
            for iy in (0..g.h).filter(|iy| (iy + ph) % sh == ry) {
                for ix in (0..g.w).filter(|ix| (ix + pw) % sw == rx) {
                    let (qy, qx) = ((iy + ph - ry) / sh, (ix + pw - rx) / sw);
                    bases.push(((qy + top) * wpad + qx + left) as isize);
                    pos.push(iy * g.w + ix);
                }
            }
            if bases.is_empty() {
                continue;
            }
            if ty == 0 || tx == 0 {
                // No tap reaches these pixels (a kernel smaller than the stride).
                untouched.extend(pos);
                continue;
            }
            layout.push((ry, rx, ty, tx, bases, pos));
        }
    }
    // Task s of an image runs span s of every phase: those read about the same rows of dy,
    // which the task pads once (see `conv_pad`) into planes of the tallest task's rows.
    let tasks = layout
        .iter()
        .map(|l| task_spans(l.4.len()).count())
        .max()
        .unwrap_or(0);
    let window = |s: usize| -> Option<Window> {
        layout
            .iter()
            .filter_map(|(_, _, ty, _, bases, _)| {
                let (p0, p1) = task_spans(bases.len()).nth(s)?;
                Some(Window::of(&bases[p0..p1], wpad, (ty - 1, 0)))
            })
            .reduce(|a, b| {
                let r0 = a.r0.min(b.r0);
                let end = (a.r0 + a.rows).max(b.r0 + b.rows);
                Window { r0, rows: end - r0 }
            })
    };
    let windows: Vec<Window> = (0..tasks).filter_map(window).collect();
    let plane_rows = windows.iter().map(|w| w.rows).max().unwrap_or(0);
    let plane = (plane_rows * wpad) as isize;
    // Each phase's weights go straight into the packed `[ci_tile][(co, t, u)][CO]` order,
    // the phases side by side (a serial transpose then a repack was 8% of a 128->256 @16
    // data gradient).
    let phases: Vec<Phase> = layout
        .into_par_iter()
        .map(|(ry, rx, ty, tx, bases, pos)| {
            let k = g.c_out * ty * tx;
            let mut wp = vec![0f32; g.c_in.div_ceil(T::CO) * k * T::CO];
            let mut off = Vec::with_capacity(k);
            for co in 0..g.c_out {
                for t in 0..ty {
                    for u in 0..tx {
                        let kk = (co * ty + t) * tx + u;
                        off.push(co as isize * plane - (t * wpad + u) as isize);
                        let (ki, kj) = (ry + sh * t, rx + sw * u);
                        let taps = &w[(co * g.c_in * g.kh + ki) * g.kw + kj..];
                        for ci in 0..g.c_in {
                            wp[((ci / T::CO) * k + kk) * T::CO + ci % T::CO] =
                                taps[ci * g.kh * g.kw];
                        }
                    }
                }
            }
            Phase {
                bases,
                pos,
                wp,
                off,
            }
        })
        .collect();
    let spec = PadSpec {
        c: g.c_out,
        h: g.oh,
        w: g.ow,
        top,
        left,
        wpad,
    };
    let hw = g.h * g.w;
    // Small planes (one span per phase): a task takes several images, as in the forward
    // pass, so that each phase's packed weights serve more pixels per pass over them.
    let group = match windows.len() {
        1 => images_per_task(phases.iter().map(|p| p.bases.len()).max().unwrap_or(0), g.n),
        _ => 1,
    };
    let padded_image = g.c_out * plane_rows * wpad;
    let tasks = g.n.div_ceil(group) * windows.len();
    let dxp = SendPtr(dx.as_mut_ptr());
    (0..tasks).into_par_iter().for_each(|task| {
        let (b0, s) = (group * (task / windows.len()), task % windows.len());
        let images = group.min(g.n - b0);
        let win = windows[s];
        let src = &dy[b0 * g.c_out * g.oh * g.ow..];
        let dyp = win.pad(src, images, spec, plane_rows);
        let (mut local, mut pos) = (Vec::new(), Vec::new());
        for ph in &phases {
            let Some((p0, p1)) = task_spans(ph.bases.len()).nth(s) else {
                continue;
            };
            local.clear();
            pos.clear();
            let strides = (padded_image, g.c_in * hw);
            let span = (&ph.bases[p0..p1], &ph.pos[p0..p1]);
            win.stack(wpad, span, images, strides, (&mut local, &mut pos));
            // SAFETY: the window holds every row of dy this span's taps reach (the padding
            // keeps every q - t and q - u inside), so every base + off lies in its image's
            // part of `dyp`; the packed weights hold every channel tile's k * CO floats;
            // tasks write disjoint pixels (phases and spans partition them) of disjoint
            // images of dx.
            unsafe {
                run_tiles::<T>(
                    dyp.as_ptr(),
                    &local,
                    &ph.off,
                    ph.wp.as_ptr(),
                    Dest {
                        out: dxp.get().add(b0 * g.c_in * hw),
                        stride: hw,
                        channels: g.c_in,
                        pos: &pos,
                    },
                )
            };
        }
        buffers::recycle(dyp);
    });
    if !untouched.is_empty() {
        dx.par_chunks_mut(hw).for_each(|plane| {
            for &p in &untouched {
                plane[p] = 0.0;
            }
        });
    }
}

/// The weight gradient as the same tile with the tables swapped: a tile's rows are `PX` taps
/// `k` (row bases `off[k]`), the reduction runs over every (image, output pixel) through the
/// pixel table, and the packed operand is `dy` transposed to `[co_tile][pixel][CO]`:
/// `dw[co][k] = sum_p dy[co][p] * xp[pix[p] + off[k]]`.
fn backward_weight<T: Tile>(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    assert_eq!(x.len(), g.x_len(), "conv_direct: x length mismatch");
    assert_eq!(dy.len(), g.y_len(), "conv_direct: dy length mismatch");
    assert_eq!(dw.len(), g.w_len(), "conv_direct: dw length mismatch");
    let ((sh, sw), (ph, pw)) = (g.stride, g.padding);
    let (hp, wpad) = (g.h + 2 * ph, g.w + 2 * pw);
    let (plane, img) = (hp * wpad, g.c_in * hp * wpad);
    let k = g.krows();
    let off = tap_offsets(g, plane, wpad);
    let spec = PadSpec::conv_input(g);
    // The reduction of every task runs over the whole batch: one padded copy of it.
    let xp = pad_images(x, g.n, spec, hp);
    let ohw = g.ohw();
    let npix = g.n * ohw;
    let pix: Vec<isize> = (0..npix)
        .map(|j| {
            let (b, p) = (j / ohw, j % ohw);
            (b * img + (p / g.ow) * sh * wpad + (p % g.ow) * sw) as isize
        })
        .collect();
    let co_tiles = g.c_out.div_ceil(T::CO);
    // dy as [co_tile][pixel][CO], zeros past c_out: one task per channel tile and image, its
    // pixels in blocks of 16 so that the block's CO-wide rows stay cached while every
    // channel writes its column (a whole pass over the batch per channel missed on every
    // write, 3.3% of a texture step).
    let mut dyp = buffers::for_overwrite(co_tiles * npix * T::CO);
    dyp.par_chunks_mut(ohw * T::CO)
        .enumerate()
        .for_each(|(j, dst)| {
            let (t, b) = (j / g.n, j % g.n);
            let cos = T::CO.min(g.c_out - t * T::CO);
            for p0 in (0..ohw).step_by(16) {
                let p1 = (p0 + 16).min(ohw);
                let block = &mut dst[p0 * T::CO..p1 * T::CO];
                for c in 0..cos {
                    let src = &dy[(b * g.c_out + t * T::CO + c) * ohw..][p0..p1];
                    for (px, &v) in block.chunks_exact_mut(T::CO).zip(src) {
                        px[c] = v;
                    }
                }
                if cos < T::CO {
                    for px in block.chunks_exact_mut(T::CO) {
                        px[cos..].fill(0.0);
                    }
                }
            }
        });
    let k_tiles = k.div_ceil(T::PX);
    // Enough tasks for every thread, each a run of tap tiles of one channel tile.
    let want = 4 * rayon::current_num_threads();
    let per_task = (k_tiles * co_tiles).div_ceil(want).clamp(1, k_tiles);
    let groups = k_tiles.div_ceil(per_task);
    let dwp = SendPtr(dw.as_mut_ptr());
    (0..co_tiles * groups).into_par_iter().for_each(|task| {
        let (t, grp) = (task / groups, task % groups);
        let tiles = (grp * per_task)..((grp + 1) * per_task).min(k_tiles);
        let mut acc = vec![0f32; tiles.len() * T::PX * T::CO];
        let mut rows = [0isize; 8];
        // The block's packed dy stays in L1 while every tap tile of the task reads it.
        let block = reduction_block(T::CO);
        for j0 in (0..npix).step_by(block) {
            let j1 = (j0 + block).min(npix);
            let packed = dyp[(t * npix + j0) * T::CO..].as_ptr();
            for (i, kt) in tiles.clone().enumerate() {
                let k0 = kt * T::PX;
                for (r, row) in rows[..T::PX].iter_mut().enumerate() {
                    // A short last tile repeats its last tap; the copies are not stored.
                    *row = off[(k0 + r).min(k - 1)];
                }
                // SAFETY: every off[k] + pix[p] lies in the padded images; the packed block
                // holds (j1 - j0) * CO floats; acc holds this tile's PX * CO.
                unsafe {
                    T::tile(
                        xp.as_ptr(),
                        &rows[..T::PX],
                        &pix[j0..j1],
                        packed,
                        acc[i * T::PX * T::CO..].as_mut_ptr(),
                        j0 > 0,
                    )
                };
            }
        }
        let co0 = t * T::CO;
        for (i, kt) in tiles.enumerate() {
            let k0 = kt * T::PX;
            for c in 0..T::CO.min(g.c_out - co0) {
                for r in 0..T::PX.min(k - k0) {
                    // SAFETY: (co0 + c, k0 + r) indexes dw; tasks own disjoint tap runs of
                    // disjoint channel tiles.
                    unsafe {
                        *dwp.get().add((co0 + c) * k + k0 + r) = acc[(i * T::PX + r) * T::CO + c]
                    };
                }
            }
        }
    });
    buffers::recycle(xp);
    buffers::recycle(dyp);
}

/// Whether the direct kernel is the faster weight-gradient path: as for [`suits`] (the tile
/// and its amortisation are the same; measured on the bench's layers, e.g. 64->64 @8x8:
/// AVX2 88-102 vs 42 GFLOP/s, AVX-512 88 vs 69-75).
pub(super) fn suits_backward_weight(g: &Conv2dGeometry) -> bool {
    suits(g) && g.n * g.ohw() >= 64
}
