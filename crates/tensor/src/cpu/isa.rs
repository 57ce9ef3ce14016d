//! Which instruction-set path the CPU kernels take: detected once, capped by
//! `VAECAM_CPU_ISA`, and overridable for a scope (tests and benches run every
//! path the machine supports through [`with_isa`]).
//!
//! Every path computes the same results up to rounding; none is needed for
//! correctness.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

/// A family of CPU kernels, ordered from the most portable to the widest. `Neon` is the
/// aarch64 family and `Avx2`/`Avx512` the x86-64 ones: a CPU supports the portable path and
/// those of its own architecture ([`supports`]), so compare paths with `>=` only within one
/// architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Plain Rust loops and `matrixmultiply`'s own kernel selection.
    Portable,
    /// 128-bit NEON kernels (aarch64, where NEON is part of the base architecture): the
    /// direct convolution; GEMM stays with `matrixmultiply`, which has NEON kernels.
    Neon,
    /// 256-bit AVX2 + FMA kernels (packed 6x16 / 4x24 GEMM, masked row copies).
    Avx2,
    /// 512-bit AVX-512F kernels.
    Avx512,
}

impl Isa {
    /// The name `VAECAM_CPU_ISA` accepts.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Neon => "neon",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Parses `portable`, `neon`, `avx2` or `avx512`.
    pub fn parse(s: &str) -> Option<Isa> {
        match s.trim().to_ascii_lowercase().as_str() {
            "portable" => Some(Isa::Portable),
            "neon" => Some(Isa::Neon),
            "avx2" => Some(Isa::Avx2),
            "avx512" => Some(Isa::Avx512),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        self as u8 + 1
    }

    fn from_code(c: u8) -> Option<Isa> {
        match c {
            1 => Some(Isa::Portable),
            2 => Some(Isa::Neon),
            3 => Some(Isa::Avx2),
            4 => Some(Isa::Avx512),
            _ => None,
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The widest path this CPU supports.
pub fn detected() -> Isa {
    static DETECTED: OnceLock<Isa> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        if cfg!(target_arch = "aarch64") {
            return Isa::Neon;
        }
        Isa::Portable
    })
}

/// Whether this CPU can take `isa`: the portable path, and the paths of its architecture up
/// to the widest it has.
pub fn supports(isa: Isa) -> bool {
    match isa {
        Isa::Portable => true,
        Isa::Neon => detected() == Isa::Neon,
        Isa::Avx2 | Isa::Avx512 => detected() >= Isa::Avx2 && isa <= detected(),
    }
}

/// Every path this CPU supports, portable first.
pub fn available() -> Vec<Isa> {
    [Isa::Portable, Isa::Neon, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .filter(|&i| supports(i))
        .collect()
}

/// Reads a `VAECAM_CPU_ISA` value: the path it names, capped at what the CPU
/// has. Errors name the bad value or the missing feature.
pub fn from_setting(value: &str) -> Result<Isa, String> {
    let want = Isa::parse(value).ok_or_else(|| {
        format!("VAECAM_CPU_ISA={value:?} is not one of avx512, avx2, neon, portable")
    })?;
    if !supports(want) {
        return Err(format!(
            "VAECAM_CPU_ISA={value}: this CPU has no {want} (the widest it supports is {})",
            detected()
        ));
    }
    Ok(want)
}

/// The path set by the environment: `VAECAM_CPU_ISA` when it is valid for
/// this CPU, else the detected one (a bad value is reported once on stderr
/// and the path is clamped to what the CPU has).
fn from_env() -> Isa {
    static ENV: OnceLock<Isa> = OnceLock::new();
    *ENV.get_or_init(|| match std::env::var("VAECAM_CPU_ISA") {
        Ok(v) if !v.trim().is_empty() => match from_setting(&v) {
            Ok(isa) => isa,
            Err(msg) => {
                // Clamped within the CPU's own family (avx512 -> avx2), else the widest.
                let fallback = Isa::parse(&v)
                    .map(|w| w.min(detected()))
                    .filter(|&w| supports(w))
                    .unwrap_or(detected());
                eprintln!("vaecam: {msg}; using {fallback}");
                fallback
            }
        },
        _ => detected(),
    })
}

/// 0 = no override; otherwise `Isa::code`.
static OVERRIDE: AtomicU8 = AtomicU8::new(0);

/// The path the kernels take now.
#[inline]
pub fn active() -> Isa {
    Isa::from_code(OVERRIDE.load(Ordering::Relaxed)).unwrap_or_else(from_env)
}

/// Runs `f` with the kernels on `isa`, or returns `None` when this CPU does
/// not support it. Calls are serialised (one override at a time); kernels run
/// by other threads meanwhile take the overridden path too, which changes
/// their rounding, never their results beyond it.
pub fn with_isa<R>(isa: Isa, f: impl FnOnce() -> R) -> Option<R> {
    if !supports(isa) {
        return None;
    }
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    struct Restore(u8);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.store(self.0, Ordering::Relaxed);
        }
    }
    let _restore = Restore(OVERRIDE.swap(isa.code(), Ordering::Relaxed));
    Some(f())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_cap() {
        assert_eq!(from_setting("portable"), Ok(Isa::Portable));
        assert_eq!(
            from_setting(" AVX2 ").ok(),
            (detected() >= Isa::Avx2).then_some(Isa::Avx2)
        );
        let err = from_setting("sse9").unwrap_err();
        assert!(err.contains("\"sse9\""), "{err}");
        if detected() < Isa::Avx512 {
            let err = from_setting("avx512").unwrap_err();
            assert!(err.contains("no avx512"), "{err}");
        }
    }

    #[test]
    fn override_is_scoped() {
        for isa in available() {
            assert_eq!(with_isa(isa, active), Some(isa));
        }
        if detected() < Isa::Avx512 {
            assert_eq!(with_isa(Isa::Avx512, active), None);
        }
        // Paths of the other architecture are never available.
        let foreign = if cfg!(target_arch = "aarch64") {
            Isa::Avx2
        } else {
            Isa::Neon
        };
        assert!(!supports(foreign) && !available().contains(&foreign));
        assert_eq!(with_isa(foreign, active), None);
        assert!(from_setting(foreign.name()).is_err());
    }
}
