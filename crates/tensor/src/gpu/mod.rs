//! The WGSL backend: every op is a handwritten compute shader (in the repository's
//! `shaders/`) run through wgpu. Data stays on the device; it leaves only through
//! [`GpuStorage::to_vec`].
//!
//! One context per process ([`GpuDevice::shared`]) owns the wgpu device, a pool of buffers in
//! power-of-two size classes, a pipeline cache, and one command encoder into which dispatches
//! are recorded and submitted in batches (at a readback, an upload, or every 256 dispatches).
//! [`stats`] counts buffers created, dispatches, submits and pipelines.
//!
//! Environment:
//! - `VAECAM_ADAPTER=<substring>` picks the adapter by name (default: discrete > integrated >
//!   virtual > software, Vulkan first);
//! - `VAECAM_KERNELS=tiled|register` overrides the kernel family chosen by adapter type
//!   ([`Kernels`]); [`crate::Device::gpu_with_kernels`] picks one per device;
//! - `VAECAM_DEVICE=cpu|gpu` forces the backend of [`crate::Device::best`];
//! - `VAECAM_SKIP_GPU=1` lets the test suites skip (instead of fail) without an adapter.
//!
//! On llvmpipe the GPU tests of one binary share both cores; `--test-threads=2` keeps them from
//! oversubscribing the machine without making the suite slower.

mod context;
pub(crate) mod exec;
pub(crate) mod params;

pub mod conv;
mod conv_lowered;
pub mod elementwise;
mod kernels;
pub mod layout;
pub mod matmul;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod rng;
pub mod web;

pub use context::{stats, GpuDevice, GpuStats, Kernels};
pub use kernels::GpuKernels;
pub use web::PendingRead;

use crate::error::Result;

/// Tensor data in a pooled wgpu buffer. The buffer goes back to the pool on drop.
pub struct GpuStorage {
    buf: Option<wgpu::Buffer>,
    class: u64,
    len: usize,
    dev: GpuDevice,
}

impl std::fmt::Debug for GpuStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuStorage({} floats on {:?})", self.len, self.dev)
    }
}

impl Drop for GpuStorage {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            self.dev.ctx.release(b, self.class);
        }
    }
}

impl GpuStorage {
    /// Uninitialised storage of `len` floats (every kernel writes all of its output).
    pub(crate) fn empty(dev: &GpuDevice, len: usize) -> Result<GpuStorage> {
        let (buf, class) = dev.ctx.alloc(len as u64 * 4)?;
        Ok(GpuStorage {
            buf: Some(buf),
            class,
            len,
            dev: dev.clone(),
        })
    }
    /// Copies host floats to the device.
    pub fn from_slice(dev: &GpuDevice, data: &[f32]) -> Result<GpuStorage> {
        let s = Self::empty(dev, data.len())?;
        dev.ctx.upload(s.buf(), bytemuck::cast_slice(data));
        Ok(s)
    }
    /// Copies host u32s (indices) to the device.
    pub(crate) fn from_u32(dev: &GpuDevice, data: &[u32]) -> Result<GpuStorage> {
        let s = Self::empty(dev, data.len())?;
        dev.ctx.upload(s.buf(), bytemuck::cast_slice(data));
        Ok(s)
    }
    /// Reads the data back (waits for the work that produces it).
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        if cfg!(target_arch = "wasm32") {
            return Err(crate::Error::Device(
                "a synchronous GPU read cannot wait in a browser: use Tensor::to_vec_async".into(),
            ));
        }
        let bytes = self.dev.ctx.read(self.buf(), self.len as u64 * 4)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
    /// Number of floats.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The device holding the buffer.
    pub fn device(&self) -> &GpuDevice {
        &self.dev
    }
    pub(crate) fn buf(&self) -> &wgpu::Buffer {
        self.buf
            .as_ref()
            .expect("GpuStorage buffer present until drop")
    }
}

/// Records a 1-D elementwise-style dispatch of `n` invocations in workgroups of 256.
pub(crate) fn dispatch_1d<P: params::KernelParams>(
    dev: &GpuDevice,
    k: &exec::Kernel<P>,
    params: &P,
    inputs: &[&GpuStorage],
    outputs: &[&GpuStorage],
    n: usize,
) {
    if n == 0 {
        return;
    }
    let groups = dev.ctx.grid((n as u64).div_ceil(256));
    dispatch(dev, k, params, inputs, outputs, groups);
}

/// Records a dispatch with explicit workgroup counts.
pub(crate) fn dispatch<P: params::KernelParams>(
    dev: &GpuDevice,
    k: &exec::Kernel<P>,
    params: &P,
    inputs: &[&GpuStorage],
    outputs: &[&GpuStorage],
    groups: (u32, u32, u32),
) {
    let ins: Vec<&wgpu::Buffer> = inputs.iter().map(|s| s.buf()).collect();
    let outs: Vec<&wgpu::Buffer> = outputs.iter().map(|s| s.buf()).collect();
    dev.ctx.dispatch(k, params, &ins, &outs, groups);
}

/// A kernel from a file of `shaders/`, with its parameter struct (`gpu/params.rs`).
macro_rules! kernel {
    ($file:literal, $entry:literal, $params:ty, $consts:expr) => {
        $crate::gpu::exec::Kernel::<$params> {
            name: $file,
            source: include_str!(concat!("../../../../shaders/", $file)),
            entry: $entry,
            constants: $consts,
            params: std::marker::PhantomData,
        }
    };
}
pub(crate) use kernel;
