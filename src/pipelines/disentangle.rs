//! Evaluating disentanglement on dSprites: the FactorVAE score and MIG through a
//! [`GroundTruth`] made of the dSprites renderer and a VAE's encoder mean, the reconstruction
//! error on a fixed evaluation set, per-dimension attention pictures, and the summaries
//! (`metrics.json`, a markdown table, a scatter plot) that `vaecam disentangle` and
//! `vaecam compare` write.

use crate::error::{Error, Result};
use crate::report::pictures::{self, Chw};
use crate::report::plot::{self, Axes, Series};
use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};
use std::path::Path;
use vaecam_attention::{latent_attention_maps, MapOptions, SequentialEncoder};
use vaecam_data::dsprites::{render_batch, Factors, Sampler, FACTOR_SIZES, SIZE};
use vaecam_metrics::{factor_vae_score, mig, BoxError, FactorVaeOptions, GroundTruth, MigOptions};
use vaecam_tensor::{no_grad, Device, Tensor};
use vaecam_vae::{reconstruction_loss, Vae};

/// dSprites rendered on demand, represented by a VAE's posterior mean (evaluation mode,
/// no gradients, batched as the metric asks).
pub struct DspritesGroundTruth<'a> {
    vae: &'a Vae,
    device: Device,
}

impl<'a> DspritesGroundTruth<'a> {
    /// Wraps a dSprites VAE (64x64, one channel); puts it in evaluation mode.
    pub fn new(vae: &'a Vae, device: &Device) -> Result<Self> {
        let c = &vae.config;
        if c.in_channels != 1 || c.image_size != SIZE {
            return Err(Error::Usage(format!(
                "the model takes {}x{}x{} images, not dSprites' 1x64x64",
                c.in_channels, c.image_size, c.image_size
            )));
        }
        vae.set_training(false);
        Ok(DspritesGroundTruth {
            vae,
            device: device.clone(),
        })
    }
}

fn to_factors(f: &[Vec<usize>]) -> std::result::Result<Vec<Factors>, BoxError> {
    f.iter()
        .map(|v| {
            let a: [usize; 5] = v
                .as_slice()
                .try_into()
                .map_err(|_| format!("factor vector {v:?} does not have 5 entries"))?;
            Ok(Factors::from_array(a)?)
        })
        .collect()
}

impl GroundTruth for DspritesGroundTruth<'_> {
    fn factor_sizes(&self) -> &[usize] {
        &FACTOR_SIZES
    }
    fn representation(
        &mut self,
        factors: &[Vec<usize>],
    ) -> std::result::Result<Vec<Vec<f32>>, BoxError> {
        let n = factors.len();
        let x = Tensor::from_vec(
            render_batch(&to_factors(factors)?),
            [n, 1, SIZE, SIZE],
            &self.device,
        )?;
        let mu = no_grad(|| self.vae.encode(&x))?.0.to_vec()?;
        let z = self.vae.config.z_dim;
        Ok(mu.chunks(z).map(|c| c.to_vec()).collect())
    }
}

/// How much work the evaluation does (defaults: the paper's / disentanglement_lib's counts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// FactorVAE score training votes.
    pub train_votes: usize,
    /// FactorVAE score evaluation votes.
    pub eval_votes: usize,
    /// Samples for the global variances of the FactorVAE score.
    pub variance_samples: usize,
    /// Samples for MIG.
    pub mig_samples: usize,
    /// Images of the fixed reconstruction evaluation set.
    pub recon_images: usize,
    /// Seed of the metric sampling.
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            train_votes: 10_000,
            eval_votes: 5_000,
            variance_samples: 10_000,
            mig_samples: 10_000,
            recon_images: 2_048,
            seed: 0,
        }
    }
}

/// Seed of the fixed reconstruction evaluation set (never used for training order).
const RECON_SEED: u64 = 0x0E7A_15E7;

/// The numbers of one trained run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedMetrics {
    /// Training seed.
    pub seed: u64,
    /// Steps trained.
    pub steps: u64,
    /// FactorVAE score: evaluation accuracy (the reported score).
    pub factor_vae: f64,
    /// FactorVAE score: training (majority-vote) accuracy.
    pub factor_vae_train: f64,
    /// Latent dims kept by the score's pruning (std >= 0.05).
    pub active_dims: usize,
    /// Mutual information gap.
    pub mig: f64,
    /// Mean binary cross-entropy per image (summed over pixels) on the fixed evaluation set,
    /// decoding z = mu.
    pub recon_bce: f64,
    /// Seconds of training in the invocation that finished the run (0 when already done).
    pub train_seconds: f64,
    /// Seconds of evaluation.
    pub eval_seconds: f64,
    /// The evaluation settings.
    pub eval: EvalOptions,
}

/// Mean BCE per image of the fixed evaluation set (z = mu, batches of 64, no gradients).
pub fn reconstruction_error(vae: &Vae, n: usize, device: &Device) -> Result<f64> {
    let factors = Sampler::new(RECON_SEED).sample_many(n.max(1));
    let mut total = 0.0f64;
    vae.set_training(false);
    for chunk in factors.chunks(64) {
        let x = Tensor::from_vec(render_batch(chunk), [chunk.len(), 1, SIZE, SIZE], device)?;
        let l = no_grad(|| -> vaecam_tensor::Result<f32> {
            let out = vae.forward(&x, None)?;
            reconstruction_loss(&out.logits, &x, vae.config.likelihood)?.item()
        })?;
        total += l as f64 * chunk.len() as f64;
    }
    Ok(total / factors.len() as f64)
}

/// FactorVAE score, MIG and reconstruction error of a dSprites VAE.
pub fn evaluate(vae: &Vae, device: &Device, opts: &EvalOptions) -> Result<SeedMetrics> {
    let t0 = std::time::Instant::now();
    let mut gt = DspritesGroundTruth::new(vae, device)?;
    let fv = factor_vae_score(
        &mut gt,
        &FactorVaeOptions {
            num_train: opts.train_votes,
            num_eval: opts.eval_votes,
            num_variance_estimate: opts.variance_samples,
            seed: opts.seed,
            ..Default::default()
        },
    )?;
    let m = mig(
        &mut gt,
        &MigOptions {
            num_samples: opts.mig_samples,
            seed: opts.seed.wrapping_add(1),
            ..Default::default()
        },
    )?;
    let recon = reconstruction_error(vae, opts.recon_images, device)?;
    Ok(SeedMetrics {
        seed: 0,
        steps: 0,
        factor_vae: fv.eval_accuracy,
        factor_vae_train: fv.train_accuracy,
        active_dims: fv.num_active_dims,
        mig: m.mig,
        recon_bce: recon,
        train_seconds: 0.0,
        eval_seconds: t0.elapsed().as_secs_f64(),
        eval: opts.clone(),
    })
}

/// Fixed dSprites images for pictures: the three shapes at several scales, angles and places.
pub fn picture_factors() -> Vec<Factors> {
    [
        [0, 5, 0, 8, 8],
        [1, 5, 10, 24, 10],
        [2, 5, 0, 16, 24],
        [0, 3, 5, 26, 26],
        [1, 2, 30, 6, 22],
        [2, 4, 20, 22, 6],
    ]
    .iter()
    .map(|a| Factors::from_array(*a).expect("in range"))
    .collect()
}

/// Per-dimension attention maps (Eq. 1-2, z = mu) of [`picture_factors`] at `layer`: rows =
/// images, columns = the image then one jet overlay per latent dim. The maps of one image
/// share one scale (its largest value), so a dim that ignores the image stays dark blue.
pub fn attention_picture(vae: &Vae, layer: &str, device: &Device) -> Result<RgbImage> {
    let f = picture_factors();
    let n = f.len();
    let xs = render_batch(&f);
    let x = Tensor::from_vec(xs.clone(), [n, 1, SIZE, SIZE], device)?;
    vae.set_training(false);
    let enc = SequentialEncoder::new(&vae.encoder, vae.config.z_dim);
    let maps = latent_attention_maps(&enc, &x, layer, &MapOptions::default())?;
    let per = maps
        .per_dim
        .ok_or_else(|| Error::Usage("no per-dimension maps".into()))?;
    let d = per.dims()[1];
    let v = per.to_vec()?;
    let px = SIZE * SIZE;
    let mut tiles = Vec::with_capacity(n * (d + 1));
    for i in 0..n {
        let img = Chw {
            data: &xs[i * px..(i + 1) * px],
            c: 1,
            h: SIZE,
            w: SIZE,
        };
        tiles.push(pictures::to_rgb(img));
        let row = &v[i * d * px..(i + 1) * d * px];
        let top = row.iter().fold(0f32, |m, &x| m.max(x)).max(1e-12);
        for k in 0..d {
            let m = &row[k * px..(k + 1) * px];
            tiles.push(RgbImage::from_fn(SIZE as u32, SIZE as u32, |x, y| {
                let p = y as usize * SIZE + x as usize;
                let heat = pictures::jet(m[p] / top);
                let base = img.rgb(y as usize, x as usize);
                Rgb(std::array::from_fn(|c| {
                    (0.6 * heat[c] as f32 + 0.4 * base[c] as f32).round() as u8
                }))
            }));
        }
    }
    Ok(pictures::grid(&tiles, d + 1))
}

/// Mean and sample standard deviation (ddof 1; 0 for one value).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
}

impl MeanStd {
    /// Of these values.
    pub fn of(v: &[f64]) -> MeanStd {
        let n = v.len() as f64;
        if v.is_empty() {
            return MeanStd {
                mean: f64::NAN,
                std: f64::NAN,
            };
        }
        let mean = v.iter().sum::<f64>() / n;
        let std = if v.len() > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        MeanStd { mean, std }
    }
    /// `mean +- std` with `d` decimals.
    pub fn show(&self, d: usize) -> String {
        format!("{:.d$} ± {:.d$}", self.mean, self.std)
    }
}

/// What `vaecam disentangle` writes to `metrics.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// A short name of the configuration, e.g. `AD-FactorVAE (gamma 40, lambda 1)`.
    pub label: String,
    /// `beta-vae` or `factor-vae`.
    pub model: String,
    /// The settings of the runs (model, training, AD), as given on the command line.
    pub settings: serde_json::Value,
    /// One entry per seed.
    pub runs: Vec<SeedMetrics>,
    /// FactorVAE score (eval accuracy) over seeds.
    pub factor_vae: MeanStd,
    /// FactorVAE score (train accuracy) over seeds.
    pub factor_vae_train: MeanStd,
    /// MIG over seeds.
    pub mig: MeanStd,
    /// Reconstruction BCE per image over seeds.
    pub recon_bce: MeanStd,
}

impl Summary {
    /// Aggregates the per-seed metrics.
    pub fn new(
        label: String,
        model: String,
        settings: serde_json::Value,
        runs: Vec<SeedMetrics>,
    ) -> Self {
        let col = |f: fn(&SeedMetrics) -> f64| MeanStd::of(&runs.iter().map(f).collect::<Vec<_>>());
        Summary {
            factor_vae: col(|r| r.factor_vae),
            factor_vae_train: col(|r| r.factor_vae_train),
            mig: col(|r| r.mig),
            recon_bce: col(|r| r.recon_bce),
            label,
            model,
            settings,
            runs,
        }
    }

    /// Reads `DIR/metrics.json`.
    pub fn read(dir: &Path) -> Result<Summary> {
        let p = dir.join("metrics.json");
        let text = std::fs::read_to_string(&p).map_err(|e| Error::Io {
            path: p.clone(),
            msg: format!("cannot read (not a finished `vaecam disentangle` folder?): {e}"),
        })?;
        serde_json::from_str(&text).map_err(|e| Error::Serde {
            what: format!("{} (not a vaecam disentangle summary)", p.display()),
            msg: e.to_string(),
        })
    }
}

/// A markdown table with one row per summary.
pub fn markdown_table(rows: &[Summary]) -> String {
    let mut s = String::from(
        "| configuration | seeds | steps | z | FactorVAE score (eval) | FactorVAE (train) | MIG | recon BCE / image |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let steps = r.runs.iter().map(|x| x.steps).max().unwrap_or(0);
        let z = r.settings.get("z").and_then(|v| v.as_u64()).unwrap_or(0);
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.label,
            r.runs.len(),
            steps,
            z,
            r.factor_vae.show(3),
            r.factor_vae_train.show(3),
            r.mig.show(3),
            r.recon_bce.show(1)
        ));
    }
    s
}

/// Score-against-reconstruction scatter plot (one series per summary, one point per seed)
/// and the same points as CSV.
pub fn scatter(rows: &[Summary]) -> (RgbImage, String) {
    let mut csv =
        String::from("configuration,seed,steps,recon_bce,factor_vae,factor_vae_train,mig\n");
    let mut points: Vec<Vec<(f64, f64)>> = Vec::new();
    for r in rows {
        for m in &r.runs {
            csv.push_str(&format!(
                "\"{}\",{},{},{:.4},{:.4},{:.4},{:.4}\n",
                r.label, m.seed, m.steps, m.recon_bce, m.factor_vae, m.factor_vae_train, m.mig
            ));
        }
        points.push(r.runs.iter().map(|m| (m.recon_bce, m.factor_vae)).collect());
    }
    // The plot's font has upper-case letters and no comma.
    let labels: Vec<String> = rows
        .iter()
        .map(|r| r.label.to_uppercase().replace(", ", " / "))
        .collect();
    let series: Vec<Series> = points
        .iter()
        .zip(&labels)
        .enumerate()
        .map(|(k, (p, l))| Series {
            label: l,
            color: plot::PALETTE[k % plot::PALETTE.len()],
            points: p,
        })
        .collect();
    let all = || points.iter().flatten();
    let ax = Axes {
        x: plot::padded_range(all().map(|p| p.0)),
        y: plot::padded_range(all().map(|p| p.1)),
        x_title: "RECONSTRUCTION ERROR (BCE PER IMAGE)",
        y_title: "FACTORVAE SCORE",
    };
    (plot::scatter(&ax, &series), csv)
}

/// Writes `PREFIX.md`, `PREFIX.png` and `PREFIX.csv` for these summaries; returns the table.
pub fn write_report(rows: &[Summary], prefix: &Path) -> Result<String> {
    let table = markdown_table(rows);
    let (img, csv) = scatter(rows);
    let with = |ext: &str| prefix.with_extension(ext);
    let write = |p: std::path::PathBuf, text: &str| {
        std::fs::write(&p, text).map_err(|e| Error::Io {
            path: p,
            msg: e.to_string(),
        })
    };
    if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            msg: e.to_string(),
        })?;
    }
    write(with("md"), &table)?;
    write(with("csv"), &csv)?;
    pictures::save(&img, &with("png"))?;
    Ok(table)
}
