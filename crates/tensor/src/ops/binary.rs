//! Elementwise binary ops with broadcasting, and the broadcast / sum-to pair.

use crate::backend::{BinaryOp, ReduceOp};
use crate::error::{shape_err, Result};
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
    fn binary(&self, rhs: &Tensor, op: BinaryOp, name: &'static str) -> Result<Tensor> {
        let (s, out) = binary_storage(self, rhs, op, name)?;
        Ok(Tensor::from_op(
            s,
            out,
            name,
            &[self, rhs],
            move |g, _out, inp, needs| {
                let (a, b) = (&inp[0], &inp[1]);
                let (ga, gb) = match op {
                    BinaryOp::Add => (Some(g.clone()), Some(g.clone())),
                    BinaryOp::Sub => (Some(g.clone()), needs[1].then(|| g.neg()).transpose()?),
                    BinaryOp::Mul => (
                        needs[0].then(|| g.mul(b)).transpose()?,
                        needs[1].then(|| g.mul(a)).transpose()?,
                    ),
                    BinaryOp::Div => (
                        needs[0].then(|| g.div(b)).transpose()?,
                        // d(a/b)/db = -a / b^2
                        needs[1]
                            .then(|| g.mul(a)?.div(&b.mul(b)?)?.neg())
                            .transpose()?,
                    ),
                    BinaryOp::Maximum | BinaryOp::Minimum => {
                        // Ties send the gradient to the first operand, like a subgradient choice.
                        let cmp = if op == BinaryOp::Maximum {
                            BinaryOp::Ge
                        } else {
                            BinaryOp::Le
                        };
                        let mask = compare(a, b, cmp)?;
                        (
                            needs[0].then(|| g.mul(&mask)).transpose()?,
                            needs[1]
                                .then(|| g.mul(&mask.affine(-1.0, 1.0)?))
                                .transpose()?,
                        )
                    }
                    BinaryOp::Ge | BinaryOp::Le | BinaryOp::Eq => (None, None),
                };
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
        self.binary(rhs, BinaryOp::Add, "add")
    }
    /// a - b (broadcasting)
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Sub, "sub")
    }
    /// a * b (broadcasting)
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Mul, "mul")
    }
    /// a / b (broadcasting)
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Div, "div")
    }
    /// Elementwise max(a, b) (broadcasting).
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Maximum, "maximum")
    }
    /// Elementwise min(a, b) (broadcasting).
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Minimum, "minimum")
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
