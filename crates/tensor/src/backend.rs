//! The backend boundary: what every device must compute, in terms of storage and shapes.
//!
//! Ops in [`crate::ops`] validate shapes, call one of the [`Storage`] methods here and record
//! their backward rule. A backend only ever sees storage plus plain-data op descriptions, so a
//! new device (the WGSL backend) plugs in by adding a `Storage` variant.

use crate::cpu;
use crate::device::Device;
use crate::error::{Error, Result};
use crate::geometry::{Conv2dGeometry, MatmulSpec, Pool2dSpec, UpsampleSpec};
use crate::gpu::{self, GpuStorage};
use crate::shape::Shape;

/// Elementwise unary ops. The `*Grad`/`*Mask` variants are the derivative masks the backward
/// rules need; they are not differentiable themselves (their derivative is zero almost everywhere).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    /// -x
    Neg,
    /// e^x
    Exp,
    /// ln x
    Log,
    /// sqrt x
    Sqrt,
    /// |x|
    Abs,
    /// sign(x) in {-1, 0, 1}
    Sign,
    /// max(x, 0)
    Relu,
    /// 1 where x > 0, else 0
    Step,
    /// x where x > 0, else slope * x
    LeakyRelu(f32),
    /// 1 where x > 0, else slope
    LeakyReluGrad(f32),
    /// 1 / (1 + e^-x)
    Sigmoid,
    /// tanh x
    Tanh,
    /// ln(1 + e^x), computed stably
    Softplus,
    /// min(max(x, lo), hi)
    Clamp(f32, f32),
    /// 1 where lo <= x <= hi, else 0
    ClampMask(f32, f32),
    /// x^p
    Powf(f32),
    /// a * x + b
    Affine(f32, f32),
    /// 1 / x
    Recip,
}

/// Elementwise binary ops with broadcasting. Comparisons return 1.0 or 0.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// a + b
    Add,
    /// a - b
    Sub,
    /// a * b
    Mul,
    /// a / b
    Div,
    /// max(a, b)
    Maximum,
    /// min(a, b)
    Minimum,
    /// 1 where a >= b
    Ge,
    /// 1 where a <= b
    Le,
    /// 1 where a == b
    Eq,
}

/// Reductions over a set of axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum (accumulated in f64 on the CPU).
    Sum,
    /// Maximum.
    Max,
}

/// One Adam step's hyper-parameters (PyTorch semantics: L2 weight decay added to the gradient).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamSpec {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator epsilon.
    pub eps: f32,
    /// L2 weight decay.
    pub weight_decay: f32,
    /// 1-based step number, for bias correction.
    pub step: u64,
}

/// Tensor data on one device.
#[derive(Debug)]
pub enum Storage {
    /// Host memory, computed by the native CPU backend.
    Cpu(Vec<f32>),
    /// A wgpu buffer, computed by the WGSL kernels.
    Gpu(GpuStorage),
}

/// The error for storages of different backends combined in one op.
fn mixed(op: &'static str, a: &Storage, b: &Storage) -> Error {
    Error::DeviceMismatch {
        op,
        lhs: a.device().name(),
        rhs: b.device().name(),
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        // Large host buffers go back to the pool for the next op of the same size.
        if let Storage::Cpu(v) = self {
            cpu::buffers::recycle(std::mem::take(v));
        }
    }
}

impl Storage {
    /// Copies host data to `device`.
    pub fn from_slice(data: &[f32], device: &Device) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(data.to_vec())),
            Device::Gpu(g) => Ok(Storage::Gpu(GpuStorage::from_slice(g, data)?)),
        }
    }
    /// `n` zeros on `device`.
    pub fn zeros(n: usize, device: &Device) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(cpu::buffers::zeroed(n))),
            Device::Gpu(g) => Ok(Storage::Gpu(gpu::layout::full(g, n, 0.0)?)),
        }
    }
    /// `n` copies of `v` on `device`.
    pub fn full(n: usize, v: f32, device: &Device) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(cpu::buffers::filled(n, v))),
            Device::Gpu(g) => Ok(Storage::Gpu(gpu::layout::full(g, n, v)?)),
        }
    }
    /// Counter-based (Philox4x32-10) random numbers: standard normal or uniform [0, 1).
    /// The same seed gives the same numbers on every device.
    pub fn random(n: usize, seed: u64, normal: bool, device: &Device) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(crate::rng::philox_fill(n, seed, normal))),
            Device::Gpu(g) => Ok(Storage::Gpu(gpu::rng::fill(g, n, seed, normal)?)),
        }
    }
    /// The device this storage lives on.
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Gpu(g) => Device::Gpu(g.device().clone()),
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(v) => v.len(),
            Storage::Gpu(g) => g.len(),
        }
    }
    /// True when the storage holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies the data to the host. This is the only way data leaves a device.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        match self {
            Storage::Cpu(v) => Ok(v.clone()),
            Storage::Gpu(g) => g.to_vec(),
        }
    }
    /// Elementwise unary op.
    pub fn unary(&self, op: UnaryOp) -> Result<Storage> {
        match self {
            Storage::Cpu(a) => Ok(Storage::Cpu(cpu::elementwise::unary(a, op))),
            Storage::Gpu(a) => Ok(Storage::Gpu(gpu::elementwise::unary(a, op)?)),
        }
    }
    /// Elementwise binary op; `a_shape` and `b_shape` broadcast to `out`.
    pub fn binary(
        &self,
        a_shape: &Shape,
        rhs: &Storage,
        b_shape: &Shape,
        out: &Shape,
        op: BinaryOp,
    ) -> Result<Storage> {
        match (self, rhs) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(cpu::elementwise::binary(
                a, a_shape, b, b_shape, out, op,
            ))),
            (Storage::Gpu(a), Storage::Gpu(b)) => Ok(Storage::Gpu(gpu::elementwise::binary(
                a, a_shape, b, b_shape, out, op,
            )?)),
            (a, b) => Err(mixed("binary", a, b)),
        }
    }
    /// Reduces sorted, distinct `axes` of `shape` (the result has the keepdim shape).
    pub fn reduce(&self, shape: &Shape, axes: &[usize], op: ReduceOp) -> Result<Storage> {
        match self {
            Storage::Cpu(a) => Ok(Storage::Cpu(cpu::reduce::reduce(a, shape, axes, op))),
            Storage::Gpu(a) => Ok(Storage::Gpu(gpu::reduce::reduce(a, shape, axes, op)?)),
        }
    }
    /// Materialises a broadcast of `shape` to `out`.
    pub fn broadcast_to(&self, shape: &Shape, out: &Shape) -> Result<Storage> {
        match self {
            Storage::Cpu(a) => Ok(Storage::Cpu(cpu::layout::broadcast_to(a, shape, out))),
            Storage::Gpu(a) => Ok(Storage::Gpu(gpu::layout::broadcast_to(a, shape, out)?)),
        }
    }
    /// Batched matrix product.
    pub fn matmul(&self, rhs: &Storage, spec: MatmulSpec) -> Result<Storage> {
        match (self, rhs) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(cpu::matmul(a, b, spec))),
            (Storage::Gpu(a), Storage::Gpu(b)) => {
                Ok(Storage::Gpu(gpu::matmul::matmul(a, b, spec)?))
            }
            (a, b) => Err(mixed("matmul", a, b)),
        }
    }
    /// 2-D convolution forward (`self` is the input, NCHW).
    pub fn conv2d(&self, w: &Storage, g: &Conv2dGeometry) -> Result<Storage> {
        match (self, w) {
            (Storage::Cpu(x), Storage::Cpu(w)) => {
                let mut y = cpu::buffers::zeroed(g.n * g.c_out * g.oh * g.ow);
                cpu::conv::conv2d_forward(g, x, w, &mut y);
                Ok(Storage::Cpu(y))
            }
            (Storage::Gpu(x), Storage::Gpu(w)) => Ok(Storage::Gpu(gpu::conv::forward(x, w, g)?)),
            (a, b) => Err(mixed("conv2d", a, b)),
        }
    }
    /// Gradient of conv2d with respect to its input (`self` is dy); conv_transpose2d forward.
    pub fn conv2d_backward_data(&self, w: &Storage, g: &Conv2dGeometry) -> Result<Storage> {
        match (self, w) {
            (Storage::Cpu(dy), Storage::Cpu(w)) => {
                let mut dx = cpu::buffers::zeroed(g.n * g.c_in * g.h * g.w);
                cpu::conv::conv2d_backward_data(g, dy, w, &mut dx);
                Ok(Storage::Cpu(dx))
            }
            (Storage::Gpu(dy), Storage::Gpu(w)) => {
                Ok(Storage::Gpu(gpu::conv::backward_data(dy, w, g)?))
            }
            (a, b) => Err(mixed("conv2d_backward_data", a, b)),
        }
    }
    /// Gradient of conv2d with respect to its weight (`self` is x).
    pub fn conv2d_backward_weight(&self, dy: &Storage, g: &Conv2dGeometry) -> Result<Storage> {
        match (self, dy) {
            (Storage::Cpu(x), Storage::Cpu(dy)) => {
                let mut dw = cpu::buffers::zeroed(g.c_out * g.c_in * g.kh * g.kw);
                cpu::conv::conv2d_backward_weight(g, x, dy, &mut dw);
                Ok(Storage::Cpu(dw))
            }
            (Storage::Gpu(x), Storage::Gpu(dy)) => {
                Ok(Storage::Gpu(gpu::conv::backward_weight(x, dy, g)?))
            }
            (a, b) => Err(mixed("conv2d_backward_weight", a, b)),
        }
    }
    /// Average pooling.
    pub fn avg_pool2d(&self, spec: &Pool2dSpec) -> Result<Storage> {
        match self {
            Storage::Cpu(x) => Ok(Storage::Cpu(cpu::pool::avg_pool2d(x, spec))),
            Storage::Gpu(x) => Ok(Storage::Gpu(gpu::pool::avg_pool2d(x, spec)?)),
        }
    }
    /// Adjoint of average pooling (`self` is dy).
    pub fn avg_pool2d_backward(&self, spec: &Pool2dSpec) -> Result<Storage> {
        match self {
            Storage::Cpu(dy) => Ok(Storage::Cpu(cpu::pool::avg_pool2d_backward(dy, spec))),
            Storage::Gpu(x) => Ok(Storage::Gpu(gpu::pool::avg_pool2d_backward(x, spec)?)),
        }
    }
    /// Bilinear resize.
    pub fn upsample_bilinear(&self, spec: &UpsampleSpec) -> Result<Storage> {
        match self {
            Storage::Cpu(x) => Ok(Storage::Cpu(cpu::pool::upsample_bilinear(x, spec))),
            Storage::Gpu(x) => Ok(Storage::Gpu(gpu::pool::upsample_bilinear(x, spec)?)),
        }
    }
    /// Adjoint of the bilinear resize (`self` is dy).
    pub fn upsample_bilinear_backward(&self, spec: &UpsampleSpec) -> Result<Storage> {
        match self {
            Storage::Cpu(dy) => Ok(Storage::Cpu(cpu::pool::upsample_bilinear_backward(
                dy, spec,
            ))),
            Storage::Gpu(x) => Ok(Storage::Gpu(gpu::pool::upsample_bilinear_backward(
                x, spec,
            )?)),
        }
    }
    /// Copies `shape` permuted by `perm` into a contiguous tensor.
    pub fn permute(&self, shape: &Shape, perm: &[usize]) -> Result<Storage> {
        match self {
            Storage::Cpu(a) => Ok(Storage::Cpu(cpu::layout::permute(a, shape, perm))),
            Storage::Gpu(a) => Ok(Storage::Gpu(gpu::layout::permute(a, shape, perm)?)),
        }
    }
    /// `len` entries from `start` along `axis`.
    pub fn slice(&self, shape: &Shape, axis: usize, start: usize, len: usize) -> Result<Storage> {
        match self {
            Storage::Cpu(a) => Ok(Storage::Cpu(cpu::layout::slice(a, shape, axis, start, len))),
            Storage::Gpu(a) => Ok(Storage::Gpu(gpu::layout::slice(
                a, shape, axis, start, len,
            )?)),
        }
    }
    /// Places `self` (of `shape`) at `start` along `axis` in zeros of size `full` there.
    pub fn pad_axis(
        &self,
        shape: &Shape,
        axis: usize,
        start: usize,
        full: usize,
    ) -> Result<Storage> {
        match self {
            Storage::Cpu(a) => Ok(Storage::Cpu(cpu::layout::pad_axis(
                a, shape, axis, start, full,
            ))),
            Storage::Gpu(a) => Ok(Storage::Gpu(gpu::layout::pad_axis(
                a, shape, axis, start, full,
            )?)),
        }
    }
    /// Concatenates along `axis`.
    pub fn concat(parts: &[(&Storage, &Shape)], axis: usize) -> Result<Storage> {
        if let Some((Storage::Gpu(_), _)) = parts.first() {
            let mut dev = Vec::with_capacity(parts.len());
            for (s, sh) in parts {
                match s {
                    Storage::Gpu(g) => dev.push((g, *sh)),
                    other => return Err(mixed("concat", parts[0].0, other)),
                }
            }
            return Ok(Storage::Gpu(gpu::layout::concat(&dev, axis)?));
        }
        let mut host = Vec::with_capacity(parts.len());
        for (s, sh) in parts {
            match s {
                Storage::Cpu(a) => host.push((a.as_slice(), *sh)),
                other => return Err(mixed("concat", parts[0].0, other)),
            }
        }
        Ok(Storage::Cpu(cpu::layout::concat(&host, axis)))
    }
    /// Entries `idx` along `axis`.
    pub fn index_select(&self, shape: &Shape, axis: usize, idx: &[u32]) -> Result<Storage> {
        match self {
            Storage::Cpu(a) => Ok(Storage::Cpu(cpu::layout::index_select(a, shape, axis, idx))),
            Storage::Gpu(a) => Ok(Storage::Gpu(gpu::layout::index_select(
                a, shape, axis, idx,
            )?)),
        }
    }
    /// Adjoint of `index_select`: adds row j of `self` into row `idx[j]` of zeros of size `full`.
    pub fn index_add(
        &self,
        shape: &Shape,
        axis: usize,
        idx: &[u32],
        full: usize,
    ) -> Result<Storage> {
        match self {
            Storage::Cpu(a) => Ok(Storage::Cpu(cpu::layout::index_add(
                a, shape, axis, idx, full,
            ))),
            Storage::Gpu(a) => Ok(Storage::Gpu(gpu::layout::index_add(
                a, shape, axis, idx, full,
            )?)),
        }
    }
    /// One in-place Adam step on `self` (the parameter) with moments `m`, `v`.
    pub fn adam_step(
        &mut self,
        grad: &Storage,
        m: &mut Storage,
        v: &mut Storage,
        spec: &AdamSpec,
    ) -> Result<()> {
        match (self, grad, m, v) {
            (Storage::Cpu(p), Storage::Cpu(g), Storage::Cpu(m), Storage::Cpu(v)) => {
                cpu::optim::adam_step(p, g, m, v, spec);
                Ok(())
            }
            (Storage::Gpu(p), Storage::Gpu(g), Storage::Gpu(m), Storage::Gpu(v)) => {
                gpu::optim::adam_step(p, g, m, v, spec)
            }
            (p, g, _, _) => Err(mixed("adam_step", p, g)),
        }
    }
    /// In-place `self = self - lr * (g + wd * self)` with optional momentum buffer.
    pub fn sgd_step(
        &mut self,
        grad: &Storage,
        momentum_buf: Option<&mut Storage>,
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    ) -> Result<()> {
        match (self, grad) {
            (Storage::Cpu(p), Storage::Cpu(g)) => {
                let buf = match momentum_buf {
                    Some(Storage::Cpu(b)) => Some(b.as_mut_slice()),
                    None => None,
                    Some(_) => {
                        return Err(Error::InvalidArgument(
                            "sgd_step: momentum buffer on another device".into(),
                        ))
                    }
                };
                cpu::optim::sgd_step(p, g, buf, lr, momentum, weight_decay);
                Ok(())
            }
            (Storage::Gpu(p), Storage::Gpu(g)) => {
                let buf = match momentum_buf {
                    Some(Storage::Gpu(b)) => Some(&*b),
                    None => None,
                    Some(_) => {
                        return Err(Error::InvalidArgument(
                            "sgd_step: momentum buffer on another device".into(),
                        ))
                    }
                };
                gpu::optim::sgd_step(p, g, buf, lr, momentum, weight_decay)
            }
            (p, g) => Err(mixed("sgd_step", p, g)),
        }
    }
    /// Overwrites `self` with a copy of `src` (same length).
    pub fn copy_from(&mut self, src: &Storage) -> Result<()> {
        match (self, src) {
            (Storage::Cpu(d), Storage::Cpu(s)) => {
                d.copy_from_slice(s);
                Ok(())
            }
            (Storage::Gpu(d), Storage::Gpu(s)) => gpu::layout::copy_from(d, s),
            (d, s) => Err(mixed("copy_from", d, s)),
        }
    }
}
