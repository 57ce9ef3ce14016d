//! Packed, cache-blocked GEMM with an AVX-512 FMA microkernel. matrixmultiply
//! only uses 256-bit vectors; on cores with full-width AVX-512 (Zen 5) this
//! doubles the per-cycle throughput.

use super::gemm::{prefetch_next_panel, CTile, Dims, DotShape, Strided};
use std::arch::x86_64::*;
use std::cell::RefCell;

/// Register tiles are MR rows x 16*NV columns: 14x32 (28 zmm
/// accumulators) or 8x48 (24), leaving registers for B and the A
/// broadcast. Two shapes because conv products have small, fixed M or N
/// (32, 64, 16 ...) and whichever pads less wins.
/// KC x NR of B (32-48 KiB) stays in L1; MC x KC of A in L2.
const KC: usize = 256;
const MC_TARGET: usize = 128;
const NC_TARGET: usize = 3072;

thread_local! {
    // Reused across calls: conv issues many small products per thread.
    static BUFS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// C = (accumulate ? C : 0) + A*B with unit column stride in C.
pub(super) unsafe fn gemm(
    d: Dims,
    a: Strided,
    b: Strided,
    c: *mut f32,
    rsc: isize,
    accumulate: bool,
) {
    let Dims { m, n, .. } = d;
    let pad14 = m.next_multiple_of(14) * n.next_multiple_of(32);
    let pad8 = m.next_multiple_of(8) * n.next_multiple_of(48);
    if pad14 <= pad8 {
        tiled::<14, 2>(d, a, b, c, rsc, accumulate)
    } else {
        tiled::<8, 3>(d, a, b, c, rsc, accumulate)
    }
}

/// Column width of the B panels that [`gemm_prepacked_b`] reads.
pub(super) const PACKED_NR: usize = 48;

/// `C = A*B` (overwritten) with B already packed by the caller: 48-column
/// panels over the whole k, element (p, j) at `pb[(j/48)*k*48 + p*48 + j%48]`,
/// columns past n zero. Lets conv write im2col straight into this layout
/// instead of building the matrix and copying it into panels here.
///
/// # Safety
/// AVX-512F present; `pb` holds `n.next_multiple_of(48) * k` floats; A and
/// C cover m x k and m x n.
pub(super) unsafe fn gemm_prepacked_b(
    m: usize,
    n: usize,
    k: usize,
    a: Strided,
    pb: *const f32,
    c: *mut f32,
    rsc: isize,
) {
    const MR: usize = 8;
    let mc_blk = MR * (MC_TARGET / MR);
    BUFS.with(|bufs| {
        let mut bufs = bufs.borrow_mut();
        let pa = &mut bufs.0;
        let need_a = mc_blk.min(m.next_multiple_of(MR)) * KC.min(k);
        if pa.len() < need_a {
            pa.resize(need_a, 0.0);
        }
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            for ic in (0..m).step_by(mc_blk) {
                let mc = mc_blk.min(m - ic);
                pack_a::<MR>(mc, kc, a, ic, pc, pa.as_mut_ptr());
                for jr in (0..n).step_by(PACKED_NR) {
                    let nr = PACKED_NR.min(n - jr);
                    let bp = pb.add(jr * k + pc * PACKED_NR);
                    for ir in (0..mc).step_by(MR) {
                        let cp = c.offset((ic + ir) as isize * rsc + jr as isize);
                        let mr = MR.min(mc - ir);
                        let tile = CTile {
                            ptr: cp,
                            rs: rsc,
                            mr,
                            nr,
                            accumulate: pc > 0,
                        };
                        kernel::<MR, 3>(kc, pa.as_ptr().add(ir * kc), bp, tile);
                    }
                }
            }
        }
    })
}

/// 4x4 blocks of dot products (16 accumulators, 8 loads per 16 FMAs),
/// masked loads for the `len % 16` tail; edge rows and columns use 1-wide
/// blocks.
pub(super) unsafe fn dot_nt(s: DotShape, a: *const f32, b: *const f32, c: &mut [f32]) {
    let DotShape { m, n, .. } = s;
    let (m4, n4) = (m / 4 * 4, n / 4 * 4);
    for i in (0..m).step_by(4) {
        for j in (0..n).step_by(4) {
            match (i < m4, j < n4) {
                (true, true) => dot_block::<4, 4>(s, i, j, a, b, c),
                (true, false) => (j..n).for_each(|j| dot_block::<4, 1>(s, i, j, a, b, c)),
                (false, true) => (i..m).for_each(|i| dot_block::<1, 4>(s, i, j, a, b, c)),
                (false, false) => {
                    (i..m).for_each(|i| (j..n).for_each(|j| dot_block::<1, 1>(s, i, j, a, b, c)))
                }
            }
        }
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn dot_block<const R: usize, const S: usize>(
    shape: DotShape,
    i: usize,
    j: usize,
    a: *const f32,
    b: *const f32,
    c: &mut [f32],
) {
    let DotShape {
        n, len, lda, ldb, ..
    } = shape;
    let mut acc = [[_mm512_setzero_ps(); S]; R];
    let mut p = 0;
    while p < len {
        let mask = if len - p >= 16 {
            0xFFFF
        } else {
            ((1u32 << (len - p)) - 1) as u16
        };
        let mut bv = [_mm512_setzero_ps(); S];
        for (s, v) in bv.iter_mut().enumerate() {
            *v = _mm512_maskz_loadu_ps(mask, b.add((j + s) * ldb + p));
        }
        for (r, row) in acc.iter_mut().enumerate() {
            let av = _mm512_maskz_loadu_ps(mask, a.add((i + r) * lda + p));
            for s in 0..S {
                row[s] = _mm512_fmadd_ps(av, bv[s], row[s]);
            }
        }
        p += 16;
    }
    for (r, row) in acc.iter().enumerate() {
        for (s, v) in row.iter().enumerate() {
            c[(i + r) * n + j + s] += _mm512_reduce_add_ps(*v);
        }
    }
}

unsafe fn tiled<const MR: usize, const NV: usize>(
    d: Dims,
    a: Strided,
    b: Strided,
    c: *mut f32,
    rsc: isize,
    accumulate: bool,
) {
    let Dims { m, n, k } = d;
    let nr_tile = 16 * NV;
    let (mc_blk, nc_blk) = (MR * (MC_TARGET / MR), nr_tile * (NC_TARGET / nr_tile));
    BUFS.with(|bufs| {
        let mut bufs = bufs.borrow_mut();
        let (pa, pb) = &mut *bufs;
        let need_a = mc_blk.min(m.next_multiple_of(MR)) * KC.min(k);
        let need_b = nc_blk.min(n.next_multiple_of(nr_tile)) * KC.min(k);
        if pa.len() < need_a {
            pa.resize(need_a, 0.0);
        }
        if pb.len() < need_b {
            pb.resize(need_b, 0.0);
        }
        for jc in (0..n).step_by(nc_blk) {
            let nc = nc_blk.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                let acc = accumulate || pc > 0;
                pack_b::<NV>(kc, nc, b, pc, jc, pb.as_mut_ptr());
                for ic in (0..m).step_by(mc_blk) {
                    let mc = mc_blk.min(m - ic);
                    pack_a::<MR>(mc, kc, a, ic, pc, pa.as_mut_ptr());
                    for jr in (0..nc).step_by(nr_tile) {
                        let nr = nr_tile.min(nc - jr);
                        for ir in (0..mc).step_by(MR) {
                            let mr = MR.min(mc - ir);
                            let cp = c.offset((ic + ir) as isize * rsc + (jc + jr) as isize);
                            kernel::<MR, NV>(
                                kc,
                                pa.as_ptr().add(ir * kc),
                                pb.as_ptr().add(jr * kc),
                                CTile {
                                    ptr: cp,
                                    rs: rsc,
                                    mr,
                                    nr,
                                    accumulate: acc,
                                },
                            );
                        }
                    }
                }
            }
        }
    })
}

/// 16 x 16 transpose: out[c] lane i = r[i] lane c. Unpacks and in-lane
/// shuffles gather each 4 x 4 sub-block, then two 128-bit lane shuffles
/// put the sub-blocks in place.
#[target_feature(enable = "avx512f")]
fn transpose16(r: &[__m512; 16]) -> [__m512; 16] {
    let mut t = [_mm512_setzero_ps(); 16];
    for q in 0..8 {
        t[2 * q] = _mm512_unpacklo_ps(r[2 * q], r[2 * q + 1]);
        t[2 * q + 1] = _mm512_unpackhi_ps(r[2 * q], r[2 * q + 1]);
    }
    // u[4g + j]: rows 4g..4g+4 of column 4L + j in 128-bit lane L.
    let mut u = [_mm512_setzero_ps(); 16];
    for g in 0..4 {
        let (lo0, hi0, lo1, hi1) = (t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]);
        u[4 * g] = _mm512_shuffle_ps::<0x44>(lo0, lo1);
        u[4 * g + 1] = _mm512_shuffle_ps::<0xEE>(lo0, lo1);
        u[4 * g + 2] = _mm512_shuffle_ps::<0x44>(hi0, hi1);
        u[4 * g + 3] = _mm512_shuffle_ps::<0xEE>(hi0, hi1);
    }
    let mut out = [_mm512_setzero_ps(); 16];
    for j in 0..4 {
        let v = _mm512_shuffle_f32x4::<0x88>(u[j], u[4 + j]);
        let w = _mm512_shuffle_f32x4::<0x88>(u[8 + j], u[12 + j]);
        let v2 = _mm512_shuffle_f32x4::<0xDD>(u[j], u[4 + j]);
        let w2 = _mm512_shuffle_f32x4::<0xDD>(u[8 + j], u[12 + j]);
        out[j] = _mm512_shuffle_f32x4::<0x88>(v, w);
        out[8 + j] = _mm512_shuffle_f32x4::<0xDD>(v, w);
        out[4 + j] = _mm512_shuffle_f32x4::<0x88>(v2, w2);
        out[12 + j] = _mm512_shuffle_f32x4::<0xDD>(v2, w2);
    }
    out
}

/// Packs rows [i0, i0+mc) x cols [p0, p0+kc) of A as MR-row panels, k-major
/// inside a panel, zero-padding the last panel's missing rows.
#[target_feature(enable = "avx512f")]
unsafe fn pack_a<const MR: usize>(
    mc: usize,
    kc: usize,
    a: Strided,
    i0: usize,
    p0: usize,
    dst: *mut f32,
) {
    let mut d = dst;
    if a.cs == 1 {
        // Rows contiguous along k (conv's im2col matrix, plain A): load
        // 16 x 16 blocks and transpose them in registers instead of
        // MR scalar copies per k.
        for ir in (0..mc).step_by(MR) {
            let mr = MR.min(mc - ir);
            let base = a.ptr.offset((i0 + ir) as isize * a.rs + p0 as isize);
            for p in (0..kc).step_by(16) {
                prefetch_next_panel(base, a.rs, MR, mc - ir, p);
                let np = 16.min(kc - p);
                let lm = ((1u32 << np) - 1) as u16;
                let mut r = [_mm512_setzero_ps(); 16];
                for (i, ri) in r.iter_mut().enumerate().take(mr) {
                    *ri = _mm512_maskz_loadu_ps(lm, base.offset(i as isize * a.rs).add(p));
                }
                let t = transpose16(&r);
                let sm = ((1u32 << MR) - 1) as u16;
                for (c, tc) in t.iter().enumerate().take(np) {
                    _mm512_mask_storeu_ps(d.add((p + c) * MR), sm, *tc);
                }
            }
            d = d.add(kc * MR);
        }
        return;
    }
    for ir in (0..mc).step_by(MR) {
        let mr = MR.min(mc - ir);
        let base = a.ptr.offset((i0 + ir) as isize * a.rs + p0 as isize * a.cs);
        for p in 0..kc {
            let col = base.offset(p as isize * a.cs);
            for i in 0..MR {
                *d.add(i) = if i < mr {
                    *col.offset(i as isize * a.rs)
                } else {
                    0.0
                };
            }
            d = d.add(MR);
        }
    }
}

/// Packs rows [p0, p0+kc) x cols [j0, j0+nc) of B as NR-column panels.
#[target_feature(enable = "avx512f")]
unsafe fn pack_b<const NV: usize>(
    kc: usize,
    nc: usize,
    b: Strided,
    p0: usize,
    j0: usize,
    dst: *mut f32,
) {
    const { assert!(NV > 0) };
    let nr_tile = 16 * NV;
    let mut d = dst;
    if b.rs == 1 && b.cs != 1 {
        // Transposed B (its columns contiguous along k): 16 x 16 register
        // transposes, where a scalar gather strides by whole rows and keeps
        // hitting the same L1 sets.
        for jr in (0..nc).step_by(nr_tile) {
            let nr = nr_tile.min(nc - jr);
            let base = b.ptr.offset(p0 as isize + (j0 + jr) as isize * b.cs);
            for p in (0..kc).step_by(16) {
                let np = 16.min(kc - p);
                let lm = ((1u32 << np) - 1) as u16;
                for v in 0..NV {
                    let mut r = [_mm512_setzero_ps(); 16];
                    for (jj, rj) in r
                        .iter_mut()
                        .enumerate()
                        .take(nr.saturating_sub(16 * v).min(16))
                    {
                        *rj = _mm512_maskz_loadu_ps(
                            lm,
                            base.offset((16 * v + jj) as isize * b.cs).add(p),
                        );
                    }
                    let t = transpose16(&r);
                    for (c, tc) in t.iter().enumerate().take(np) {
                        _mm512_storeu_ps(d.add((p + c) * nr_tile + 16 * v), *tc);
                    }
                }
            }
            d = d.add(kc * nr_tile);
        }
        return;
    }
    super::gemm::pack_b_panels(nr_tile, kc, nc, b, p0, j0, dst);
}

#[target_feature(enable = "avx512f")]
unsafe fn kernel<const MR: usize, const NV: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    tile: CTile,
) {
    let CTile {
        ptr: c,
        rs: rsc,
        mr,
        nr,
        accumulate: acc_c,
    } = tile;
    // The C rows are a whole row of the output apart (4 KiB at n = 1024): fetching the tile
    // now hides the read-for-ownership misses its stores would otherwise stall on.
    for i in 0..mr {
        let cp = c.offset(i as isize * rsc) as *const i8;
        for line in (0..4 * 16 * NV).step_by(64) {
            _mm_prefetch::<_MM_HINT_T0>(cp.add(line));
        }
        _mm_prefetch::<_MM_HINT_T0>(cp.add(4 * 16 * NV - 4));
    }
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        let mut bv = [_mm512_setzero_ps(); NV];
        for (v, bvv) in bv.iter_mut().enumerate() {
            *bvv = _mm512_loadu_ps(b.add(16 * v));
        }
        for (i, row) in acc.iter_mut().enumerate() {
            let ai = _mm512_set1_ps(*a.add(i));
            for v in 0..NV {
                row[v] = _mm512_fmadd_ps(ai, bv[v], row[v]);
            }
        }
        a = a.add(MR);
        b = b.add(16 * NV);
    }
    if mr == MR && nr == 16 * NV {
        for (i, row) in acc.iter().enumerate() {
            let cp = c.offset(i as isize * rsc);
            for (v, &r) in row.iter().enumerate() {
                let r = if acc_c {
                    _mm512_add_ps(r, _mm512_loadu_ps(cp.add(16 * v)))
                } else {
                    r
                };
                _mm512_storeu_ps(cp.add(16 * v), r);
            }
        }
    } else {
        let mut tile = [[[0f32; 16]; NV]; MR];
        for (t, row) in tile.iter_mut().zip(&acc) {
            for (tv, &r) in t.iter_mut().zip(row) {
                _mm512_storeu_ps(tv.as_mut_ptr(), r);
            }
        }
        for (i, t) in tile.iter().enumerate().take(mr) {
            let cp = c.offset(i as isize * rsc);
            for j in 0..nr {
                let v = t[j / 16][j % 16];
                *cp.add(j) = if acc_c { *cp.add(j) + v } else { v };
            }
        }
    }
}
