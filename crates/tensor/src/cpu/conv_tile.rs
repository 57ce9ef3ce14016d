//! The register tiles of the direct convolution kernel (`conv_direct`), one per SIMD ISA:
//! AVX2 6 pixels x 16 channels (12 ymm accumulators), AVX-512 8 x 32 (16 zmm), NEON 6 x 16
//! (24 q registers), each with its transposed store of a run of pixels.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The register tile of one ISA: `PX` pixels x `CO` output channels.
pub(super) trait Tile {
    const PX: usize;
    const CO: usize;
    /// `out[r * CO + c] (+)= sum_k xp[base[r] + off[k]] * w[k * CO + c]` for `k < off.len()`,
    /// added to `out`'s values when `acc`.
    ///
    /// # Safety
    /// The ISA is present; every `x + base[r] + off[k]` is in bounds; `w` holds
    /// `off.len() * CO` floats; `out` holds `PX * CO`.
    unsafe fn tile(
        x: *const f32,
        base: &[isize],
        off: &[isize],
        w: *const f32,
        out: *mut f32,
        acc: bool,
    );
    /// `out[c * stride + q] = acc[q * CO + c]` for channels `c < channels` and pixels
    /// `q < n`: the transposed store of a run of consecutive output pixels.
    ///
    /// # Safety
    /// The ISA is present; `acc` holds `n * CO` floats; every `out` address is writable.
    unsafe fn store_run(acc: *const f32, n: usize, channels: usize, out: *mut f32, stride: usize);
}

/// [`Tile::store_run`] one value at a time (the paths without a gather).
#[cfg(target_arch = "aarch64")]
unsafe fn store_run_scalar<const CO: usize>(
    acc: *const f32,
    n: usize,
    channels: usize,
    out: *mut f32,
    stride: usize,
) {
    for c in 0..channels {
        for q in 0..n {
            *out.add(c * stride + q) = *acc.add(q * CO + c);
        }
    }
}

/// [`Tile::store_run`] with AVX-512 gathers: one gather and one store per 16 pixels of a
/// channel, where the scalar transpose took 16 loads and 16 stores.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn store_run_avx512<const CO: usize>(
    acc: *const f32,
    n: usize,
    channels: usize,
    out: *mut f32,
    stride: usize,
) {
    let idx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(CO as i32),
    );
    let tail = n % 16;
    let mask: __mmask16 = ((1u32 << tail) - 1) as u16;
    for c in 0..channels {
        let (row, src) = (out.add(c * stride), acc.add(c));
        let mut q = 0;
        while q + 16 <= n {
            let v = _mm512_i32gather_ps::<4>(idx, src.add(q * CO));
            _mm512_storeu_ps(row.add(q), v);
            q += 16;
        }
        if tail > 0 {
            let v = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, idx, src.add(q * CO));
            _mm512_mask_storeu_ps(row.add(q), mask, v);
        }
    }
}

/// [`Tile::store_run`] with AVX2 gathers (8 pixels of a channel at a time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn store_run_avx2<const CO: usize>(
    acc: *const f32,
    n: usize,
    channels: usize,
    out: *mut f32,
    stride: usize,
) {
    let idx = _mm256_mullo_epi32(
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        _mm256_set1_epi32(CO as i32),
    );
    for c in 0..channels {
        let (row, src) = (out.add(c * stride), acc.add(c));
        let mut q = 0;
        while q + 8 <= n {
            let v = _mm256_i32gather_ps::<4>(src.add(q * CO), idx);
            _mm256_storeu_ps(row.add(q), v);
            q += 8;
        }
        for q in q..n {
            *row.add(q) = *src.add(q * CO);
        }
    }
}

/// One ISA's tile: a unit struct implementing [`Tile`] and its `#[target_feature]` kernel, from
/// the ISA's vector type and intrinsics (`PX` pixels x `NV` vectors of `LANES` channels). The
/// vector work is written as plain loops (no closures), so every intrinsic is compiled
/// inside the feature-enabled function.
macro_rules! direct_tile {
    ($(#[$cfg:meta])* $tile:ident, $kernel:ident, $feature:literal,
     px: $px:literal, vecs: $nv:literal, lanes: $lanes:literal, vector: $vt:ty,
     zero: $zero:expr, load: $load:path, store: $store:path, splat: $splat:path,
     fma: |$acc:ident, $a:ident, $b:ident| $fma:expr, store_run: $store_run:path) => {
        $(#[$cfg])*
        pub(super) struct $tile;

        $(#[$cfg])*
        impl Tile for $tile {
            const PX: usize = $px;
            const CO: usize = $nv * $lanes;
            #[inline]
            unsafe fn tile(
                x: *const f32,
                base: &[isize],
                off: &[isize],
                w: *const f32,
                out: *mut f32,
                acc: bool,
            ) {
                $kernel(x, base, off, w, out, acc)
            }
            #[inline]
            unsafe fn store_run(
                acc: *const f32,
                n: usize,
                channels: usize,
                out: *mut f32,
                stride: usize,
            ) {
                $store_run(acc, n, channels, out, stride)
            }
        }

        $(#[$cfg])*
        #[target_feature(enable = $feature)]
        unsafe fn $kernel(
            x: *const f32,
            base: &[isize],
            off: &[isize],
            w: *const f32,
            out: *mut f32,
            accumulate: bool,
        ) {
            const CO: usize = $nv * $lanes;
            let p: [*const f32; $px] = std::array::from_fn(|r| x.offset(base[r]));
            let mut acc: [[$vt; $nv]; $px] = [[$zero; $nv]; $px];
            if accumulate {
                for (r, row) in acc.iter_mut().enumerate() {
                    for (v, a) in row.iter_mut().enumerate() {
                        *a = $load(out.add(r * CO + v * $lanes));
                    }
                }
            }
            let mut wp = w;
            let mut wv: [$vt; $nv] = [$zero; $nv];
            for &o in off {
                for (v, q) in wv.iter_mut().enumerate() {
                    *q = $load(wp.add(v * $lanes));
                }
                for r in 0..$px {
                    let $a = $splat(&*p[r].offset(o));
                    for v in 0..$nv {
                        let ($acc, $b) = (acc[r][v], wv[v]);
                        acc[r][v] = $fma;
                    }
                }
                wp = wp.add(CO);
            }
            for (r, row) in acc.iter().enumerate() {
                for (v, &q) in row.iter().enumerate() {
                    $store(out.add(r * CO + v * $lanes), q);
                }
            }
        }
    };
}

direct_tile!(#[cfg(target_arch = "x86_64")] Avx2Tile, tile_avx2, "avx2,fma",
    px: 6, vecs: 2, lanes: 8, vector: __m256, zero: _mm256_setzero_ps(),
    load: _mm256_loadu_ps, store: _mm256_storeu_ps, splat: _mm256_broadcast_ss,
    fma: |acc, a, b| _mm256_fmadd_ps(a, b, acc), store_run: store_run_avx2::<16>);

direct_tile!(#[cfg(target_arch = "x86_64")] Avx512Tile, tile_avx512, "avx512f",
    px: 8, vecs: 2, lanes: 16, vector: __m512, zero: _mm512_setzero_ps(),
    load: _mm512_loadu_ps, store: _mm512_storeu_ps, splat: splat512,
    fma: |acc, a, b| _mm512_fmadd_ps(a, b, acc), store_run: store_run_avx512::<32>);

/// `_mm512_set1_ps` from a reference, the shape `direct_tile!` splats with.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn splat512(v: &f32) -> __m512 {
    _mm512_set1_ps(*v)
}

#[cfg(target_arch = "aarch64")]
use std::arch::aarch64::*;

direct_tile!(#[cfg(target_arch = "aarch64")] NeonTile, tile_neon, "neon",
    px: 6, vecs: 4, lanes: 4, vector: float32x4_t, zero: vdupq_n_f32(0.0),
    load: vld1q_f32, store: vst1q_f32, splat: vld1q_dup_f32,
    fma: |acc, a, b| vfmaq_f32(acc, a, b), store_run: store_run_scalar::<16>);
