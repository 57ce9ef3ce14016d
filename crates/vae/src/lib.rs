//! # vaecam-vae
//!
//! Variational autoencoders on vaecam's engine: the architectures of METHOD.md (dSprites,
//! MNIST, texture/object conv VAEs), their losses (Bernoulli or Gaussian reconstruction, KL,
//! beta-VAE, FactorVAE) and a trainer.
//!
//! ```
//! use vaecam_tensor::{Device, Tensor};
//! use vaecam_vae::{Vae, VaeConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dev = Device::cpu();
//! let vae = Vae::new(&VaeConfig::dsprites(10), 0, &dev)?;
//! let x = Tensor::rand([2, 1, 64, 64], 1, &dev)?;
//! let out = vae.forward(&x, Some(7))?;
//! assert_eq!(out.mu.dims(), &[2, 10]);
//! assert_eq!(out.logits.dims(), &[2, 1, 64, 64]);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod arch;
pub mod archfile;
pub mod error;
pub mod factor;
pub mod loss;
pub mod run;
pub mod trainer;

pub use arch::{Arch, Likelihood, Vae, VaeConfig, VaeOutput};
pub use archfile::ArchFile;
pub use error::{Result, VaeError};
pub use loss::{kl_divergence, reconstruction_loss};
pub use trainer::{
    load_model, read_run_config, BatchSource, ExtraLoss, FactorOptions, LossContext, RunConfig,
    RunMode, StepReport, TrainOptions, Trainer,
};
