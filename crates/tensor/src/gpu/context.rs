//! The process-wide wgpu context: adapter choice, device, queue, and the kernel tuning.

use super::exec::State;
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Which family of matmul/conv kernels runs.
///
/// Real GPUs want tiles staged through workgroup memory; llvmpipe (a CPU rasteriser) runs a
/// workgroup on one thread, where every barrier is costly and a register tile per invocation
/// with vec4 loads is several times faster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernels {
    /// Workgroup-memory tiling (default on discrete, integrated and virtual GPUs).
    Tiled,
    /// Barrier-free kernels with a register tile per invocation (default on CPU adapters).
    Register,
}

impl Kernels {
    fn from_env() -> Option<Kernels> {
        match std::env::var("VAECAM_KERNELS").ok().as_deref() {
            Some("tiled") => Some(Kernels::Tiled),
            Some("register") => Some(Kernels::Register),
            _ => None,
        }
    }
}

/// Counters of GPU work since the process started (all devices together).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuStats {
    /// wgpu buffers created (pool misses, staging buffers, the uniform arena).
    pub buffers_created: u64,
    /// Compute dispatches recorded.
    pub dispatches: u64,
    /// Queue submissions.
    pub submits: u64,
    /// Compute pipelines compiled.
    pub pipelines: u64,
}

pub(crate) static BUFFERS: AtomicU64 = AtomicU64::new(0);
pub(crate) static DISPATCHES: AtomicU64 = AtomicU64::new(0);
pub(crate) static SUBMITS: AtomicU64 = AtomicU64::new(0);
pub(crate) static PIPELINES: AtomicU64 = AtomicU64::new(0);

/// The GPU work counters (for tests that check the buffer pool and batching).
pub fn stats() -> GpuStats {
    GpuStats {
        buffers_created: BUFFERS.load(Ordering::Relaxed),
        dispatches: DISPATCHES.load(Ordering::Relaxed),
        submits: SUBMITS.load(Ordering::Relaxed),
        pipelines: PIPELINES.load(Ordering::Relaxed),
    }
}

/// The wgpu device, its queue and the mutable execution state (pool, encoder, caches).
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) info: wgpu::AdapterInfo,
    pub(crate) limits: wgpu::Limits,
    pub(crate) default_kernels: Kernels,
    pub(crate) state: Mutex<State>,
}

/// A handle on the shared GPU context plus the kernel family ops on it use.
#[derive(Clone)]
pub struct GpuDevice {
    pub(crate) ctx: Arc<GpuContext>,
    /// The kernel family used by ops on tensors of this device.
    pub kernels: Kernels,
}

impl PartialEq for GpuDevice {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.ctx, &other.ctx) && self.kernels == other.kernels
    }
}
impl Eq for GpuDevice {}

impl std::fmt::Debug for GpuDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gpu({}, {:?})", self.ctx.info.name, self.kernels)
    }
}

const INSTALL_HINT: &str = "no GPU adapter found: install a GPU driver with Vulkan support, or \
     Mesa's software rasteriser lavapipe (`apt-get install mesa-vulkan-drivers`), or use \
     VAECAM_DEVICE=cpu";

pub(super) static CONTEXT: OnceLock<std::result::Result<Arc<GpuContext>, String>> = OnceLock::new();

impl GpuDevice {
    /// The shared context (created on first use), with the adapter's default kernel family
    /// unless `VAECAM_KERNELS=tiled|register` says otherwise.
    pub fn shared() -> Result<GpuDevice> {
        let ctx = CONTEXT
            .get_or_init(|| create().map(Arc::new))
            .clone()
            .map_err(Error::Device)?;
        let kernels = Kernels::from_env().unwrap_or(ctx.default_kernels);
        Ok(GpuDevice { ctx, kernels })
    }
    /// The same context with another kernel family (tests run both on one adapter).
    pub fn with_kernels(&self, kernels: Kernels) -> GpuDevice {
        GpuDevice {
            ctx: self.ctx.clone(),
            kernels,
        }
    }
    /// The adapter's name, backend and type.
    pub fn name(&self) -> String {
        let i = &self.ctx.info;
        format!(
            "{} ({:?}, {:?}, {:?} kernels)",
            i.name, i.backend, i.device_type, self.kernels
        )
    }
    /// The largest tensor (in bytes) one storage binding may hold on this adapter.
    pub fn max_storage_bytes(&self) -> u64 {
        self.ctx
            .limits
            .max_storage_buffer_binding_size
            .min(self.ctx.limits.max_buffer_size)
    }
    /// True on a software (CPU) adapter such as llvmpipe.
    pub fn is_software(&self) -> bool {
        self.ctx.info.device_type == wgpu::DeviceType::Cpu
    }
    /// Submits recorded work and waits until the GPU has finished it.
    pub fn synchronize(&self) -> Result<()> {
        self.ctx.flush();
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(format!("waiting for the GPU: {e}")))?;
        Ok(())
    }
}

fn rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

fn create() -> std::result::Result<GpuContext, String> {
    // A browser cannot block on the adapter request: the context comes from gpu_async there.
    if cfg!(target_arch = "wasm32") {
        return Err("in a browser the GPU must be opened with Device::gpu_async() first".into());
    }
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    if adapters.is_empty() {
        return Err(INSTALL_HINT.into());
    }
    let names: Vec<String> = adapters
        .iter()
        .map(|a| {
            let i = a.get_info();
            format!("{} ({:?})", i.name, i.backend)
        })
        .collect();
    if let Ok(want) = std::env::var("VAECAM_ADAPTER") {
        let w = want.to_lowercase();
        adapters.retain(|a| a.get_info().name.to_lowercase().contains(&w));
        if adapters.is_empty() {
            return Err(format!(
                "VAECAM_ADAPTER={want:?} matches no adapter; available: {}",
                names.join(", ")
            ));
        }
    }
    // Discrete > integrated > virtual > software; Vulkan before GL on equal type, since the
    // GL backend compiles shaders lazily and has fewer storage bindings.
    adapters.sort_by_key(|a| {
        let i = a.get_info();
        (rank(i.device_type), i.backend != wgpu::Backend::Vulkan)
    });
    let adapter = adapters.remove(0);
    let info = adapter.get_info();
    let limits = adapter.limits();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("vaecam"),
        required_limits: limits.clone(),
        ..Default::default()
    }))
    .map_err(|e| format!("adapter {}: cannot open a device: {e}", info.name))?;
    let default_kernels = if info.device_type == wgpu::DeviceType::Cpu {
        Kernels::Register
    } else {
        Kernels::Tiled
    };
    let state = State::new(&device);
    Ok(GpuContext {
        device,
        queue,
        info,
        limits,
        default_kernels,
        state: Mutex::new(state),
    })
}
