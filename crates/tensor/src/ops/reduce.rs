//! Reductions: sum, mean, max, min over axes.

use crate::backend::ReduceOp;
use crate::error::Result;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl Tensor {
    /// Sum over `axes` (keepdim keeps them as size 1).
    pub fn sum(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let axes = self.shape().normalize_axes("sum", axes)?;
        let keep = self.shape().reduced_keepdim(&axes);
        let s = self.storage().reduce(self.shape(), &axes, ReduceOp::Sum)?;
        let t = Tensor::from_op(s, keep, "sum", &[self], |g, _, inp, _| {
            Ok(vec![Some(g.broadcast_to(inp[0].shape().clone())?)])
        });
        finish(t, self.shape(), &axes, keepdim)
    }
    /// Sum of every element (a scalar, shape `[]`).
    pub fn sum_all(&self) -> Result<Tensor> {
        let axes: Vec<usize> = (0..self.rank()).collect();
        self.sum(&axes, false)
    }
    /// Mean over `axes`.
    pub fn mean(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let axes = self.shape().normalize_axes("mean", axes)?;
        let count: usize = axes.iter().map(|&a| self.shape().dim(a)).product();
        self.sum(&axes, keepdim)?
            .mul_scalar(1.0 / count.max(1) as f32)
    }
    /// Mean of every element (a scalar).
    pub fn mean_all(&self) -> Result<Tensor> {
        let axes: Vec<usize> = (0..self.rank()).collect();
        self.mean(&axes, false)
    }
    /// Maximum over `axes`. The gradient is shared evenly between tied maxima.
    pub fn max(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let axes = self.shape().normalize_axes("max", axes)?;
        let keep = self.shape().reduced_keepdim(&axes);
        let s = self.storage().reduce(self.shape(), &axes, ReduceOp::Max)?;
        let ax = axes.clone();
        let t = Tensor::from_op(s, keep, "max", &[self], move |g, out, inp, _| {
            let x = &inp[0];
            let mask = x.eq_mask(&out.detach())?;
            let count = mask.sum(&ax, true)?;
            Ok(vec![Some(
                g.div(&count)?.broadcast_to(x.shape().clone())?.mul(&mask)?,
            )])
        });
        finish(t, self.shape(), &axes, keepdim)
    }
    /// Minimum over `axes`.
    pub fn min(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        self.neg()?.max(axes, keepdim)?.neg()
    }
    /// Maximum of every element (a scalar).
    pub fn max_all(&self) -> Result<Tensor> {
        let axes: Vec<usize> = (0..self.rank()).collect();
        self.max(&axes, false)
    }
}

fn finish(t: Tensor, shape: &Shape, axes: &[usize], keepdim: bool) -> Result<Tensor> {
    if keepdim {
        Ok(t)
    } else {
        t.reshape(shape.reduced_squeezed(axes))
    }
}
