//! [`BackendKernels`] on wgpu buffers: the dispatch functions of this module's siblings. In-place
//! updates take `&mut` for the trait's sake; the buffers themselves are written by the GPU.

use super::{conv, elementwise, layout, matmul, optim, pool, reduce, rng, GpuDevice, GpuStorage};
use crate::backend::{AdamSpec, BinaryOp, ReduceOp, UnaryOp};
use crate::error::Result;
use crate::geometry::{Conv2dGeometry, MatmulSpec, Pool2dSpec, UpsampleSpec};
use crate::kernels::BackendKernels;
use crate::shape::Shape;

/// The WGSL backend.
pub struct GpuKernels;

impl BackendKernels for GpuKernels {
    type Dev = GpuDevice;
    type Buf = GpuStorage;

    fn from_slice(dev: &GpuDevice, data: &[f32]) -> Result<GpuStorage> {
        GpuStorage::from_slice(dev, data)
    }
    fn zeros(dev: &GpuDevice, n: usize) -> Result<GpuStorage> {
        layout::full(dev, n, 0.0)
    }
    fn full(dev: &GpuDevice, n: usize, v: f32) -> Result<GpuStorage> {
        layout::full(dev, n, v)
    }
    fn random(dev: &GpuDevice, n: usize, seed: u64, normal: bool) -> Result<GpuStorage> {
        rng::fill(dev, n, seed, normal)
    }
    fn to_vec(a: &GpuStorage) -> Result<Vec<f32>> {
        a.to_vec()
    }
    fn unary(a: &GpuStorage, op: UnaryOp) -> Result<GpuStorage> {
        elementwise::unary(a, op)
    }
    fn binary(
        a: &GpuStorage,
        a_shape: &Shape,
        b: &GpuStorage,
        b_shape: &Shape,
        out: &Shape,
        op: BinaryOp,
    ) -> Result<GpuStorage> {
        elementwise::binary(a, a_shape, b, b_shape, out, op)
    }
    fn reduce(a: &GpuStorage, shape: &Shape, axes: &[usize], op: ReduceOp) -> Result<GpuStorage> {
        reduce::reduce(a, shape, axes, op)
    }
    fn broadcast_to(a: &GpuStorage, shape: &Shape, out: &Shape) -> Result<GpuStorage> {
        layout::broadcast_to(a, shape, out)
    }
    fn matmul(a: &GpuStorage, b: &GpuStorage, spec: MatmulSpec) -> Result<GpuStorage> {
        matmul::matmul(a, b, spec)
    }
    fn conv2d(x: &GpuStorage, w: &GpuStorage, g: &Conv2dGeometry) -> Result<GpuStorage> {
        conv::forward(x, w, g)
    }
    fn conv2d_backward_data(
        dy: &GpuStorage,
        w: &GpuStorage,
        g: &Conv2dGeometry,
    ) -> Result<GpuStorage> {
        conv::backward_data(dy, w, g)
    }
    fn conv2d_backward_weight(
        x: &GpuStorage,
        dy: &GpuStorage,
        g: &Conv2dGeometry,
    ) -> Result<GpuStorage> {
        conv::backward_weight(x, dy, g)
    }
    fn avg_pool2d(x: &GpuStorage, spec: &Pool2dSpec) -> Result<GpuStorage> {
        pool::avg_pool2d(x, spec)
    }
    fn avg_pool2d_backward(dy: &GpuStorage, spec: &Pool2dSpec) -> Result<GpuStorage> {
        pool::avg_pool2d_backward(dy, spec)
    }
    fn upsample_bilinear(x: &GpuStorage, spec: &UpsampleSpec) -> Result<GpuStorage> {
        pool::upsample_bilinear(x, spec)
    }
    fn upsample_bilinear_backward(dy: &GpuStorage, spec: &UpsampleSpec) -> Result<GpuStorage> {
        pool::upsample_bilinear_backward(dy, spec)
    }
    fn permute(a: &GpuStorage, shape: &Shape, perm: &[usize]) -> Result<GpuStorage> {
        layout::permute(a, shape, perm)
    }
    fn slice(
        a: &GpuStorage,
        shape: &Shape,
        axis: usize,
        start: usize,
        len: usize,
    ) -> Result<GpuStorage> {
        layout::slice(a, shape, axis, start, len)
    }
    fn pad_axis(
        a: &GpuStorage,
        shape: &Shape,
        axis: usize,
        start: usize,
        full: usize,
    ) -> Result<GpuStorage> {
        layout::pad_axis(a, shape, axis, start, full)
    }
    fn concat(parts: &[(&GpuStorage, &Shape)], axis: usize) -> Result<GpuStorage> {
        layout::concat(parts, axis)
    }
    fn index_select(a: &GpuStorage, shape: &Shape, axis: usize, idx: &[u32]) -> Result<GpuStorage> {
        layout::index_select(a, shape, axis, idx)
    }
    fn index_add(
        a: &GpuStorage,
        shape: &Shape,
        axis: usize,
        idx: &[u32],
        full: usize,
    ) -> Result<GpuStorage> {
        layout::index_add(a, shape, axis, idx, full)
    }
    fn adam_step(
        p: &mut GpuStorage,
        g: &GpuStorage,
        m: &mut GpuStorage,
        v: &mut GpuStorage,
        spec: &AdamSpec,
    ) -> Result<()> {
        optim::adam_step(p, g, m, v, spec)
    }
    fn sgd_step(
        p: &mut GpuStorage,
        g: &GpuStorage,
        momentum_buf: Option<&mut GpuStorage>,
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    ) -> Result<()> {
        optim::sgd_step(p, g, momentum_buf.map(|b| &*b), lr, momentum, weight_decay)
    }
    fn copy_from(dst: &mut GpuStorage, src: &GpuStorage) -> Result<()> {
        layout::copy_from(dst, src)
    }
}
