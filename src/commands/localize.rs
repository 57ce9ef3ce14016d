//! `vaecam localize`: anomaly localization on MVTec-layout or synthetic categories, the
//! attention map against the reconstruction-error baseline, in the paper's table format.

use crate::error::{Error, Result};
use crate::pipelines::maps::{self, CategoryResult, VariantName};
use crate::report::plot::{self, Axes, Series, PALETTE};
use crate::source::LoaderSource;
use crate::spec::{self, DataSpec, ImageOptions};
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vaecam_data::Dataset;
use vaecam_metrics::Report;
use vaecam_tensor::Device;
use vaecam_vae::{RunConfig, RunMode, TrainOptions, Trainer, Vae};

/// Options of `vaecam localize`.
#[derive(Args, Debug, Clone)]
pub struct LocalizeArgs {
    /// mvtec:ROOT/CATEGORY | synthetic:CATEGORY; with --categories, mvtec:ROOT | synthetic:any
    #[arg(long)]
    pub data: String,
    /// Several categories (comma-separated, or `all`): a row each and a mean row.
    #[arg(long, value_delimiter = ',')]
    pub categories: Vec<String>,
    /// The tapped encoder layer, or `all` to sweep every feature layer (default: after the second downsampling).
    #[arg(long)]
    pub layer: Option<String>,
    /// paper | code | normal-difference
    #[arg(long, default_value = "paper")]
    pub variant: String,
    /// Train a VAE on each category's train/good images (resumes a run already in the output).
    #[arg(long, conflicts_with = "run")]
    pub train: bool,
    /// Use a trained run instead (one category).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Training steps per category (with --train).
    #[arg(long, default_value_t = 800)]
    pub steps: u64,
    /// Images per training step.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 5e-4)]
    pub lr: f32,
    /// Latent dimensions.
    #[arg(long, default_value_t = 32)]
    pub z: usize,
    /// Image side.
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Image channels (1 or 3).
    #[arg(long, default_value_t = 1)]
    pub in_channels: usize,
    /// Seed (training and synthetic data).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Example pictures per category.
    #[arg(long, default_value_t = 8)]
    pub pictures: usize,
    /// cpu | gpu | best
    #[arg(long, default_value = "best")]
    pub device: String,
    /// Output folder: metrics.json, table.md, CATEGORY/{roc.png, pictures.png, run/}.
    #[arg(long)]
    pub out: PathBuf,
    /// Hide progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// The categories to run: (display name, spec).
fn categories(a: &LocalizeArgs) -> Result<Vec<DataSpec>> {
    let base: DataSpec = a.data.parse()?;
    if a.categories.is_empty() {
        return Ok(vec![base]);
    }
    let all = a.categories.len() == 1 && a.categories[0] == "all";
    match base {
        DataSpec::Mvtec { root, category } => {
            let root = root.join(category);
            let names = if all {
                vaecam_data::mvtec::list_categories(&root)?
            } else {
                a.categories.clone()
            };
            Ok(names
                .into_iter()
                .map(|c| DataSpec::Mvtec {
                    root: root.clone(),
                    category: c,
                })
                .collect())
        }
        DataSpec::Synthetic { .. } => {
            let names = if all {
                vec![
                    "woven".into(),
                    "wood".into(),
                    "tiles".into(),
                    "carpet".into(),
                ]
            } else {
                a.categories.clone()
            };
            Ok(names
                .into_iter()
                .map(|c| DataSpec::Synthetic { category: c })
                .collect())
        }
        other => Err(Error::Usage(format!(
            "{other} is not an anomaly-localization dataset"
        ))),
    }
}

/// Trains (or resumes, when the folder holds a run) a VAE on `data` into `dir`, then writes
/// its sample pictures; returns the model in evaluation mode.
fn train_on(
    a: &LocalizeArgs,
    model: vaecam_vae::VaeConfig,
    data: Arc<dyn Dataset>,
    spec: &DataSpec,
    flips: bool,
    dir: &Path,
    dev: &Device,
) -> Result<Vae> {
    let train = TrainOptions {
        steps: a.steps,
        batch_size: a.batch,
        lr: a.lr,
        seed: a.seed,
        checkpoint_every: 250,
        ..Default::default()
    };
    let config = RunConfig {
        model,
        train,
        data: spec.to_string(),
        extra: serde_json::Value::Null,
    };
    let mode = if dir.join(vaecam_vae::trainer::CONFIG).exists() {
        RunMode::Resume
    } else {
        RunMode::New
    };
    let mut tr = Trainer::create(dir, config, mode, dev)?;
    eprintln!(
        "vaecam localize: training on {spec} ({} images, {} steps)",
        data.len(),
        a.steps
    );
    let mut src = LoaderSource::new(data.clone(), a.batch, a.seed, flips, &spec.to_string())?;
    let bar = crate::pipelines::training::progress(a.quiet, a.steps, tr.step());
    tr.train(&mut src, &mut |r| {
        bar.set_position(r.step);
        bar.set_message(format!(
            "loss {:.1} | {:.0} img/s",
            r.parts[0].1, r.images_per_sec
        ));
    })?;
    bar.finish_and_clear();
    crate::pipelines::training::write_samples(&tr.vae, data.as_ref(), &dir.join("samples"))?;
    tr.vae.set_training(false);
    Ok(tr.vae)
}

fn report_json(r: &Report) -> serde_json::Value {
    json!({"pixel_auroc": r.pixel_auroc, "aupro": r.aupro, "fpr_limit": r.fpr_limit, "image_auroc": r.image_auroc, "f1_max": r.f1_max, "n_images": r.n_images, "n_regions": r.n_regions})
}

fn roc_png(res: &CategoryResult, path: &Path) -> Result<()> {
    let pts = |r: &Report| -> Vec<(f64, f64)> {
        r.roc
            .fpr
            .iter()
            .zip(&r.roc.tpr)
            .map(|(&x, &y)| (x, y))
            .collect()
    };
    let (a, b) = (pts(&res.attention), pts(&res.recon));
    let la = format!("ATTENTION {:.3}", res.attention.pixel_auroc);
    let lb = format!("RECON ERROR {:.3}", res.recon.pixel_auroc);
    let ax = Axes {
        x: (0.0, 1.0),
        y: (0.0, 1.0),
        x_title: "FALSE POSITIVE RATE",
        y_title: "TRUE POSITIVE RATE (PIXELS)",
    };
    let img = plot::line_plot(
        &ax,
        &[
            Series {
                label: &la,
                color: PALETTE[0],
                points: &a,
            },
            Series {
                label: &lb,
                color: PALETTE[1],
                points: &b,
            },
        ],
        true,
    );
    crate::report::pictures::save(&img, path)
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
}

/// Runs `vaecam localize`.
pub fn run(a: LocalizeArgs) -> Result<()> {
    let dev = super::device(&a.device)?;
    let variant_name: VariantName = a.variant.parse()?;
    let specs = categories(&a)?;
    if !a.train && a.run.is_none() {
        return Err(Error::Usage("pass --train to train a VAE on each category's train/good images, or --run RUN_DIR to use a trained one".into()));
    }
    if a.run.is_some() && specs.len() > 1 {
        return Err(Error::Usage(
            "--run explains one category; use --train with --categories".into(),
        ));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Error::Io {
        path: a.out.clone(),
        msg: e.to_string(),
    })?;
    if let [DataSpec::Mnist { dir, digit }] = specs.as_slice() {
        return mnist(&a, dir, *digit, variant_name, &dev);
    }
    let mut rows: Vec<CategoryResult> = Vec::new();
    let mut sweeps = Vec::new();
    for spec in &specs {
        let (vae, size, channels) = match &a.run {
            Some(run) => {
                let (vae, _) = vaecam_vae::load_model(run, &dev)?;
                let (s, c) = (vae.config.image_size, vae.config.in_channels);
                (Some(vae), s, c)
            }
            None => (None, a.size, a.in_channels),
        };
        let cat = spec::load_category(
            spec,
            ImageOptions {
                size,
                channels,
                seed: a.seed,
            },
        )?;
        let dir = a.out.join(&cat.name);
        let vae = match vae {
            Some(v) => v,
            None => {
                let model = crate::pipelines::training::model_config(
                    "conv",
                    spec,
                    Some(a.z),
                    None,
                    a.size,
                    a.in_channels,
                )?;
                train_on(
                    &a,
                    model,
                    Arc::new(cat.train_dataset()),
                    spec,
                    true,
                    &dir.join("run"),
                    &dev,
                )?
            }
        };
        let variant = maps::variant(&vae, variant_name, &cat.train, &dev)?;
        let layers = match a.layer.as_deref() {
            Some("all") => maps::feature_layers(&vae, &dev)?,
            Some(l) => {
                maps::check_layer(&vae, l, &dev)?;
                vec![l.to_string()]
            }
            None => vec![maps::default_layer(&vae)],
        };
        let mut best: Option<CategoryResult> = None;
        for layer in &layers {
            let pictures = if layers.len() == 1 { a.pictures } else { 0 };
            let r = maps::evaluate(&vae, &cat, layer, &variant, &dev, Some(&dir), pictures)?;
            eprintln!("  {} layer {layer}: attention pixel AUROC {:.3}, reconstruction error {:.3} ({} images, {:.1} s)", cat.name, r.attention.pixel_auroc, r.recon.pixel_auroc, r.images, r.seconds);
            if layers.len() > 1 {
                sweeps.push(json!({"category": cat.name, "layer": layer, "attention": report_json(&r.attention)}));
            }
            if best
                .as_ref()
                .is_none_or(|b| r.attention.pixel_auroc > b.attention.pixel_auroc)
            {
                best = Some(r);
            }
        }
        let best = best.expect("at least one layer");
        if layers.len() > 1 {
            // Pictures for the best layer.
            maps::evaluate(
                &vae,
                &cat,
                &best.layer,
                &variant,
                &dev,
                Some(&dir),
                a.pictures,
            )?;
        }
        roc_png(&best, &dir.join("roc.png"))?;
        rows.push(best);
    }
    write_outputs(&a, variant_name, &rows, sweeps)
}

/// The authors' MNIST one-class experiment (their architecture; tapped layer: the second conv).
fn mnist(
    a: &LocalizeArgs,
    dir: &Path,
    digit: u8,
    variant_name: VariantName,
    dev: &Device,
) -> Result<()> {
    let data = vaecam_data::mnist::Mnist::load(dir)?.one_class(digit)?;
    let spec = DataSpec::Mnist {
        dir: dir.to_path_buf(),
        digit,
    };
    let vae = match &a.run {
        Some(run) => vaecam_vae::load_model(run, dev)?.0,
        None => {
            let model =
                crate::pipelines::training::model_config("mnist", &spec, Some(a.z), None, 28, 1)?;
            train_on(
                a,
                model,
                Arc::new(data.train.clone()),
                &spec,
                false,
                &a.out.join("run"),
                dev,
            )?
        }
    };
    let layer = match a.layer.as_deref() {
        Some(l) => {
            maps::check_layer(&vae, l, dev)?;
            l.to_string()
        }
        None => "conv2".to_string(),
    };
    let train_imgs: Vec<Vec<f32>> = (0..data.train.len())
        .map(|i| data.train.get(i).map(|it| it.data))
        .collect::<std::result::Result<_, _>>()?;
    let variant = maps::variant(&vae, variant_name, &train_imgs, dev)?;
    let picture_digit = if digit == 8 { 3 } else { 8 };
    crate::pipelines::oneclass::evaluate(
        &vae,
        &data,
        &layer,
        &variant,
        picture_digit,
        dev,
        &a.out,
    )?;
    Ok(())
}

fn write_outputs(
    a: &LocalizeArgs,
    variant: VariantName,
    rows: &[CategoryResult],
    sweeps: Vec<serde_json::Value>,
) -> Result<()> {
    let mean = |f: &dyn Fn(&CategoryResult) -> Option<f64>| -> Option<f64> {
        let v: Vec<f64> = rows.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let mut md = String::new();
    md.push_str(&format!(
        "Anomaly localization, variant `{}`; attention map vs reconstruction-error baseline.\n\n",
        a.variant
    ));
    md.push_str("| category | layer | pixel AUROC attention | pixel AUROC recon. error | AUPRO@0.3 attention | AUPRO@0.3 recon. error | image AUROC attention | image AUROC recon. error | F1-max attention | F1-max recon. error |\n");
    md.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} | {:.3} | {:.3} |\n",
            r.name,
            r.layer,
            r.attention.pixel_auroc,
            r.recon.pixel_auroc,
            r.attention.aupro,
            r.recon.aupro,
            fmt_opt(r.attention.image_auroc),
            fmt_opt(r.recon.image_auroc),
            r.attention.f1_max,
            r.recon.f1_max
        ));
    }
    if rows.len() > 1 {
        let m = |f: &dyn Fn(&CategoryResult) -> Option<f64>| fmt_opt(mean(f));
        md.push_str(&format!(
            "| **mean** | | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            m(&|r| Some(r.attention.pixel_auroc)),
            m(&|r| Some(r.recon.pixel_auroc)),
            m(&|r| Some(r.attention.aupro)),
            m(&|r| Some(r.recon.aupro)),
            m(&|r| r.attention.image_auroc),
            m(&|r| r.recon.image_auroc),
            m(&|r| Some(r.attention.f1_max)),
            m(&|r| Some(r.recon.f1_max))
        ));
    }
    let cats: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| json!({"category": r.name, "layer": r.layer, "attention": report_json(&r.attention), "reconstruction_error": report_json(&r.recon), "seconds": r.seconds, "images": r.images}))
        .collect();
    let doc = json!({
        "variant": match variant { VariantName::Paper => "paper", VariantName::Code => "code", VariantName::NormalDifference => "normal-difference" },
        "categories": cats,
        "mean": {"attention_pixel_auroc": mean(&|r| Some(r.attention.pixel_auroc)), "recon_pixel_auroc": mean(&|r| Some(r.recon.pixel_auroc)),
                 "attention_aupro": mean(&|r| Some(r.attention.aupro)), "recon_aupro": mean(&|r| Some(r.recon.aupro))},
        "layer_sweep": sweeps,
    });
    let write = |name: &str, text: String| -> Result<()> {
        let p = a.out.join(name);
        vaecam_tensor::io::write_atomic(&p, text.as_bytes()).map_err(Error::from)
    };
    write(
        "metrics.json",
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    )?;
    write("table.md", md.clone())?;
    println!("{md}");
    println!("(written to {})", a.out.display());
    Ok(())
}
