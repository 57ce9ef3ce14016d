//! Elementwise binary ops with broadcasting, and the broadcast / sum-to pair.

use crate::backend::{BinaryOp, ReduceOp};
use crate::error::{shape_err, Result};
use crate::op_table::binary_row;
use crate::shape::Shape;
use crate::tensor::Tensor;

fn binary_storage(
    a: &Tensor,
    b: &Tensor,
    op: BinaryOp,
    name: &'static str,
) -> Result<(crate::backend::Storage, Shape)> {
    a.same_device(name, b)?;
    let out = Shape::broadcast(name, a.shape(), b.shape())?;
    let s = a
        .storage()
        .binary(a.shape(), &b.storage(), b.shape(), &out, op)?;
    Ok((s, out))
}

/// A comparison mask (1.0 / 0.0), not recorded.
pub(crate) fn compare(a: &Tensor, b: &Tensor, op: BinaryOp) -> Result<Tensor> {
    let (s, out) = binary_storage(a, b, op, "compare")?;
    Ok(Tensor::make(s, out, None, false))
}

impl Tensor {
    /// `op` with broadcasting, recording its op-table row's backward rule (the comparisons
    /// have none and are recorded as constants).
    pub fn binary_op(&self, rhs: &Tensor, op: BinaryOp) -> Result<Tensor> {
        let row = binary_row(op).1;
        let Some(rule) = row.backward else {
            return compare(self, rhs, op);
        };
        let (s, out) = binary_storage(self, rhs, op, row.name)?;
        Ok(Tensor::from_op(
            s,
            out,
            row.name,
            &[self, rhs],
            move |g, _out, inp, needs| {
                let (a, b) = (&inp[0], &inp[1]);
                let [ga, gb] = rule(g, a, b, [needs[0], needs[1]])?;
                Ok(vec![
                    ga.filter(|_| needs[0])
                        .map(|t| t.sum_to(a.shape()))
                        .transpose()?,
                    gb.filter(|_| needs[1])
                        .map(|t| t.sum_to(b.shape()))
                        .transpose()?,
                ])
            },
        ))
    }
    /// a + b (broadcasting)
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Add)
    }
    /// a - b (broadcasting)
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Sub)
    }
    /// a * b (broadcasting)
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Mul)
    }
    /// a / b (broadcasting)
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Div)
    }
    /// Elementwise max(a, b) (broadcasting).
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Maximum)
    }
    /// Elementwise min(a, b) (broadcasting).
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary_op(rhs, BinaryOp::Minimum)
    }
    /// 1.0 where a >= b, else 0.0 (not differentiable).
    pub fn ge(&self, rhs: &Tensor) -> Result<Tensor> {
        compare(self, rhs, BinaryOp::Ge)
    }
    /// 1.0 where a <= b, else 0.0 (not differentiable).
    pub fn le(&self, rhs: &Tensor) -> Result<Tensor> {
        compare(self, rhs, BinaryOp::Le)
    }
    /// 1.0 where a == b, else 0.0 (not differentiable).
    pub fn eq_mask(&self, rhs: &Tensor) -> Result<Tensor> {
        compare(self, rhs, BinaryOp::Eq)
    }

    /// Materialises a broadcast to `shape` (NumPy rules). Its gradient sums back.
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if &shape == self.shape() {
            return Ok(self.clone());
        }
        if Shape::broadcast("broadcast_to", self.shape(), &shape)? != shape {
            return shape_err(
                "broadcast_to",
                format!("{} cannot broadcast to {shape}", self.shape()),
            );
        }
        let s = self.storage().broadcast_to(self.shape(), &shape)?;
        Ok(Tensor::from_op(
            s,
            shape,
            "broadcast_to",
            &[self],
            |g, _, inp, _| Ok(vec![Some(g.sum_to(inp[0].shape())?)]),
        ))
    }

    /// Sums over the dimensions that were broadcast to go from `shape` to this tensor's shape:
    /// the adjoint of [`Tensor::broadcast_to`].
    pub fn sum_to(&self, shape: &Shape) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let (r, t) = (self.rank(), shape.rank());
        if t > r {
            return shape_err(
                "sum_to",
                format!("cannot sum {} to the larger rank of {shape}", self.shape()),
            );
        }
        let mut axes = Vec::new();
        for i in 0..r {
            if i < r - t {
                axes.push(i);
            } else {
                let want = shape.dim(i - (r - t));
                let have = self.shape().dim(i);
                if want == 1 && have != 1 {
                    axes.push(i);
                } else if want != have {
                    return shape_err("sum_to", format!("cannot sum {} to {shape}", self.shape()));
                }
            }
        }
        let keep = self.shape().reduced_keepdim(&axes);
        let s = self.storage().reduce(self.shape(), &axes, ReduceOp::Sum)?;
        let summed = Tensor::from_op(s, keep, "sum_to", &[self], |g, _, inp, _| {
            Ok(vec![Some(g.broadcast_to(inp[0].shape().clone())?)])
        });
        summed.reshape(shape.clone())
    }
}
