//! Elementwise unary ops and their derivatives.

use crate::backend::UnaryOp;
use crate::error::Result;
use crate::op_table::unary_row;
use crate::tensor::Tensor;

/// Applies `op` without recording it (derivative masks, constants).
pub(crate) fn unary_untracked(x: &Tensor, op: UnaryOp) -> Result<Tensor> {
    let s = x.storage().unary(op)?;
    Ok(Tensor::make(s, x.shape().clone(), None, false))
}

impl Tensor {
    /// `op` applied to every element, recording the backward rule of its op-table row
    /// (an op without one, a derivative mask, is recorded as a constant).
    pub fn unary_op(&self, op: UnaryOp) -> Result<Tensor> {
        let (_, row) = unary_row(op);
        let Some(rule) = row.backward else {
            return unary_untracked(self, op);
        };
        let (p0, p1) = op.params();
        let s = self.storage().unary(op)?;
        Ok(Tensor::from_op(
            s,
            self.shape().clone(),
            row.name,
            &[self],
            move |g, out, inp, _| Ok(vec![Some(rule(g, out, &inp[0], p0, p1)?)]),
        ))
    }
    /// -x
    pub fn neg(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Neg)
    }
    /// e^x
    pub fn exp(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Exp)
    }
    /// Natural logarithm.
    pub fn log(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Log)
    }
    /// Square root.
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Sqrt)
    }
    /// |x| (derivative sign(x), 0 at 0).
    pub fn abs(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Abs)
    }
    /// sign(x) in {-1, 0, 1}; not differentiable (zero gradient).
    pub fn sign(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Sign)
    }
    /// max(x, 0)
    pub fn relu(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Relu)
    }
    /// x for x > 0, else `slope * x`.
    pub fn leaky_relu(&self, slope: f32) -> Result<Tensor> {
        self.unary_op(UnaryOp::LeakyRelu(slope))
    }
    /// The logistic sigmoid.
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Sigmoid)
    }
    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Tanh)
    }
    /// ln(1 + e^x), stable for large |x|.
    pub fn softplus(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Softplus)
    }
    /// Clamps into [lo, hi] (gradient 1 inside, 0 outside).
    pub fn clamp(&self, lo: f32, hi: f32) -> Result<Tensor> {
        self.unary_op(UnaryOp::Clamp(lo, hi))
    }
    /// x^p for a constant p.
    pub fn powf(&self, p: f32) -> Result<Tensor> {
        self.unary_op(UnaryOp::Powf(p))
    }
    /// x * x
    pub fn square(&self) -> Result<Tensor> {
        self.powf(2.0)
    }
    /// a * x + b for constants a, b.
    pub fn affine(&self, a: f32, b: f32) -> Result<Tensor> {
        self.unary_op(UnaryOp::Affine(a, b))
    }
    /// x * c
    pub fn mul_scalar(&self, c: f32) -> Result<Tensor> {
        self.affine(c, 0.0)
    }
    /// x + c
    pub fn add_scalar(&self, c: f32) -> Result<Tensor> {
        self.affine(1.0, c)
    }
    /// 1 / x
    pub fn recip(&self) -> Result<Tensor> {
        self.unary_op(UnaryOp::Recip)
    }
}
