//! Where tensors live and ops run.

use crate::error::{Error, Result};
use crate::gpu::{GpuDevice, Kernels};

/// A compute device. `Device::best()` honours `VAECAM_DEVICE=cpu|gpu`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Device {
    /// The native multi-threaded CPU backend.
    Cpu,
    /// The WGSL backend on a wgpu adapter (one shared context per process).
    Gpu(GpuDevice),
}

impl Device {
    /// The CPU backend (always available).
    pub fn cpu() -> Device {
        Device::Cpu
    }

    /// The WGSL backend on the best wgpu adapter: discrete > integrated > software, or the
    /// first whose name contains `VAECAM_ADAPTER`. The context is created once per process.
    /// Without an adapter the error says what to install.
    pub fn gpu() -> Result<Device> {
        Ok(Device::Gpu(GpuDevice::shared()?))
    }

    /// The WGSL backend with an explicit kernel family (tests and benchmarks run both on one
    /// adapter; normally the adapter type or `VAECAM_KERNELS=tiled|register` decides).
    pub fn gpu_with_kernels(kernels: Kernels) -> Result<Device> {
        Ok(Device::Gpu(GpuDevice::shared()?.with_kernels(kernels)))
    }

    /// Waits until all work submitted to this device is complete (a no-op on the CPU, where
    /// ops finish before they return). Benchmarks call it so that timings include the GPU work.
    pub fn synchronize(&self) -> Result<()> {
        match self {
            Device::Cpu => Ok(()),
            Device::Gpu(g) => g.synchronize(),
        }
    }

    /// `VAECAM_DEVICE` if set (`cpu` or `gpu`), else a hardware GPU when one exists, else the
    /// CPU. A software adapter (llvmpipe) is only used when asked for (`VAECAM_DEVICE=gpu` or
    /// [`Device::gpu`]): the native CPU backend is faster than a CPU emulating a GPU.
    pub fn best() -> Result<Device> {
        match std::env::var("VAECAM_DEVICE").ok().as_deref() {
            Some("cpu") => Ok(Device::Cpu),
            Some("gpu") => Device::gpu(),
            Some(other) => Err(Error::InvalidArgument(format!(
                "VAECAM_DEVICE={other:?}: expected \"cpu\" or \"gpu\""
            ))),
            None => Ok(match Device::gpu() {
                Ok(Device::Gpu(g)) if !g.is_software() => Device::Gpu(g),
                _ => Device::Cpu,
            }),
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
            Device::Gpu(g) => format!("gpu: {}", g.name()),
        }
    }
}
