//! `vaecam train`: trains a VAE, beta-VAE or FactorVAE into a run folder.

use crate::error::{Error, Result};

use crate::source::LoaderSource;
use crate::spec::{self, DataSpec, ImageOptions};
use clap::Args;

use std::path::PathBuf;

use crate::pipelines::training::{model_config, progress, write_samples};
use vaecam_vae::{Arch, FactorOptions, RunConfig, RunMode, TrainOptions, Trainer, Vae};

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
        Arch::Imported { name } => format!("imported ({name})"),
    };
    format!("{arch} VAE, z={}", vae.config.z_dim)
}
