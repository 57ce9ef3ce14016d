//! `vaecam train`: trains a VAE, beta-VAE or FactorVAE into a run folder.

use crate::error::{Error, Result};

use crate::run_folder::{Intent, RunFolder};
use crate::settings::parse::{image_channels, non_negative_f32, positive_f32, positive_usize};
use crate::settings::{DeviceChoice, ModelChoice};
use crate::source::LoaderSource;
use crate::spec::{self, DataSpec, ImageOptions};
use clap::Args;

use std::path::PathBuf;

use crate::pipelines::training::{model_config, progress, write_samples};
use vaecam_vae::{Arch, FactorOptions, RunConfig, TrainOptions, Vae};

/// The most epochs `--epochs` takes (a larger count is a typo, not a plan).
pub const MAX_EPOCHS: u64 = 1_000_000;

/// Options of `vaecam train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Training data: dsprites | mvtec:ROOT/CATEGORY | synthetic:CATEGORY | mnist:DIR:DIGIT | ucsd:ROOT
    #[arg(long)]
    pub data: String,
    /// Architecture: dsprites | mnist | conv (BatchNorm + LeakyReLU conv VAE for 64-256 px images) | resnet18 (ResNet-18-style encoder).
    #[arg(long, value_enum, default_value_t = ModelChoice::Conv)]
    pub model: ModelChoice,
    /// Latent dimensions (default: 10 for dsprites, 32 otherwise).
    #[arg(long, value_parser = positive_usize)]
    pub z: Option<usize>,
    /// Channels of the conv model's downsampling layers, comma-separated (default by image size).
    #[arg(long, value_delimiter = ',', value_parser = positive_usize)]
    pub channels: Option<Vec<usize>>,
    /// Image side for mvtec / synthetic / ucsd data.
    #[arg(long, default_value_t = 128, value_parser = positive_usize)]
    pub size: usize,
    /// Image channels for mvtec / synthetic data (1 or 3).
    #[arg(long, default_value_t = 1, value_parser = image_channels)]
    pub in_channels: usize,
    /// beta-VAE weight of the KL term.
    #[arg(long, conflicts_with = "factor_gamma", value_parser = non_negative_f32)]
    pub beta: Option<f32>,
    /// FactorVAE: weight of the total-correlation term.
    #[arg(long, value_parser = non_negative_f32)]
    pub factor_gamma: Option<f32>,
    /// Total training steps (a resumed run continues up to this count).
    #[arg(long, conflicts_with = "epochs", value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,
    /// Training epochs (converted to steps).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_EPOCHS))]
    pub epochs: Option<u64>,
    /// Images per step.
    #[arg(long, default_value_t = 64, value_parser = positive_usize)]
    pub batch: usize,
    /// Learning rate (default: 1e-3 for mnist, 1e-4 otherwise).
    #[arg(long, value_parser = positive_f32)]
    pub lr: Option<f32>,
    /// Seed of initialisation, noise and data order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Best)]
    pub device: DeviceChoice,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 500)]
    pub checkpoint_every: u64,
    /// Run folder (config.json, log.jsonl, checkpoint.safetensors, samples/).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run in --out from its checkpoint (the settings must be the run's; --steps
    /// and --lr may change and are recorded in overrides.jsonl).
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Replace a run already in --out (the old run stays until the new one writes its first
    /// checkpoint).
    #[arg(long)]
    pub force: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `vaecam train`.
pub fn run(a: TrainArgs) -> Result<()> {
    let spec: DataSpec = a.data.parse()?;
    let intent = if a.resume {
        Intent::Resume
    } else if a.force {
        Intent::Replace
    } else {
        Intent::New
    };
    let folder = RunFolder::new(&a.out);
    let model = model_config(
        a.model.as_str(),
        &spec,
        a.z,
        a.channels.clone(),
        a.size,
        a.in_channels,
    )?;
    model.validate().map_err(vaecam_vae::VaeError::from)?;
    let lr = a.lr.unwrap_or(if model.arch == Arch::Mnist {
        1e-3
    } else {
        1e-4
    });
    let mut config = RunConfig {
        model,
        train: TrainOptions {
            steps: a.steps.unwrap_or(1000),
            batch_size: a.batch,
            lr,
            beta: a.beta.unwrap_or(1.0),
            factor: a.factor_gamma.map(FactorOptions::with_gamma),
            seed: a.seed,
            checkpoint_every: a.checkpoint_every,
            ..Default::default()
        },
        data: spec.to_string(),
        extra: serde_json::Value::Null,
    };
    // Settings and run folder first (cheap, and a refusal should not wait for the data).
    folder.check(&config, intent)?;
    let dev = a.device.open()?;
    let img = ImageOptions {
        size: config.model.image_size,
        channels: config.model.in_channels,
        seed: a.seed,
    };
    let data = spec::train_dataset(&spec, img)?;
    let [c, h, w] = data.shape();
    let m = &config.model;
    if [c, h, w] != [m.in_channels, m.image_size, m.image_size] {
        return Err(Error::Usage(format!(
            "{spec} gives {c}x{h}x{w} images but the model takes {}x{}x{}",
            m.in_channels, m.image_size, m.image_size
        )));
    }
    if let (None, Some(e)) = (a.steps, a.epochs) {
        let per_epoch = (data.len() / config.images_per_step()).max(1) as u64;
        config.train.steps = e.checked_mul(per_epoch).ok_or_else(|| {
            Error::Usage(format!(
                "--epochs {e}: {e} x {per_epoch} steps per epoch does not fit a step count"
            ))
        })?;
    }
    let mut trainer = folder.open(config, intent, &dev)?;
    let t = trainer.config.train.clone();
    let draw = trainer.config.images_per_step();
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
        Arch::Imported { name } => format!("imported ({name})"),
    };
    format!("{arch} VAE, z={}", vae.config.z_dim)
}
