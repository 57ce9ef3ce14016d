//! What every backend computes: the [`BackendKernels`] trait, implemented by the CPU backend
//! ([`crate::cpu::CpuKernels`]) and the WGSL backend ([`crate::gpu::GpuKernels`]) with
//! identical signatures. Each kernel allocates its own output and returns `Result`, so
//! [`crate::backend::Storage`] only picks the implementation (one line per method).

use crate::backend::{AdamSpec, BinaryOp, ReduceOp, UnaryOp};
use crate::error::Result;
use crate::geometry::{Conv2dGeometry, MatmulSpec, Pool2dSpec, UpsampleSpec};
use crate::shape::Shape;

/// One backend's kernels over its buffer type [`BackendKernels::Buf`] on its device
/// [`BackendKernels::Dev`].
pub trait BackendKernels {
    /// The device handle that allocations need (`()` for the host).
    type Dev;
    /// A buffer of f32 on that device.
    type Buf;

    /// Copies host data to the device.
    fn from_slice(dev: &Self::Dev, data: &[f32]) -> Result<Self::Buf>;
    /// `n` zeros.
    fn zeros(dev: &Self::Dev, n: usize) -> Result<Self::Buf>;
    /// `n` copies of `v`.
    fn full(dev: &Self::Dev, n: usize, v: f32) -> Result<Self::Buf>;
    /// Philox4x32-10 numbers, standard normal or uniform [0, 1); the same on every backend.
    fn random(dev: &Self::Dev, n: usize, seed: u64, normal: bool) -> Result<Self::Buf>;
    /// Copies the data to the host.
    fn to_vec(a: &Self::Buf) -> Result<Vec<f32>>;

    /// Elementwise unary op.
    fn unary(a: &Self::Buf, op: UnaryOp) -> Result<Self::Buf>;
    /// Elementwise binary op; `a_shape` and `b_shape` broadcast to `out`.
    fn binary(
        a: &Self::Buf,
        a_shape: &Shape,
        b: &Self::Buf,
        b_shape: &Shape,
        out: &Shape,
        op: BinaryOp,
    ) -> Result<Self::Buf>;
    /// Reduces sorted, distinct `axes` of `shape` (keepdim layout).
    fn reduce(a: &Self::Buf, shape: &Shape, axes: &[usize], op: ReduceOp) -> Result<Self::Buf>;
    /// Materialises a broadcast of `shape` to `out`.
    fn broadcast_to(a: &Self::Buf, shape: &Shape, out: &Shape) -> Result<Self::Buf>;
    /// Batched matrix product.
    fn matmul(a: &Self::Buf, b: &Self::Buf, spec: MatmulSpec) -> Result<Self::Buf>;
    /// conv2d forward: `x` NCHW, `w` `[c_out, c_in, kh, kw]`.
    fn conv2d(x: &Self::Buf, w: &Self::Buf, g: &Conv2dGeometry) -> Result<Self::Buf>;
    /// Gradient of conv2d with respect to its input (conv_transpose2d forward).
    fn conv2d_backward_data(dy: &Self::Buf, w: &Self::Buf, g: &Conv2dGeometry)
        -> Result<Self::Buf>;
    /// Gradient of conv2d with respect to its weight.
    fn conv2d_backward_weight(
        x: &Self::Buf,
        dy: &Self::Buf,
        g: &Conv2dGeometry,
    ) -> Result<Self::Buf>;
    /// Average pooling.
    fn avg_pool2d(x: &Self::Buf, spec: &Pool2dSpec) -> Result<Self::Buf>;
    /// Adjoint of average pooling (`dy` in).
    fn avg_pool2d_backward(dy: &Self::Buf, spec: &Pool2dSpec) -> Result<Self::Buf>;
    /// Bilinear resize.
    fn upsample_bilinear(x: &Self::Buf, spec: &UpsampleSpec) -> Result<Self::Buf>;
    /// Adjoint of the bilinear resize (`dy` in).
    fn upsample_bilinear_backward(dy: &Self::Buf, spec: &UpsampleSpec) -> Result<Self::Buf>;
    /// Copies `shape` permuted by `perm` into a contiguous buffer.
    fn permute(a: &Self::Buf, shape: &Shape, perm: &[usize]) -> Result<Self::Buf>;
    /// `len` entries from `start` along `axis`.
    fn slice(
        a: &Self::Buf,
        shape: &Shape,
        axis: usize,
        start: usize,
        len: usize,
    ) -> Result<Self::Buf>;
    /// `a` placed at `start` along `axis` in zeros of length `full` there.
    fn pad_axis(
        a: &Self::Buf,
        shape: &Shape,
        axis: usize,
        start: usize,
        full: usize,
    ) -> Result<Self::Buf>;
    /// Concatenation along `axis`.
    fn concat(parts: &[(&Self::Buf, &Shape)], axis: usize) -> Result<Self::Buf>;
    /// Entries `idx` along `axis`.
    fn index_select(a: &Self::Buf, shape: &Shape, axis: usize, idx: &[u32]) -> Result<Self::Buf>;
    /// Adjoint of `index_select`: entry j is added into entry `idx[j]` of zeros of size `full`.
    fn index_add(
        a: &Self::Buf,
        shape: &Shape,
        axis: usize,
        idx: &[u32],
        full: usize,
    ) -> Result<Self::Buf>;
    /// One in-place Adam step on `p` with moments `m`, `v`.
    fn adam_step(
        p: &mut Self::Buf,
        g: &Self::Buf,
        m: &mut Self::Buf,
        v: &mut Self::Buf,
        spec: &AdamSpec,
    ) -> Result<()>;
    /// In-place `p = p - lr * (g + wd * p)`, with an optional momentum buffer.
    fn sgd_step(
        p: &mut Self::Buf,
        g: &Self::Buf,
        momentum_buf: Option<&mut Self::Buf>,
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    ) -> Result<()>;
    /// Overwrites `dst` with `src` (same length).
    fn copy_from(dst: &mut Self::Buf, src: &Self::Buf) -> Result<()>;
}
