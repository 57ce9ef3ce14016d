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
//! Winograd's minimal filtering computes an m x m block of a correlation's outputs from an
//! (m + 1)^2 block of its inputs with `(m + 1)^2` products instead of `4 m^2`: `U = G g G^T`
//! of the weights, `V = B^T d B` of the inputs, `Y = A^T M A` of `M = U . V` summed over the
//! channels (the tiles and their matrices are in `conv_winograd_tile`). F(2x2, 2x2) takes 9
//! products for 16, with every coefficient 0 or +-1; F(4x4, 2x2) 25 for 64, on planes of 16
//! outputs or more ([`tile_side`]). For each output phase and each transformed position the
//! channel sum is one GEMM `M [tiles x n] = V [tiles x k] U [k x n]` whose weight operand is
//! transformed and packed once per call for the SIMD GEMM's prepacked path: 1.78x (2.56x)
//! fewer products, and at GEMM speed instead of the direct kernel's. The transforms work on
//! channels-last copies so that they move 8 channels per instruction.

use super::buffers;
use super::conv_winograd_tile::{Tile, F2, F4};
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
/// - small batches lose: the weights' transformed copies are written per call and a task is
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
    /// Outputs along each side of a tile: F(2x2, 2x2) or F(4x4, 2x2).
    pub(super) m: usize,
    /// Tile rows and columns of one output phase (m x m outputs each); the phase has `valid`
    /// outputs, a ragged last tile computing the rows or columns past them too.
    pub(super) th: usize,
    pub(super) tw: usize,
    pub(super) valid: (usize, usize),
    /// Source pixel of tile input `(i, j)` of tile `(tu, tv)`: `(s (m tu + i) + oy, s (m tv +
    /// j) + ox)`, for each read `(oy, ox)` of [`Self::reads`] (their channels stacked along k).
    in_step: usize,
    /// Destination pixel of output `(i, j)`: `(s (m tu + i) + a, s (m tv + j) + b)`.
    out_step: usize,
    /// Output phases `(a, b)`, each its own `(m + 1)^2` GEMMs.
    phases: &'static [(usize, usize)],
    /// Whether the reads depend on the output phase (data gradient: offsets `(a - 1, b - 1)`)
    /// or are the four input parities at once (forward).
    reads_per_phase: bool,
}

const ONE_PHASE: [(usize, usize); 1] = [(0, 0)];
const FOUR_PHASES: [(usize, usize); 4] = [(0, 0), (0, 1), (1, 0), (1, 1)];

impl Plan {
    /// The forward pass of `g` (one output phase, the four input parities along k) or its
    /// data gradient (four output phases, each reading `dy` at its own offset), on tiles of
    /// `m x m` outputs (2 or 4).
    pub(super) fn new(g: &Conv2dGeometry, forward: bool, m: usize) -> Plan {
        assert!(m == 2 || m == 4, "conv_winograd: no F({m}x{m}, 2x2) tile");
        let (input, output) = ((g.c_in, g.h, g.w), (g.c_out, g.oh, g.ow));
        let (src, dst) = if forward {
            (input, output)
        } else {
            (output, input)
        };
        Plan {
            src,
            dst,
            m,
            th: g.oh.div_ceil(m),
            tw: g.ow.div_ceil(m),
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
    /// Transformed points of a tile: `(m + 1)^2`, one GEMM each.
    pub(super) fn points(&self) -> usize {
        (self.m + 1) * (self.m + 1)
    }
}

/// Outputs per tile side of the forward pass and the data gradient of `g`: F(4x4, 2x2) on
/// planes of at least 16 x 16 outputs, F(2x2, 2x2) below.
///
/// Measured against F(2x2) at batch 32 (CPU time of two threads, best of 20): forward 32 ->
/// 64 @64 13.8-14.3 vs 15.8 ms, data gradient 64 -> 128 @32 16.0-16.9 vs 18.1-18.2; on 8 x 8
/// planes (128 -> 256 @16) F(4x4) is 10-20% slower, as a plane is then only four tiles
/// against 25 transformed weight matrices. The weight gradient stays on F(2x2): its sums
/// over tiles are 4x shorter on F(4x4).
pub(super) fn tile_side(g: &Conv2dGeometry) -> usize {
    if g.oh.min(g.ow) >= 16 {
        4
    } else {
        2
    }
}

/// `y = conv2d(x, w)` (overwritten) for a geometry that [`suits`].
///
/// # Panics
/// If a slice length does not match the geometry, or the geometry does not suit.
pub(super) fn conv2d_forward(g: &Conv2dGeometry, x: &[f32], w: &[f32], y: &mut [f32]) {
    let ci = g.c_in;
    // k = (input parity, c), n = o: taps w[o, c, 2r + a, 2s + b].
    run_pass(g, Plan::new(g, true, tile_side(g)), (x, w, y), |_, p, o| {
        let (a, b) = FOUR_PHASES[p / ci];
        let k = &w[(o * ci + p % ci) * 16..][..16];
        let at = |r: usize, s: usize| k[(2 * r + a) * 4 + 2 * s + b];
        [[at(0, 0), at(0, 1)], [at(1, 0), at(1, 1)]]
    });
}

/// `dx = conv2d_backward_data(dy, w)` (overwritten) for a geometry that [`suits`].
///
/// # Panics
/// If a slice length does not match the geometry, or the geometry does not suit.
pub(super) fn conv2d_backward_data(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    let ci = g.c_in;
    // k = o, n = c: the phase's taps w[o, c, 3 - a - 2r, 3 - b - 2s].
    run_pass(
        g,
        Plan::new(g, false, tile_side(g)),
        (dy, w, dx),
        |(a, b), o, c| {
            let k = &w[(o * ci + c) * 16..][..16];
            let at = |r: usize, s: usize| k[(3 - a - 2 * r) * 4 + 3 - b - 2 * s];
            [[at(0, 0), at(0, 1)], [at(1, 0), at(1, 1)]]
        },
    );
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
    // The one place the tile is chosen: below, it is a type.
    match plan.m {
        2 => run::<2, 3, F2>(g.n, &plan, src, taps, dst),
        _ => run::<4, 5, F4>(g.n, &plan, src, taps, dst),
    }
}

/// Packs the weights through `taps` and runs `plan` on tile `T` over `n` images in parallel
/// tasks of whole images.
fn run<const M: usize, const A: usize, T: Tile<M, A>>(
    n: usize,
    plan: &Plan,
    src: &[f32],
    taps: impl Fn((usize, usize), usize, usize) -> [[f32; 2]; 2] + Sync,
    dst: &mut [f32],
) {
    debug_assert_eq!(plan.m, M);
    let packed = pack_weights::<M, A, T>(plan, taps);
    let fair = n.div_ceil(2 * rayon::current_num_threads()).max(1);
    // The task's transformed input is `points * rows * k` floats: it is written once and read
    // by the GEMMs, so it should stay near L2.
    let target_rows = (TARGET_V / (plan.points() * plan.k())).clamp(48, TARGET_ROWS);
    let group = target_rows.div_ceil(plan.tiles()).clamp(1, fair);
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
        unsafe { run_task::<M, A, T>(plan, images, src_task, &packed, dst_task) };
    });
    buffers::recycle(packed);
}

/// Floats of transformed input a task aims for (1.5 MiB).
const TARGET_V: usize = 384 << 10;

/// The `A^2` matrices `U[xi][nu]` of every output phase (`[k x n]`, n padded to whole panels)
/// in the prepacked GEMM's layout, element `(p, j)` at `(j / 48) * k * 48 + p * 48 + j % 48`,
/// from `taps(phase, p, j)`, the 2x2 kernel `g[r][s]` of GEMM entry `(p, j)`.
fn pack_weights<const M: usize, const A: usize, T: Tile<M, A>>(
    plan: &Plan,
    taps: impl Fn((usize, usize), usize, usize) -> [[f32; 2]; 2] + Sync,
) -> Vec<f32> {
    let (k, mat) = (plan.k(), plan.mat());
    let points = A * A;
    // Zeroed for the padding columns. Tasks take a phase and a block of k rows and write all
    // matrices of them: one kernel read per entry (reading it once per matrix made the
    // packing a fifth of a 128 -> 256 layer's forward pass at batch 32).
    let mut packed = buffers::zeroed(plan.phases.len() * points * mat);
    let pp = SendPtr(packed.as_mut_ptr());
    const ROWS: usize = 16;
    let blocks = k.div_ceil(ROWS);
    (0..plan.phases.len() * blocks)
        .into_par_iter()
        .for_each(|task| {
            let (q, p0) = (task / blocks, task % blocks * ROWS);
            // SAFETY: the task writes rows [p0, p0 + ROWS) of phase q's matrices only.
            let base = unsafe { pp.get().add(q * points * mat) };
            // SAFETY: AVX2 and FMA are present on the path `suits` admits.
            unsafe { pack_rows::<M, A, T>(plan, q, p0..(p0 + ROWS).min(k), &taps, base) };
        });
    packed
}

/// Rows `ps` of phase `q`'s matrices, from `base` (the phase's first matrix): 8 columns at a
/// time, so that each of the matrices takes one vector store (a value at a time, the
/// packing was a tenth of a 64 -> 128 layer's forward pass on F(4x4)).
///
/// # Safety
/// AVX2 and FMA present; `base` is the phase's share of [`pack_weights`]'s output; n is a
/// whole number of vectors.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_rows<const M: usize, const A: usize, T: Tile<M, A>>(
    plan: &Plan,
    q: usize,
    ps: std::ops::Range<usize>,
    taps: &impl Fn((usize, usize), usize, usize) -> [[f32; 2]; 2],
    base: *mut f32,
) {
    let (k, mat) = (plan.k(), plan.mat());
    for p in ps {
        for j0 in (0..plan.n()).step_by(8) {
            // Tap (r, s) of the 8 columns' kernels, lane by lane.
            let mut g = [[0f32; 8]; 4];
            for l in 0..8 {
                let t = taps(plan.phases[q], p, j0 + l);
                for (tap, gt) in g.iter_mut().enumerate() {
                    gt[l] = t[tap / 2][tap % 2];
                }
            }
            let [g00, g01, g10, g11] = [0, 1, 2, 3].map(|tap| g[tap].as_ptr());
            let (g00, g01) = (_mm256_loadu_ps(g00), _mm256_loadu_ps(g01));
            let (g10, g11) = (_mm256_loadu_ps(g10), _mm256_loadu_ps(g11));
            // G along the columns of g, then along the rows of G g.
            let [c0, c1] = [T::g([g00, g10]), T::g([g01, g11])];
            let at = base.add((j0 / PANEL) * k * PANEL + p * PANEL + j0 % PANEL);
            for (x, (&h0, &h1)) in c0.iter().zip(&c1).enumerate() {
                let row = T::g([h0, h1]);
                for (y, val) in row.into_iter().enumerate() {
                    _mm256_storeu_ps(at.add((x * A + y) * mat), val);
                }
            }
        }
    }
}

/// One task: `images` whole images of the source to the same images of the destination.
///
/// # Safety
/// AVX2 and FMA present; the slices hold `images` images of their tensors.
#[target_feature(enable = "avx2,fma")]
unsafe fn run_task<const M: usize, const A: usize, T: Tile<M, A>>(
    plan: &Plan,
    images: usize,
    src: &[f32],
    packed: &[f32],
    dst: &mut [f32],
) {
    let ((sc, sh, sw), (dc, dh, dw)) = (plan.src, plan.dst);
    let (k, n, mat) = (plan.k(), plan.n(), plan.mat());
    let (rows, points) = (images * plan.tiles(), plan.points());
    // Every buffer below is written whole before it is read, so none is filled first.
    let mut src_cl = buffers::for_overwrite(images * sh * sw * sc);
    transpose_images(src, (sc, sh * sw), &mut src_cl);
    let mut v = buffers::for_overwrite(points * rows * k);
    let mut m = buffers::for_overwrite(points * rows * n);
    let mut dst_cl = buffers::for_overwrite(images * dh * dw * dc);
    for (q, &phase) in plan.phases.iter().enumerate() {
        input_transform::<M, A, T>(
            plan,
            (images, &src_cl, &plan.reads(phase)),
            &mut v,
            VLayout::Rows,
        );
        for e in 0..points {
            // SAFETY: V[e] is rows x k, the packed U[e] holds k x (n padded), and M[e] has
            // room for rows x n. V is read in place: packing it for the GEMM was a pass of its
            // own over every transformed value (4.7% of a texture training step).
            super::gemm_avx2::gemm_prepacked_b_rows_a(
                (rows, n, k),
                (v[e * rows * k..].as_ptr(), k),
                packed[(q * points + e) * mat..].as_ptr(),
                (m[e * rows * n..].as_mut_ptr(), n as isize),
                false,
            );
        }
        output_transform::<M, A, T>(plan, images, &m, phase, &mut dst_cl);
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

/// How [`input_transform`] lays out each of the transformed matrices `V[e]` (`tiles x k`).
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

/// `V[e][tile][(read, c)]`: for each read `(oy, ox)`, each tile's `(m + 1)^2` block of source
/// pixels (zero outside the image), transformed as `B^T d B`, laid out as `layout` says.
///
/// # Safety
/// AVX2 present; `src_cl` is channels-last `[images][h*w][c]`, `v` holds `plan.points()`
/// planes of `images * tiles * k` (k padded to whole panels for [`VLayout::Panels`]).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn input_transform<const M: usize, const A: usize, T: Tile<M, A>>(
    plan: &Plan,
    (images, src_cl, reads): (usize, &[f32], &[(isize, isize)]),
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
    // Where value j of a tile's k goes: `tile * tile_step + offset[j / 8]`; 8 values from j
    // (a multiple of 8) stay contiguous in both layouts, as 48 is a whole number of vectors.
    // (The table keeps the division by 48 and the layout test out of the inner loop.)
    let (tile_step, offset): (usize, Vec<usize>) = match layout {
        VLayout::Rows => (k, (0..k).step_by(8).collect()),
        VLayout::Panels => (
            PANEL,
            (0..k)
                .step_by(8)
                .map(|j| (j / PANEL) * rows * PANEL + j % PANEL)
                .collect(),
        ),
    };
    // A missing pixel reads zeros: it points into a zero row as long as the channels.
    let zero = vec![0f32; c];
    let vp = v.as_mut_ptr();
    for img in 0..images {
        let src = src_cl[img * h * w * c..].as_ptr();
        for tu in 0..plan.th {
            for tv in 0..plan.tw {
                let tile = (img * plan.th + tu) * plan.tw + tv;
                for (ri, &(oy, ox)) in reads.iter().enumerate() {
                    // The block's input pixels' channel rows, column by column.
                    let mut d = [[zero.as_ptr(); A]; A];
                    for (j, col) in d.iter_mut().enumerate() {
                        let x = st * (M * tv + j) as isize + ox;
                        for (i, px) in col.iter_mut().enumerate() {
                            let y = st * (M * tu + i) as isize + oy;
                            if y >= 0 && (y as usize) < h && x >= 0 && (x as usize) < w {
                                *px = src.add((y as usize * w + x as usize) * c);
                            }
                        }
                    }
                    let out_tile = vp.add(tile * tile_step);
                    for (cv, &off) in offset[ri * c / 8..][..c / 8].iter().enumerate() {
                        let ch = 8 * cv;
                        // B^T down each column (over the rows i), then along each row xi, so
                        // that the A^2 values go out in order, one plane after another.
                        // (Plain loops: a closure does not take the AVX2 target, so the
                        // transforms would be calls.)
                        let mut q = [[_mm256_setzero_ps(); A]; A];
                        for (qj, col) in q.iter_mut().zip(&d) {
                            let mut x = [_mm256_setzero_ps(); A];
                            for (xi, &p) in x.iter_mut().zip(col) {
                                *xi = _mm256_loadu_ps(p.add(ch));
                            }
                            *qj = T::bt(x);
                        }
                        let mut out = out_tile.add(off);
                        for xi in 0..A {
                            let mut row = [_mm256_setzero_ps(); A];
                            for (r, qj) in row.iter_mut().zip(&q) {
                                *r = qj[xi];
                            }
                            for val in T::bt(row) {
                                _mm256_storeu_ps(out, val);
                                out = out.add(plane);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Stores each tile's `A^T M A` (`m x m` outputs) of output phase `(a, b)` in channels-last
/// `dst_cl`: output `(i, j)` of tile `(tu, tv)` is pixel `(s (m tu + i) + a, s (m tv + j) +
/// b)`, when it is one of the phase's valid outputs.
///
/// # Safety
/// AVX2 present; `m` holds `A^2` planes of `images * tiles * n`, `dst_cl` is
/// `[images][h*w][n]`.
#[target_feature(enable = "avx2,fma")]
unsafe fn output_transform<const M: usize, const A: usize, T: Tile<M, A>>(
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
                    let mut r = [[_mm256_setzero_ps(); M]; A];
                    for (xi, ri) in r.iter_mut().enumerate() {
                        let e = src.add(xi * A * plane + c);
                        let mut row = [_mm256_setzero_ps(); A];
                        for (nu, x) in row.iter_mut().enumerate() {
                            *x = _mm256_loadu_ps(e.add(nu * plane));
                        }
                        *ri = T::at(row);
                    }
                    for j in 0..M {
                        let mut col = [_mm256_setzero_ps(); A];
                        for (x, ri) in col.iter_mut().zip(&r) {
                            *x = ri[j];
                        }
                        let col = T::at(col);
                        for (i, val) in col.into_iter().enumerate() {
                            let (u, vv) = (M * tu + i, M * tv + j);
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
