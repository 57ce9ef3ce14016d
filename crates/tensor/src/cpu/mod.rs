//! Multi-threaded f32 CPU kernels on plain slices (row-major / NCHW).

pub mod conv;
mod conv_simd;
pub mod gemm;
#[cfg(target_arch = "x86_64")]
mod gemm_avx512;

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
