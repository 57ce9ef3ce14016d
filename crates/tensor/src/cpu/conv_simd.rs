//! AVX-512 data movement for conv's im2col / col2im: masked row copies,
//! whole-plane gathers for tiny feature maps, and a register-accumulating
//! col2im for narrow planes. Every entry point has a portable path in
//! conv.rs; these are used only where `avx512_available()` says so, except
//! the row plans, which take their AVX2 form (`conv_simd_avx2`) on that path.

#[cfg(target_arch = "x86_64")]
use super::conv::valid_range;
#[cfg(target_arch = "x86_64")]
use super::gemm_avx512::PACKED_NR;
#[cfg(target_arch = "x86_64")]
use crate::geometry::Conv2dGeometry;

/// Small feature maps (rows under 8 outputs) as whole planes: each block of
/// 16 outputs is one masked AVX-512 gather through a precomputed index
/// table, where row-wise copies would spend their time on per-row overhead.
#[cfg(target_arch = "x86_64")]
pub(super) struct PlaneGather {
    /// Per (tap, block): element indices, gather mask, store mask.
    entries: Vec<([i32; 16], u16, u16)>,
    taps: usize,
    blocks: usize,
}

#[cfg(target_arch = "x86_64")]
impl PlaneGather {
    fn usable(g: &Conv2dGeometry) -> bool {
        super::avx512_available() && g.ow < 8 && g.h * g.w <= 1024 && g.ohw() <= 1024
    }

    /// For each tap and flat output q: the flat input index it reads, if any.
    fn source(g: &Conv2dGeometry, tap: usize, q: usize) -> Option<usize> {
        let (ki, kj, oy, ox) = (tap / g.kw, tap % g.kw, q / g.ow, q % g.ow);
        let iy = (oy * g.stride.0 + ki)
            .checked_sub(g.padding.0)
            .filter(|&v| v < g.h)?;
        let ix = (ox * g.stride.1 + kj)
            .checked_sub(g.padding.1)
            .filter(|&v| v < g.w)?;
        Some(iy * g.w + ix)
    }

    fn build(
        taps: usize,
        blocks: usize,
        n: usize,
        f: impl Fn(usize, usize) -> Option<usize>,
    ) -> Vec<([i32; 16], u16, u16)> {
        // f(tap, element) for the elements of a block.
        let mut entries = Vec::with_capacity(taps * blocks);
        for t in 0..taps {
            for blk in 0..blocks {
                let (mut idx, mut mask, mut store) = ([0i32; 16], 0u16, 0u16);
                for (l, slot) in idx.iter_mut().enumerate() {
                    let e = blk * 16 + l;
                    if e < n {
                        store |= 1 << l;
                        if let Some(i) = f(t, e) {
                            *slot = i as i32;
                            mask |= 1 << l;
                        }
                    }
                }
                entries.push((idx, mask, store));
            }
        }
        entries
    }

    pub(super) fn for_im2col(g: &Conv2dGeometry) -> Option<Self> {
        if !Self::usable(g) {
            return None;
        }
        let (taps, blocks) = (g.kh * g.kw, g.ohw().div_ceil(16));
        let entries = Self::build(taps, blocks, g.ohw(), |t, q| Self::source(g, t, q));
        Some(PlaneGather {
            entries,
            taps,
            blocks,
        })
    }

    /// Writes the `taps` im2col rows (stride `row_stride`) of one plane.
    ///
    /// # Safety
    /// AVX-512F present; `src` covers the plane, `dst` the rows' extents.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn gather_im2col(&self, src: *const f32, dst: *mut f32, row_stride: usize) {
        use std::arch::x86_64::*;
        for t in 0..self.taps {
            for blk in 0..self.blocks {
                let (idx, mask, store) = &self.entries[t * self.blocks + blk];
                let vi = _mm512_loadu_si512(idx.as_ptr().cast());
                let v = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), *mask, vi, src);
                _mm512_mask_storeu_ps(dst.add(t * row_stride + blk * 16), *store, v);
            }
        }
    }
}

/// col2im for planes at most 16 wide, one dx row per zmm register: each row
/// sums its taps in a register (a lane permute places a col row at the
/// tap's stride and offset) and is stored once. Row-wise scatter-adds would
/// instead reload what they just stored, which stalls on masked stores.
///
/// # Safety
/// AVX-512F present; `col` is `krows x nb*ohw`, `dx` holds `nb` planes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn narrow_col2im(g: &Conv2dGeometry, col: &[f32], nb: usize, dx: &mut [f32]) {
    use std::arch::x86_64::*;
    let (ohw, hw, ncols) = (g.ohw(), g.h * g.w, nb * g.ohw());
    assert!(col.len() >= g.krows() * ncols && dx.len() >= nb * g.c_in * hw);
    let ((sh, sw), (ph, pw)) = (g.stride, g.padding);
    // Lane l of a dx row takes col lane o where o*sw + kj - pw == l.
    let place: Vec<(u16, __m512i)> = (0..g.kw)
        .map(|kj| {
            let (mut mask, mut idx) = (0u16, [0i32; 16]);
            for (l, slot) in idx.iter_mut().enumerate().take(g.w) {
                if let Some(t) = (l + pw).checked_sub(kj) {
                    if t.is_multiple_of(sw) && t / sw < g.ow {
                        mask |= 1 << l;
                        *slot = (t / sw) as i32;
                    }
                }
            }
            (mask, _mm512_loadu_si512(idx.as_ptr().cast()))
        })
        .collect();
    let (om, wm) = (((1u32 << g.ow) - 1) as u16, ((1u32 << g.w) - 1) as u16);
    for b in 0..nb {
        for c in 0..g.c_in {
            let dst = dx.as_mut_ptr().add((b * g.c_in + c) * hw);
            let src = col.as_ptr().add(c * g.kh * g.kw * ncols + b * ohw);
            for iy in 0..g.h {
                let mut acc = _mm512_setzero_ps();
                for ki in 0..g.kh {
                    let Some(t) = (iy + ph).checked_sub(ki) else {
                        continue;
                    };
                    if !t.is_multiple_of(sh) || t / sh >= g.oh {
                        continue;
                    }
                    let r = src.add(ki * g.kw * ncols + t / sh * g.ow);
                    for (kj, &(m, idx)) in place.iter().enumerate() {
                        let v = _mm512_maskz_loadu_ps(om, r.add(kj * ncols));
                        acc = _mm512_add_ps(acc, _mm512_maskz_permutexvar_ps(m, idx, v));
                    }
                }
                _mm512_mask_storeu_ps(dst.add(iy * g.w), wm, acc);
            }
        }
    }
}

/// Masked AVX-512 row copies for strides 1 and 2, planned once per kernel
/// tap: the masks implement the zero padding, stride 2 (every k4 s2 layer)
/// is one even-lane permute, and the per-row cost is a handful of
/// instructions instead of a scalar loop with edge tests. `None` (scalar
/// path) without AVX-512, for other strides, or rows over 128 outputs.
#[cfg(target_arch = "x86_64")]
pub(super) struct RowPlan {
    s: usize,
    /// (input offset of lane 0, load masks for input lanes 0..16 and
    /// 16..32, output mask) per 16-output block.
    blocks: [(isize, u16, u16, u16); 8],
    nblk: usize,
    /// The same plan in 8-output blocks for the AVX2 path, when it is the
    /// active one (then `blocks` is unused).
    avx2: Option<super::conv_simd_avx2::RowPlan8>,
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) struct RowPlan;

#[cfg(not(target_arch = "x86_64"))]
impl RowPlan {
    pub(super) fn new(_: usize, _: usize, _: usize, _: isize) -> Option<Self> {
        None
    }
    pub(super) unsafe fn gather_rows(
        &self,
        _: *mut f32,
        _: usize,
        _: *const f32,
        _: usize,
        _: usize,
    ) {
    }
    pub(super) unsafe fn scatter_add_rows(
        &self,
        _: *mut f32,
        _: usize,
        _: *const f32,
        _: usize,
        _: usize,
    ) {
    }
}

#[cfg(target_arch = "x86_64")]
impl RowPlan {
    /// Plan for `out[o] = row[o*s + base]` over `n` outputs and a `len`-long row.
    pub(super) fn new(n: usize, len: usize, s: usize, base: isize) -> Option<Self> {
        if !(1..=2).contains(&s) || n > 128 {
            return None;
        }
        if super::avx2_active() {
            let avx2 = Some(super::conv_simd_avx2::RowPlan8::new(n, len, s, base));
            return Some(RowPlan {
                s,
                blocks: [(0, 0, 0, 0); 8],
                nblk: 0,
                avx2,
            });
        }
        if !super::avx512_available() {
            return None;
        }
        let lanes = |start: isize| -> u16 {
            let lo = (-start).clamp(0, 16);
            let hi = (len as isize - start).clamp(0, 16);
            if hi <= lo {
                0
            } else {
                ((1u32 << hi) - (1u32 << lo)) as u16
            }
        };
        let mut blocks = [(0, 0, 0, 0); 8];
        let nblk = n.div_ceil(16);
        for (i, blk) in blocks.iter_mut().enumerate().take(nblk) {
            let start = (i * 16 * s) as isize + base;
            let om = ((1u32 << (n - i * 16).min(16)) - 1) as u16;
            *blk = if s == 1 {
                (start, lanes(start) & om, 0, om)
            } else {
                (start, lanes(start), lanes(start + 16), om)
            };
        }
        Some(RowPlan {
            s,
            blocks,
            nblk,
            avx2: None,
        })
    }

    /// Gathers `rows` rows; masked-off lanes never fault, so the row
    /// pointers may run past the row ends (formed with `wrapping_offset`).
    ///
    /// # Safety
    /// AVX-512F present (checked in `new`); every unmasked element in bounds.
    pub(super) unsafe fn gather_rows(
        &self,
        dst: *mut f32,
        dst_stride: usize,
        src: *const f32,
        src_stride: usize,
        rows: usize,
    ) {
        self.gather_rows_paneled(dst, dst_stride, (usize::MAX, 0, 0), src, src_stride, rows)
    }

    /// [`Self::gather_rows`] into GEMM panels: `panel = (rows per panel,
    /// slot of the first row, distance between panel starts)`; rows advance
    /// by `dst_stride` inside a panel and jump to the next panel after the
    /// last slot.
    ///
    /// # Safety
    /// As for [`Self::gather_rows`], for every destination row.
    pub(super) unsafe fn gather_rows_paneled(
        &self,
        dst: *mut f32,
        dst_stride: usize,
        panel: (usize, usize, usize),
        src: *const f32,
        src_stride: usize,
        rows: usize,
    ) {
        match &self.avx2 {
            Some(p) => p.gather_rows_paneled(dst, dst_stride, panel, src, src_stride, rows),
            None => self.gather_rows_paneled_512(dst, dst_stride, panel, src, src_stride, rows),
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn gather_rows_paneled_512(
        &self,
        dst: *mut f32,
        dst_stride: usize,
        panel: (usize, usize, usize),
        src: *const f32,
        src_stride: usize,
        rows: usize,
    ) {
        use std::arch::x86_64::*;
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let (per_panel, mut slot, jump) = panel;
        let mut d = dst;
        for r in 0..rows {
            let sp = src.add(r * src_stride);
            for (i, &(start, m0, m1, om)) in self.blocks[..self.nblk].iter().enumerate() {
                let v0 = _mm512_maskz_loadu_ps(m0, sp.wrapping_offset(start));
                let v = if self.s == 1 {
                    v0
                } else {
                    let v1 = _mm512_maskz_loadu_ps(m1, sp.wrapping_offset(start + 16));
                    _mm512_permutex2var_ps(v0, even, v1)
                };
                _mm512_mask_storeu_ps(d.add(16 * i), om, v);
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

    /// The adjoint of [`Self::gather_rows`]: adds `rows` rows of `src` into
    /// the strided rows of `dst`.
    ///
    /// # Safety
    /// As for [`Self::gather_rows`].
    pub(super) unsafe fn scatter_add_rows(
        &self,
        dst: *mut f32,
        dst_stride: usize,
        src: *const f32,
        src_stride: usize,
        rows: usize,
    ) {
        match &self.avx2 {
            Some(p) => p.scatter_add_rows(dst, dst_stride, src, src_stride, rows),
            None => self.scatter_add_rows_512(dst, dst_stride, src, src_stride, rows),
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn scatter_add_rows_512(
        &self,
        dst: *mut f32,
        dst_stride: usize,
        src: *const f32,
        src_stride: usize,
        rows: usize,
    ) {
        use std::arch::x86_64::*;
        // Interleave with zeros (index 16 = lane 0 of the zero vector).
        let lo_idx = _mm512_setr_epi32(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
        let hi_idx =
            _mm512_setr_epi32(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
        let zero = _mm512_setzero_ps();
        let add = |q: *mut f32, m: u16, v: __m512| {
            let d = _mm512_maskz_loadu_ps(m, q);
            _mm512_mask_storeu_ps(q, m, _mm512_add_ps(d, v));
        };
        for r in 0..rows {
            let (d, sp) = (dst.add(r * dst_stride), src.add(r * src_stride));
            for (i, &(start, m0, m1, om)) in self.blocks[..self.nblk].iter().enumerate() {
                let v = _mm512_maskz_loadu_ps(om, sp.add(16 * i));
                if self.s == 1 {
                    add(d.wrapping_offset(start), m0, v);
                } else {
                    add(
                        d.wrapping_offset(start),
                        m0,
                        _mm512_permutex2var_ps(v, lo_idx, zero),
                    );
                    add(
                        d.wrapping_offset(start + 16),
                        m1,
                        _mm512_permutex2var_ps(v, hi_idx, zero),
                    );
                }
            }
        }
    }
}

/// im2col written straight into the GEMM's packed-B panels (see
/// [`gemm_prepacked_b`]), saving a full copy of the im2col matrix. Used
/// where output rows tile the 48-wide panels exactly and the row plans
/// apply (AVX-512, stride <= 2, rows of 8 to 48 outputs).
#[cfg(target_arch = "x86_64")]
pub(super) struct PackedIm2col {
    plans: Vec<RowPlan>,
}

#[cfg(target_arch = "x86_64")]
impl PackedIm2col {
    pub(super) fn new(g: &Conv2dGeometry) -> Option<Self> {
        if g.ow < 8 || !PACKED_NR.is_multiple_of(g.ow) {
            return None;
        }
        let plans = (0..g.kw)
            .map(|kj| RowPlan::new(g.ow, g.w, g.stride.1, kj as isize - g.padding.1 as isize))
            .collect::<Option<Vec<_>>>()?;
        Some(PackedIm2col { plans })
    }

    pub(super) fn fill(&self, g: &Conv2dGeometry, x: &[f32], nb: usize, pb: &mut [f32]) {
        let (k, ohw, hw, ncols) = (g.krows(), g.ohw(), g.h * g.w, nb * g.ohw());
        let ((sh, _), (ph, _)) = (g.stride, g.padding);
        let per_panel = PACKED_NR / g.ow;
        // Columns past ncols in the last panel must read as zero.
        let tail = ncols % PACKED_NR;
        if tail != 0 {
            let last = ncols / PACKED_NR * k * PACKED_NR;
            for r in 0..k {
                pb[last + r * PACKED_NR + tail..last + (r + 1) * PACKED_NR].fill(0.0);
            }
        }
        let panel_of = |j: usize| j / PACKED_NR * k * PACKED_NR + j % PACKED_NR;
        let jump = k * PACKED_NR;
        for c in 0..g.c_in {
            for ki in 0..g.kh {
                let (ylo, yhi) = valid_range(g.oh, g.h, sh, ki, ph);
                for (kj, plan) in self.plans.iter().enumerate() {
                    let r = (c * g.kh + ki) * g.kw + kj;
                    for b in 0..nb {
                        let src = &x[(b * g.c_in + c) * hw..][..hw];
                        for oy in (0..ylo).chain(yhi..g.oh) {
                            let at = panel_of(b * ohw + oy * g.ow) + r * PACKED_NR;
                            pb[at..at + g.ow].fill(0.0);
                        }
                        if yhi > ylo {
                            let j = b * ohw + ylo * g.ow;
                            let slot = j % PACKED_NR / g.ow;
                            let at = panel_of(j) + r * PACKED_NR;
                            let last = panel_of(b * ohw + (yhi - 1) * g.ow) + r * PACKED_NR;
                            assert!(last + g.ow <= pb.len());
                            let first = (ylo * sh + ki - ph) * g.w;
                            // SAFETY: rows ylo..yhi are inside the plane
                            // (valid_range); every destination row lies in pb
                            // (the last one was checked).
                            unsafe {
                                plan.gather_rows_paneled(
                                    pb.as_mut_ptr().add(at),
                                    g.ow,
                                    (per_panel, slot, jump),
                                    src.as_ptr().add(first),
                                    sh * g.w,
                                    yhi - ylo,
                                )
                            };
                        }
                    }
                }
            }
        }
    }
}
