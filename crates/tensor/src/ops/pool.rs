//! Average pooling, global average pooling and bilinear upsampling (each with its adjoint).

use crate::error::{shape_err, Result};
use crate::geometry::{Pool2dSpec, UpsampleSpec};
use crate::shape::Shape;
use crate::tensor::Tensor;

fn pool(x: &Tensor, p: Pool2dSpec, out: Shape) -> Result<Tensor> {
    let s = x.storage().avg_pool2d(&p)?;
    Ok(Tensor::from_op(
        s,
        out,
        "avg_pool2d",
        &[x],
        move |g, _, inp, _| Ok(vec![Some(pool_backward(g, p, inp[0].shape().clone())?)]),
    ))
}

fn pool_backward(dy: &Tensor, p: Pool2dSpec, out: Shape) -> Result<Tensor> {
    let s = dy.storage().avg_pool2d_backward(&p)?;
    Ok(Tensor::from_op(
        s,
        out,
        "avg_pool2d_backward",
        &[dy],
        move |g, _, inp, _| Ok(vec![Some(pool(g, p, inp[0].shape().clone())?)]),
    ))
}

fn upsample(x: &Tensor, u: UpsampleSpec, out: Shape) -> Result<Tensor> {
    let s = x.storage().upsample_bilinear(&u)?;
    Ok(Tensor::from_op(
        s,
        out,
        "upsample_bilinear",
        &[x],
        move |g, _, inp, _| Ok(vec![Some(upsample_backward(g, u, inp[0].shape().clone())?)]),
    ))
}

fn upsample_backward(dy: &Tensor, u: UpsampleSpec, out: Shape) -> Result<Tensor> {
    let s = dy.storage().upsample_bilinear_backward(&u)?;
    Ok(Tensor::from_op(
        s,
        out,
        "upsample_bilinear_backward",
        &[dy],
        move |g, _, inp, _| Ok(vec![Some(upsample(g, u, inp[0].shape().clone())?)]),
    ))
}

impl Tensor {
    /// Average pooling of NCHW with a k x k window and the given stride (no padding).
    pub fn avg_pool2d(&self, k: usize, stride: usize) -> Result<Tensor> {
        if self.rank() != 4 || k == 0 || stride == 0 || self.dims()[2] < k || self.dims()[3] < k {
            return shape_err(
                "avg_pool2d",
                format!("window {k} stride {stride} on input {}", self.shape()),
            );
        }
        let d = self.dims();
        let (oh, ow) = ((d[2] - k) / stride + 1, (d[3] - k) / stride + 1);
        let p = Pool2dSpec {
            nc: d[0] * d[1],
            h: d[2],
            w: d[3],
            k,
            stride,
            oh,
            ow,
        };
        pool(self, p, Shape::from(vec![d[0], d[1], oh, ow]))
    }
    /// Mean over H and W of NCHW, keeping them as 1: `[N, C, 1, 1]`.
    pub fn global_avg_pool(&self) -> Result<Tensor> {
        if self.rank() != 4 {
            return shape_err(
                "global_avg_pool",
                format!("needs NCHW input, got {}", self.shape()),
            );
        }
        self.mean(&[2, 3], true)
    }
    /// Bilinear resize of NCHW to `(oh, ow)` (PyTorch `interpolate(..., mode="bilinear",
    /// align_corners=False)`).
    pub fn upsample_bilinear(&self, oh: usize, ow: usize) -> Result<Tensor> {
        if self.rank() != 4 || oh == 0 || ow == 0 || self.dims()[2] == 0 || self.dims()[3] == 0 {
            return shape_err(
                "upsample_bilinear",
                format!("to {oh}x{ow} from {}", self.shape()),
            );
        }
        let d = self.dims();
        if (d[2], d[3]) == (oh, ow) {
            return Ok(self.clone());
        }
        let u = UpsampleSpec {
            nc: d[0] * d[1],
            h: d[2],
            w: d[3],
            oh,
            ow,
        };
        upsample(self, u, Shape::from(vec![d[0], d[1], oh, ow]))
    }
}
