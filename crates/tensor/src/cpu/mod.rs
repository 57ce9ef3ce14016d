//! Multi-threaded f32 CPU kernels on plain slices (row-major / NCHW).

pub mod conv;
pub mod gemm;

/// Whether this CPU runs the AVX-512 code paths (detected once).
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512_available() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| is_x86_feature_detected!("avx512f"))
}
