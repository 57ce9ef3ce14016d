//! Where tensors live and ops run.

use crate::error::{Error, Result};

/// A compute device. `Device::best()` honours `VAECAM_DEVICE=cpu|gpu`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Device {
    /// The native multi-threaded CPU backend.
    Cpu,
}

impl Device {
    /// The CPU backend (always available).
    pub fn cpu() -> Device {
        Device::Cpu
    }

    /// The WGSL backend on the best wgpu adapter.
    pub fn gpu() -> Result<Device> {
        Err(Error::NotImplemented(
            "the WGSL (wgpu) backend is not built yet; use Device::cpu() or VAECAM_DEVICE=cpu"
                .into(),
        ))
    }

    /// `VAECAM_DEVICE` if set (`cpu` or `gpu`), else the GPU when one exists, else the CPU.
    pub fn best() -> Result<Device> {
        match std::env::var("VAECAM_DEVICE").ok().as_deref() {
            Some("cpu") => Ok(Device::Cpu),
            Some("gpu") => Device::gpu(),
            Some(other) => Err(Error::InvalidArgument(format!(
                "VAECAM_DEVICE={other:?}: expected \"cpu\" or \"gpu\""
            ))),
            None => Ok(Device::gpu().unwrap_or(Device::Cpu)),
        }
    }

    /// Parses a `--device` argument: `cpu`, `gpu` or `best`.
    pub fn parse(name: &str) -> Result<Device> {
        match name {
            "cpu" => Ok(Device::Cpu),
            "gpu" => Device::gpu(),
            "best" | "auto" => Device::best(),
            other => Err(Error::InvalidArgument(format!(
                "unknown device {other:?}: expected cpu, gpu or best"
            ))),
        }
    }

    /// True for the CPU backend.
    pub fn is_cpu(&self) -> bool {
        matches!(self, Device::Cpu)
    }

    /// A human-readable name (the adapter's name for GPUs).
    pub fn name(&self) -> String {
        match self {
            Device::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
        }
    }
}
