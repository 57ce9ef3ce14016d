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
    /// x * x
    pub fn square(&self) -> Result<Tensor> {
        self.powf(2.0)
    }
    /// x * c
    pub fn mul_scalar(&self, c: f32) -> Result<Tensor> {
        self.affine(c, 0.0)
    }
    /// x + c
    pub fn add_scalar(&self, c: f32) -> Result<Tensor> {
        self.affine(1.0, c)
    }
}
