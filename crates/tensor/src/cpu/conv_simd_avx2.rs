//! AVX2 row copies for conv's im2col / col2im (the 8-lane form of
//! `conv_simd::RowPlan`): masked loads implement the zero padding, stride 2
//! is one shuffle and one cross-lane permute, and full blocks use plain
//! loads and stores (AVX2 masked stores are slow, so only edge blocks take
//! them).

use std::arch::x86_64::*;

/// One 8-output block: input offset of lane 0, load masks for input lanes
/// 0..8 and 8..16, output mask, and whether those masks are all set.
#[derive(Clone, Copy)]
struct Block {
    start: isize,
    m0: __m256i,
    m1: __m256i,
    om: __m256i,
    full_in: bool,
    full_out: bool,
}

/// Plan for `out[o] = row[o*s + base]` over `n <= 128` outputs of a
/// `len`-long row, stride 1 or 2.
pub(super) struct RowPlan8 {
    s: usize,
    blocks: [Option<Block>; 16],
    nblk: usize,
}

fn mask_of(lo: isize, hi: isize) -> ([i32; 8], bool) {
    let mut m = [0i32; 8];
    for (l, v) in m.iter_mut().enumerate() {
        if (l as isize) >= lo && (l as isize) < hi {
            *v = -1;
        }
    }
    (m, lo <= 0 && hi >= 8)
}

impl RowPlan8 {
    pub(super) fn new(n: usize, len: usize, s: usize, base: isize) -> Self {
        assert!((1..=2).contains(&s) && n <= 128);
        // Lanes of an 8-wide load at `start` that fall inside the row.
        let lanes = |start: isize| mask_of(-start, len as isize - start);
        let nblk = n.div_ceil(8);
        let mut blocks = [None; 16];
        for (i, blk) in blocks.iter_mut().enumerate().take(nblk) {
            let start = (i * 8 * s) as isize + base;
            let outs = (n - i * 8).min(8) as isize;
            let (om, full_out) = mask_of(0, outs);
            let (m0, m1, full_in) = if s == 1 {
                let (mut m, f) = lanes(start);
                m.iter_mut().zip(om).for_each(|(a, b)| *a &= b);
                (m, [0; 8], f && full_out)
            } else {
                let ((a, fa), (b, fb)) = (lanes(start), lanes(start + 8));
                (a, b, fa && fb)
            };
            // SAFETY: plain loads from local arrays.
            let load = |m: [i32; 8]| unsafe { _mm256_loadu_si256(m.as_ptr().cast()) };
            *blk = Some(Block {
                start,
                m0: load(m0),
                m1: load(m1),
                om: load(om),
                full_in,
                full_out,
            });
        }
        RowPlan8 { s, blocks, nblk }
    }

    /// See `conv_simd::RowPlan::gather_rows_paneled`.
    ///
    /// # Safety
    /// AVX2 present; every unmasked element in bounds.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn gather_rows_paneled(
        &self,
        dst: *mut f32,
        dst_stride: usize,
        panel: (usize, usize, usize),
        src: *const f32,
        src_stride: usize,
        rows: usize,
    ) {
        let (per_panel, mut slot, jump) = panel;
        let mut d = dst;
        for r in 0..rows {
            let sp = src.add(r * src_stride);
            for (i, b) in self.blocks[..self.nblk].iter().flatten().enumerate() {
                let p0 = sp.wrapping_offset(b.start);
                let v = if self.s == 1 {
                    if b.full_in {
                        _mm256_loadu_ps(p0)
                    } else {
                        _mm256_maskload_ps(p0, b.m0)
                    }
                } else {
                    let p1 = sp.wrapping_offset(b.start + 8);
                    let (v0, v1) = if b.full_in {
                        (_mm256_loadu_ps(p0), _mm256_loadu_ps(p1))
                    } else {
                        (_mm256_maskload_ps(p0, b.m0), _mm256_maskload_ps(p1, b.m1))
                    };
                    // [a0 a2 b0 b2 | a4 a6 b4 b6] -> [a0 a2 a4 a6 b0 b2 b4 b6]
                    let e = _mm256_shuffle_ps::<0b10_00_10_00>(v0, v1);
                    _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(e)))
                };
                if b.full_out {
                    _mm256_storeu_ps(d.add(8 * i), v);
                } else {
                    _mm256_maskstore_ps(d.add(8 * i), b.om, v);
                }
            }
            slot += 1;
            if slot == per_panel {
                slot = 0;
                d = d
                    .wrapping_add(jump)
                    .wrapping_sub((per_panel - 1) * dst_stride);
            } else {
                d = d.wrapping_add(dst_stride);
            }
        }
    }

    /// See `conv_simd::RowPlan::scatter_add_rows`.
    ///
    /// # Safety
    /// AVX2 present; every unmasked element in bounds.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn scatter_add_rows(
        &self,
        dst: *mut f32,
        dst_stride: usize,
        src: *const f32,
        src_stride: usize,
        rows: usize,
    ) {
        let zero = _mm256_setzero_ps();
        let add = |q: *mut f32, m: __m256i, full: bool, v: __m256| {
            if full {
                _mm256_storeu_ps(q, _mm256_add_ps(_mm256_loadu_ps(q), v));
            } else {
                let d = _mm256_maskload_ps(q, m);
                _mm256_maskstore_ps(q, m, _mm256_add_ps(d, v));
            }
        };
        for r in 0..rows {
            let (d, sp) = (dst.add(r * dst_stride), src.add(r * src_stride));
            for (i, b) in self.blocks[..self.nblk].iter().flatten().enumerate() {
                let v = if b.full_out {
                    _mm256_loadu_ps(sp.add(8 * i))
                } else {
                    _mm256_maskload_ps(sp.add(8 * i), b.om)
                };
                if self.s == 1 {
                    add(d.wrapping_offset(b.start), b.m0, b.full_in, v);
                } else {
                    // [v0 0 v1 0 | v4 0 v5 0], [v2 0 v3 0 | v6 0 v7 0]
                    let (lo, hi) = (_mm256_unpacklo_ps(v, zero), _mm256_unpackhi_ps(v, zero));
                    let first = _mm256_permute2f128_ps::<0x20>(lo, hi);
                    let second = _mm256_permute2f128_ps::<0x31>(lo, hi);
                    add(d.wrapping_offset(b.start), b.m0, b.full_in, first);
                    add(d.wrapping_offset(b.start + 8), b.m1, b.full_in, second);
                }
            }
        }
    }
}
