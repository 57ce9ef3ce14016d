//! Packed, cache-blocked GEMM with an AVX2 + FMA microkernel: the same
//! blocking, packing and threading as `gemm_avx512`, on 256-bit vectors.
//! matrixmultiply's AVX2 kernel is 8x8 (8 accumulators); these tiles keep 12
//! of the 16 ymm registers accumulating, and pack with 8 x 8 register
//! transposes instead of scalar gathers.

use super::gemm::{prefetch_next_panel, CTile, Dims, DotShape, Strided};
use std::arch::x86_64::*;
use std::cell::RefCell;

/// Register tiles are MR rows x 8*NV columns: 6x16 or 4x24, 12 accumulators
/// each, leaving registers for B and the A broadcast. Two shapes because
/// conv products have small, fixed M or N (32, 64, ...) and whichever pads
/// less wins. KC x NR of B (16-24 KiB) stays in L1, MC x KC of A in L2.
const KC: usize = 256;
const MC_TARGET: usize = 120;
const NC_TARGET: usize = 3072;
/// Slack after a packed A block: packing stores whole 8-lane columns of an
/// MR-row panel, so the last store runs up to 8 floats past it.
const A_SLACK: usize = 8;

thread_local! {
    // Reused across calls: conv issues many small products per thread.
    static BUFS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// C = (accumulate ? C : 0) + A*B with unit column stride in C.
///
/// # Safety
/// AVX2 and FMA present; A, B, C cover m x k, k x n, m x n (strided).
pub(super) unsafe fn gemm(
    d: Dims,
    a: Strided,
    b: Strided,
    c: *mut f32,
    rsc: isize,
    accumulate: bool,
) {
    let Dims { m, n, .. } = d;
    let pad6 = m.next_multiple_of(6) * n.next_multiple_of(16);
    let pad4 = m.next_multiple_of(4) * n.next_multiple_of(24);
    if pad6 <= pad4 {
        tiled::<6, 2>(d, a, b, c, rsc, accumulate)
    } else {
        tiled::<4, 3>(d, a, b, c, rsc, accumulate)
    }
}

/// `C = A*B` (overwritten) with B already packed in 48-column panels over the
/// whole k (the layout of `gemm_avx512::gemm_prepacked_b`, so conv's packed
/// im2col serves both paths): element (p, j) at
/// `pb[(j/48)*k*48 + p*48 + j%48]`, columns past n zero.
///
/// # Safety
/// AVX2 and FMA present; `pb` holds `n.next_multiple_of(48) * k` floats; A
/// and C cover m x k and m x n.
pub(super) unsafe fn gemm_prepacked_b(
    m: usize,
    n: usize,
    k: usize,
    a: Strided,
    pb: *const f32,
    c: *mut f32,
    rsc: isize,
) {
    // Whichever tile pads less, as in `gemm`: 32 columns (a layer of 32 channels) are two
    // 16-wide tiles but a 24-wide one and a third of another.
    let (n16, n24) = (n.next_multiple_of(16), n.next_multiple_of(24));
    if m.next_multiple_of(6) * n16 <= m.next_multiple_of(4) * n24 {
        prepacked::<6, 2>(m, n, k, a, pb, c, rsc)
    } else {
        prepacked::<4, 3>(m, n, k, a, pb, c, rsc)
    }
}

/// [`gemm_prepacked_b`] for an A whose rows are contiguous (`lda` floats
/// apart): the tiles read A in place instead of packing it, for callers that
/// write A fresh for one product (the Winograd transforms), where packing was
/// a pass of its own over every transformed value. Always the 6 x 16 tile.
/// C (rows `rsc` apart) is overwritten, or added to when `accumulate`.
///
/// # Safety
/// AVX2 and FMA present; `pb` holds `n.next_multiple_of(48) * k` floats; A
/// covers m rows of k floats `lda` apart, C m x n.
pub(super) unsafe fn gemm_prepacked_b_rows_a(
    (m, n, k): (usize, usize, usize),
    (a, lda): (*const f32, usize),
    pb: *const f32,
    (c, rsc): (*mut f32, isize),
    accumulate: bool,
) {
    const MR: usize = 6;
    const NV: usize = 2;
    let mc_blk = MR * (MC_TARGET / MR);
    // The same loop order as `prepacked`: a block of A rows stays in L2 while
    // every panel of B passes over it.
    for pc in (0..k).step_by(KC) {
        let kc = KC.min(k - pc);
        for ic in (0..m).step_by(mc_blk) {
            let mc = mc_blk.min(m - ic);
            for jp in (0..n).step_by(PANEL) {
                let panel = pb.add(jp * k + pc * PANEL);
                for js in (0..PANEL.min(n - jp)).step_by(8 * NV) {
                    let nr = (8 * NV).min(n - jp - js);
                    for ir in (0..mc).step_by(MR) {
                        let tile = CTile {
                            ptr: c.offset((ic + ir) as isize * rsc + (jp + js) as isize),
                            rs: rsc,
                            mr: MR.min(mc - ir),
                            nr,
                            accumulate: accumulate || pc > 0,
                        };
                        let rows = a.add((ic + ir) * lda + pc);
                        kernel_rows_a::<MR, NV>(kc, (rows, lda), panel.add(js), PANEL, tile);
                    }
                }
            }
        }
    }
}

const PANEL: usize = 48;

unsafe fn prepacked<const MR: usize, const NV: usize>(
    m: usize,
    n: usize,
    k: usize,
    a: Strided,
    pb: *const f32,
    c: *mut f32,
    rsc: isize,
) {
    let nr_tile = 8 * NV;
    let mc_blk = MR * (MC_TARGET / MR);
    BUFS.with(|bufs| {
        let mut bufs = bufs.borrow_mut();
        let pa = &mut bufs.0;
        let need_a = mc_blk.min(m.next_multiple_of(MR)) * KC.min(k) + A_SLACK;
        if pa.len() < need_a {
            pa.resize(need_a, 0.0);
        }
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            for ic in (0..m).step_by(mc_blk) {
                let mc = mc_blk.min(m - ic);
                pack_a::<MR>(mc, kc, a, ic, pc, pa.as_mut_ptr());
                for jp in (0..n).step_by(PANEL) {
                    let panel = pb.add(jp * k + pc * PANEL);
                    for js in (0..PANEL.min(n - jp)).step_by(nr_tile) {
                        let nr = nr_tile.min(n - jp - js);
                        for ir in (0..mc).step_by(MR) {
                            let cp = c.offset((ic + ir) as isize * rsc + (jp + js) as isize);
                            let mr = MR.min(mc - ir);
                            kernel::<MR, NV>(
                                kc,
                                pa.as_ptr().add(ir * kc),
                                panel.add(js),
                                PANEL,
                                CTile {
                                    ptr: cp,
                                    rs: rsc,
                                    mr,
                                    nr,
                                    accumulate: pc > 0,
                                },
                            );
                        }
                    }
                }
            }
        }
    })
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
    let nr_tile = 8 * NV;
    let (mc_blk, nc_blk) = (MR * (MC_TARGET / MR), nr_tile * (NC_TARGET / nr_tile));
    BUFS.with(|bufs| {
        let mut bufs = bufs.borrow_mut();
        let (pa, pb) = &mut *bufs;
        let need_a = mc_blk.min(m.next_multiple_of(MR)) * KC.min(k) + A_SLACK;
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
                                nr_tile,
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

/// Lanes `0..n` set (n <= 8), for masked loads.
#[inline]
#[target_feature(enable = "avx2")]
fn lane_mask(n: usize) -> __m256i {
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// 8 x 8 transpose: out[c] lane i = r[i] lane c.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn transpose8(r: &[__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// Packs rows [i0, i0+mc) x cols [p0, p0+kc) of A as MR-row panels, k-major
/// inside a panel, zero-padding the last panel's missing rows. Writes up to
/// `A_SLACK` floats past the packed block.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_a<const MR: usize>(
    mc: usize,
    kc: usize,
    a: Strided,
    i0: usize,
    p0: usize,
    dst: *mut f32,
) {
    const { assert!(MR <= 8) };
    let mut d = dst;
    if a.cs == 1 {
        // Rows contiguous along k: 8 x 8 register transposes. Each column
        // is stored 8 lanes wide in increasing address order, so the lanes
        // past MR are overwritten by the next column (or land in the slack).
        for ir in (0..mc).step_by(MR) {
            let mr = MR.min(mc - ir);
            let base = a.ptr.offset((i0 + ir) as isize * a.rs + p0 as isize);
            for p in (0..kc).step_by(8) {
                if p % 16 == 0 {
                    prefetch_next_panel(base, a.rs, MR, mc - ir, p);
                }
                let np = 8.min(kc - p);
                let mut r = [_mm256_setzero_ps(); 8];
                if np == 8 {
                    for (i, ri) in r.iter_mut().enumerate().take(mr) {
                        *ri = _mm256_loadu_ps(base.offset(i as isize * a.rs).add(p));
                    }
                } else {
                    let lm = lane_mask(np);
                    for (i, ri) in r.iter_mut().enumerate().take(mr) {
                        *ri = _mm256_maskload_ps(base.offset(i as isize * a.rs).add(p), lm);
                    }
                }
                let t = transpose8(&r);
                for (c, tc) in t.iter().enumerate().take(np) {
                    _mm256_storeu_ps(d.add((p + c) * MR), *tc);
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

/// Packs rows [p0, p0+kc) x cols [j0, j0+nc) of B as (8*NV)-column panels.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_b<const NV: usize>(
    kc: usize,
    nc: usize,
    b: Strided,
    p0: usize,
    j0: usize,
    dst: *mut f32,
) {
    const { assert!(NV > 0) };
    let nr_tile = 8 * NV;
    let mut d = dst;
    if b.rs == 1 && b.cs != 1 {
        // Transposed B (columns contiguous along k): 8 x 8 register
        // transposes instead of a scalar gather striding by whole rows.
        for jr in (0..nc).step_by(nr_tile) {
            let nr = nr_tile.min(nc - jr);
            let base = b.ptr.offset(p0 as isize + (j0 + jr) as isize * b.cs);
            for p in (0..kc).step_by(8) {
                let np = 8.min(kc - p);
                let lm = lane_mask(np);
                for v in 0..NV {
                    let mut r = [_mm256_setzero_ps(); 8];
                    for (jj, rj) in r
                        .iter_mut()
                        .enumerate()
                        .take(nr.saturating_sub(8 * v).min(8))
                    {
                        let src = base.offset((8 * v + jj) as isize * b.cs).add(p);
                        *rj = if np == 8 {
                            _mm256_loadu_ps(src)
                        } else {
                            _mm256_maskload_ps(src, lm)
                        };
                    }
                    let t = transpose8(&r);
                    for (c, tc) in t.iter().enumerate().take(np) {
                        _mm256_storeu_ps(d.add((p + c) * nr_tile + 8 * v), *tc);
                    }
                }
            }
            d = d.add(kc * nr_tile);
        }
        return;
    }
    super::gemm::pack_b_panels(nr_tile, kc, nc, b, p0, j0, dst);
}

/// Asks for the C tile's lines before the k loop. C rows sit a whole row of
/// the output apart (4 KiB at n = 1024), so the tile's lines are rarely
/// cached: without this the stores after the k loop stall on
/// read-for-ownership misses (a quarter of the kernel's time at 1024^3 on
/// Zen 3). A macro, as are the stores below, because a `target_feature`
/// function cannot be forced inline and LLVM left these as calls.
macro_rules! prefetch_tile {
    ($tile:expr, $nv:expr) => {
        for i in 0..$tile.mr {
            let cp = $tile.ptr.offset(i as isize * $tile.rs) as *const i8;
            _mm_prefetch::<_MM_HINT_T0>(cp);
            _mm_prefetch::<_MM_HINT_T0>(cp.add(4 * 8 * $nv - 4));
        }
    };
}

/// Stores (or adds) the accumulators `$acc` (`[[__m256; NV]; MR]`) into the
/// tile: whole tiles straight from the registers, partial ones through
/// [`store_partial_tile`].
macro_rules! store_tile {
    ($acc:expr, $tile:expr, $mr:expr, $nv:expr) => {{
        let tile: CTile = $tile;
        if tile.mr == $mr && tile.nr == 8 * $nv {
            for (i, row) in $acc.iter().enumerate() {
                let cp = tile.ptr.offset(i as isize * tile.rs);
                for (v, &r) in row.iter().enumerate() {
                    let r = if tile.accumulate {
                        _mm256_add_ps(r, _mm256_loadu_ps(cp.add(8 * v)))
                    } else {
                        r
                    };
                    _mm256_storeu_ps(cp.add(8 * v), r);
                }
            }
        } else {
            store_partial_tile($acc, tile);
        }
    }};
}

/// The `mr x nr` corner of the accumulators into a tile at the edge of C.
#[target_feature(enable = "avx2,fma")]
unsafe fn store_partial_tile<const MR: usize, const NV: usize>(
    acc: [[__m256; NV]; MR],
    tile: CTile,
) {
    let mut vals = [[[0f32; 8]; NV]; MR];
    for (t, row) in vals.iter_mut().zip(&acc) {
        for (tv, &r) in t.iter_mut().zip(row) {
            _mm256_storeu_ps(tv.as_mut_ptr(), r);
        }
    }
    for (i, t) in vals.iter().enumerate().take(tile.mr) {
        let cp = tile.ptr.offset(i as isize * tile.rs);
        for j in 0..tile.nr {
            let v = t[j / 8][j % 8];
            *cp.add(j) = if tile.accumulate { *cp.add(j) + v } else { v };
        }
    }
}

/// One MR x 8NV tile of C from an MR-row panel of A and a B panel whose rows
/// are `ldb` floats apart.
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel<const MR: usize, const NV: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    ldb: usize,
    tile: CTile,
) {
    prefetch_tile!(tile, NV);
    let mut acc = [[_mm256_setzero_ps(); NV]; MR];
    if MR == 4 && NV == 3 {
        // SAFETY: the shapes are equal (checked just above).
        let acc43 = &mut *(acc.as_mut_ptr() as *mut [[__m256; 3]; 4]);
        k_loop_4x24(kc, a, b, ldb, acc43);
    } else {
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let mut bv = [_mm256_setzero_ps(); NV];
            for (v, bvv) in bv.iter_mut().enumerate() {
                *bvv = _mm256_loadu_ps(b.add(8 * v));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*a.add(i));
                for v in 0..NV {
                    row[v] = _mm256_fmadd_ps(ai, bv[v], row[v]);
                }
            }
            a = a.add(MR);
            b = b.add(ldb);
        }
    }
    store_tile!(acc, tile, MR, NV);
}

/// [`kernel`] with A read in place: row `i` of the tile is `kc` contiguous
/// floats at `a + i * lda` (rows past `mr` read row `mr - 1` again, and their
/// sums are dropped), so the caller packs nothing.
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_rows_a<const MR: usize, const NV: usize>(
    kc: usize,
    (a, lda): (*const f32, usize),
    b: *const f32,
    ldb: usize,
    tile: CTile,
) {
    prefetch_tile!(tile, NV);
    let rows: [*const f32; MR] = std::array::from_fn(|i| a.add(i.min(tile.mr - 1) * lda));
    let mut acc = [[_mm256_setzero_ps(); NV]; MR];
    let mut b = b;
    for p in 0..kc {
        let mut bv = [_mm256_setzero_ps(); NV];
        for (v, bvv) in bv.iter_mut().enumerate() {
            *bvv = _mm256_loadu_ps(b.add(8 * v));
        }
        for (row, &ra) in acc.iter_mut().zip(&rows) {
            let ai = _mm256_broadcast_ss(&*ra.add(p));
            for v in 0..NV {
                row[v] = _mm256_fmadd_ps(ai, bv[v], row[v]);
            }
        }
        b = b.add(ldb);
    }
    store_tile!(acc, tile, MR, NV);
}

/// The k loop of the 4 x 24 tile: `acc[i][v] += a[p * 4 + i] * b[p * ldb + 8v ..][..8]` for
/// `p < kc`. Written in assembly because the tile needs all 16 ymm registers (12 accumulators,
/// 3 of B, 1 broadcast of A): from intrinsics LLVM keeps two broadcasts live and spills an
/// accumulator to the stack every step, which puts a store-to-load round trip on that
/// accumulator's chain (the loop then ran at about half the FMA rate).
///
/// # Safety
/// AVX2 and FMA present; `a` holds `4 * kc` floats and `b` covers `kc` rows of 24 floats
/// `ldb` apart.
#[target_feature(enable = "avx2,fma")]
unsafe fn k_loop_4x24(
    kc: usize,
    a: *const f32,
    b: *const f32,
    ldb: usize,
    acc: &mut [[__m256; 3]; 4],
) {
    if kc == 0 {
        return;
    }
    let [[mut c00, mut c01, mut c02], [mut c10, mut c11, mut c12], [mut c20, mut c21, mut c22], [mut c30, mut c31, mut c32]] =
        *acc;
    std::arch::asm!(
        "2:",
        "vmovups {b0}, ymmword ptr [{b}]",
        "vmovups {b1}, ymmword ptr [{b} + 32]",
        "vmovups {b2}, ymmword ptr [{b} + 64]",
        "vbroadcastss {t}, dword ptr [{a}]",
        "vfmadd231ps {c00}, {t}, {b0}",
        "vfmadd231ps {c01}, {t}, {b1}",
        "vfmadd231ps {c02}, {t}, {b2}",
        "vbroadcastss {t}, dword ptr [{a} + 4]",
        "vfmadd231ps {c10}, {t}, {b0}",
        "vfmadd231ps {c11}, {t}, {b1}",
        "vfmadd231ps {c12}, {t}, {b2}",
        "vbroadcastss {t}, dword ptr [{a} + 8]",
        "vfmadd231ps {c20}, {t}, {b0}",
        "vfmadd231ps {c21}, {t}, {b1}",
        "vfmadd231ps {c22}, {t}, {b2}",
        "vbroadcastss {t}, dword ptr [{a} + 12]",
        "vfmadd231ps {c30}, {t}, {b0}",
        "vfmadd231ps {c31}, {t}, {b1}",
        "vfmadd231ps {c32}, {t}, {b2}",
        "add {a}, 16",
        "add {b}, {ldb}",
        "dec {k}",
        "jnz 2b",
        a = inout(reg) a => _,
        b = inout(reg) b => _,
        k = inout(reg) kc => _,
        ldb = in(reg) ldb * 4,
        b0 = out(ymm_reg) _,
        b1 = out(ymm_reg) _,
        b2 = out(ymm_reg) _,
        t = out(ymm_reg) _,
        c00 = inout(ymm_reg) c00,
        c01 = inout(ymm_reg) c01,
        c02 = inout(ymm_reg) c02,
        c10 = inout(ymm_reg) c10,
        c11 = inout(ymm_reg) c11,
        c12 = inout(ymm_reg) c12,
        c20 = inout(ymm_reg) c20,
        c21 = inout(ymm_reg) c21,
        c22 = inout(ymm_reg) c22,
        c30 = inout(ymm_reg) c30,
        c31 = inout(ymm_reg) c31,
        c32 = inout(ymm_reg) c32,
        options(nostack, readonly),
    );
    *acc = [
        [c00, c01, c02],
        [c10, c11, c12],
        [c20, c21, c22],
        [c30, c31, c32],
    ];
}

/// `C[m x n] += A * B^T` with every entry a dot product of two contiguous
/// rows: 2 x 4 blocks (8 accumulators, 6 loads per 8 FMAs), masked loads for
/// the `len % 8` tail.
///
/// # Safety
/// AVX2 and FMA present; rows of A and B cover `len` floats.
pub(super) unsafe fn dot_nt(s: DotShape, a: *const f32, b: *const f32, c: &mut [f32]) {
    let DotShape { m, n, .. } = s;
    let (m2, n4) = (m / 2 * 2, n / 4 * 4);
    for i in (0..m).step_by(2) {
        for j in (0..n).step_by(4) {
            match (i < m2, j < n4) {
                (true, true) => dot_block::<2, 4>(s, i, j, a, b, c),
                (true, false) => (j..n).for_each(|j| dot_block::<2, 1>(s, i, j, a, b, c)),
                (false, true) => (i..m).for_each(|i| dot_block::<1, 4>(s, i, j, a, b, c)),
                (false, false) => {
                    (i..m).for_each(|i| (j..n).for_each(|j| dot_block::<1, 1>(s, i, j, a, b, c)))
                }
            }
        }
    }
}

#[target_feature(enable = "avx2,fma")]
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
    let mut acc = [[_mm256_setzero_ps(); S]; R];
    let mut p = 0;
    let load = |ptr: *const f32, rem: usize| {
        if rem >= 8 {
            _mm256_loadu_ps(ptr)
        } else {
            _mm256_maskload_ps(ptr, lane_mask(rem))
        }
    };
    while p < len {
        let rem = len - p;
        let mut bv = [_mm256_setzero_ps(); S];
        for (s, v) in bv.iter_mut().enumerate() {
            *v = load(b.add((j + s) * ldb + p), rem);
        }
        for (r, row) in acc.iter_mut().enumerate() {
            let av = load(a.add((i + r) * lda + p), rem);
            for s in 0..S {
                row[s] = _mm256_fmadd_ps(av, bv[s], row[s]);
            }
        }
        p += 8;
    }
    for (r, row) in acc.iter().enumerate() {
        for (s, v) in row.iter().enumerate() {
            let h = _mm_add_ps(_mm256_castps256_ps128(*v), _mm256_extractf128_ps::<1>(*v));
            let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            let h = _mm_add_ss(h, _mm_shuffle_ps::<1>(h, h));
            c[(i + r) * n + j + s] += _mm_cvtss_f32(h);
        }
    }
}
