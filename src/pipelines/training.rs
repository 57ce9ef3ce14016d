//! Training helpers every command shares: the model config from CLI choices, progress bars,
//! sample pictures, the device of a model.

use crate::error::{Error, Result};
use crate::report::pictures::{self, Chw};
use crate::spec::DataSpec;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use vaecam_tensor::{no_grad, Device, Tensor};
use vaecam_vae::{Arch, Vae, VaeConfig};

/// The conv model's default channels for an image side: downsample to 8x8.
pub fn default_channels(size: usize) -> Vec<usize> {
    let mut ch = Vec::new();
    let mut s = size;
    let mut c = 32;
    while s > 8 && ch.len() < 5 {
        ch.push(c);
        c = (c * 2).min(512);
        s /= 2;
    }
    ch
}

/// Builds the model config from the CLI choices.
pub fn model_config(
    model: &str,
    spec: &DataSpec,
    z: Option<usize>,
    channels: Option<Vec<usize>>,
    size: usize,
    in_channels: usize,
) -> Result<VaeConfig> {
    let mut cfg = match model {
        "dsprites" => VaeConfig::dsprites(z.unwrap_or(10)),
        "mnist" => VaeConfig::mnist(z.unwrap_or(32)),
        "resnet18" => {
            if matches!(spec, DataSpec::Mnist { .. } | DataSpec::Dsprites) {
                return Err(Error::Usage("the resnet18 model is for 32-256 px texture/object images (mvtec, synthetic, ucsd)".into()));
            }
            // --channels 32 narrows the stages to 32-64-128-256 (ResNet-18 proper: 64).
            let width = channels
                .as_ref()
                .and_then(|c| c.first().copied())
                .unwrap_or(64);
            VaeConfig::resnet18(in_channels, size, width, z.unwrap_or(32))
        }
        "conv" => {
            let (size, c) = match spec {
                DataSpec::Dsprites => (64, 1),
                DataSpec::Mnist { .. } => return Err(Error::Usage(
                    "the conv model needs sides divisible by 2^layers; use --model mnist for MNIST"
                        .into(),
                )),
                _ => (size, in_channels),
            };
            VaeConfig::conv(
                c,
                size,
                channels.unwrap_or_else(|| default_channels(size)),
                z.unwrap_or(32),
            )
        }
        other => {
            return Err(Error::Usage(format!(
                "unknown model {other:?}: expected dsprites, mnist, conv or resnet18"
            )))
        }
    };
    if matches!(spec, DataSpec::Dsprites)
        && cfg.arch != Arch::Dsprites
        && !matches!(cfg.arch, Arch::Conv { .. })
    {
        return Err(Error::Usage(format!(
            "model {model} does not take dSprites' 64x64 images"
        )));
    }
    if let (DataSpec::Mnist { .. }, false) = (spec, cfg.arch == Arch::Mnist) {
        return Err(Error::Usage(format!(
            "model {model} does not take MNIST's 28x28 images; use --model mnist"
        )));
    }
    if matches!(spec, DataSpec::Dsprites) {
        cfg.likelihood = vaecam_vae::Likelihood::Bernoulli;
    }
    Ok(cfg)
}

/// A progress bar (hidden when quiet or when stderr is not a terminal).
pub fn progress(quiet: bool, total: u64, start: u64) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(start);
    bar
}

/// Reconstructions of the first 8 training images and latent traversals of the first one.
pub fn write_samples(vae: &Vae, data: &dyn vaecam_data::Dataset, dir: &Path) -> Result<()> {
    let [c, h, w] = data.shape();
    let n = data.len().min(8);
    let mut xs = Vec::with_capacity(n * c * h * w);
    for i in 0..n {
        xs.extend(data.get(i)?.data);
    }
    let dev: Device = model_device(vae);
    vae.set_training(false);
    let x = Tensor::from_vec(xs.clone(), vec![n, c, h, w], &dev)?;
    let (recon, trav, _z) = no_grad(|| -> Result<(Vec<f32>, Vec<f32>, usize)> {
        let out = vae.forward(&x, None)?;
        let recon = out.logits.sigmoid()?.to_vec()?;
        // Traversals: each latent dim of the first image swept over [-3, 3].
        let mu = out.mu.slice(0, 0, 1)?.to_vec()?;
        let z = mu.len();
        let steps = 7;
        let mut codes = Vec::with_capacity(z * steps * z);
        for d in 0..z {
            for s in 0..steps {
                let mut code = mu.clone();
                code[d] = -3.0 + 6.0 * s as f32 / (steps - 1) as f32;
                codes.extend(code);
            }
        }
        let zt = Tensor::from_vec(codes, vec![z * steps, z], &dev)?;
        Ok((recon, vae.decode(&zt)?.sigmoid()?.to_vec()?, z))
    })?;
    vae.set_training(true);
    let per = c * h * w;
    let mut tiles = Vec::new();
    for i in 0..n {
        tiles.push(pictures::to_rgb(Chw {
            data: &xs[i * per..(i + 1) * per],
            c,
            h,
            w,
        }));
    }
    for i in 0..n {
        tiles.push(pictures::to_rgb(Chw {
            data: &recon[i * per..(i + 1) * per],
            c,
            h,
            w,
        }));
    }
    pictures::save(&pictures::grid(&tiles, n), &dir.join("reconstructions.png"))?;
    let tiles: Vec<_> = trav
        .chunks(per)
        .map(|d| pictures::to_rgb(Chw { data: d, c, h, w }))
        .collect();
    pictures::save(&pictures::grid(&tiles, 7), &dir.join("traversals.png"))?;
    Ok(())
}

/// The device holding a model's parameters.
pub fn model_device(vae: &Vae) -> Device {
    vae.parameters()
        .first()
        .map(|(_, p)| p.device().clone())
        .unwrap_or(Device::Cpu)
}
