//! Reductions: sum, mean, max, min over axes.

use crate::backend::ReduceOp;
use crate::error::Result;
use crate::op_table::reduce_row;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl Tensor {
    /// `op` over `axes` (keepdim keeps them as size 1), recording the backward rule of the
    /// op's row in the op table.
    pub fn reduce_op(&self, op: ReduceOp, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let (_, row) = reduce_row(op);
        let axes = self.shape().normalize_axes(row.name, axes)?;
        let keep = self.shape().reduced_keepdim(&axes);
        let s = self.storage().reduce(self.shape(), &axes, op)?;
        let (ax, rule) = (axes.clone(), row.backward);
        let t = Tensor::from_op(s, keep, row.name, &[self], move |g, out, inp, _| {
            Ok(vec![Some(rule(g, out, &inp[0], &ax)?)])
        });
        finish(t, self.shape(), &axes, keepdim)
    }
    /// Sum over `axes` (keepdim keeps them as size 1).
    pub fn sum(&self, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        self.reduce_op(ReduceOp::Sum, axes, keepdim)
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
        self.reduce_op(ReduceOp::Max, axes, keepdim)
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
