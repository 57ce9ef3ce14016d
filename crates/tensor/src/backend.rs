//! The backend boundary: what every device must compute, in terms of storage and shapes.
//!
//! Ops in [`crate::ops`] validate shapes, call one of the [`Storage`] methods here and record
//! their backward rule. A backend only ever sees storage plus plain-data op descriptions
//! ([`crate::geometry`]): it implements [`BackendKernels`], and each `Storage` method picks
//! the implementation of the storage's variant in one line (the `on_backend!` macro), so a new device
//! plugs in by adding a `Storage` variant and an arm to that macro.

use crate::cpu::{self, CpuKernels};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::geometry::{Conv2dGeometry, MatmulSpec, Pool2dSpec, UpsampleSpec};
use crate::gpu::{GpuKernels, GpuStorage};
use crate::kernels::BackendKernels;
use crate::shape::Shape;

pub use crate::op_table::UnaryOp;

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
fn mixed(op: &'static str, storages: &[&Storage]) -> Error {
    let first = storages[0].device();
    let other = storages
        .iter()
        .map(|s| s.device())
        .find(|d| d.name() != first.name())
        .unwrap_or_else(|| first.clone());
    Error::DeviceMismatch {
        op,
        lhs: first.name(),
        rhs: other.name(),
    }
}

/// Runs `$body` with `$K` the kernels of the backend all of `$s` live on, `$x` bound to their
/// buffers; `new` wraps the resulting buffer back into a `Storage`, `in_place` returns `()`.
/// Storages of different backends are a [`Error::DeviceMismatch`].
macro_rules! on_backend {
    (new $op:literal, ($($s:expr => $x:ident),+), |$K:ident| $body:expr) => {
        match ($($s,)+) {
            ($(Storage::Cpu($x),)+) => {
                type $K = CpuKernels;
                $body.map(Storage::Cpu)
            }
            ($(Storage::Gpu($x),)+) => {
                type $K = GpuKernels;
                $body.map(Storage::Gpu)
            }
            #[allow(unreachable_patterns)]
            ($($x,)+) => Err(mixed($op, &[$(&*$x),+])),
        }
    };
    (in_place $op:literal, ($($s:expr => $x:ident),+), |$K:ident| $body:expr) => {
        match ($($s,)+) {
            ($(Storage::Cpu($x),)+) => {
                type $K = CpuKernels;
                $body
            }
            ($(Storage::Gpu($x),)+) => {
                type $K = GpuKernels;
                $body
            }
            #[allow(unreachable_patterns)]
            ($($x,)+) => Err(mixed($op, &[$(&*$x),+])),
        }
    };
}

/// Runs `$body` with `$K` the kernels of `$device`'s backend and `$d` its handle.
macro_rules! on_device {
    ($device:expr, |$K:ident, $d:ident| $body:expr) => {
        match $device {
            Device::Cpu => {
                type $K = CpuKernels;
                let $d = &();
                $body.map(Storage::Cpu)
            }
            Device::Gpu($d) => {
                type $K = GpuKernels;
                $body.map(Storage::Gpu)
            }
        }
    };
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
        on_device!(device, |K, d| K::from_slice(d, data))
    }
    /// `n` zeros on `device`.
    pub fn zeros(n: usize, device: &Device) -> Result<Storage> {
        on_device!(device, |K, d| K::zeros(d, n))
    }
    /// `n` copies of `v` on `device`.
    pub fn full(n: usize, v: f32, device: &Device) -> Result<Storage> {
        on_device!(device, |K, d| K::full(d, n, v))
    }
    /// Counter-based (Philox4x32-10) random numbers: standard normal or uniform [0, 1).
    /// The same seed gives the same numbers on every device.
    pub fn random(n: usize, seed: u64, normal: bool, device: &Device) -> Result<Storage> {
        on_device!(device, |K, d| K::random(d, n, seed, normal))
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
        on_backend!(in_place "to_vec", (self => a), |K| K::to_vec(a))
    }
    /// Elementwise unary op.
    pub fn unary(&self, op: UnaryOp) -> Result<Storage> {
        on_backend!(new "unary", (self => a), |K| K::unary(a, op))
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
        on_backend!(new "binary", (self => a, rhs => b), |K| K::binary(a, a_shape, b, b_shape, out, op))
    }
    /// Reduces sorted, distinct `axes` of `shape` (the result has the keepdim shape).
    pub fn reduce(&self, shape: &Shape, axes: &[usize], op: ReduceOp) -> Result<Storage> {
        on_backend!(new "reduce", (self => a), |K| K::reduce(a, shape, axes, op))
    }
    /// Materialises a broadcast of `shape` to `out`.
    pub fn broadcast_to(&self, shape: &Shape, out: &Shape) -> Result<Storage> {
        on_backend!(new "broadcast_to", (self => a), |K| K::broadcast_to(a, shape, out))
    }
    /// Batched matrix product.
    pub fn matmul(&self, rhs: &Storage, spec: MatmulSpec) -> Result<Storage> {
        on_backend!(new "matmul", (self => a, rhs => b), |K| K::matmul(a, b, spec))
    }
    /// 2-D convolution forward (`self` is the input, NCHW).
    pub fn conv2d(&self, w: &Storage, g: &Conv2dGeometry) -> Result<Storage> {
        on_backend!(new "conv2d", (self => x, w => w), |K| K::conv2d(x, w, g))
    }
    /// Gradient of conv2d with respect to its input (`self` is dy); conv_transpose2d forward.
    pub fn conv2d_backward_data(&self, w: &Storage, g: &Conv2dGeometry) -> Result<Storage> {
        on_backend!(new "conv2d_backward_data", (self => dy, w => w), |K| K::conv2d_backward_data(dy, w, g))
    }
    /// Gradient of conv2d with respect to its weight (`self` is x).
    pub fn conv2d_backward_weight(&self, dy: &Storage, g: &Conv2dGeometry) -> Result<Storage> {
        on_backend!(new "conv2d_backward_weight", (self => x, dy => dy), |K| K::conv2d_backward_weight(x, dy, g))
    }
    /// Average pooling.
    pub fn avg_pool2d(&self, spec: &Pool2dSpec) -> Result<Storage> {
        on_backend!(new "avg_pool2d", (self => x), |K| K::avg_pool2d(x, spec))
    }
    /// Adjoint of average pooling (`self` is dy).
    pub fn avg_pool2d_backward(&self, spec: &Pool2dSpec) -> Result<Storage> {
        on_backend!(new "avg_pool2d_backward", (self => dy), |K| K::avg_pool2d_backward(dy, spec))
    }
    /// Bilinear resize.
    pub fn upsample_bilinear(&self, spec: &UpsampleSpec) -> Result<Storage> {
        on_backend!(new "upsample_bilinear", (self => x), |K| K::upsample_bilinear(x, spec))
    }
    /// Adjoint of the bilinear resize (`self` is dy).
    pub fn upsample_bilinear_backward(&self, spec: &UpsampleSpec) -> Result<Storage> {
        on_backend!(new "upsample_bilinear_backward", (self => dy), |K| K::upsample_bilinear_backward(dy, spec))
    }
    /// Copies `shape` permuted by `perm` into a contiguous tensor.
    pub fn permute(&self, shape: &Shape, perm: &[usize]) -> Result<Storage> {
        on_backend!(new "permute", (self => a), |K| K::permute(a, shape, perm))
    }
    /// `len` entries from `start` along `axis`.
    pub fn slice(&self, shape: &Shape, axis: usize, start: usize, len: usize) -> Result<Storage> {
        on_backend!(new "slice", (self => a), |K| K::slice(a, shape, axis, start, len))
    }
    /// Places `self` (of `shape`) at `start` along `axis` in zeros of size `full` there.
    pub fn pad_axis(
        &self,
        shape: &Shape,
        axis: usize,
        start: usize,
        full: usize,
    ) -> Result<Storage> {
        on_backend!(new "pad_axis", (self => a), |K| K::pad_axis(a, shape, axis, start, full))
    }
    /// Concatenates along `axis` (all parts on the first part's backend).
    pub fn concat(parts: &[(&Storage, &Shape)], axis: usize) -> Result<Storage> {
        fn same<'a, B>(
            parts: &[(&'a Storage, &'a Shape)],
            buf: impl Fn(&'a Storage) -> Option<&'a B>,
        ) -> Result<Vec<(&'a B, &'a Shape)>> {
            let typed = parts.iter().map(|(s, sh)| buf(s).map(|b| (b, *sh)));
            let bad = |i: usize| mixed("concat", &[parts[0].0, parts[i].0]);
            typed
                .enumerate()
                .map(|(i, t)| t.ok_or_else(|| bad(i)))
                .collect()
        }
        match parts.first() {
            None | Some((Storage::Cpu(_), _)) => {
                let host = same(parts, |s| {
                    if let Storage::Cpu(v) = s {
                        Some(v)
                    } else {
                        None
                    }
                })?;
                CpuKernels::concat(&host, axis).map(Storage::Cpu)
            }
            Some((Storage::Gpu(_), _)) => {
                let dev = same(parts, |s| {
                    if let Storage::Gpu(g) = s {
                        Some(g)
                    } else {
                        None
                    }
                })?;
                GpuKernels::concat(&dev, axis).map(Storage::Gpu)
            }
        }
    }
    /// Entries `idx` along `axis`.
    pub fn index_select(&self, shape: &Shape, axis: usize, idx: &[u32]) -> Result<Storage> {
        on_backend!(new "index_select", (self => a), |K| K::index_select(a, shape, axis, idx))
    }
    /// Adjoint of `index_select`: adds row j of `self` into row `idx[j]` of zeros of size `full`.
    pub fn index_add(
        &self,
        shape: &Shape,
        axis: usize,
        idx: &[u32],
        full: usize,
    ) -> Result<Storage> {
        on_backend!(new "index_add", (self => a), |K| K::index_add(a, shape, axis, idx, full))
    }
    /// One in-place Adam step on `self` (the parameter) with moments `m`, `v`.
    pub fn adam_step(
        &mut self,
        grad: &Storage,
        m: &mut Storage,
        v: &mut Storage,
        spec: &AdamSpec,
    ) -> Result<()> {
        on_backend!(in_place "adam_step", (self => p, grad => g, m => m, v => v), |K| K::adam_step(p, g, m, v, spec))
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
        match momentum_buf {
            Some(buf) => {
                on_backend!(in_place "sgd_step", (self => p, grad => g, buf => b), |K| K::sgd_step(p, g, Some(b), lr, momentum, weight_decay))
            }
            None => {
                on_backend!(in_place "sgd_step", (self => p, grad => g), |K| K::sgd_step(p, g, None, lr, momentum, weight_decay))
            }
        }
    }
    /// Overwrites `self` with a copy of `src` (same length).
    pub fn copy_from(&mut self, src: &Storage) -> Result<()> {
        on_backend!(in_place "copy_from", (self => d, src => s), |K| K::copy_from(d, s))
    }
}
