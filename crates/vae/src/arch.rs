//! Encoder/decoder architectures with named layers (any encoder layer can be tapped by name).

use crate::archfile::{self, ArchFile, DecoderOutput};
use serde::{Deserialize, Serialize};
use vaecam_tensor::io::StateDictReport;
use vaecam_tensor::nn::{Module, Sequential};
use vaecam_tensor::{Device, Error, Result, Tensor};

/// Which network family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// METHOD.md's dSprites VAE: four k4 s2 p1 convs (32-32-64-64) with ReLU, Linear 1024->128->2z.
    Dsprites,
    /// The authors' MNIST VAE: Conv(1->64) Conv(64->128), Linear(6272->1024), heads to z.
    Mnist,
    /// A texture/object VAE for 64..256 px images: k4 s2 p1 convs with BatchNorm + LeakyReLU.
    Conv {
        /// Channels of each downsampling conv (e.g. 32, 64, 128, 256).
        channels: Vec<usize>,
    },
    /// A ResNet-18-style encoder (a strided 3x3 stem, then four stages of two basic blocks,
    /// 64-128-256-512 channels scaled by `width / 64`, each later stage halving the size)
    /// with the conv model's mirrored transposed-conv decoder.
    Resnet18 {
        /// Channels of the first stage (64 in ResNet-18).
        width: usize,
    },
    /// A model described by an architecture file (imported from PyTorch); not trainable
    /// from a config alone.
    Imported {
        /// The file's `name`.
        name: String,
    },
}

/// The decoder's output distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Likelihood {
    /// Pixel-wise Bernoulli on logits (binary cross-entropy with logits).
    Bernoulli,
    /// Gaussian with unit variance on sigmoid(logits) (squared error).
    Gaussian,
}

/// Everything needed to rebuild a model: stored in checkpoints and run folders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// The architecture.
    pub arch: Arch,
    /// Image channels (1 or 3).
    pub in_channels: usize,
    /// Square image side in pixels.
    pub image_size: usize,
    /// Latent dimensions.
    pub z_dim: usize,
    /// Reconstruction likelihood.
    pub likelihood: Likelihood,
}

impl VaeConfig {
    /// The dSprites VAE (64x64 binary images, Bernoulli).
    pub fn dsprites(z_dim: usize) -> Self {
        VaeConfig {
            arch: Arch::Dsprites,
            in_channels: 1,
            image_size: 64,
            z_dim,
            likelihood: Likelihood::Bernoulli,
        }
    }
    /// The authors' MNIST VAE (28x28, Bernoulli, z = 32 in their code).
    pub fn mnist(z_dim: usize) -> Self {
        VaeConfig {
            arch: Arch::Mnist,
            in_channels: 1,
            image_size: 28,
            z_dim,
            likelihood: Likelihood::Bernoulli,
        }
    }
    /// A ResNet-18-style VAE.
    pub fn resnet18(in_channels: usize, image_size: usize, width: usize, z_dim: usize) -> Self {
        VaeConfig {
            arch: Arch::Resnet18 { width },
            in_channels,
            image_size,
            z_dim,
            likelihood: Likelihood::Gaussian,
        }
    }
    /// A texture/object conv VAE.
    pub fn conv(in_channels: usize, image_size: usize, channels: Vec<usize>, z_dim: usize) -> Self {
        VaeConfig {
            arch: Arch::Conv { channels },
            in_channels,
            image_size,
            z_dim,
            likelihood: Likelihood::Gaussian,
        }
    }
    /// Checks that the architecture fits the image size and channels, naming what it needs.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(m));
        if self.z_dim == 0 {
            return bad("z_dim must be at least 1".into());
        }
        if !matches!(self.in_channels, 1 | 3) {
            return bad(format!(
                "in_channels must be 1 or 3, got {}",
                self.in_channels
            ));
        }
        match &self.arch {
            Arch::Dsprites if self.image_size != 64 => bad(format!(
                "the dSprites VAE takes 64x64 images, not {0}x{0}",
                self.image_size
            )),
            Arch::Mnist if self.image_size != 28 => bad(format!(
                "the MNIST VAE takes 28x28 images, not {0}x{0}",
                self.image_size
            )),
            Arch::Conv { channels } if channels.contains(&0) => bad(format!(
                "conv channels {channels:?}: every layer needs at least 1 channel"
            )),
            Arch::Conv { channels } => {
                let down = 1usize << channels.len();
                if channels.is_empty()
                    || !self.image_size.is_multiple_of(down)
                    || self.image_size / down < 1
                {
                    if channels.is_empty() {
                        return bad(format!(
                            "image size {}: the conv model needs at least one downsampling layer (sides of 16 px or more get them by default)",
                            self.image_size
                        ));
                    }
                    return bad(format!(
                        "image size {}: {} conv layers halve the side {} times, so it must be a multiple of {down} (and at least {down})",
                        self.image_size,
                        channels.len(),
                        channels.len(),
                    ));
                }
                Ok(())
            }
            Arch::Resnet18 { width } => {
                if *width == 0 || !self.image_size.is_multiple_of(16) || self.image_size < 32 {
                    return bad(format!("the ResNet-18 encoder needs a width >= 1 and an image side divisible by 16 (>= 32), got width {width}, side {}", self.image_size));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// One forward pass: the posterior, the sample and the decoder's logits.
pub struct VaeOutput {
    /// Posterior mean `[N, z]`.
    pub mu: Tensor,
    /// Posterior log-variance `[N, z]`.
    pub logvar: Tensor,
    /// The latent code used for decoding `[N, z]` (a sample, or mu).
    pub z: Tensor,
    /// Decoder output before the sigmoid `[N, C, H, W]`.
    pub logits: Tensor,
}

/// A VAE: an encoder to (mu, logvar) and a decoder from z to image logits.
pub struct Vae {
    /// The configuration it was built from (image shape, z, likelihood).
    pub config: VaeConfig,
    /// The architecture file it was built from (generated for the built-in architectures).
    pub arch_file: ArchFile,
    /// Named encoder layers; its output is `[N, 2z]` (mu then logvar).
    pub encoder: Sequential,
    /// Named decoder layers; its output is logits `[N, C, H, W]`.
    pub decoder: Sequential,
}

impl Vae {
    /// Builds a built-in model with seeded initialisation: its architecture file
    /// ([`crate::archfile::builtin`]) through the same loader as an imported one.
    pub fn new(config: &VaeConfig, seed: u64, dev: &Device) -> Result<Self> {
        config.validate()?;
        let file = archfile::builtin::arch_file(config).ok_or_else(|| {
            Error::InvalidArgument(
                "an imported architecture is built from its architecture file (Vae::from_arch_file)"
                    .into(),
            )
        })?;
        Self::build(file, config.clone(), seed, dev)
    }

    /// Builds a model from an architecture file (weights drawn from `seed`; load a
    /// `state_dict` with [`Vae::load_weights`]). The file is validated first.
    pub fn from_arch_file(file: &ArchFile, seed: u64, dev: &Device) -> crate::Result<Self> {
        archfile::validate(file).map_err(crate::VaeError::Config)?;
        let config = VaeConfig {
            arch: Arch::Imported {
                name: file.name.clone(),
            },
            in_channels: file.input.channels,
            image_size: file.input.size,
            z_dim: file.z_dim,
            likelihood: match file.decoder.output {
                DecoderOutput::BernoulliLogits => Likelihood::Bernoulli,
                DecoderOutput::GaussianLogits | DecoderOutput::GaussianMean => Likelihood::Gaussian,
            },
        };
        Ok(Self::build(file.clone(), config, seed, dev)?)
    }

    fn build(file: ArchFile, config: VaeConfig, seed: u64, dev: &Device) -> Result<Self> {
        let (encoder, decoder) = archfile::build::stacks(&file, seed, dev)?;
        Ok(Vae {
            config,
            arch_file: file,
            encoder,
            decoder,
        })
    }

    /// Loads a PyTorch `state_dict` (`.safetensors`) into the model: every tensor the
    /// architecture names must be there with its shape (the error names the tensor, both
    /// shapes and the layer); integer tensors are skipped; the report lists unused tensors.
    pub fn load_weights(&self, path: &std::path::Path) -> crate::Result<StateDictReport> {
        vaecam_tensor::io::load_state_dict(path, &self.state()).map_err(|e| match e {
            Error::Checkpoint { path, tensor, msg } => {
                let layer = self.layer_of(&tensor);
                Error::Checkpoint {
                    path,
                    msg: format!("{msg} (layer {layer})"),
                    tensor,
                }
                .into()
            }
            other => other.into(),
        })
    }

    /// "encoder 'conv1'" for a tensor name the model uses.
    fn layer_of(&self, tensor: &str) -> String {
        for (section, stack) in [("encoder", &self.encoder), ("decoder", &self.decoder)] {
            for name in stack.layer_names() {
                let layer = stack.layer(&name).expect("listed");
                let mut v = Vec::new();
                layer.named_parameters("", &mut v);
                layer.named_buffers("", &mut v);
                if v.iter().any(|(n, _)| n == tensor) {
                    return format!("{section} '{name}'");
                }
            }
        }
        "?".into()
    }

    /// Checks an input batch against the model's image shape.
    pub fn check_input(&self, x: &Tensor) -> Result<()> {
        let c = &self.config;
        if x.rank() != 4
            || x.dims()[1] != c.in_channels
            || x.dims()[2] != c.image_size
            || x.dims()[3] != c.image_size
        {
            return Err(Error::Shape {
                op: "vae",
                msg: format!(
                    "input {} does not match the model's images [N, {}, {}, {}]",
                    x.shape(),
                    c.in_channels,
                    c.image_size,
                    c.image_size
                ),
            });
        }
        Ok(())
    }

    fn split(&self, h: &Tensor) -> Result<(Tensor, Tensor)> {
        let z = self.config.z_dim;
        Ok((h.slice(1, 0, z)?, h.slice(1, z, z)?))
    }

    /// The posterior (mu, logvar) of a batch.
    pub fn encode(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check_input(x)?;
        self.split(&self.encoder.forward(x)?)
    }

    /// The posterior plus the activations of the named encoder layers (tensors on the tape).
    pub fn encode_tapped(
        &self,
        x: &Tensor,
        taps: &[&str],
    ) -> Result<(Tensor, Tensor, Vec<Tensor>)> {
        self.check_input(x)?;
        let (h, acts) = self.encoder.forward_tapped(x, taps)?;
        let (mu, logvar) = self.split(&h)?;
        Ok((mu, logvar, acts))
    }

    /// Decoder logits for latent codes `[N, z]`.
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        self.decoder.forward(z)
    }

    /// Encodes, samples z = mu + exp(logvar/2) * eps with eps from `noise_seed` (or z = mu when
    /// None), and decodes.
    pub fn forward(&self, x: &Tensor, noise_seed: Option<u64>) -> Result<VaeOutput> {
        let (mu, logvar) = self.encode(x)?;
        let z = match noise_seed {
            Some(seed) => {
                let eps = Tensor::randn(mu.shape().clone(), seed, x.device())?;
                mu.add(&logvar.mul_scalar(0.5)?.exp()?.mul(&eps)?)?
            }
            None => mu.clone(),
        };
        let logits = self.decode(&z)?;
        Ok(VaeOutput {
            mu,
            logvar,
            z,
            logits,
        })
    }

    /// Like [`Vae::forward`], also returning the activations of the named encoder layers.
    pub fn forward_tapped(
        &self,
        x: &Tensor,
        noise_seed: Option<u64>,
        taps: &[&str],
    ) -> Result<(VaeOutput, Vec<Tensor>)> {
        let (mu, logvar, acts) = self.encode_tapped(x, taps)?;
        let z = match noise_seed {
            Some(seed) => {
                let eps = Tensor::randn(mu.shape().clone(), seed, x.device())?;
                mu.add(&logvar.mul_scalar(0.5)?.exp()?.mul(&eps)?)?
            }
            None => mu.clone(),
        };
        let logits = self.decode(&z)?;
        Ok((
            VaeOutput {
                mu,
                logvar,
                z,
                logits,
            },
            acts,
        ))
    }

    /// Trainable parameters, named `encoder.*` and `decoder.*`.
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = Vec::new();
        self.encoder.named_parameters("encoder", &mut v);
        self.decoder.named_parameters("decoder", &mut v);
        v
    }

    /// Parameters and buffers: what a checkpoint holds.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut v = self.parameters();
        self.encoder.named_buffers("encoder", &mut v);
        self.decoder.named_buffers("decoder", &mut v);
        v
    }

    /// Training or evaluation mode (BatchNorm).
    pub fn set_training(&self, on: bool) {
        self.encoder.set_training(on);
        self.decoder.set_training(on);
    }

    /// The encoder's layer names, in order (valid tap names).
    pub fn encoder_layer_names(&self) -> Vec<String> {
        self.encoder.layer_names()
    }
}
