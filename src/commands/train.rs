//! `vaecam train`: trains a VAE, beta-VAE or FactorVAE into a run folder.

use crate::error::{Error, Result};
use crate::pictures::{self, Chw};
use crate::source::LoaderSource;
use crate::spec::{self, DataSpec, ImageOptions};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use vaecam_tensor::{no_grad, Device, Tensor};
use vaecam_vae::{Arch, FactorOptions, RunConfig, RunMode, TrainOptions, Trainer, Vae, VaeConfig};

/// Options of `vaecam train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Training data: dsprites | mvtec:ROOT/CATEGORY | synthetic:CATEGORY | mnist:DIR:DIGIT | ucsd:ROOT
    #[arg(long)]
    pub data: String,
    /// Architecture: dsprites | mnist | conv (BatchNorm + LeakyReLU conv VAE for 64-256 px images) | resnet18 (ResNet-18-style encoder).
    #[arg(long, default_value = "conv")]
    pub model: String,
    /// Latent dimensions (default: 10 for dsprites, 32 otherwise).
    #[arg(long)]
    pub z: Option<usize>,
    /// Channels of the conv model's downsampling layers, comma-separated (default by image size).
    #[arg(long, value_delimiter = ',')]
    pub channels: Option<Vec<usize>>,
    /// Image side for mvtec / synthetic / ucsd data.
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Image channels for mvtec / synthetic data (1 or 3).
    #[arg(long, default_value_t = 1)]
    pub in_channels: usize,
    /// beta-VAE weight of the KL term.
    #[arg(long, conflicts_with = "factor_gamma")]
    pub beta: Option<f32>,
    /// FactorVAE: weight of the total-correlation term.
    #[arg(long)]
    pub factor_gamma: Option<f32>,
    /// Total training steps (a resumed run continues up to this count).
    #[arg(long, conflicts_with = "epochs")]
    pub steps: Option<u64>,
    /// Training epochs (converted to steps).
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Learning rate (default: 1e-3 for mnist, 1e-4 otherwise).
    #[arg(long)]
    pub lr: Option<f32>,
    /// Seed of initialisation, noise and data order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// cpu | gpu | best.
    #[arg(long, default_value = "best")]
    pub device: String,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 500)]
    pub checkpoint_every: u64,
    /// Run folder (config.json, log.jsonl, checkpoint.safetensors, samples/).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run in --out from its checkpoint.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Replace a run already in --out.
    #[arg(long)]
    pub force: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

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

/// Runs `vaecam train`.
pub fn run(a: TrainArgs) -> Result<()> {
    let spec: DataSpec = a.data.parse()?;
    let dev = super::device(&a.device)?;
    let mode = if a.resume {
        RunMode::Resume
    } else if a.force {
        RunMode::Force
    } else {
        RunMode::New
    };
    let model = model_config(
        &a.model,
        &spec,
        a.z,
        a.channels.clone(),
        a.size,
        a.in_channels,
    )?;
    let img = ImageOptions {
        size: model.image_size,
        channels: model.in_channels,
        seed: a.seed,
    };
    let data = spec::train_dataset(&spec, img)?;
    let [c, h, w] = data.shape();
    if [c, h, w] != [model.in_channels, model.image_size, model.image_size] {
        return Err(Error::Usage(format!(
            "{spec} gives {c}x{h}x{w} images but the model takes {}x{}x{}",
            model.in_channels, model.image_size, model.image_size
        )));
    }
    let factor = a.factor_gamma.map(FactorOptions::with_gamma);
    let draw = if factor.is_some() {
        2 * a.batch
    } else {
        a.batch
    };
    let per_epoch = (data.len() / draw).max(1) as u64;
    let steps = match (a.steps, a.epochs) {
        (Some(s), _) => s,
        (None, Some(e)) => e * per_epoch,
        (None, None) => 1000,
    };
    let lr = a.lr.unwrap_or(if model.arch == Arch::Mnist {
        1e-3
    } else {
        1e-4
    });
    let train = TrainOptions {
        steps,
        batch_size: a.batch,
        lr,
        beta: a.beta.unwrap_or(1.0),
        factor,
        seed: a.seed,
        checkpoint_every: a.checkpoint_every,
        ..Default::default()
    };
    let config = RunConfig {
        model,
        train,
        data: spec.to_string(),
        extra: serde_json::Value::Null,
    };
    let mut trainer = Trainer::create(&a.out, config, mode, &dev)?;
    // A resumed run keeps its stored batch size and seed: the data must be the same.
    let t = trainer.config.train.clone();
    let draw = if t.factor.is_some() {
        2 * t.batch_size
    } else {
        t.batch_size
    };
    let mut source = LoaderSource::new(data.clone(), draw, t.seed, false, &spec.to_string())?;
    eprintln!(
        "vaecam train: {} on {} ({} images), {} on {}, steps {}..{}",
        describe(&trainer.vae),
        spec,
        data.len(),
        kind(&t),
        dev.name(),
        trainer.step(),
        t.steps
    );
    let bar = progress(a.quiet, t.steps, trainer.step());
    trainer.train(&mut source, &mut |r| {
        let parts: Vec<String> = r.parts.iter().map(|(k, v)| format!("{k} {v:.3}")).collect();
        bar.set_position(r.step);
        bar.set_message(format!(
            "{} | {:.0} img/s",
            parts.join(" "),
            r.images_per_sec
        ));
    })?;
    bar.finish();
    write_samples(&trainer.vae, data.as_ref(), &a.out.join("samples"))?;
    eprintln!("vaecam train: done; run folder {}", a.out.display());
    Ok(())
}

fn kind(t: &TrainOptions) -> String {
    match (&t.factor, t.beta) {
        (Some(f), _) => format!("FactorVAE (gamma {})", f.gamma),
        (None, b) if b != 1.0 => format!("beta-VAE (beta {b})"),
        _ => "VAE".into(),
    }
}

fn describe(vae: &Vae) -> String {
    let arch = match &vae.config.arch {
        Arch::Dsprites => "dSprites".to_string(),
        Arch::Mnist => "MNIST".to_string(),
        Arch::Conv { channels } => format!("conv {channels:?}"),
        Arch::Resnet18 { width } => format!("ResNet-18 (width {width})"),
    };
    format!("{arch} VAE, z={}", vae.config.z_dim)
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
