//! FactorVAE (Kim & Mnih 2018): a discriminator that tells samples of q(z) from samples whose
//! dimensions were permuted independently across the batch; its logit difference estimates
//! the total correlation.

use vaecam_tensor::nn::{LeakyReLU, LinearConfig, Module, Sequential};
use vaecam_tensor::rng::philox4x32;
use vaecam_tensor::{Device, Result, Tensor};

/// METHOD.md's discriminator: 6 Linear layers of 1000 units with LeakyReLU(0.2), 2 logits
/// (index 0 = "joint", index 1 = "permuted").
pub fn discriminator(z_dim: usize, hidden: usize, seed: u64, dev: &Device) -> Result<Sequential> {
    let mut d = Sequential::new();
    let mut prev = z_dim;
    for i in 0..5 {
        d.add(
            &format!("fc{}", i + 1),
            Box::new(LinearConfig::new(prev, hidden).init(seed.wrapping_add(i as u64 + 1), dev)?),
        )?;
        d.add(&format!("act{}", i + 1), Box::new(LeakyReLU(0.2)))?;
        prev = hidden;
    }
    d.add(
        "fc6",
        Box::new(LinearConfig::new(prev, 2).init(seed.wrapping_add(6), dev)?),
    )?;
    Ok(d)
}

/// A seeded random permutation of `0..n` (Fisher-Yates on Philox outputs).
pub fn permutation(n: usize, seed: u64, stream: u64) -> Vec<u32> {
    let mut p: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let r = philox4x32(
            [i as u32, stream as u32, (stream >> 32) as u32, 0x9E11],
            [seed as u32, (seed >> 32) as u32],
        );
        let j = ((r[0] as u64 * (i as u64 + 1)) >> 32) as usize;
        p.swap(i, j);
    }
    p
}

/// Permutes each latent dimension independently across the batch: keeps every marginal,
/// breaks the dependence between dimensions.
pub fn permute_dims(z: &Tensor, seed: u64) -> Result<Tensor> {
    let (n, d) = (z.dims()[0], z.dims()[1]);
    let cols: Vec<Tensor> = (0..d)
        .map(|j| {
            z.slice(1, j, 1)?
                .index_select(0, &permutation(n, seed, j as u64))
        })
        .collect::<Result<_>>()?;
    Tensor::concat(&cols, 1)
}

/// Total-correlation estimate: mean over the batch of D(z)_joint - D(z)_permuted.
pub fn total_correlation(disc: &Sequential, z: &Tensor) -> Result<Tensor> {
    let logits = disc.forward(z)?;
    logits
        .slice(1, 0, 1)?
        .sub(&logits.slice(1, 1, 1)?)?
        .mean_all()
}

/// The discriminator's cross-entropy: samples of q(z) labelled "joint", permuted samples
/// labelled "permuted", averaged over both halves. With two logits, CE = softplus(other - own).
pub fn discriminator_loss(disc: &Sequential, z_joint: &Tensor, z_perm: &Tensor) -> Result<Tensor> {
    // Both halves in one pass (the discriminator treats rows independently): each layer's
    // weights are packed for one product of 2N rows instead of two of N.
    let n = z_joint.dims()[0];
    let logits = disc.forward(&Tensor::concat(&[z_joint.clone(), z_perm.clone()], 0)?)?;
    let (lj, lp) = (
        logits.slice(0, 0, n)?,
        logits.slice(0, n, z_perm.dims()[0])?,
    );
    let ce_joint = lj
        .slice(1, 1, 1)?
        .sub(&lj.slice(1, 0, 1)?)?
        .softplus()?
        .mean_all()?;
    let ce_perm = lp
        .slice(1, 0, 1)?
        .sub(&lp.slice(1, 1, 1)?)?
        .softplus()?
        .mean_all()?;
    ce_joint.add(&ce_perm)?.mul_scalar(0.5)
}
