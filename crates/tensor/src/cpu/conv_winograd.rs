//! Winograd F(2x2, 2x2) for the data gradient of 4x4, stride-2, padding-1 convolutions: the
//! layer every built-in encoder downsamples with. That one pass is the decoders'
//! conv_transpose2d, half of an encoder's backward pass, and nearly all of the stacked
//! backward behind per-dimension attention maps (D x N cotangent rows through each layer).
//!
//! Split by the parity (a, b) of the input pixel, the data gradient is four stride-1
//! correlations of `dy` (padded by one) with 2x2 kernels: `dx[c, 2u+a, 2v+b] = sum_o sum_{r,s}
//! w[o, c, 3-a-2r, 3-b-2s] dy[o, u+a+r-1, v+b+s-1]`. Winograd's minimal filtering computes a
//! 2x2 block of such outputs from a 3x3 block of inputs with 9 products instead of 16:
//!
//! - weights: `U = G g G^T` with `G = [[1, 0], [1, 1], [0, 1]]`;
//! - inputs: `V = B^T d B` with `B^T = [[1, -1, 0], [0, 1, 0], [0, -1, 1]]`;
//! - outputs: `Y = A^T M A` with `A^T = [[1, 1, 0], [0, 1, 1]]`, `M = U . V` summed over `o`.
//!
//! Every coefficient is 0 or +-1, so the transforms add and subtract without rounding beyond
//! what the sums themselves do (no growth of the error with tile size, the usual price of
//! Winograd). For each phase and each of the 9 transformed positions the channel sum is one
//! GEMM `M^T [tiles x c_in] = V^T [tiles x c_out] U^T [c_out x c_in]` whose weight operand is
//! packed once per call for the SIMD GEMM's prepacked path: the 1.78x fewer products also
//! run at GEMM speed instead of the direct kernel's. The transforms work on channels-last
//! copies of `dy` and `dx` so that they move 8 channels per instruction.

use super::buffers;
use super::gemm::{SendPtr, Strided};
use super::isa::{self, Isa};
use crate::geometry::Conv2dGeometry;
use rayon::prelude::*;
use std::arch::x86_64::*;

/// Columns per panel of the prepacked GEMM operand (both SIMD paths read 48-wide panels).
const PANEL: usize = 48;
/// GEMM rows (tiles of a task's images) a task aims for: enough for the register tiles to
/// fill and the packed A block to be reused, few enough to leave every thread several tasks.
const TARGET_ROWS: usize = 144;

/// Whether the Winograd data gradient runs for `g`: 4x4 kernels at stride 2 with padding 1 on
/// even sides (so the input is twice the output), channel counts in whole 8-lane vectors of at
/// least 16, on the AVX2 path. There it beat the direct kernel on every VAE layer measured
/// (batch 32, two threads, interleaved: 32 -> 64 @64 23-28 vs 28-30 ms, 64 -> 128 @32 20 vs
/// 24-28, 128 -> 256 @16 19-21 vs 28; the maps' 256 rows of 128 -> 256 @16 105-126 vs 168-189).
/// The AVX-512 direct kernel is faster still on the middle layers (64 -> 128 @32: 69-70 vs
/// 81-85 ms at batch 128) and level on the deepest, so that path keeps it.
pub(super) fn suits_backward_data(g: &Conv2dGeometry) -> bool {
    isa::active() == Isa::Avx2
        && (g.kh, g.kw) == (4, 4)
        && g.stride == (2, 2)
        && g.padding == (1, 1)
        && (g.h, g.w) == (2 * g.oh, 2 * g.ow)
        && g.c_in >= 16
        && g.c_out >= 16
        && g.c_in.is_multiple_of(8)
        && g.c_out.is_multiple_of(8)
}

/// The sizes a task needs.
#[derive(Clone, Copy)]
struct Tiling {
    co: usize,
    ci: usize,
    oh: usize,
    ow: usize,
    /// Tile rows and columns of one phase (2x2 outputs each).
    th: usize,
    tw: usize,
}

impl Tiling {
    fn tiles(&self) -> usize {
        self.th * self.tw
    }
}

/// `dx = conv2d_backward_data(dy, w)` (overwritten) for a geometry that [`suits_backward_data`].
///
/// # Panics
/// If a slice length does not match the geometry, or the geometry does not suit.
pub(super) fn conv2d_backward_data(g: &Conv2dGeometry, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    assert!(suits_backward_data(g), "conv_winograd: {g:?} does not suit");
    assert_eq!(dy.len(), g.y_len(), "conv_winograd: dy length mismatch");
    assert_eq!(w.len(), g.w_len(), "conv_winograd: w length mismatch");
    assert_eq!(dx.len(), g.x_len(), "conv_winograd: dx length mismatch");
    let t = Tiling {
        co: g.c_out,
        ci: g.c_in,
        oh: g.oh,
        ow: g.ow,
        th: g.oh.div_ceil(2),
        tw: g.ow.div_ceil(2),
    };
    let packed = pack_weights(w, t.co, t.ci);
    let fair = g.n.div_ceil(2 * rayon::current_num_threads()).max(1);
    let group = TARGET_ROWS.div_ceil(t.tiles()).clamp(1, fair);
    let (dy_img, dx_img) = (t.co * t.oh * t.ow, t.ci * g.h * g.w);
    let dxp = SendPtr(dx.as_mut_ptr());
    (0..g.n.div_ceil(group)).into_par_iter().for_each(|task| {
        let b0 = task * group;
        let images = group.min(g.n - b0);
        // SAFETY: tasks write the disjoint images [b0, b0 + images) of dx (length checked).
        let dx_task =
            unsafe { std::slice::from_raw_parts_mut(dxp.get().add(b0 * dx_img), images * dx_img) };
        let dy_task = &dy[b0 * dy_img..(b0 + images) * dy_img];
        // SAFETY: AVX2 and FMA are present on the path `suits_backward_data` admits.
        unsafe { run_task(&t, images, dy_task, &packed, dx_task) };
    });
    buffers::recycle(packed);
}

/// The 36 matrices `U^T[phase][xi][nu]` (`[c_out x c_in]`, c_in padded to whole panels) in the
/// prepacked GEMM's layout: element `(o, c)` at `(c / 48) * c_out * 48 + o * 48 + c % 48`.
fn pack_weights(w: &[f32], co: usize, ci: usize) -> Vec<f32> {
    let mat = co * ci.next_multiple_of(PANEL);
    // Zeroed for the padding columns; one task per matrix (four, one per phase, left most of
    // a small batch's data gradient waiting on this).
    let mut packed = buffers::zeroed(36 * mat);
    packed.par_chunks_mut(mat).enumerate().for_each(|(m, dst)| {
        let (phase, xi, nu) = (m / 9, m / 3 % 3, m % 3);
        let (a, b) = (phase / 2, phase % 2);
        // Row xi of G picks taps r (0: r = 0, 1: both, 2: r = 1), likewise nu for s.
        let picks = |e: usize| [(0usize, e < 2), (1usize, e > 0)];
        for o in 0..co {
            for c in 0..ci {
                let k = &w[(o * ci + c) * 16..][..16];
                // The phase's 2x2 taps g[r][s] = w[3 - a - 2r][3 - b - 2s]; U = G g G^T.
                let mut u = 0.0;
                for (r, use_r) in picks(xi) {
                    for (s, use_s) in picks(nu) {
                        if use_r && use_s {
                            u += k[(3 - a - 2 * r) * 4 + (3 - b - 2 * s)];
                        }
                    }
                }
                dst[(c / PANEL) * co * PANEL + o * PANEL + c % PANEL] = u;
            }
        }
    });
    packed
}

/// One task: `images` whole images of `dy` to the same images of `dx`, all four phases.
///
/// # Safety
/// AVX2 and FMA present; the slices hold `images` images of their tensors.
#[target_feature(enable = "avx2,fma")]
unsafe fn run_task(t: &Tiling, images: usize, dy: &[f32], packed: &[f32], dx: &mut [f32]) {
    let (ohw, hw) = (t.oh * t.ow, 4 * t.oh * t.ow);
    let rows = images * t.tiles();
    let mat = t.co * t.ci.next_multiple_of(PANEL);
    // Every buffer below is written whole before it is read, so none is filled first.
    let mut dy_cl = buffers::for_overwrite(images * ohw * t.co);
    for (src, dst) in dy
        .chunks_exact(t.co * ohw)
        .zip(dy_cl.chunks_exact_mut(t.co * ohw))
    {
        transpose(src, t.co, ohw, dst);
    }
    let mut v = buffers::for_overwrite(9 * rows * t.co);
    let mut m = buffers::for_overwrite(9 * rows * t.ci);
    let mut dx_cl = buffers::for_overwrite(images * hw * t.ci);
    for phase in 0..4 {
        let (a, b) = (phase / 2, phase % 2);
        input_transform(t, images, &dy_cl, (a, b), &mut v);
        for e in 0..9 {
            let av = Strided {
                ptr: v[e * rows * t.co..].as_ptr(),
                rs: t.co as isize,
                cs: 1,
            };
            // SAFETY: V^T[e] is rows x c_out, the packed U^T holds a padded c_out x c_in, and
            // M^T[e] has room for rows x c_in.
            super::conv::gemm_prepacked_b(
                rows,
                t.ci,
                t.co,
                av,
                packed[(phase * 9 + e) * mat..].as_ptr(),
                m[e * rows * t.ci..].as_mut_ptr(),
                t.ci as isize,
            );
        }
        output_transform(t, images, &m, (a, b), &mut dx_cl);
    }
    for (src, dst) in dx_cl
        .chunks_exact(hw * t.ci)
        .zip(dx.chunks_exact_mut(hw * t.ci))
    {
        transpose(src, hw, t.ci, dst);
    }
    for buf in [dy_cl, v, m, dx_cl] {
        buffers::recycle(buf);
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

/// `V^T[e][tile][o]` for phase `(a, b)`: each tile's 3x3 block of the padded `dy` (rows
/// `2tu + a - 1 ..`, columns `2tv + b - 1 ..`, zero outside), transformed as `B^T d B`.
///
/// # Safety
/// AVX2 present; `dy_cl` is channels-last `[images][oh*ow][c_out]`, `v` holds 9 planes of
/// `images * tiles * c_out`.
#[target_feature(enable = "avx2,fma")]
unsafe fn input_transform(
    t: &Tiling,
    images: usize,
    dy_cl: &[f32],
    (a, b): (usize, usize),
    v: &mut [f32],
) {
    let co = t.co;
    let plane = images * t.tiles() * co;
    let zero = [0f32; 8];
    let vp = v.as_mut_ptr();
    for img in 0..images {
        let src = dy_cl[img * t.oh * t.ow * co..].as_ptr();
        for tu in 0..t.th {
            for tv in 0..t.tw {
                let tile = (img * t.th + tu) * t.tw + tv;
                // The 9 input pixels' channel rows; a missing pixel reads zeros (its pointer
                // does not advance with the channel).
                let mut d = [[(zero.as_ptr(), 0usize); 3]; 3];
                for (i, row) in d.iter_mut().enumerate() {
                    let y = (2 * tu + a + i) as isize - 1;
                    for (j, px) in row.iter_mut().enumerate() {
                        let x = (2 * tv + b + j) as isize - 1;
                        if y >= 0 && (y as usize) < t.oh && x >= 0 && (x as usize) < t.ow {
                            *px = (src.add((y as usize * t.ow + x as usize) * co), 1);
                        }
                    }
                }
                let out = vp.add(tile * co);
                for o in (0..co).step_by(8) {
                    // B^T along each row (over the columns j), then along the columns.
                    let mut q = [[_mm256_setzero_ps(); 3]; 3];
                    for (qi, row) in q.iter_mut().zip(&d) {
                        let [x0, x1, x2] = row.map(|(p, step)| p.add(o * step));
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
                            _mm256_storeu_ps(out.add((xi * 3 + nu) * plane + o), val);
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

/// Stores each tile's `A^T M A` (2x2 outputs) in channels-last `dx_cl` at phase `(a, b)`:
/// output `(i, j)` of tile `(tu, tv)` is pixel `(2(2tu + i) + a, 2(2tv + j) + b)`, when it
/// exists (a ragged last tile computes one row or column more).
///
/// # Safety
/// AVX2 present; `m` holds 9 planes of `images * tiles * c_in`, `dx_cl` is `[images][4 oh
/// ow][c_in]`.
#[target_feature(enable = "avx2,fma")]
unsafe fn output_transform(
    t: &Tiling,
    images: usize,
    m: &[f32],
    (a, b): (usize, usize),
    dx_cl: &mut [f32],
) {
    let ci = t.ci;
    let plane = images * t.tiles() * ci;
    let w = 2 * t.ow;
    let dp = dx_cl.as_mut_ptr();
    for img in 0..images {
        let dst = dp.add(img * 4 * t.oh * t.ow * ci);
        for tu in 0..t.th {
            for tv in 0..t.tw {
                let src = m[((img * t.th + tu) * t.tw + tv) * ci..].as_ptr();
                for c in (0..ci).step_by(8) {
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
                            if u < t.oh && vv < t.ow {
                                let px = (2 * u + a) * w + 2 * vv + b;
                                _mm256_storeu_ps(dst.add(px * ci + c), val);
                            }
                        }
                    }
                }
            }
        }
    }
}
