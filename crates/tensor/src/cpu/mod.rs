//! The native CPU backend: multi-threaded f32 kernels on plain slices (row-major / NCHW). It
//! is the reference for every WGSL kernel and a real backend for machines without a GPU.
//!
//! All parallelism runs on rayon's global pool (`rayon::current_num_threads()`
//! sizes the splits), so the engine controls threads with one pool. The fast
//! paths are chosen at run time by [`isa::active`]: AVX-512F kernels, AVX2 +
//! FMA kernels, or the portable path (`matrixmultiply` and scalar
//! im2col/col2im), with identical results up to rounding.

pub(crate) mod batch_norm;
pub mod buffers;
pub mod conv;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod conv_direct;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod conv_pad;
mod conv_reference;
mod conv_simd;
#[cfg(target_arch = "x86_64")]
mod conv_simd_avx2;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod conv_tile;
#[cfg(target_arch = "x86_64")]
mod conv_winograd;
#[cfg(target_arch = "x86_64")]
mod conv_winograd_tile;
#[cfg(target_arch = "x86_64")]
mod conv_winograd_weight;
pub mod elementwise;
pub mod gemm;
#[cfg(target_arch = "x86_64")]
mod gemm_avx2;
#[cfg(target_arch = "x86_64")]
mod gemm_avx512;
pub mod isa;
mod kernels;
pub mod layout;
pub mod optim;
pub mod pool;
pub mod reduce;

pub use kernels::CpuKernels;

use crate::geometry::MatmulSpec;

/// Below this many elements a kernel runs on the calling thread: rayon's fork/join costs more.
pub(crate) const PAR_MIN: usize = 1 << 15;

/// Batched matrix product on host slices.
pub fn matmul(a: &[f32], b: &[f32], s: MatmulSpec) -> Vec<f32> {
    // sgemm without `accumulate` writes every entry of C without reading it.
    let mut c = buffers::for_overwrite(s.batch * s.m * s.n);
    gemm::sgemm(s, a, b, &mut c, false);
    c
}

/// Whether the kernels take the AVX-512 paths now (see [`isa::active`]).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn avx512_available() -> bool {
    isa::active() >= isa::Isa::Avx512
}

/// Whether the kernels take the AVX2 + FMA paths now (the AVX-512 machine
/// takes its own wider paths where it has them).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn avx2_active() -> bool {
    isa::active() == isa::Isa::Avx2
}
