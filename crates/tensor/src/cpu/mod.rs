//! The native CPU backend: multi-threaded f32 kernels on plain slices (row-major / NCHW). It
//! is the reference for every WGSL kernel and a real backend for machines without a GPU.
//!
//! All parallelism runs on rayon's global pool (`rayon::current_num_threads()`
//! sizes the splits), so the engine controls threads with one pool. The fast
//! paths need AVX-512F, detected once at run time; other CPUs get
//! `matrixmultiply` (AVX2/FMA or portable) and scalar im2col/col2im, with
//! identical results up to rounding.

pub mod buffers;
pub mod conv;
mod conv_simd;
pub mod elementwise;
pub mod gemm;
#[cfg(target_arch = "x86_64")]
mod gemm_avx512;
pub mod layout;
pub mod optim;
pub mod pool;
pub mod reduce;

use crate::backend::MatmulSpec;

/// Below this many elements a kernel runs on the calling thread: rayon's fork/join costs more.
pub(crate) const PAR_MIN: usize = 1 << 15;

/// Batched matrix product on host slices.
pub fn matmul(a: &[f32], b: &[f32], s: MatmulSpec) -> Vec<f32> {
    let mut c = buffers::zeroed(s.batch * s.m * s.n);
    gemm::sgemm_batched(
        s.batch,
        s.m,
        s.n,
        s.k,
        a,
        s.trans_a,
        s.broadcast_a,
        b,
        s.trans_b,
        s.broadcast_b,
        &mut c,
        false,
    );
    c
}

/// Lets tests run the portable fallbacks on an AVX-512 machine. Other tests
/// running meanwhile stay correct, they just take the other path.
#[cfg(test)]
pub(crate) static FORCE_PORTABLE: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether this CPU runs the AVX-512 code paths (detected once).
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512_available() -> bool {
    #[cfg(test)]
    if FORCE_PORTABLE.load(std::sync::atomic::Ordering::Relaxed) {
        return false;
    }
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| is_x86_feature_detected!("avx512f"))
}
