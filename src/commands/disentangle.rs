//! `vaecam disentangle`: trains (AD-)beta-VAE or (AD-)FactorVAE on dSprites for several seeds
//! and evaluates each run (FactorVAE score, MIG, reconstruction error, attention pictures).

use crate::error::{Error, Result};
use crate::pipelines::ad::{AdLoss, AdSettings, DEFAULT_LAYER};
use crate::pipelines::disentangle::{self, EvalOptions, SeedMetrics, Summary};
use crate::pipelines::training::{progress, write_samples};
use crate::report::pictures;
use crate::run_folder::{Intent, RunFolder};
use crate::settings::parse::{non_negative_f32, positive_f32, positive_usize};
use crate::settings::{AdGrad, AdOverlap, AdPairs, AdStrategy, DeviceChoice, DisentangleModel};
use crate::source::LoaderSource;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use vaecam_data::dsprites::DspritesDataset;
use vaecam_tensor::Device;
use vaecam_vae::{FactorOptions, RunConfig, TrainOptions, Trainer, Vae, VaeConfig};

/// Options of `vaecam disentangle`.
#[derive(Args, Debug, Clone)]
pub struct DisentangleArgs {
    /// The objective.
    #[arg(long, value_enum)]
    pub model: DisentangleModel,
    /// beta-VAE: weight of the KL term (default 4).
    #[arg(long, conflicts_with = "gamma", value_parser = non_negative_f32)]
    pub beta: Option<f32>,
    /// FactorVAE: weight of the total-correlation term (default 40).
    #[arg(long, value_parser = non_negative_f32)]
    pub gamma: Option<f32>,
    /// Weight of the attention-disentanglement loss (absent or 0: no AD term).
    #[arg(long, value_parser = non_negative_f32)]
    pub ad_lambda: Option<f32>,
    /// AD pairs: all | random | top-k:K.
    #[arg(long, default_value_t = AdPairs::All)]
    pub ad_pairs: AdPairs,
    /// AD gradient.
    #[arg(long, value_enum, default_value_t = AdGrad::Full)]
    pub ad_grad: AdGrad,
    /// AD overlap.
    #[arg(long, value_enum, default_value_t = AdOverlap::Iou)]
    pub ad_overlap: AdOverlap,
    /// Encoder layer whose activation the attention maps use.
    #[arg(long, default_value = DEFAULT_LAYER)]
    pub ad_layer: String,
    /// AD maps.
    #[arg(long, value_enum, default_value_t = AdStrategy::PerDim)]
    pub ad_strategy: AdStrategy,
    /// Training steps per seed (a run folder already there is resumed up to this count).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: u64,
    /// Latent dimensions.
    #[arg(long, default_value_t = 10, value_parser = positive_usize)]
    pub z: usize,
    /// Images per VAE step (FactorVAE draws as many again for its discriminator).
    #[arg(long, default_value_t = 64, value_parser = positive_usize)]
    pub batch: usize,
    /// VAE learning rate.
    #[arg(long, default_value_t = 1e-4, value_parser = positive_f32)]
    pub lr: f32,
    /// Seeds, comma-separated: one run folder DIR/seed-N each.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub seeds: Vec<u64>,
    /// The backend.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Best)]
    pub device: DeviceChoice,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 500)]
    pub checkpoint_every: u64,
    /// FactorVAE-score training votes.
    #[arg(long, default_value_t = 10_000, value_parser = positive_usize)]
    pub eval_train_votes: usize,
    /// FactorVAE-score evaluation votes.
    #[arg(long, default_value_t = 5_000, value_parser = positive_usize)]
    pub eval_eval_votes: usize,
    /// Samples for the score's global variances and for MIG.
    #[arg(long, default_value_t = 10_000, value_parser = positive_usize)]
    pub eval_samples: usize,
    /// Images of the fixed reconstruction evaluation set.
    #[arg(long, default_value_t = 2_048, value_parser = positive_usize)]
    pub recon_images: usize,
    /// Output folder: seed-N/ run folders, metrics.json, scatter.png/.md/.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Hide the progress bars.
    #[arg(long)]
    pub quiet: bool,
}

fn fmt_num(v: f32) -> String {
    format!("{v}")
}

/// The AD settings of the arguments (None without a positive lambda); validated.
pub fn ad_settings(a: &DisentangleArgs) -> Result<Option<AdSettings>> {
    let Some(lambda) = a.ad_lambda.filter(|&l| l != 0.0) else {
        return Ok(None);
    };
    let s = AdSettings {
        lambda,
        overlap: a.ad_overlap,
        pairs: a.ad_pairs,
        grad: a.ad_grad,
        layer: a.ad_layer.clone(),
        strategy: a.ad_strategy,
    };
    s.options()?;
    Ok(Some(s))
}

/// The configuration's name, e.g. `AD-FactorVAE (gamma 40, lambda 1)`.
fn label(a: &DisentangleArgs, ad: &Option<AdSettings>) -> String {
    let (name, weight) = match a.model {
        DisentangleModel::BetaVae => (
            "beta-VAE",
            format!("beta {}", fmt_num(a.beta.unwrap_or(4.0))),
        ),
        DisentangleModel::FactorVae => (
            "FactorVAE",
            format!("gamma {}", fmt_num(a.gamma.unwrap_or(40.0))),
        ),
    };
    match ad {
        Some(s) => format!("AD-{name} ({weight}, lambda {})", fmt_num(s.lambda)),
        None => format!("{name} ({weight})"),
    }
}

/// The run config of one seed.
fn run_config(a: &DisentangleArgs, ad: &Option<AdSettings>, seed: u64) -> Result<RunConfig> {
    if a.model == DisentangleModel::BetaVae && a.gamma.is_some() {
        return Err(Error::Usage("--gamma is for --model factor-vae".into()));
    }
    if a.model == DisentangleModel::FactorVae && a.beta.is_some() {
        return Err(Error::Usage("--beta is for --model beta-vae".into()));
    }
    if a.z < 2 && ad.is_some() {
        return Err(Error::Usage(format!(
            "--z {}: the AD loss needs at least 2",
            a.z
        )));
    }
    let factor = (a.model == DisentangleModel::FactorVae)
        .then(|| FactorOptions::with_gamma(a.gamma.unwrap_or(40.0)));
    let beta = if a.model == DisentangleModel::BetaVae {
        a.beta.unwrap_or(4.0)
    } else {
        1.0
    };
    Ok(RunConfig {
        model: VaeConfig::dsprites(a.z),
        train: TrainOptions {
            steps: a.steps,
            batch_size: a.batch,
            lr: a.lr,
            beta,
            factor,
            seed,
            checkpoint_every: a.checkpoint_every,
            ..Default::default()
        },
        data: "dsprites".into(),
        extra: match ad {
            Some(s) => serde_json::json!({ "ad": s }),
            None => serde_json::Value::Null,
        },
    })
}

/// Checks every seed's settings and run folder, and that the AD layer exists, before any
/// folder is created (a typo must not leave a `seed-1/` behind).
fn check_all(a: &DisentangleArgs, ad: &Option<AdSettings>) -> Result<()> {
    if let Some(s) = ad {
        let model = VaeConfig::dsprites(a.z);
        let names = Vae::new(&model, 0, &Device::Cpu)?.encoder_layer_names();
        if !names.iter().any(|n| n == &s.layer) {
            return Err(Error::Usage(format!(
                "--ad-layer {:?}: the dSprites encoder has no such layer; its layers are {}",
                s.layer,
                names.join(", ")
            )));
        }
    }
    for &seed in &a.seeds {
        let folder = RunFolder::new(a.out.join(format!("seed-{seed}")));
        folder.check(&run_config(a, ad, seed)?, Intent::ResumeOrNew)?;
    }
    Ok(())
}

/// Trains (or finishes) one seed's run and evaluates it, reusing a stored evaluation of
/// the same step count and settings.
fn run_seed(
    a: &DisentangleArgs,
    ad: &Option<AdSettings>,
    seed: u64,
    eval: &EvalOptions,
    dev: &Device,
) -> Result<SeedMetrics> {
    let dir = a.out.join(format!("seed-{seed}"));
    let mut trainer: Trainer =
        RunFolder::new(&dir).open(run_config(a, ad, seed)?, Intent::ResumeOrNew, dev)?;
    if let Some(s) = ad {
        let term = AdLoss::new(s.options()?, seed).batched(s.strategy == AdStrategy::Batched);
        trainer.add_loss(Box::new(term));
    }
    let t = trainer.config.train.clone();
    let draw = trainer.config.images_per_step();
    let mut source = LoaderSource::new(
        Arc::new(DspritesDataset::full()),
        draw,
        seed,
        false,
        "dsprites",
    )?;
    let t0 = std::time::Instant::now();
    let start = trainer.step();
    if start < t.steps {
        eprintln!(
            "vaecam disentangle: seed {seed}, steps {start}..{} on {}",
            t.steps,
            dev.name()
        );
        let bar = progress(a.quiet, t.steps, start);
        trainer.train(&mut source, &mut |r| {
            let parts: Vec<String> = r.parts.iter().map(|(k, v)| format!("{k} {v:.3}")).collect();
            bar.set_position(r.step);
            bar.set_message(parts.join(" "));
        })?;
        bar.finish_and_clear();
    }
    let train_seconds = t0.elapsed().as_secs_f64();
    let cache = dir.join("eval.json");
    let stored: Option<SeedMetrics> = std::fs::read_to_string(&cache)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .filter(|m: &SeedMetrics| m.steps == trainer.step() && &m.eval == eval);
    let metrics = match stored {
        Some(m) => m,
        None => {
            eprintln!("vaecam disentangle: seed {seed}, evaluating");
            let mut m = disentangle::evaluate(&trainer.vae, dev, eval)?;
            m.seed = seed;
            m.steps = trainer.step();
            m.train_seconds = train_seconds;
            let layer = ad.as_ref().map_or(DEFAULT_LAYER, |s| s.layer.as_str());
            pictures::save(
                &disentangle::attention_picture(&trainer.vae, layer, dev)?,
                &dir.join("attention.png"),
            )?;
            let idx = disentangle::picture_factors()
                .iter()
                .map(|f| f.index())
                .collect();
            write_samples(
                &trainer.vae,
                &DspritesDataset::subset(idx)?,
                &dir.join("samples"),
            )?;
            let json = serde_json::to_string_pretty(&m).map_err(|e| Error::Serde {
                what: cache.display().to_string(),
                msg: e.to_string(),
            })?;
            std::fs::write(&cache, json).map_err(|e| Error::Io {
                path: cache.clone(),
                msg: e.to_string(),
            })?;
            m
        }
    };
    eprintln!(
        "vaecam disentangle: seed {seed}: FactorVAE score {:.3} (train {:.3}), MIG {:.3}, recon {:.1}",
        metrics.factor_vae, metrics.factor_vae_train, metrics.mig, metrics.recon_bce
    );
    Ok(metrics)
}

/// Runs `vaecam disentangle`.
pub fn run(a: DisentangleArgs) -> Result<()> {
    let ad = ad_settings(&a)?;
    let label = label(&a, &ad);
    if a.seeds.is_empty() {
        return Err(Error::Usage("--seeds: give at least one seed".into()));
    }
    check_all(&a, &ad)?;
    let dev = a.device.open()?;
    let eval = EvalOptions {
        train_votes: a.eval_train_votes,
        eval_votes: a.eval_eval_votes,
        variance_samples: a.eval_samples,
        mig_samples: a.eval_samples,
        recon_images: a.recon_images,
        seed: 0,
    };
    let mut runs = Vec::new();
    for &seed in &a.seeds {
        runs.push(run_seed(&a, &ad, seed, &eval, &dev)?);
    }
    let settings = serde_json::json!({
        "model": a.model.as_str(), "beta": a.beta, "gamma": a.gamma, "ad": ad, "z": a.z,
        "batch": a.batch, "steps": a.steps, "lr": a.lr, "seeds": a.seeds, "device": dev.name(),
    });
    let summary = Summary::new(label, a.model.as_str().to_string(), settings, runs);
    let p = a.out.join("metrics.json");
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Serde {
        what: p.display().to_string(),
        msg: e.to_string(),
    })?;
    std::fs::write(&p, json).map_err(|e| Error::Io {
        path: p.clone(),
        msg: e.to_string(),
    })?;
    let table = disentangle::write_report(std::slice::from_ref(&summary), &a.out.join("scatter"))?;
    println!("{table}");
    eprintln!("vaecam disentangle: wrote {}", p.display());
    Ok(())
}
