//! Losses: binary cross-entropy with logits and mean squared error.

use crate::error::{shape_err, Result};
use crate::tensor::Tensor;

/// How a per-element loss is reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// Per-element values.
    None,
    /// Sum of every element.
    Sum,
    /// Mean of every element.
    Mean,
    /// Sum over everything but the first axis, mean over the first (a VAE's per-image loss).
    BatchMean,
}

fn reduce(t: Tensor, r: Reduction) -> Result<Tensor> {
    match r {
        Reduction::None => Ok(t),
        Reduction::Sum => t.sum_all(),
        Reduction::Mean => t.mean_all(),
        Reduction::BatchMean => {
            let n = t.dims().first().copied().unwrap_or(1).max(1);
            t.sum_all()?.mul_scalar(1.0 / n as f32)
        }
    }
}

impl Tensor {
    /// Binary cross-entropy of `sigmoid(self)` against `target` in [0, 1], computed stably from
    /// logits as softplus(x) - x * target.
    pub fn bce_with_logits(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        if self.shape() != target.shape() {
            return shape_err(
                "bce_with_logits",
                format!("logits {} and targets {}", self.shape(), target.shape()),
            );
        }
        reduce(self.softplus()?.sub(&self.mul(target)?)?, reduction)
    }
    /// Squared error (self - target)^2.
    pub fn mse(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        if self.shape() != target.shape() {
            return shape_err(
                "mse",
                format!("prediction {} and target {}", self.shape(), target.shape()),
            );
        }
        reduce(self.sub(target)?.square()?, reduction)
    }
}
