//! Winograd F(2x2, 2x2) for 4x4, stride-2, padding-1 convolutions, the layer every built-in
//! encoder downsamples with and its decoder mirrors: the forward pass and the data gradient
//! (so also conv_transpose2d and its gradient), which between them are most of a training
//! step and nearly all of the stacked backward behind per-dimension attention maps (D x N
//! cotangent rows through each layer). The weight gradient, on the same input transform, is
//! `conv_winograd_weight`.
//!
//! Both passes are sums of stride-1 correlations with 2x2 kernels:
//!
//! - forward: split the input by pixel parity, `X_ab[c, u, v] = x[c, 2u+a-1, 2v+b-1]`; then
//!   `y[o, i, j] = sum_{a,b,c} sum_{r,s} w[o, c, 2r+a, 2s+b] X_ab[c, i+r, j+s]`, one
//!   correlation over `4 c_in` channels;
//! - data gradient: split the output by parity instead, `dx[c, 2u+a, 2v+b] = sum_o sum_{r,s}
//!   w[o, c, 3-a-2r, 3-b-2s] dy[o, u+a+r-1, v+b+s-1]`, four correlations over `c_out`.
//!
//! Winograd's minimal filtering computes a 2x2 block of a correlation's outputs from a 3x3
//! block of its inputs with 9 products instead of 16:
//!
//! - weights: `U = G g G^T` with `G = [[1, 0], [1, 1], [0, 1]]`;
//! - inputs: `V = B^T d B` with `B^T = [[1, -1, 0], [0, 1, 0], [0, -1, 1]]`;
//! - outputs: `Y = A^T M A` with `A^T = [[1, 1, 0], [0, 1, 1]]`, `M = U . V` summed over the
//!   channels.
//!
//! Every coefficient is 0 or +-1, so the transforms add and subtract without rounding beyond
//! what the sums themselves do (none of the error growth of larger Winograd tiles). For each
//! output phase and each of the 9 transformed positions the channel sum is one GEMM `M
//! [tiles x n] = V [tiles x k] U [k x n]` whose weight operand is transformed and packed once
//! per call for the SIMD GEMM's prepacked path: 1.78x fewer products, and at GEMM speed
//! instead of the direct kernel's. The transforms work on channels-last copies so that they
//! move 8 channels per instruction.

use super::buffers;
use super::gemm::SendPtr;
use super::isa::{self, Isa};
use crate::geometry::Conv2dGeometry;
use rayon::prelude::*;
use std::arch::x86_64::*;

/// Columns per panel of the prepacked GEMM operand.
pub(super) const PANEL: usize = 48;
/// GEMM rows (tiles of a task's images) a task aims for: enough for the register tiles to
/// fill and the packed A block to be reused, few enough to leave every thread several tasks.
const TARGET_ROWS: usize = 144;

/// Whether the Winograd passes run for `g`: 4x4 kernels at stride 2 with padding 1 on even
/// sides (so the input is twice the output), channel counts in whole 8-lane vectors of at
/// least 32, on the AVX2 path, and at least [`MIN_TILES`] tiles in the batch.
///
/// Measured interleaved against the direct kernel (two threads, best of 10-30 calls):
/// - batch 32, data gradient 32 -> 64 @64 23-28 vs 28-30 ms, 64 -> 128 @32 20 vs 24-28, 128 ->
///   256 @16 19-21 vs 28, the maps' 256 rows of 128 -> 256 @16 105-126 vs 168-189; forward 32
///   -> 64 @64 21 vs 22-25, 64 -> 128 @32 17-19 vs 22-24, 128 -> 256 @16 18-20 vs 22-23; weight
///   gradient 32 -> 64 @64 16.5-17.4 vs 19-23, 64 -> 128 @32 19-21 vs 22-23, 128 -> 256 @16
///   13-19 vs 17-20;
/// - batch 64 on 32 channels (the dSprites layers), once the transformed operand was read in
///   place instead of packed: 32 -> 64 @16 forward 2.3-2.6 vs 2.9-3.1 ms, data gradient 2.5-3.3
///   vs 2.7-3.3, weight gradient level; 32 -> 32 @32 level to 10% faster; the dSprites VAE step
///   109-116 vs 113-124 ms (median of 60);
/// - small batches lose: the weights' 9 transformed copies are written per call and a task is
///   whole images, so batch 1 of 128 -> 256 @16 (16 tiles) took 4.9 vs 2.0 ms forward and 2.5
///   vs 1.1 ms for the weight gradient, batch 32 of 64 -> 64 @8 (128 tiles) 15% longer; batch
///   64 there (256 tiles) is level.
///
/// The AVX-512 direct kernel is faster still on the middle layers (64 -> 128 @32: 69-70 vs
/// 81-85 ms at batch 128) and level on the deepest: that path keeps it.
pub(super) fn suits(g: &Conv2dGeometry) -> bool {
    isa::active() == Isa::Avx2
        && (g.kh, g.kw) == (4, 4)
        && g.stride == (2, 2)
        && g.padding == (1, 1)
        && (g.h, g.w) == (2 * g.oh, 2 * g.ow)
        && g.c_in.is_multiple_of(8)
        && g.c_out.is_multiple_of(8)
        && g.c_in.min(g.c_out) >= 32
        && g.n * g.oh.div_ceil(2) * g.ow.div_ceil(2) >= MIN_TILES
}

/// The fewest 2x2 output tiles (over the whole batch) for which the Winograd passes pay.
const MIN_TILES: usize = 256;

/// One pass as sums of 2x2 correlations: what a task reads, writes and multiplies.
#[derive(Clone, Copy)]
pub(super) struct Plan {
    /// Source image `[c, h, w]` (x for the forward pass, dy for the data gradient).
    pub(super) src: (usize, usize, usize),
    /// Destination image `[c, h, w]`.
    dst: (usize, usize, usize),
    /// Tile rows and columns of one output phase (2x2 outputs each); the phase has `valid`
    /// outputs, a ragged last tile computing one row or column more.
    pub(super) th: usize,
    pub(super) tw: usize,
    pub(super) valid: (usize, usize),
    /// Source pixel of tile input `(i, j)` of tile `(tu, tv)`: `(s (2tu + i) + oy, s (2tv + j)
    /// + ox)`, for each read `(oy, ox)` of [`Self::reads`] (their channels stacked along k).
    in_step: usize,
    /// Destination pixel of output `(i, j)`: `(s (2tu + i) + a, s (2tv + j) + b)`.
    out_step: usize,
    /// Output phases `(a, b)`, each its own 9 GEMMs.
    phases: &'static [(usize, usize)],
    /// Whether the reads depend on the output phase (data gradient: offsets `(a - 1, b - 1)`)
    /// or are the four input parities at once (forward).
    reads_per_phase: bool,
}

const ONE_PHASE: [(usize, usize); 1] = [(0, 0)];
const FOUR_PHASES: [(usize, usize); 4] = [(0, 0), (0, 1), (1, 0), (1, 1)];

impl Plan {
    /// The forward pass of `g` (one output phase, the four input parities along k) or its
    /// data gradient (four output phases, each reading `dy` at its own offset).
    pub(super) fn new(g: &Conv2dGeometry, forward: bool) -> Plan {
        let (input, output) = ((g.c_in, g.h, g.w), (g.c_out, g.oh, g.ow));
        let (src, dst) = if forward {
            (input, output)
        } else {
            (output, input)
        };
        Plan {
            src,
            dst,
            th: g.oh.div_ceil(2),
            tw: g.ow.div_ceil(2),
            valid: (g.oh, g.ow),
            in_step: if forward { 2 } else { 1 },
            out_step: if forward { 1 } else { 2 },
            phases: if forward { &ONE_PHASE } else { &FOUR_PHASES },
            reads_per_phase: !forward,
        }
    }
    pub(super) fn tiles(&self) -> usize {
        self.th * self.tw
    }
    /// Source offsets stacked along the GEMM's k for output phase `(a, b)`.
    pub(super) fn reads(&self, (a, b): (usize, usize)) -> Vec<(isize, isize)> {
        let off = |(a, b): (usize, usize)| (a as isize - 1, b as isize - 1);
        if self.reads_per_phase {
            vec![off((a, b))]
        } else {
            FOUR_PHASES.iter().map(|&p| off(p)).collect()
        }
    }
    /// GEMM k (stacked source channels) and n (destination channels).
    pub(super) fn k(&self) -> usize {
        self.src.0 * if self.reads_per_phase { 1 } else { 4 }
    }
    pub(super) fn n(&self) -> usize {
        self.dst.0
    }
    /// Floats of one packed weight matrix.
    fn mat(&self) -> usize {
        self.k() * self.n().next_multiple_of(PANEL)
    }
}

/// `y = conv2d(x, w)` (overwritten) for a geometry that [`suits`].
///
/// # Panics
/// If a slice length does not match the geometry, or the geometry does not suit.
pub(super) fn conv2d_forward(g: &Conv2dGeometry, x: &[f32], w: &[f32], y: &mut [f32]) {
    let ci = g.c_in;
    // k = (input parity, c), n = o: taps w[o, c, 2r + a, 2s + b].
    run_pass(g, Plan::new(g, true), (x, w, y), |_, p, o| {
        let (a, b) = FOUR_PHASES[p / ci];
        let k = &w[(o * ci + p % ci) * 16..][..16];
        [[0, 1], [2, 3]].map(|rs| rs.map(|q| k[(2 * (q / 2) + a) * 4 + 2 * (q % 2) + b]))
    });
}

/// `dx = conv2d_backward_data(dy, w)` (overwritten) for a geometry that [`suits`].
///
/// # Panics
/// If a slice length does not match the geometry, or the geometry does not suit.
pub(super) fn conv2d_backward_data(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let ci = g.c_in;
    // k = o, n = c: the phase's taps w[o, c, 3 - a - 2r, 3 - b - 2s].
    run_pass(g, Plan::new(g, false), (dy, w, dx), |(a, b), o, c| {
        let k = &w[(o * ci + c) * 16..][..16];
        [[0, 1], [2, 3]].map(|rs| rs.map(|q| k[(3 - a - 2 * (q / 2)) * 4 + 3 - b - 2 * (q % 2)]))
    });
}

/// Checks the lengths, packs the weights through `taps` and runs `plan`.
fn run_pass(
    g: &Conv2dGeometry,
    plan: Plan,
    (src, w, dst): (&[f32], &[f32], &mut [f32]),
    taps: impl Fn((usize, usize), usize, usize) -> [[f32; 2]; 2] + Sync,
) {
    assert!(suits(g), "conv_winograd: {g:?} does not suit");
    let numel = |(c, h, w): (usize, usize, usize)| g.n * c * h * w;
    assert_eq!(
        src.len(),
        numel(plan.src),
        "conv_winograd: source length mismatch"
    );
    assert_eq!(w.len(), g.w_len(), "conv_winograd: w length mismatch");
    assert_eq!(
        dst.len(),
        numel(plan.dst),
        "conv_winograd: output length mismatch"
    );
    let packed = pack_weights(&plan, taps);
    run(g.n, &plan, src, &packed, dst);
    buffers::recycle(packed);
}

/// Runs `plan` over `n` images in parallel tasks of whole images.
fn run(n: usize, plan: &Plan, src: &[f32], packed: &[f32], dst: &mut [f32]) {
    let fair = n.div_ceil(2 * rayon::current_num_threads()).max(1);
    let group = TARGET_ROWS.div_ceil(plan.tiles()).clamp(1, fair);
    let (s_img, d_img) = (
        plan.src.0 * plan.src.1 * plan.src.2,
        plan.dst.0 * plan.dst.1 * plan.dst.2,
    );
    let dp = SendPtr(dst.as_mut_ptr());
    (0..n.div_ceil(group)).into_par_iter().for_each(|task| {
        let b0 = task * group;
        let images = group.min(n - b0);
        // SAFETY: tasks write the disjoint images [b0, b0 + images) of dst (length checked).
        let dst_task =
            unsafe { std::slice::from_raw_parts_mut(dp.get().add(b0 * d_img), images * d_img) };
        let src_task = &src[b0 * s_img..(b0 + images) * s_img];
        // SAFETY: AVX2 and FMA are present on the path `suits` admits.
        unsafe { run_task(plan, images, src_task, packed, dst_task) };
    });
}

/// The 9 matrices `U[xi][nu]` of every output phase (`[k x n]`, n padded to whole panels) in
/// the prepacked GEMM's layout, element `(p, j)` at `(j / 48) * k * 48 + p * 48 + j % 48`,
/// from `taps(phase, p, j)`, the 2x2 kernel `g[r][s]` of GEMM entry `(p, j)`.
fn pack_weights(
    plan: &Plan,
    taps: impl Fn((usize, usize), usize, usize) -> [[f32; 2]; 2] + Sync,
) -> Vec<f32> {
    let (k, n, mat) = (plan.k(), plan.n(), plan.mat());
    // Zeroed for the padding columns. Tasks take a phase and a block of k rows and write all
    // 9 matrices of them: one kernel read per entry (reading it once per matrix, 9 times,
    // made the packing a fifth of a 128 -> 256 layer's forward pass at batch 32).
    let mut packed = buffers::zeroed(plan.phases.len() * 9 * mat);
    let pp = SendPtr(packed.as_mut_ptr());
    const ROWS: usize = 16;
    let blocks = k.div_ceil(ROWS);
    (0..plan.phases.len() * blocks)
        .into_par_iter()
        .for_each(|task| {
            let (q, p0) = (task / blocks, task % blocks * ROWS);
            // SAFETY: the task writes rows [p0, p0 + ROWS) of phase q's matrices only.
            let base = unsafe { pp.get().add(q * 9 * mat) };
            for p in p0..(p0 + ROWS).min(k) {
                for j in 0..n {
                    let g = taps(plan.phases[q], p, j);
                    // G g (rows), then (G g) G^T (columns).
                    let rows = [g[0], [g[0][0] + g[1][0], g[0][1] + g[1][1]], g[1]];
                    let at = (j / PANEL) * k * PANEL + p * PANEL + j % PANEL;
                    for (xi, h) in rows.iter().enumerate() {
                        for (nu, u) in [h[0], h[0] + h[1], h[1]].into_iter().enumerate() {
                            // SAFETY: inside matrix xi * 3 + nu of the phase (length above).
                            unsafe { *base.add((xi * 3 + nu) * mat + at) = u };
                        }
                    }
                }
            }
        });
    packed
}

/// One task: `images` whole images of the source to the same images of the destination.
///
/// # Safety
/// AVX2 and FMA present; the slices hold `images` images of their tensors.
#[target_feature(enable = "avx2,fma")]
unsafe fn run_task(plan: &Plan, images: usize, src: &[f32], packed: &[f32], dst: &mut [f32]) {
    let ((sc, sh, sw), (dc, dh, dw)) = (plan.src, plan.dst);
    let (k, n, mat) = (plan.k(), plan.n(), plan.mat());
    let rows = images * plan.tiles();
    // Every buffer below is written whole before it is read, so none is filled first.
    let mut src_cl = buffers::for_overwrite(images * sh * sw * sc);
    transpose_images(src, (sc, sh * sw), &mut src_cl);
    let mut v = buffers::for_overwrite(9 * rows * k);
    let mut m = buffers::for_overwrite(9 * rows * n);
    let mut dst_cl = buffers::for_overwrite(images * dh * dw * dc);
    for (q, &phase) in plan.phases.iter().enumerate() {
        input_transform(
            plan,
            images,
            &src_cl,
            &plan.reads(phase),
            &mut v,
            VLayout::Rows,
        );
        for e in 0..9 {
            // SAFETY: V[e] is rows x k, the packed U[e] holds k x (n padded), and M[e] has
            // room for rows x n. V is read in place: packing it for the GEMM was a pass of its
            // own over every transformed value (4.7% of a texture training step).
            super::gemm_avx2::gemm_prepacked_b_rows_a(
                (rows, n, k),
                (v[e * rows * k..].as_ptr(), k),
                packed[(q * 9 + e) * mat..].as_ptr(),
                (m[e * rows * n..].as_mut_ptr(), n as isize),
                false,
            );
        }
        output_transform(plan, images, &m, phase, &mut dst_cl);
    }
    transpose_images(&dst_cl, (dh * dw, dc), dst);
    for buf in [src_cl, v, m, dst_cl] {
        buffers::recycle(buf);
    }
}

/// [`transpose`] of each `rows x cols` image of `src` into the same image of `dst`: NCHW to
/// channels-last with `(c, h * w)`, and back with `(h * w, c)`.
///
/// # Safety
/// AVX2 present.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn transpose_images(src: &[f32], (rows, cols): (usize, usize), dst: &mut [f32]) {
    for (s, d) in src
        .chunks_exact(rows * cols)
        .zip(dst.chunks_exact_mut(rows * cols))
    {
        transpose(s, rows, cols, d);
    }
}

/// `dst[j * rows + i] = src[i * cols + j]` for a `rows x cols` matrix: 8 x 8 register
/// transposes, the ragged edges one value at a time. (A scalar transpose of the channels-last
/// copies was 29% of a 32 -> 64 channel layer at 64 x 64.)
///
/// # Safety
/// AVX2 present.
#[target_feature(enable = "avx2,fma")]
unsafe fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    assert!(src.len() >= rows * cols && dst.len() >= rows * cols);
    let (sp, dp) = (src.as_ptr(), dst.as_mut_ptr());
    let (r8, c8) = (rows / 8 * 8, cols / 8 * 8);
    for i0 in (0..r8).step_by(8) {
        for j0 in (0..c8).step_by(8) {
            let mut r = [_mm256_setzero_ps(); 8];
            for (k, rk) in r.iter_mut().enumerate() {
                *rk = _mm256_loadu_ps(sp.add((i0 + k) * cols + j0));
            }
            for (k, col) in super::gemm_avx2::transpose8(&r).into_iter().enumerate() {
                _mm256_storeu_ps(dp.add((j0 + k) * rows + i0), col);
            }
        }
        for j in c8..cols {
            for i in i0..i0 + 8 {
                *dp.add(j * rows + i) = *sp.add(i * cols + j);
            }
        }
    }
    for i in r8..rows {
        for j in 0..cols {
            *dp.add(j * rows + i) = *sp.add(i * cols + j);
        }
    }
}

/// How [`input_transform`] lays out each of the 9 transformed matrices `V[e]` (`tiles x k`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum VLayout {
    /// Row-major: a tile's k values contiguous (the A operand of the forward and data-gradient
    /// GEMMs).
    Rows,
    /// The prepacked GEMM operand's 48-wide column panels, k padded to whole panels: entry
    /// `(tile, j)` at `(j / 48) * tiles * 48 + tile * 48 + j % 48` (the B operand of the weight
    /// gradient's GEMMs, which then packs nothing).
    Panels,
}

/// `V[e][tile][(read, c)]`: for each read `(oy, ox)`, each tile's 3x3 block of source pixels
/// (zero outside the image), transformed as `B^T d B`, laid out as `layout` says.
///
/// # Safety
/// AVX2 present; `src_cl` is channels-last `[images][h*w][c]`, `v` holds 9 planes of `images *
/// tiles * k` (k padded to whole panels for [`VLayout::Panels`]).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn input_transform(
    plan: &Plan,
    images: usize,
    src_cl: &[f32],
    reads: &[(isize, isize)],
    v: &mut [f32],
    layout: VLayout,
) {
    let (c, h, w) = plan.src;
    let (k, st) = (plan.k(), plan.in_step as isize);
    let rows = images * plan.tiles();
    let plane = rows
        * match layout {
            VLayout::Rows => k,
            VLayout::Panels => k.next_multiple_of(PANEL),
        };
    // Where value j of a tile's k goes; 8 values from j (a multiple of 8) stay contiguous in
    // both layouts, as 48 is a whole number of vectors.
    let at = |tile: usize, j: usize| match layout {
        VLayout::Rows => tile * k + j,
        VLayout::Panels => (j / PANEL) * rows * PANEL + tile * PANEL + j % PANEL,
    };
    let zero = [0f32; 8];
    let vp = v.as_mut_ptr();
    for img in 0..images {
        let src = src_cl[img * h * w * c..].as_ptr();
        for tu in 0..plan.th {
            for tv in 0..plan.tw {
                let tile = (img * plan.th + tu) * plan.tw + tv;
                for (ri, &(oy, ox)) in reads.iter().enumerate() {
                    // The 9 input pixels' channel rows; a missing pixel reads zeros (its
                    // pointer does not advance with the channel).
                    let mut d = [[(zero.as_ptr(), 0usize); 3]; 3];
                    for (i, row) in d.iter_mut().enumerate() {
                        let y = st * (2 * tu + i) as isize + oy;
                        for (j, px) in row.iter_mut().enumerate() {
                            let x = st * (2 * tv + j) as isize + ox;
                            if y >= 0 && (y as usize) < h && x >= 0 && (x as usize) < w {
                                *px = (src.add((y as usize * w + x as usize) * c), 1);
                            }
                        }
                    }
                    for ch in (0..c).step_by(8) {
                        let out = vp.add(at(tile, ri * c + ch));
                        // B^T along each row (over the columns j), then along the columns.
                        let mut q = [[_mm256_setzero_ps(); 3]; 3];
                        for (qi, row) in q.iter_mut().zip(&d) {
                            let [x0, x1, x2] = row.map(|(p, step)| p.add(ch * step));
                            *qi = bt(
                                _mm256_loadu_ps(x0),
                                _mm256_loadu_ps(x1),
                                _mm256_loadu_ps(x2),
                            );
                        }
                        // Column nu of the three rows (an index across rows, not into one).
                        #[allow(clippy::needless_range_loop)]
                        for nu in 0..3 {
                            let col = bt(q[0][nu], q[1][nu], q[2][nu]);
                            for (xi, val) in col.into_iter().enumerate() {
                                _mm256_storeu_ps(out.add((xi * 3 + nu) * plane), val);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `B^T x` for a column of three vectors.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn bt(x0: __m256, x1: __m256, x2: __m256) -> [__m256; 3] {
    [_mm256_sub_ps(x0, x1), x1, _mm256_sub_ps(x2, x1)]
}

/// `A^T x` for a column of three vectors.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn at(x0: __m256, x1: __m256, x2: __m256) -> [__m256; 2] {
    [_mm256_add_ps(x0, x1), _mm256_add_ps(x1, x2)]
}

/// Stores each tile's `A^T M A` (2x2 outputs) of output phase `(a, b)` in channels-last
/// `dst_cl`: output `(i, j)` of tile `(tu, tv)` is pixel `(s (2tu + i) + a, s (2tv + j) + b)`,
/// when it is one of the phase's valid outputs.
///
/// # Safety
/// AVX2 present; `m` holds 9 planes of `images * tiles * n`, `dst_cl` is `[images][h*w][n]`.
#[target_feature(enable = "avx2,fma")]
unsafe fn output_transform(
    plan: &Plan,
    images: usize,
    m: &[f32],
    (a, b): (usize, usize),
    dst_cl: &mut [f32],
) {
    let (n, h, w) = plan.dst;
    let (s, (vh, vw)) = (plan.out_step, plan.valid);
    let plane = images * plan.tiles() * n;
    let dp = dst_cl.as_mut_ptr();
    for img in 0..images {
        let dst = dp.add(img * h * w * n);
        for tu in 0..plan.th {
            for tv in 0..plan.tw {
                let src = m[((img * plan.th + tu) * plan.tw + tv) * n..].as_ptr();
                for c in (0..n).step_by(8) {
                    // A^T along each row xi (over nu), then across the rows.
                    let mut r = [[_mm256_setzero_ps(); 2]; 3];
                    for (xi, ri) in r.iter_mut().enumerate() {
                        let e = src.add(xi * 3 * plane + c);
                        *ri = at(
                            _mm256_loadu_ps(e),
                            _mm256_loadu_ps(e.add(plane)),
                            _mm256_loadu_ps(e.add(2 * plane)),
                        );
                    }
                    #[allow(clippy::needless_range_loop)]
                    for j in 0..2 {
                        let col = at(r[0][j], r[1][j], r[2][j]);
                        for (i, val) in col.into_iter().enumerate() {
                            let (u, vv) = (2 * tu + i, 2 * tv + j);
                            if u < vh && vv < vw {
                                let px = (s * u + a) * w + s * vv + b;
                                _mm256_storeu_ps(dst.add(px * n + c), val);
                            }
                        }
                    }
                }
            }
        }
    }
}
