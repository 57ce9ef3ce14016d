//! [`BackendKernels`] on host memory: the functions of this module's siblings, each allocating its
//! output from the buffer pool.

use super::{buffers, conv, elementwise, layout, optim, pool, reduce};
use crate::backend::{AdamSpec, BinaryOp, ReduceOp, UnaryOp};
use crate::error::Result;
use crate::geometry::{Conv2dGeometry, MatmulSpec, Pool2dSpec, UpsampleSpec};
use crate::kernels::BackendKernels;
use crate::shape::Shape;

/// The native CPU backend.
pub struct CpuKernels;

impl BackendKernels for CpuKernels {
    type Dev = ();
    type Buf = Vec<f32>;

    fn from_slice(_: &(), data: &[f32]) -> Result<Vec<f32>> {
        Ok(data.to_vec())
    }
    fn zeros(_: &(), n: usize) -> Result<Vec<f32>> {
        Ok(buffers::zeroed(n))
    }
    fn full(_: &(), n: usize, v: f32) -> Result<Vec<f32>> {
        Ok(buffers::filled(n, v))
    }
    fn random(_: &(), n: usize, seed: u64, normal: bool) -> Result<Vec<f32>> {
        Ok(crate::rng::philox_fill(n, seed, normal))
    }
    fn to_vec(a: &Vec<f32>) -> Result<Vec<f32>> {
        Ok(a.clone())
    }
    fn unary(a: &Vec<f32>, op: UnaryOp) -> Result<Vec<f32>> {
        Ok(elementwise::unary(a, op))
    }
    fn binary(
        a: &Vec<f32>,
        a_shape: &Shape,
        b: &Vec<f32>,
        b_shape: &Shape,
        out: &Shape,
        op: BinaryOp,
    ) -> Result<Vec<f32>> {
        Ok(elementwise::binary(a, a_shape, b, b_shape, out, op))
    }
    fn reduce(a: &Vec<f32>, shape: &Shape, axes: &[usize], op: ReduceOp) -> Result<Vec<f32>> {
        Ok(reduce::reduce(a, shape, axes, op))
    }
    fn broadcast_to(a: &Vec<f32>, shape: &Shape, out: &Shape) -> Result<Vec<f32>> {
        Ok(layout::broadcast_to(a, shape, out))
    }
    fn matmul(a: &Vec<f32>, b: &Vec<f32>, spec: MatmulSpec) -> Result<Vec<f32>> {
        Ok(super::matmul(a, b, spec))
    }
    fn conv2d(x: &Vec<f32>, w: &Vec<f32>, g: &Conv2dGeometry) -> Result<Vec<f32>> {
        let mut y = buffers::for_overwrite(g.y_len());
        conv::conv2d_forward(g, x, w, &mut y);
        Ok(y)
    }
    fn conv2d_backward_data(dy: &Vec<f32>, w: &Vec<f32>, g: &Conv2dGeometry) -> Result<Vec<f32>> {
        let mut dx = buffers::for_overwrite(g.x_len());
        conv::conv2d_backward_data(g, dy, w, &mut dx);
        Ok(dx)
    }
    fn conv2d_backward_weight(x: &Vec<f32>, dy: &Vec<f32>, g: &Conv2dGeometry) -> Result<Vec<f32>> {
        let mut dw = buffers::for_overwrite(g.w_len());
        conv::conv2d_backward_weight(g, x, dy, &mut dw);
        Ok(dw)
    }
    fn avg_pool2d(x: &Vec<f32>, spec: &Pool2dSpec) -> Result<Vec<f32>> {
        Ok(pool::avg_pool2d(x, spec))
    }
    fn avg_pool2d_backward(dy: &Vec<f32>, spec: &Pool2dSpec) -> Result<Vec<f32>> {
        Ok(pool::avg_pool2d_backward(dy, spec))
    }
    fn upsample_bilinear(x: &Vec<f32>, spec: &UpsampleSpec) -> Result<Vec<f32>> {
        Ok(pool::upsample_bilinear(x, spec))
    }
    fn upsample_bilinear_backward(dy: &Vec<f32>, spec: &UpsampleSpec) -> Result<Vec<f32>> {
        Ok(pool::upsample_bilinear_backward(dy, spec))
    }
    fn permute(a: &Vec<f32>, shape: &Shape, perm: &[usize]) -> Result<Vec<f32>> {
        Ok(layout::permute(a, shape, perm))
    }
    fn slice(
        a: &Vec<f32>,
        shape: &Shape,
        axis: usize,
        start: usize,
        len: usize,
    ) -> Result<Vec<f32>> {
        Ok(layout::slice(a, shape, axis, start, len))
    }
    fn pad_axis(
        a: &Vec<f32>,
        shape: &Shape,
        axis: usize,
        start: usize,
        full: usize,
    ) -> Result<Vec<f32>> {
        Ok(layout::pad_axis(a, shape, axis, start, full))
    }
    fn concat(parts: &[(&Vec<f32>, &Shape)], axis: usize) -> Result<Vec<f32>> {
        let host: Vec<(&[f32], &Shape)> = parts.iter().map(|(a, s)| (a.as_slice(), *s)).collect();
        Ok(layout::concat(&host, axis))
    }
    fn index_select(a: &Vec<f32>, shape: &Shape, axis: usize, idx: &[u32]) -> Result<Vec<f32>> {
        Ok(layout::index_select(a, shape, axis, idx))
    }
    fn index_add(
        a: &Vec<f32>,
        shape: &Shape,
        axis: usize,
        idx: &[u32],
        full: usize,
    ) -> Result<Vec<f32>> {
        Ok(layout::index_add(a, shape, axis, idx, full))
    }
    fn adam_step(
        p: &mut Vec<f32>,
        g: &Vec<f32>,
        m: &mut Vec<f32>,
        v: &mut Vec<f32>,
        spec: &AdamSpec,
    ) -> Result<()> {
        optim::adam_step(p, g, m, v, spec);
        Ok(())
    }
    fn sgd_step(
        p: &mut Vec<f32>,
        g: &Vec<f32>,
        momentum_buf: Option<&mut Vec<f32>>,
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    ) -> Result<()> {
        let buf = momentum_buf.map(|b| b.as_mut_slice());
        optim::sgd_step(p, g, buf, lr, momentum, weight_decay);
        Ok(())
    }
    fn copy_from(dst: &mut Vec<f32>, src: &Vec<f32>) -> Result<()> {
        dst.copy_from_slice(src);
        Ok(())
    }
}
