//! The weight gradient of 4x4, stride-2, padding-1 convolutions by Winograd F(2x2, 2x2) or
//! F(4x4, 2x2) ([`weight_tile_side`]), the third pass beside `conv_winograd`'s forward and data
//! gradient. (Below, for F(2x2): F(4x4) has 4x4 tiles of `dy`, 5x5 input blocks and 25
//! matrices.)
//!
//! With the input split by parity as in the forward pass, `dw[o, c, 2r+a, 2s+b] = sum_{n,i,j}
//! dy[o, i, j] X_ab[c, i+r, j+s]`: for each 2x2 tile F of `dy` (as the filter) and the tile's
//! 3x3 block D of `X_ab` this is a 2x2 correlation, so the tile contributes `G^T [(A F A^T) .
//! (B^T D B)] G`, the gradient of the forward pass's `A^T [(G g G^T) . (B^T D B)] A`. The sum over tiles and images stays in the transformed domain, where it is 9
//! GEMMs `M[e] [c_out x 4 c_in] += Udy[e] [c_out x tiles] V[e] [tiles x 4 c_in]` with `V`
//! exactly the forward pass's input transform; one output transform per weight at the end.
//!
//! Neither operand is packed: the input transform writes `V` straight into the prepacked GEMM
//! operand's panels, and `Udy`'s rows (one output channel's tiles) are what the register tile
//! reads in place. Each task sums its own images into its own `M`; the output transform adds
//! the tasks' sums as it reads them.

use super::buffers;
use super::conv_winograd::{input_transform, suits, transpose_images, Plan, VLayout, PANEL};
use super::conv_winograd_tile::{Tile, F2, F4};
use crate::geometry::Conv2dGeometry;
use rayon::prelude::*;
use std::arch::x86_64::*;

/// Tiles (the GEMMs' k) a chunk of a task's images aims for: enough that each GEMM's sum is
/// long against the cost of reading and writing its `M`, few enough that the chunk's
/// transformed input stays near L2 on the middle layers (1.2 MiB at 32 -> 64 @64).
const TARGET_TILES: usize = 256;
/// Floats of transformed input an F(4x4) chunk aims for (1.5 MiB).
const TARGET_V: usize = 384 << 10;

/// Outputs per tile side of the weight gradient of `g`: F(4x4, 2x2) on planes of at least 32
/// x 32 outputs, F(2x2, 2x2) below, where the sums over tiles grow too short against the 25
/// matrices `M` of F(4x4).
///
/// Measured against F(2x2) at batch 32 (best of 20, two threads): 32 -> 64 @64 13.0-14.3 vs
/// 15.9-17.2 ms; 64 -> 128 @32 18.2-19.9 vs 14.7-17.4 and 128 -> 256 @16 23-25 vs 18.5-18.9,
/// which stay on F(2x2).
fn weight_tile_side(g: &Conv2dGeometry) -> usize {
    if g.oh.min(g.ow) >= 32 {
        4
    } else {
        2
    }
}

/// `dw = conv2d_backward_weight(x, dy)` (overwritten) for a geometry that
/// [`conv_winograd::suits`](super::conv_winograd::suits).
///
/// # Panics
/// If a slice length does not match the geometry, or the geometry does not suit.
pub(super) fn conv2d_backward_weight(g: &Conv2dGeometry, x: &[f32], dy: &[f32], dw: &mut [f32]) {
    assert!(suits(g), "conv_winograd_weight: {g:?} does not suit");
    assert_eq!(
        x.len(),
        g.x_len(),
        "conv_winograd_weight: x length mismatch"
    );
    assert_eq!(
        dy.len(),
        g.y_len(),
        "conv_winograd_weight: dy length mismatch"
    );
    assert_eq!(
        dw.len(),
        g.w_len(),
        "conv_winograd_weight: dw length mismatch"
    );
    let plan = Plan::new(g, true, weight_tile_side(g));
    // The one place the tile is chosen: below, it is a type.
    match plan.m {
        2 => backward_weight::<2, 3, F2>(g, &plan, (x, dy), dw),
        _ => backward_weight::<4, 5, F4>(g, &plan, (x, dy), dw),
    }
}

/// [`conv2d_backward_weight`] on tile `T`.
fn backward_weight<const M: usize, const A: usize, T: Tile<M, A>>(
    g: &Conv2dGeometry,
    plan: &Plan,
    (x, dy): (&[f32], &[f32]),
    dw: &mut [f32],
) {
    debug_assert_eq!(plan.m, M);
    let (ci, co, k4) = (g.c_in, g.c_out, plan.k());
    let (x_img, dy_img) = (ci * g.h * g.w, co * g.oh * g.ow);
    // Two tasks per thread, so that a thread held up elsewhere does not leave the other idle
    // for half the pass; each task's M is one more sum at the end.
    let per = g.n.div_ceil(2 * rayon::current_num_threads()).max(1);
    let target = match M {
        2 => TARGET_TILES,
        // 25 transformed matrices a tile: fewer tiles, so that the chunk's V stays near L2
        // (at 256 tiles the F(4x4) input transform took 2.5x as long as F(2x2)'s).
        _ => (TARGET_V / (plan.points() * k4.next_multiple_of(PANEL))).clamp(64, TARGET_TILES),
    };
    let chunk = target.div_ceil(plan.tiles()).clamp(1, per);
    let mlen = plan.points() * co * k4;
    let sums: Vec<Vec<f32>> = (0..g.n.div_ceil(per))
        .into_par_iter()
        .map(|task| {
            let (b0, b1) = (task * per, ((task + 1) * per).min(g.n));
            let mut m = buffers::for_overwrite(mlen);
            for c0 in (b0..b1).step_by(chunk) {
                let images = chunk.min(b1 - c0);
                // SAFETY: AVX2 and FMA are present on the path `suits` admits; the slices
                // hold `images` whole images.
                unsafe {
                    add_chunk::<M, A, T>(
                        plan,
                        images,
                        (
                            &x[c0 * x_img..(c0 + images) * x_img],
                            &dy[c0 * dy_img..(c0 + images) * dy_img],
                        ),
                        &mut m,
                        c0 > b0,
                    )
                };
            }
            m
        })
        .collect();
    let parts: Vec<&[f32]> = sums.iter().map(|m| &m[..]).collect();
    output_transform::<M, A, T>(&parts, co, ci, dw);
    for m in sums {
        buffers::recycle(m);
    }
}

/// `M[e] (+)= Udy[e] V[e]` over one chunk of `images` images: their transforms, then the
/// `A^2` GEMMs (overwriting `m` unless `accumulate`).
///
/// # Safety
/// AVX2 and FMA present; `x` and `dy` hold `images` images, `m` `A^2` matrices `c_out x 4
/// c_in`.
#[target_feature(enable = "avx2,fma")]
unsafe fn add_chunk<const M: usize, const A: usize, T: Tile<M, A>>(
    plan: &Plan,
    images: usize,
    (x, dy): (&[f32], &[f32]),
    m: &mut [f32],
    accumulate: bool,
) {
    let (ci, h, w) = plan.src;
    let (k4, rows) = (plan.k(), images * plan.tiles());
    let co = plan.n();
    let npad = k4.next_multiple_of(PANEL);
    let mut x_cl = buffers::for_overwrite(x.len());
    transpose_images(x, (ci, h * w), &mut x_cl);
    // Every entry the GEMMs read is written below: the panels' padding columns past 4 c_in are
    // never read, as 4 c_in is a whole number of the 16-wide register tile's columns.
    let points = plan.points();
    let mut v = buffers::for_overwrite(points * rows * npad);
    input_transform::<M, A, T>(
        plan,
        (images, &x_cl, &plan.reads((0, 0))),
        &mut v,
        VLayout::Panels,
    );
    buffers::recycle(x_cl);
    let mut u = buffers::for_overwrite(points * co * rows);
    dy_transform::<M, A, T>(plan, images, dy, co, &mut u);
    for e in 0..points {
        // SAFETY: Udy[e] is co rows of `rows` tiles, V[e] rows x 4 c_in in panels, M[e]
        // co x 4 c_in.
        super::gemm_avx2::gemm_prepacked_b_rows_a(
            (co, k4, rows),
            (u[e * co * rows..].as_ptr(), rows),
            v[e * rows * npad..].as_ptr(),
            (m[e * co * k4..].as_mut_ptr(), k4 as isize),
            accumulate,
        );
    }
    buffers::recycle(v);
    buffers::recycle(u);
}

/// `Udy[e][o][tile]` (`A^2` planes of `co` rows of `images * tiles`): `A F A^T` of each `m x
/// m` tile F of channel o of `dy` (zero past the edge of a ragged last tile row or column),
/// the gradient of the output transform `A^T (.) A`.
///
/// # Safety
/// AVX2 and FMA present; `dy` holds `images` images of `co` channels, `u` `A^2` planes of `co *
/// images * tiles`.
#[target_feature(enable = "avx2,fma")]
unsafe fn dy_transform<const M: usize, const A: usize, T: Tile<M, A>>(
    plan: &Plan,
    images: usize,
    dy: &[f32],
    co: usize,
    u: &mut [f32],
) {
    let (oh, ow) = plan.valid;
    let rows = images * plan.tiles();
    let plane = co * rows;
    let up = u.as_mut_ptr();
    // Runs of 8 tiles whose pixels all lie inside the row go 8 at a time, a tile a lane.
    let full = ow / (8 * M);
    // Rows past the plane read a zero row.
    let zero = vec![0f32; ow];
    for img in 0..images {
        for o in 0..co {
            let chan = &dy[(img * co + o) * oh * ow..][..oh * ow];
            for tu in 0..plan.th {
                let col = o * rows + (img * plan.th + tu) * plan.tw;
                // The tile row's M image rows (zeros past the plane).
                let mut src = [zero.as_ptr(); M];
                for (i, si) in src.iter_mut().enumerate() {
                    if M * tu + i < oh {
                        *si = chan[(M * tu + i) * ow..].as_ptr();
                    }
                }
                for run in 0..full {
                    let x0 = 8 * M * run;
                    // cols[j]: A times column j of the 8 tiles F (lane l: tile 8 run + l).
                    let mut f = [[_mm256_setzero_ps(); M]; M];
                    for (fi, &si) in f.iter_mut().zip(&src) {
                        let mut v = [_mm256_setzero_ps(); M];
                        for (q, vq) in v.iter_mut().enumerate() {
                            *vq = _mm256_loadu_ps(si.add(x0 + 8 * q));
                        }
                        *fi = T::tile_columns(v);
                    }
                    let mut cols = [[_mm256_setzero_ps(); A]; M];
                    for (j, cj) in cols.iter_mut().enumerate() {
                        let mut c = [_mm256_setzero_ps(); M];
                        for (ci, fi) in c.iter_mut().zip(&f) {
                            *ci = fi[j];
                        }
                        *cj = T::a(c);
                    }
                    for p in 0..A {
                        let mut r = [_mm256_setzero_ps(); M];
                        for (rj, cj) in r.iter_mut().zip(&cols) {
                            *rj = cj[p];
                        }
                        for (q, val) in T::a(r).into_iter().enumerate() {
                            _mm256_storeu_ps(up.add((p * A + q) * plane + col + 8 * run), val);
                        }
                    }
                }
                for tv in 8 * full..plan.tw {
                    // (Plain loops: a closure does not take the AVX2 target, so the
                    // transforms would be calls.)
                    let mut cols = [[0f32; A]; M];
                    for (j, cj) in cols.iter_mut().enumerate() {
                        // Column j of the tile F (zero past the plane), then A F's column.
                        let mut f = [0f32; M];
                        let x = M * tv + j;
                        for (i, fi) in f.iter_mut().enumerate() {
                            let y = M * tu + i;
                            if y < oh && x < ow {
                                *fi = chan[y * ow + x];
                            }
                        }
                        *cj = T::a(f);
                    }
                    // (A F) A^T, row by row.
                    for p in 0..A {
                        let mut r = [0f32; M];
                        for (rj, cj) in r.iter_mut().zip(&cols) {
                            *rj = cj[p];
                        }
                        for (q, val) in T::a(r).into_iter().enumerate() {
                            *up.add((p * A + q) * plane + col + tv) = val;
                        }
                    }
                }
            }
        }
    }
}

/// `dw[o, c, 2r + a, 2s + b] = (G^T M[.][o][(a, b), c] G)[r][s]` with M the sum of the
/// tasks' `parts`, each `A^2` planes `co x 4 ci` with the input parities `(a, b)` stacked
/// along the columns in the forward pass's order: the gradient of the kernel transform
/// `G (.) G^T`. (Summing the parts here reads each once; adding them into one first was a
/// tenth of a 128 -> 256 layer's gradient.)
fn output_transform<const M: usize, const A: usize, T: Tile<M, A>>(
    parts: &[&[f32]],
    co: usize,
    ci: usize,
    dw: &mut [f32],
) {
    let (k4, plane) = (4 * ci, co * 4 * ci);
    dw.par_chunks_mut(ci * 16).enumerate().for_each_init(
        || vec![0f32; A * A * k4],
        |rows, (o, dwo)| {
            // Output channel o's rows of M, summed over the parts.
            rows.fill(0.0);
            for part in parts {
                for (e, row) in rows.chunks_exact_mut(k4).enumerate() {
                    for (r, v) in row.iter_mut().zip(&part[e * plane + o * k4..][..k4]) {
                        *r += v;
                    }
                }
            }
            // SAFETY: AVX2 and FMA are present on the path `suits` admits.
            unsafe { weight_taps::<M, A, T>(rows, ci, dwo) };
        },
    );
}

/// Output channel `o`'s taps `dwo[c, 2r + a, 2s + b]` from its rows of the summed M.
///
/// # Safety
/// AVX2 and FMA present.
#[target_feature(enable = "avx2,fma")]
unsafe fn weight_taps<const M: usize, const A: usize, T: Tile<M, A>>(
    rows: &[f32],
    ci: usize,
    dwo: &mut [f32],
) {
    let k4 = 4 * ci;
    for p in 0..4 {
        let (a, b) = (p / 2, p % 2);
        for c in 0..ci {
            let e = |xi: usize, nu: usize| rows[(xi * A + nu) * k4 + p * ci + c];
            // G^T along each row (over nu), then across the rows.
            let mut h = [[0f32; 2]; A];
            for (xi, hx) in h.iter_mut().enumerate() {
                let mut row = [0f32; A];
                for (nu, x) in row.iter_mut().enumerate() {
                    *x = e(xi, nu);
                }
                *hx = T::gt(row);
            }
            for s in 0..2 {
                let mut col = [0f32; A];
                for (x, hx) in col.iter_mut().zip(&h) {
                    *x = hx[s];
                }
                let col = T::gt(col);
                for (rr, val) in col.into_iter().enumerate() {
                    dwo[c * 16 + (2 * rr + a) * 4 + 2 * s + b] = val;
                }
            }
        }
    }
}
