//! Encoder/decoder architectures with named layers (any encoder layer can be tapped by name).

use serde::{Deserialize, Serialize};
use vaecam_tensor::nn::{
    self, BatchNorm2d, Conv2d, ConvTranspose2d, Flatten, LeakyReLU, Linear, Module, ReLU, Reshape,
    ResidualBlock, Sequential,
};
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

/// The conv models' decoder: Linear(z -> C*side*side), then transposed convs (k4 s2 p1) back
/// through `channels` in reverse, with LeakyReLU and BatchNorm between, to `out_c` channels.
fn mirrored_decoder(
    channels: &[usize],
    out_c: usize,
    side: usize,
    z: usize,
    seed: u64,
    dev: &Device,
) -> Result<Sequential> {
    let last_c = *channels.last().expect("validated non-empty");
    let flat = last_c * side * side;
    let mut dec = Sequential::new();
    dec.add("fc", Box::new(Linear::new(z, flat, true, seed, dev)?))?;
    dec.add("reshape", Box::new(Reshape(vec![last_c, side, side])))?;
    let rev: Vec<usize> = channels.iter().rev().copied().collect();
    for (i, &ch) in rev.iter().enumerate() {
        let k = i + 1;
        let last = i + 1 == rev.len();
        let out = if last { out_c } else { rev[i + 1] };
        dec.add(&format!("act{k}"), Box::new(LeakyReLU(0.2)))?;
        dec.add(
            &format!("deconv{k}"),
            Box::new(ConvTranspose2d::with_init(
                ch,
                out,
                4,
                2,
                1,
                0,
                last,
                nn::Init::KaimingNormal(0.2),
                seed + k as u64,
                dev,
            )?),
        )?;
        if !last {
            dec.add(&format!("bn{k}"), Box::new(BatchNorm2d::new(out, dev)?))?;
        }
    }
    Ok(dec)
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
    /// The configuration it was built from.
    pub config: VaeConfig,
    /// Named encoder layers; its output is `[N, 2z]` (mu then logvar).
    pub encoder: Sequential,
    /// Named decoder layers; its output is logits `[N, C, H, W]`.
    pub decoder: Sequential,
}

impl Vae {
    /// Builds the model with seeded initialisation.
    pub fn new(config: &VaeConfig, seed: u64, dev: &Device) -> Result<Self> {
        config.validate()?;
        let z = config.z_dim;
        let c = config.in_channels;
        let s = |i: u64| seed.wrapping_mul(1000).wrapping_add(i);
        let (encoder, decoder) = match &config.arch {
            Arch::Dsprites => {
                let enc = Sequential::new()
                    .push("conv1", Conv2d::new(c, 32, 4, 2, 1, true, s(1), dev)?)
                    .push("relu1", ReLU)
                    .push("conv2", Conv2d::new(32, 32, 4, 2, 1, true, s(2), dev)?)
                    .push("relu2", ReLU)
                    .push("conv3", Conv2d::new(32, 64, 4, 2, 1, true, s(3), dev)?)
                    .push("relu3", ReLU)
                    .push("conv4", Conv2d::new(64, 64, 4, 2, 1, true, s(4), dev)?)
                    .push("relu4", ReLU)
                    .push("flatten", Flatten)
                    .push("fc1", Linear::new(1024, 128, true, s(5), dev)?)
                    .push("relu5", ReLU)
                    .push("fc2", Linear::new(128, 2 * z, true, s(6), dev)?);
                let dec = Sequential::new()
                    .push("fc1", Linear::new(z, 128, true, s(11), dev)?)
                    .push("relu1", ReLU)
                    .push("fc2", Linear::new(128, 1024, true, s(12), dev)?)
                    .push("relu2", ReLU)
                    .push("reshape", Reshape(vec![64, 4, 4]))
                    .push(
                        "deconv1",
                        ConvTranspose2d::new(64, 64, 4, 2, 1, 0, true, s(13), dev)?,
                    )
                    .push("relu3", ReLU)
                    .push(
                        "deconv2",
                        ConvTranspose2d::new(64, 32, 4, 2, 1, 0, true, s(14), dev)?,
                    )
                    .push("relu4", ReLU)
                    .push(
                        "deconv3",
                        ConvTranspose2d::new(32, 32, 4, 2, 1, 0, true, s(15), dev)?,
                    )
                    .push("relu5", ReLU)
                    .push(
                        "deconv4",
                        ConvTranspose2d::new(32, c, 4, 2, 1, 0, true, s(16), dev)?,
                    );
                (enc, dec)
            }
            Arch::Mnist => {
                let enc = Sequential::new()
                    .push("conv1", Conv2d::new(c, 64, 4, 2, 1, true, s(1), dev)?)
                    .push("relu1", ReLU)
                    .push("conv2", Conv2d::new(64, 128, 4, 2, 1, true, s(2), dev)?)
                    .push("relu2", ReLU)
                    .push("flatten", Flatten)
                    .push("fc1", Linear::new(6272, 1024, true, s(3), dev)?)
                    .push("relu3", ReLU)
                    .push("fc2", Linear::new(1024, 2 * z, true, s(4), dev)?);
                let dec = Sequential::new()
                    .push("fc1", Linear::new(z, 1024, true, s(11), dev)?)
                    .push("relu1", ReLU)
                    .push("fc2", Linear::new(1024, 6272, true, s(12), dev)?)
                    .push("relu2", ReLU)
                    .push("reshape", Reshape(vec![128, 7, 7]))
                    .push(
                        "deconv1",
                        ConvTranspose2d::new(128, 64, 4, 2, 1, 0, true, s(13), dev)?,
                    )
                    .push("relu3", ReLU)
                    .push(
                        "deconv2",
                        ConvTranspose2d::new(64, c, 4, 2, 1, 0, true, s(14), dev)?,
                    );
                (enc, dec)
            }
            Arch::Resnet18 { width } => {
                let w = *width;
                let stages = [w, 2 * w, 4 * w, 8 * w];
                let mut enc = Sequential::new();
                enc.add(
                    "stem",
                    Box::new(Conv2d::with_init(
                        c,
                        w,
                        3,
                        2,
                        1,
                        false,
                        nn::Init::KaimingNormal(0.0),
                        s(1),
                        dev,
                    )?),
                )?;
                enc.add("stem_bn", Box::new(BatchNorm2d::new(w, dev)?))?;
                enc.add("stem_act", Box::new(ReLU))?;
                let mut prev = w;
                for (i, &ch) in stages.iter().enumerate() {
                    for b in 0..2 {
                        let stride = if i > 0 && b == 0 { 2 } else { 1 };
                        let name = format!("layer{}.{b}", i + 1);
                        enc.add(
                            &name,
                            Box::new(ResidualBlock::new(
                                prev,
                                ch,
                                stride,
                                0.0,
                                s(10 + 2 * i as u64 + b as u64),
                                dev,
                            )?),
                        )?;
                        prev = ch;
                    }
                }
                let side = config.image_size / 16;
                let flat = prev * side * side;
                enc.add("flatten", Box::new(Flatten))?;
                enc.add("fc", Box::new(Linear::new(flat, 2 * z, true, s(50), dev)?))?;
                let dec = mirrored_decoder(&[w, 2 * w, 4 * w, 8 * w], c, side, z, s(60), dev)?;
                (enc, dec)
            }
            Arch::Conv { channels } => {
                let mut enc = Sequential::new();
                let mut prev = c;
                for (i, &ch) in channels.iter().enumerate() {
                    let k = i + 1;
                    enc.add(
                        &format!("conv{k}"),
                        Box::new(Conv2d::with_init(
                            prev,
                            ch,
                            4,
                            2,
                            1,
                            false,
                            nn::Init::KaimingNormal(0.2),
                            s(k as u64),
                            dev,
                        )?),
                    )?;
                    enc.add(&format!("bn{k}"), Box::new(BatchNorm2d::new(ch, dev)?))?;
                    enc.add(&format!("act{k}"), Box::new(LeakyReLU(0.2)))?;
                    prev = ch;
                }
                let side = config.image_size >> channels.len();
                let flat = prev * side * side;
                enc.add("flatten", Box::new(Flatten))?;
                enc.add("fc", Box::new(Linear::new(flat, 2 * z, true, s(50), dev)?))?;
                let dec = mirrored_decoder(channels, c, side, z, s(60), dev)?;
                (enc, dec)
            }
        };
        Ok(Vae {
            config: config.clone(),
            encoder,
            decoder,
        })
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
