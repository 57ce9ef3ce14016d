//! Execution: the size-class buffer pool, the pipeline cache, batched command recording with a
//! uniform arena for op parameters, uploads and readbacks.
//!
//! Ordering argument for buffer reuse: every dispatch is recorded into one command encoder
//! under the state lock, and the queue runs submissions in order. A buffer returns to the pool
//! when its storage drops, which is after the last dispatch that reads it was recorded, so any
//! later dispatch that reuses it runs after that read. The one hazard is `queue.write_buffer`,
//! which runs at the *start* of the next submission (before commands recorded earlier but not
//! yet submitted): uploads therefore flush the encoder first.

use super::context::{GpuContext, BUFFERS, DISPATCHES, PIPELINES, SUBMITS};
use super::params::KernelParams;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::Ordering;

/// Bytes of parameters one dispatch may pass (a [`super::params::KernelParams`] struct).
pub(crate) const PARAM_BYTES: usize = 256;
/// Dispatches recorded before the encoder is submitted (also the uniform arena's slot count).
const BATCH: usize = 256;
/// Smallest pooled buffer (bytes); also keeps every binding a multiple of 16 bytes for vec4 views.
const MIN_BYTES: u64 = 256;

const PRELUDE: &str = include_str!("../../../../shaders/common.wgsl");

/// Mutable execution state, behind the context's mutex.
pub(crate) struct State {
    encoder: Option<wgpu::CommandEncoder>,
    pending: usize,
    params: Vec<u8>,
    arena: wgpu::Buffer,
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    staging: HashMap<u64, Vec<wgpu::Buffer>>,
    modules: HashMap<(&'static str, &'static str), wgpu::ShaderModule>,
    pipelines: HashMap<String, wgpu::ComputePipeline>,
    layouts: HashMap<(usize, usize), (wgpu::BindGroupLayout, wgpu::PipelineLayout)>,
}

impl State {
    pub(crate) fn new(device: &wgpu::Device) -> State {
        BUFFERS.fetch_add(1, Ordering::Relaxed);
        let arena = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("vaecam params"),
            size: (PARAM_BYTES * BATCH) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        State {
            encoder: None,
            pending: 0,
            params: Vec::with_capacity(PARAM_BYTES * BATCH),
            arena,
            free: HashMap::new(),
            staging: HashMap::new(),
            modules: HashMap::new(),
            pipelines: HashMap::new(),
            layouts: HashMap::new(),
        }
    }
}

/// A WGSL kernel: a shader file (by name and source), an entry point, its specialisation
/// (pipeline-overridable constants) and the type of its parameter block `P`, whose WGSL
/// declaration is prepended to the source.
pub(crate) struct Kernel<'a, P: KernelParams> {
    pub name: &'static str,
    pub source: &'static str,
    pub entry: &'static str,
    pub constants: &'a [(&'static str, f64)],
    pub params: PhantomData<P>,
}

/// Binding number of the i-th buffer: inputs from 1, outputs from 8, so that every entry point
/// of a shader file sees `in0` at 1 and `out0` at 8 whatever the number of inputs it uses.
fn binding_of(i: usize, n_in: usize) -> u32 {
    if i < n_in {
        1 + i as u32
    } else {
        8 + (i - n_in) as u32
    }
}

/// Bytes of a pooled buffer holding `bytes`: a power of two, or the exact size (rounded to
/// 256) when the power of two would pass the adapter's binding limit.
fn size_class(bytes: u64, limit: u64) -> u64 {
    let b = bytes.max(MIN_BYTES);
    let p = b.next_power_of_two();
    if p <= limit {
        p
    } else {
        b.div_ceil(MIN_BYTES) * MIN_BYTES
    }
}

impl GpuContext {
    fn binding_limit(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    /// A buffer of at least `bytes` from the pool (created on a miss). Refuses sizes beyond
    /// the adapter's storage-binding limit instead of truncating.
    pub(crate) fn alloc(&self, bytes: u64) -> Result<(wgpu::Buffer, u64)> {
        let limit = self.binding_limit();
        if bytes > limit {
            return Err(Error::Device(format!(
                "a tensor of {} bytes ({:.1} MiB) exceeds adapter {}'s max_storage_buffer_binding_size of {} bytes ({:.1} MiB)",
                bytes,
                bytes as f64 / 1048576.0,
                self.info.name,
                limit,
                limit as f64 / 1048576.0
            )));
        }
        let class = size_class(bytes, limit);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = st.free.get_mut(&class).and_then(|v| v.pop()) {
            return Ok((b, class));
        }
        drop(st);
        BUFFERS.fetch_add(1, Ordering::Relaxed);
        let b = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: class,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok((b, class))
    }

    /// Returns a buffer to the pool (its last use has been recorded).
    pub(crate) fn release(&self, buf: wgpu::Buffer, class: u64) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.free.entry(class).or_default().push(buf);
    }

    /// Submits the recorded commands (with this batch's parameters written first).
    pub(crate) fn flush(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.flush_locked(&mut st);
    }

    fn flush_locked(&self, st: &mut State) {
        if let Some(enc) = st.encoder.take() {
            if !st.params.is_empty() {
                self.queue.write_buffer(&st.arena, 0, &st.params);
            }
            self.queue.submit([enc.finish()]);
            SUBMITS.fetch_add(1, Ordering::Relaxed);
            st.params.clear();
            st.pending = 0;
        }
    }

    fn encoder<'s>(&self, st: &'s mut State) -> &'s mut wgpu::CommandEncoder {
        st.encoder.get_or_insert_with(|| {
            self.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
        })
    }

    fn layout(st: &mut State, device: &wgpu::Device, n_in: usize, n_out: usize) {
        st.layouts.entry((n_in, n_out)).or_insert_with(|| {
            let storage = |read_only| wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            };
            let mut entries = vec![wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }];
            for i in 0..n_in + n_out {
                entries.push(wgpu::BindGroupLayoutEntry {
                    binding: binding_of(i, n_in),
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: storage(i < n_in),
                    count: None,
                });
            }
            let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: None,
                entries: &entries,
            });
            let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: None,
                bind_group_layouts: &[Some(&bgl)],
                immediate_size: 0,
            });
            (bgl, pl)
        });
    }

    /// Records one dispatch of `k` over `groups` workgroups. Bindings: 0 = the parameters,
    /// 1.. = `inputs` (read-only storage), 8.. = `outputs` (read-write storage).
    pub(crate) fn dispatch<P: KernelParams>(
        &self,
        k: &Kernel<P>,
        params: &P,
        inputs: &[&wgpu::Buffer],
        outputs: &[&wgpu::Buffer],
        groups: (u32, u32, u32),
    ) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let st = &mut *st;
        if st.pending == BATCH {
            self.flush_locked(st);
        }
        Self::layout(st, &self.device, inputs.len(), outputs.len());
        let key = format!(
            "{}:{}:{}:{}:{:?}",
            k.name,
            P::NAME,
            k.entry,
            inputs.len() * 16 + outputs.len(),
            k.constants
        );
        if !st.pipelines.contains_key(&key) {
            let module = st.modules.entry((k.name, P::NAME)).or_insert_with(|| {
                let source = format!("{PRELUDE}\n{}\n{}", P::wgsl(), k.source);
                self.device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(k.name),
                        source: wgpu::ShaderSource::Wgsl(source.into()),
                    })
            });
            let (_, pl) = &st.layouts[&(inputs.len(), outputs.len())];
            let p = self
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(k.entry),
                    layout: Some(pl),
                    module,
                    entry_point: Some(k.entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: k.constants,
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                });
            PIPELINES.fetch_add(1, Ordering::Relaxed);
            st.pipelines.insert(key.clone(), p);
        }
        let slot = st.pending;
        st.params.resize(slot * PARAM_BYTES, 0);
        st.params.extend_from_slice(bytemuck::bytes_of(params));
        st.params.resize((slot + 1) * PARAM_BYTES, 0);
        st.pending += 1;
        let (bgl, _) = &st.layouts[&(inputs.len(), outputs.len())];
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &st.arena,
                offset: (slot * PARAM_BYTES) as u64,
                size: wgpu::BufferSize::new(PARAM_BYTES as u64),
            }),
        }];
        for (i, b) in inputs.iter().chain(outputs).enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: binding_of(i, inputs.len()),
                resource: b.as_entire_binding(),
            });
        }
        let bg = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: bgl,
            entries: &entries,
        });
        let pipeline = st.pipelines[&key].clone();
        let enc = self.encoder(st);
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bg, &[]);
            pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        }
        DISPATCHES.fetch_add(1, Ordering::Relaxed);
    }

    /// Workgroup counts covering `n` workgroups in a 2-D grid within the per-dimension limit
    /// (kernels linearise with `flat_id`).
    pub(crate) fn grid(&self, n: u64) -> (u32, u32, u32) {
        let max = self.limits.max_compute_workgroups_per_dimension as u64;
        let n = n.max(1);
        if n <= max {
            (n as u32, 1, 1)
        } else {
            let x = max.min(32768);
            (x as u32, n.div_ceil(x) as u32, 1)
        }
    }

    /// Records a buffer-to-buffer copy.
    pub(crate) fn copy(&self, src: &wgpu::Buffer, dst: &wgpu::Buffer, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let enc = self.encoder(&mut st);
        enc.copy_buffer_to_buffer(src, 0, dst, 0, bytes);
    }

    /// Writes host bytes into `dst` (flushing first: see the module comment).
    pub(crate) fn upload(&self, dst: &wgpu::Buffer, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.flush_locked(&mut st);
        self.queue.write_buffer(dst, 0, bytes);
    }

    /// Copies the first `bytes` of `src` back to the host, waiting for all recorded work.
    pub(crate) fn read(&self, src: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let class = size_class(bytes, u64::MAX);
        let staging = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let b = st.staging.get_mut(&class).and_then(|v| v.pop());
            let b = b.unwrap_or_else(|| {
                BUFFERS.fetch_add(1, Ordering::Relaxed);
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("vaecam readback"),
                    size: class,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            });
            self.encoder(&mut st)
                .copy_buffer_to_buffer(src, 0, &b, 0, bytes);
            self.flush_locked(&mut st);
            b
        };
        let (tx, rx) = std::sync::mpsc::channel();
        staging
            .slice(0..bytes)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(format!("waiting for the GPU: {e}")))?;
        rx.recv()
            .map_err(|_| Error::Device("readback callback never ran".into()))?
            .map_err(|e| Error::Device(format!("mapping a readback buffer: {e}")))?;
        let out = {
            let view = staging
                .slice(0..bytes)
                .get_mapped_range()
                .map_err(|e| Error::Device(format!("reading a mapped buffer: {e}")))?;
            view.to_vec()
        };
        staging.unmap();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.staging.entry(class).or_default().push(staging);
        Ok(out)
    }
}
