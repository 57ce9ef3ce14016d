//! The non-blocking half of the GPU backend, for hosts that cannot wait (a browser's main
//! thread): an async context constructor and an async readback.
//!
//! Recording ops stays synchronous everywhere; only two things wait for the GPU, and in a
//! browser both must be awaited instead:
//! - opening the device: [`Device::gpu_async`] (in a browser, [`Device::gpu`] and
//!   [`GpuDevice::shared`] only return a context that `gpu_async` has already created);
//! - reading data back: [`Tensor::to_vec_async`] (in a browser, [`Tensor::to_vec`],
//!   [`Tensor::item`] and everything built on them return an error on GPU tensors).
//!
//! Both work natively too (the readback then polls the device before it resolves), so one code
//! path serves the native tests and the web front end.

use super::context::{GpuContext, GpuDevice, Kernels, BUFFERS, CONTEXT};
use super::exec::State;
use super::GpuStorage;
use crate::backend::Storage;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

impl Device {
    /// The WGSL backend, opened without blocking: the only way to get a GPU device in a
    /// browser (through WebGPU). The context is created once; later calls, and
    /// [`Device::gpu`], return the same one. Without `navigator.gpu` or an adapter it is an
    /// error, and the caller falls back to [`Device::cpu`].
    pub async fn gpu_async() -> Result<Device> {
        Ok(Device::Gpu(GpuDevice::shared_async().await?))
    }
}

impl GpuDevice {
    /// Like [`GpuDevice::shared`], creating the context with async adapter and device requests.
    pub async fn shared_async() -> Result<GpuDevice> {
        if CONTEXT.get().is_none() {
            let created = create_async().await.map(Arc::new);
            // A concurrent caller may have won the race; either context is a valid one.
            let _ = CONTEXT.set(created);
        }
        GpuDevice::shared()
    }
}

async fn create_async() -> std::result::Result<GpuContext, String> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("no WebGPU/wgpu adapter: {e}"))?;
    let info = adapter.get_info();
    let limits = adapter.limits();
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("vaecam"),
            required_limits: limits.clone(),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("adapter {}: cannot open a device: {e}", info.name))?;
    // Browsers hide the device type (WebGPU reports Unknown/Other); SwiftShader and other
    // software adapters are recognised by name as well, since they want the register kernels.
    let name = info.name.to_lowercase();
    let software = info.device_type == wgpu::DeviceType::Cpu
        || ["swiftshader", "llvmpipe", "lavapipe", "warp"]
            .iter()
            .any(|s| name.contains(s));
    let default_kernels = if software {
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

/// A readback in flight: the data has been copied into a mappable buffer and the copy
/// submitted; awaiting [`PendingRead::finish`] maps it and returns the floats.
pub struct PendingRead {
    staging: wgpu::Buffer,
    bytes: u64,
    // Polled natively; in a browser the event loop drives the mapping.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    dev: GpuDevice,
}

impl GpuStorage {
    /// Starts an async readback (records the copy and submits all recorded work).
    pub fn begin_read(&self) -> PendingRead {
        let bytes = (self.len() as u64 * 4).max(4);
        BUFFERS.fetch_add(1, Ordering::Relaxed);
        let staging = self.dev.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("vaecam async readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.dev
            .ctx
            .copy(self.buf(), &staging, self.len() as u64 * 4);
        self.dev.ctx.flush();
        PendingRead {
            staging,
            bytes,
            dev: self.dev.clone(),
        }
    }
}

/// The result slot shared by `map_async`'s callback and the future waiting on it.
#[derive(Default)]
struct MapSlot {
    result: Option<std::result::Result<(), wgpu::BufferAsyncError>>,
    waker: Option<Waker>,
}

struct MapFuture(Arc<Mutex<MapSlot>>);

impl Future for MapFuture {
    type Output = std::result::Result<(), wgpu::BufferAsyncError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match slot.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl PendingRead {
    /// Waits (without blocking in a browser) until the GPU has produced the data.
    pub async fn finish(self, len: usize) -> Result<Vec<f32>> {
        let slot = Arc::new(Mutex::new(MapSlot::default()));
        let cb_slot = slot.clone();
        self.staging
            .slice(0..self.bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let mut s = cb_slot.lock().unwrap_or_else(|e| e.into_inner());
                s.result = Some(r);
                if let Some(w) = s.waker.take() {
                    w.wake();
                }
            });
        // Natively nothing drives the callback but a poll; in a browser the event loop does.
        #[cfg(not(target_arch = "wasm32"))]
        self.dev
            .ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(format!("waiting for the GPU: {e}")))?;
        MapFuture(slot)
            .await
            .map_err(|e| Error::Device(format!("mapping a readback buffer: {e}")))?;
        let out = {
            let view = self
                .staging
                .slice(0..self.bytes)
                .get_mapped_range()
                .map_err(|e| Error::Device(format!("reading a mapped buffer: {e}")))?;
            bytemuck::pod_collect_to_vec::<u8, f32>(&view)
        };
        self.staging.unmap();
        self.staging.destroy();
        Ok(out.into_iter().take(len).collect())
    }
}

impl Tensor {
    /// Copies the data to the host without blocking: the read to use in a browser, where
    /// [`Tensor::to_vec`] cannot wait for the GPU. CPU tensors resolve at once.
    pub async fn to_vec_async(&self) -> Result<Vec<f32>> {
        let pending = {
            let storage = self.storage();
            match &*storage {
                Storage::Cpu(v) => return Ok(v.clone()),
                Storage::Gpu(g) => (g.begin_read(), g.len()),
            }
        };
        pending.0.finish(pending.1).await
    }
}
