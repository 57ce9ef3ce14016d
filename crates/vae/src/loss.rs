//! VAE losses: reconstruction (summed over pixels, averaged over the batch) and KL to N(0, I).

use crate::arch::Likelihood;
use vaecam_tensor::{Reduction, Result, Tensor};

/// Reconstruction loss of `x` given decoder `logits`, summed over pixels, mean over the batch:
/// the negative log-likelihood up to a constant. Bernoulli: binary cross-entropy. Gaussian
/// (unit variance): 1/2 * sum (sigmoid(logits) - x)^2, the 1/2 of -log N(x; mean, 1).
pub fn reconstruction_loss(logits: &Tensor, x: &Tensor, likelihood: Likelihood) -> Result<Tensor> {
    match likelihood {
        Likelihood::Bernoulli => logits.bce_with_logits(x, Reduction::BatchMean),
        Likelihood::Gaussian => logits
            .sigmoid()?
            .mse(x, Reduction::BatchMean)?
            .mul_scalar(0.5),
    }
}

/// KL(q(z|x) || N(0, I)) = -1/2 sum(1 + logvar - mu^2 - exp(logvar)), mean over the batch.
pub fn kl_divergence(mu: &Tensor, logvar: &Tensor) -> Result<Tensor> {
    let n = mu.dims()[0].max(1) as f32;
    let per = logvar
        .add_scalar(1.0)?
        .sub(&mu.square()?)?
        .sub(&logvar.exp()?)?;
    per.sum_all()?.mul_scalar(-0.5 / n)
}
