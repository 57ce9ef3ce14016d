//! `vaecam localize`: anomaly localization on MVTec-layout or synthetic categories, the
//! attention map against the reconstruction-error baseline, in the paper's table format.

use crate::error::{Error, Result};
use crate::pipelines::category::{evaluate_category, CategoryOutcome, MapSettings};
use crate::pipelines::localize::{training_split, OutputOptions};
use crate::pipelines::maps::{self, VariantName};
use crate::pipelines::model_source::ModelArgs;
use crate::report::tables::CategoryRow;
use crate::run_folder::{Intent, RunFolder};
use crate::settings::{DeviceChoice, ModelChoice};
use crate::source::LoaderSource;
use crate::spec::{self, DataSpec, ImageOptions};
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vaecam_attention::CodeNorm;
use vaecam_data::Dataset;
use vaecam_tensor::Device;
use vaecam_vae::{RunConfig, TrainOptions, Vae};

/// `--in-channels`: 1, 3, or from the category's images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InChannels {
    /// 3 when a category's training images are colour, 1 when they are gray.
    Auto,
    /// Grayscale.
    #[value(name = "1")]
    One,
    /// RGB.
    #[value(name = "3")]
    Three,
}

/// `--code-norm`: the code variant's gradient normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CodeNormChoice {
    /// Per image.
    Image,
    /// Over the batch, as in the authors' code.
    Batch,
}

/// `--pictures all|N`: every test image (`None`) or the first N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureCount(pub Option<usize>);

fn parse_pictures(s: &str) -> std::result::Result<PictureCount, String> {
    if s == "all" {
        return Ok(PictureCount(None));
    }
    s.parse::<usize>()
        .map(|n| PictureCount(Some(n)))
        .map_err(|_| format!("{s:?} is neither `all` nor a count of pictures"))
}

/// Options of `vaecam localize`.
#[derive(Args, Debug, Clone)]
pub struct LocalizeArgs {
    /// mvtec:ROOT/CATEGORY | synthetic:CATEGORY; with --categories, mvtec:ROOT | synthetic:any
    #[arg(long)]
    pub data: String,
    /// Several categories (comma-separated, or `all`): a row each and a mean row.
    #[arg(long, value_delimiter = ',')]
    pub categories: Vec<String>,
    /// The tapped encoder layer, or `all` to report every feature layer (the headline row stays the default layer).
    #[arg(long)]
    pub layer: Option<String>,
    /// The attention variant.
    #[arg(long, value_enum, default_value = "paper")]
    pub variant: VariantName,
    /// The code variant's gradient normalisation: per image, or over the batch as in the authors' code.
    #[arg(long, value_enum, default_value = "batch")]
    pub code_norm: CodeNormChoice,
    /// Train a VAE on each category's train/good images, a tenth held out (resumes a run already in the output).
    #[arg(long, conflicts_with = "run")]
    pub train: bool,
    /// Use a trained run instead (one category).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// An architecture file of a VAE trained elsewhere (docs/architecture-files.md), with
    /// --weights: explains that model instead of training one.
    #[arg(long, requires = "weights", conflicts_with_all = ["train", "run"])]
    pub arch: Option<PathBuf>,
    /// The PyTorch state_dict (safetensors) for --arch.
    #[arg(long, requires = "arch")]
    pub weights: Option<PathBuf>,
    /// The architecture to train.
    #[arg(long, value_enum, default_value = "conv")]
    pub model: ModelChoice,
    /// Training steps per category (with --train).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub steps: u64,
    /// Images per training step.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub batch: u32,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3, value_parser = positive_f32)]
    pub lr: f32,
    /// KL weight (beta); below 1 the reconstructions keep the texture (1 gives a flat mean image at these step counts).
    #[arg(long, default_value_t = 0.1, value_parser = positive_f32)]
    pub beta: f32,
    /// Latent dimensions.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub z: u32,
    /// Image side.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(16..=1024))]
    pub size: u32,
    /// Image channels: auto (3 for colour images, 1 for gray), 1 or 3.
    #[arg(long, value_enum, default_value = "auto")]
    pub in_channels: InChannels,
    /// Random horizontal flips while training (off: MVTec's metal_nut has a "flip" defect).
    #[arg(long)]
    pub flip: bool,
    /// Gaussian smoothing of every map, sigma in pixels (0 = none; default: side / 64, anomalib's 4 at 256 px).
    #[arg(long, value_parser = nonnegative_f32)]
    pub smooth: Option<f32>,
    /// Threshold of the fused map's predicted masks, in normal standard deviations (default: its F1-max threshold).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Write maps/METHOD/*.npy (float32, input size).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub save_maps: bool,
    /// Picture files per category: `all`, or a count taken in turn from each defect type
    /// (report.html shows every image anyway).
    #[arg(long, default_value = "all", value_parser = parse_pictures)]
    pub pictures: PictureCount,
    /// Seed (training and synthetic data).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The compute device.
    #[arg(long, value_enum, default_value = "best")]
    pub device: DeviceChoice,
    /// Output folder: metrics.json, table.md, report.html, CATEGORY/{scores.csv, maps/, masks/, pictures/, roc.png, run/}.
    #[arg(long)]
    pub out: PathBuf,
    /// Hide progress bars.
    #[arg(long)]
    pub quiet: bool,
}

fn positive_f32(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive finite number")),
    }
}

fn nonnegative_f32(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a finite number >= 0")),
    }
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

/// The run configuration of one category's training.
fn category_run_config(
    a: &LocalizeArgs,
    model: vaecam_vae::VaeConfig,
    spec: &DataSpec,
) -> RunConfig {
    RunConfig {
        model,
        train: TrainOptions {
            steps: a.steps,
            batch_size: a.batch as usize,
            lr: a.lr,
            beta: a.beta,
            seed: a.seed,
            checkpoint_every: 250,
            ..Default::default()
        },
        data: spec.to_string(),
        extra: serde_json::Value::Null,
    }
}

/// Trains (or resumes, when `folder` holds a run of the same settings: the one resume policy
/// of [`RunFolder`]) a VAE on `data`, then writes its sample pictures; returns the model in
/// evaluation mode and the training seconds.
fn train_on(
    a: &LocalizeArgs,
    config: RunConfig,
    data: Arc<dyn Dataset>,
    flips: bool,
    folder: &RunFolder,
    dev: &Device,
) -> Result<(Vae, f64)> {
    let t0 = std::time::Instant::now();
    let data_name = config.data.clone();
    let mut tr = folder.open(config, Intent::ResumeOrNew, dev)?;
    eprintln!(
        "vaecam localize: training on {data_name} ({} images, {} steps)",
        data.len(),
        a.steps
    );
    let mut src = LoaderSource::new(data.clone(), a.batch as usize, a.seed, flips, &data_name)?;
    let bar = crate::pipelines::training::progress(a.quiet, a.steps, tr.step());
    tr.train(&mut src, &mut |r| {
        bar.set_position(r.step);
        bar.set_message(format!(
            "loss {:.1} | {:.0} img/s",
            r.parts[0].1, r.images_per_sec
        ));
    })?;
    bar.finish_and_clear();
    crate::pipelines::training::write_samples(
        &tr.vae,
        data.as_ref(),
        &folder.dir().join("samples"),
    )?;
    tr.vae.set_training(false);
    Ok((tr.vae, t0.elapsed().as_secs_f64()))
}

/// The model flags of `localize` in the form every command opens models with.
fn given_model_args(a: &LocalizeArgs) -> ModelArgs {
    ModelArgs {
        run: a.run.clone(),
        arch: a.arch.clone(),
        weights: a.weights.clone(),
    }
}

/// 3 when the category's first training image is colour, else 1.
fn detect_channels(spec: &DataSpec) -> Result<usize> {
    let DataSpec::Mvtec { root, category } = spec else {
        return Ok(1);
    };
    let dir = root.join(category).join("train").join("good");
    let files = vaecam_data::imageio::list_images(&dir)?;
    let Some(first) = files.first() else {
        return Ok(1);
    };
    let img = vaecam_data::imageio::open_image(first)?;
    Ok(if img.color().has_color() { 3 } else { 1 })
}

/// One category's finished outcome, for the tables.
struct Row {
    name: String,
    outcome: CategoryOutcome,
    train_seconds: Option<f64>,
}

/// Runs `vaecam localize`.
pub fn run(a: LocalizeArgs) -> Result<()> {
    let dev = a.device.open()?;
    let variant_name = a.variant;
    let specs = categories(&a)?;
    let given_model = a.run.is_some() || a.arch.is_some();
    if !a.train && !given_model {
        return Err(Error::Usage("pass --train to train a VAE on each category's train/good images, --run RUN_DIR to use a trained one, or --arch FILE.json --weights FILE.safetensors for a model trained elsewhere".into()));
    }
    if given_model && specs.len() > 1 {
        return Err(Error::Usage(
            "--run / --arch explain one category; use --train with --categories".into(),
        ));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Error::Io {
        path: a.out.clone(),
        msg: e.to_string(),
    })?;
    let code_norm = match a.code_norm {
        CodeNormChoice::Image => CodeNorm::Image,
        CodeNormChoice::Batch => CodeNorm::Batch,
    };
    let loaded_run = given_model
        .then(|| given_model_args(&a).open(&dev).map(|m| m.vae))
        .transpose()?;
    if let [DataSpec::Mnist { dir, digit }] = specs.as_slice() {
        return mnist(&a, dir, *digit, variant_name, code_norm, loaded_run, &dev);
    }
    // Every category's files are read (and checked) before any training starts.
    let mut cats = Vec::new();
    for spec in &specs {
        let (size, channels) = match &loaded_run {
            Some(v) => (v.config.image_size, v.config.in_channels),
            None => (
                a.size as usize,
                match a.in_channels {
                    InChannels::Auto => detect_channels(spec)?,
                    InChannels::One => 1,
                    InChannels::Three => 3,
                },
            ),
        };
        let cat = spec::load_category(
            spec,
            ImageOptions {
                size,
                channels,
                seed: a.seed,
            },
        )?;
        cats.push((spec, cat, channels));
    }
    // Every category's settings are checked against a run its folder may hold (a rerun
    // resumes only identical settings) before anything is trained.
    let mut plans = Vec::new();
    for (spec, cat, channels) in &cats {
        let folder = RunFolder::new(a.out.join(&cat.name).join("run"));
        let config = if loaded_run.is_none() {
            let model = crate::pipelines::training::model_config(
                a.model.as_str(),
                spec,
                Some(a.z as usize),
                None,
                a.size as usize,
                *channels,
            )?;
            let config = category_run_config(&a, model, spec);
            folder.check(&config, Intent::ResumeOrNew)?;
            Some(config)
        } else {
            None
        };
        plans.push((folder, config));
    }
    let mut loaded_run = loaded_run;
    let mut rows: Vec<Row> = Vec::new();
    for ((_, cat, _), (folder, config)) in cats.iter().zip(plans) {
        let dir = a.out.join(&cat.name);
        let (vae, train_seconds) = match config {
            Some(config) => {
                let (v, t) = train_on(
                    &a,
                    config,
                    Arc::new(training_split(cat)),
                    a.flip,
                    &folder,
                    &dev,
                )?;
                (v, Some(t))
            }
            // No config is planned only for the one category of a given model.
            None => (
                loaded_run
                    .take()
                    .ok_or_else(|| Error::Usage("a given model explains one category".into()))?,
                None,
            ),
        };
        let stats_images: Vec<Vec<f32>> = {
            let h = crate::pipelines::localize::held_out(cat);
            if h.is_empty() {
                cat.train.clone()
            } else {
                h
            }
        };
        let variant = maps::variant(&vae, variant_name, &stats_images, &dev)?;
        let headline = match a.layer.as_deref() {
            Some("all") | None => maps::default_layer(&vae),
            Some(l) => {
                maps::check_layer(&vae, l, &dev)?;
                l.to_string()
            }
        };
        let layers = match a.layer.as_deref() {
            Some("all") => maps::feature_layers(&vae, &dev)?,
            _ => vec![headline.clone()],
        };
        let smooth = a.smooth.unwrap_or(vae.config.image_size as f32 / 64.0);
        let ms = MapSettings {
            layers: &layers,
            headline: &headline,
            variant: &variant,
            code_norm,
            smooth,
            threshold: a.threshold,
        };
        let outputs = OutputOptions {
            save_maps: a.save_maps,
            pictures: a.pictures.0,
        };
        let outcome = evaluate_category(&vae, cat, &ms, &outputs, &dir, &dev)?;
        eprintln!(
            "  {}: R^2 of good test reconstructions {:.3} ({} s mapping)",
            cat.name, outcome.r_squared, outcome.seconds as u64
        );
        rows.push(Row {
            name: cat.name.clone(),
            outcome,
            train_seconds,
        });
    }
    write_outputs(&a, &rows)
}

/// The authors' MNIST one-class experiment (their architecture; tapped layer: the second conv).
fn mnist(
    a: &LocalizeArgs,
    dir: &Path,
    digit: u8,
    variant_name: VariantName,
    code_norm: CodeNorm,
    given: Option<Vae>,
    dev: &Device,
) -> Result<()> {
    let data = vaecam_data::mnist::Mnist::load(dir)?.one_class(digit)?;
    let spec = DataSpec::Mnist {
        dir: dir.to_path_buf(),
        digit,
    };
    let vae = match given {
        Some(v) => v,
        None => {
            let model = crate::pipelines::training::model_config(
                "mnist",
                &spec,
                Some(a.z as usize),
                None,
                28,
                1,
            )?;
            train_on(
                a,
                category_run_config(a, model, &spec),
                Arc::new(data.train.clone()),
                false,
                &RunFolder::new(a.out.join("run")),
                dev,
            )?
            .0
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
        &crate::pipelines::oneclass::MapChoice {
            layer: &layer,
            variant: &variant,
            code_norm,
        },
        picture_digit,
        dev,
        &a.out,
    )?;
    Ok(())
}

fn write_outputs(a: &LocalizeArgs, rows: &[Row]) -> Result<()> {
    let settings = json!({
        "variant": a.variant, "code_norm": format!("{:?}", a.code_norm).to_lowercase(),
        "layer": a.layer, "model": a.model, "steps": a.steps, "batch": a.batch, "lr": a.lr,
        "beta": a.beta, "z": a.z, "size": a.size, "flip": a.flip, "smooth": a.smooth,
        "threshold": a.threshold, "seed": a.seed,
    });
    let variant = crate::pipelines::localize::variant_label(
        a.variant,
        match a.code_norm {
            CodeNormChoice::Image => CodeNorm::Image,
            CodeNormChoice::Batch => CodeNorm::Batch,
        },
    );
    let text = format!(
        "variant {variant}; maps smoothed with sigma {}; fused = mean of both maps standardised on held-out normal images",
        a.smooth.map(|s| format!("{s}")).unwrap_or_else(|| "side/64".into())
    );
    let table_rows: Vec<CategoryRow> = rows
        .iter()
        .map(|r| CategoryRow {
            name: &r.name,
            outcome: &r.outcome,
            train_seconds: r.train_seconds,
        })
        .collect();
    let html: Vec<&crate::report::html::HtmlCategory> =
        rows.iter().map(|r| &r.outcome.html).collect();
    crate::report::tables::write_all(&a.out, &text, settings, &table_rows, &html)
}
