//! The weight gradient of 4x4, stride-2, padding-1 convolutions by Winograd F(2x2, 2x2), the
//! third pass beside `conv_winograd`'s forward and data gradient.
//!
//! With the input split by parity as in the forward pass, `dw[o, c, 2r+a, 2s+b] = sum_{n,i,j}
//! dy[o, i, j] X_ab[c, i+r, j+s]`: for each 2x2 tile F of `dy` (as the filter) and the tile's
//! 3x3 block D of `X_ab` this is a 2x2 correlation, so the tile contributes `A^T [(G F G^T) .
//! (B^T D B)] A`. The sum over tiles and images stays in the transformed domain, where it is 9
//! GEMMs `M[e] [c_out x 4 c_in] += Udy[e] [c_out x tiles] V[e] [tiles x 4 c_in]` with `V`
//! exactly the forward pass's input transform; one output transform per weight at the end.
//!
//! Neither operand is packed: the input transform writes `V` straight into the prepacked GEMM
//! operand's panels, and `Udy`'s rows (one output channel's tiles) are what the register tile
//! reads in place. Each task sums its own images into its own `M`; the output transform adds
//! the tasks' sums as it reads them.

use super::buffers;
use super::conv_winograd::{input_transform, suits, transpose_images, Plan, VLayout, PANEL};
use crate::geometry::Conv2dGeometry;
use rayon::prelude::*;

/// Tiles (the GEMMs' k) a chunk of a task's images aims for: enough that each GEMM's sum is
/// long against the cost of reading and writing its `M`, few enough that the chunk's
/// transformed input stays near L2 on the middle layers (1.2 MiB at 32 -> 64 @64).
const TARGET_TILES: usize = 256;

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
    let plan = Plan::new(g, true);
    let (ci, co, k4) = (g.c_in, g.c_out, plan.k());
    let (x_img, dy_img) = (ci * g.h * g.w, co * g.oh * g.ow);
    // Two tasks per thread, so that a thread held up elsewhere does not leave the other idle
    // for half the pass; each task's M is one more sum at the end.
    let per = g.n.div_ceil(2 * rayon::current_num_threads()).max(1);
    let chunk = TARGET_TILES.div_ceil(plan.tiles()).clamp(1, per);
    let mlen = 9 * co * k4;
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
                    add_chunk(
                        &plan,
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
    output_transform(&parts, co, ci, dw);
    for m in sums {
        buffers::recycle(m);
    }
}

/// `M[e] (+)= Udy[e] V[e]` over one chunk of `images` images: their transforms, then the 9
/// GEMMs (overwriting `m` unless `accumulate`).
///
/// # Safety
/// AVX2 and FMA present; `x` and `dy` hold `images` images, `m` 9 matrices `c_out x 4 c_in`.
#[target_feature(enable = "avx2,fma")]
unsafe fn add_chunk(
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
    let mut v = buffers::for_overwrite(9 * rows * npad);
    input_transform(
        plan,
        images,
        &x_cl,
        &plan.reads((0, 0)),
        &mut v,
        VLayout::Panels,
    );
    buffers::recycle(x_cl);
    let mut u = buffers::for_overwrite(9 * co * rows);
    dy_transform(plan, images, dy, co, &mut u);
    for e in 0..9 {
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

/// `Udy[e][o][tile]` (9 planes of `co` rows of `images * tiles`): `G F G^T` of each 2x2 tile F
/// of channel o of `dy` (zero past the edge of a ragged last tile row or column).
///
/// # Safety
/// AVX2 present; `dy` holds `images` images of `co` channels, `u` 9 planes of `co * images *
/// tiles`.
#[target_feature(enable = "avx2,fma")]
unsafe fn dy_transform(plan: &Plan, images: usize, dy: &[f32], co: usize, u: &mut [f32]) {
    let (oh, ow) = plan.valid;
    let rows = images * plan.tiles();
    let plane = co * rows;
    // Tiles whose four pixels all exist run as plain loops over a row of tiles, which the
    // compiler vectorises; the ragged last column reads its missing pixel as zero.
    let full_tw = ow / 2;
    let zeros = vec![0f32; ow];
    let up = u.as_mut_ptr();
    for img in 0..images {
        for o in 0..co {
            let chan = &dy[(img * co + o) * oh * ow..][..oh * ow];
            for tu in 0..plan.th {
                let y = 2 * tu;
                let r0 = &chan[y * ow..][..ow];
                let r1 = if y + 1 < oh {
                    &chan[(y + 1) * ow..][..ow]
                } else {
                    &zeros[..]
                };
                let col = o * rows + (img * plan.th + tu) * plan.tw;
                let out: [*mut f32; 9] = std::array::from_fn(|e| up.add(e * plane + col));
                for tv in 0..plan.tw {
                    let (x0, x1) = (2 * tv, (2 * tv + 1).min(ow - 1));
                    let keep = if tv < full_tw { 1.0 } else { 0.0 };
                    let f = [[r0[x0], r0[x1] * keep], [r1[x0], r1[x1] * keep]];
                    // G F (rows), then (G F) G^T (columns).
                    let hf = [f[0], [f[0][0] + f[1][0], f[0][1] + f[1][1]], f[1]];
                    for (xi, hr) in hf.iter().enumerate() {
                        *out[xi * 3].add(tv) = hr[0];
                        *out[xi * 3 + 1].add(tv) = hr[0] + hr[1];
                        *out[xi * 3 + 2].add(tv) = hr[1];
                    }
                }
            }
        }
    }
}

/// `dw[o, c, 2r + a, 2s + b] = (A^T M[.][o][(a, b), c] A)[r][s]` with M the sum of the
/// tasks' `parts`, each 9 planes `co x 4 ci` with the input parities `(a, b)` stacked along
/// the columns in the forward pass's order. (Summing the parts here reads each once; adding
/// them into one first was a tenth of a 128 -> 256 layer's gradient.)
fn output_transform(parts: &[&[f32]], co: usize, ci: usize, dw: &mut [f32]) {
    let (k4, plane) = (4 * ci, co * 4 * ci);
    dw.par_chunks_mut(ci * 16).enumerate().for_each_init(
        || vec![0f32; 9 * k4],
        |rows, (o, dwo)| {
            // Output channel o's 9 rows of M, summed over the parts.
            rows.fill(0.0);
            for part in parts {
                for (e, row) in rows.chunks_exact_mut(k4).enumerate() {
                    for (r, v) in row.iter_mut().zip(&part[e * plane + o * k4..][..k4]) {
                        *r += v;
                    }
                }
            }
            for p in 0..4 {
                let (a, b) = (p / 2, p % 2);
                for c in 0..ci {
                    let e = |xi: usize, nu: usize| rows[(xi * 3 + nu) * k4 + p * ci + c];
                    // A^T along each row (over nu), then across the rows.
                    let r: [[f32; 2]; 3] =
                        std::array::from_fn(|xi| [e(xi, 0) + e(xi, 1), e(xi, 1) + e(xi, 2)]);
                    for s in 0..2 {
                        let col = [r[0][s] + r[1][s], r[1][s] + r[2][s]];
                        for (rr, val) in col.into_iter().enumerate() {
                            dwo[c * 16 + (2 * rr + a) * 4 + 2 * s + b] = val;
                        }
                    }
                }
            }
        },
    );
}
