//! `vaecam explain`: latent attention maps of images with a trained run — per dimension and
//! aggregated, over the image, beside the reconstruction error — and a JSON of scores.

use crate::error::{Error, Result};
use crate::pipelines::maps::{self, VariantName};
use crate::report::pictures::{self, Chw};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use vaecam_data::imageio::open_image;

/// Options of `vaecam explain`.
#[derive(Args, Debug, Clone)]
pub struct ExplainArgs {
    /// The run folder written by `vaecam train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Image files or folders of images.
    #[arg(long, num_args = 1.., required = true)]
    pub images: Vec<PathBuf>,
    /// The tapped encoder layer (default: after the second downsampling).
    #[arg(long)]
    pub layer: Option<String>,
    /// paper | code | normal-difference
    #[arg(long, default_value = "paper")]
    pub variant: String,
    /// Folder of normal images for the normal-difference statistics (default: the run's training data).
    #[arg(long)]
    pub normal_images: Option<PathBuf>,
    /// Resize images to the model's input instead of refusing other sizes.
    #[arg(long)]
    pub resize: bool,
    /// cpu | gpu | best
    #[arg(long, default_value = "best")]
    pub device: String,
    /// Output folder: IMAGE.png, IMAGE_dims.png, scores.json.
    #[arg(long)]
    pub out: PathBuf,
}

/// Loads images for a model, refusing (or, with `resize`, resizing) other sizes and channel counts.
pub fn load_for_model(
    files: &[PathBuf],
    c: usize,
    s: usize,
    resize: bool,
) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let img = open_image(f)?;
        let (w, h) = (img.width() as usize, img.height() as usize);
        let color = img.color().has_color();
        if !resize {
            if (w, h) != (s, s) {
                return Err(Error::Usage(format!(
                    "{}: image is {w}x{h} but the model takes {s}x{s} (pass --resize to resize)",
                    f.display()
                )));
            }
            if c == 1 && color {
                return Err(Error::Usage(format!(
                    "{}: image is RGB but the model takes grayscale (pass --resize to convert)",
                    f.display()
                )));
            }
        }
        out.push(super::reconstruct::load_images(
            std::slice::from_ref(f),
            c,
            s,
        )?);
    }
    Ok(out)
}

/// Runs `vaecam explain`.
pub fn run(a: ExplainArgs) -> Result<()> {
    let dev = super::device(&a.device)?;
    let (vae, cfg) = vaecam_vae::load_model(&a.run, &dev)?;
    let (c, s) = (vae.config.in_channels, vae.config.image_size);
    let layer = a.layer.clone().unwrap_or_else(|| maps::default_layer(&vae));
    maps::check_layer(&vae, &layer, &dev)?;
    let files = super::reconstruct::collect_images(&a.images)?;
    let images = load_for_model(&files, c, s, a.resize)?;
    let variant_name: VariantName = a.variant.parse()?;
    let normal: Vec<Vec<f32>> = if variant_name == VariantName::NormalDifference {
        match &a.normal_images {
            Some(dir) => load_for_model(
                &super::reconstruct::collect_images(std::slice::from_ref(dir))?,
                c,
                s,
                true,
            )?,
            None => {
                let spec: crate::spec::DataSpec = cfg.data.parse()?;
                let ds = crate::spec::train_dataset(
                    &spec,
                    crate::spec::ImageOptions {
                        size: s,
                        channels: c,
                        seed: cfg.train.seed,
                    },
                )?;
                (0..ds.len().min(512))
                    .map(|i| ds.get(i).map(|it| it.data))
                    .collect::<std::result::Result<_, _>>()?
            }
        }
    } else {
        Vec::new()
    };
    let variant = maps::variant(&vae, variant_name, &normal, &dev)?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::Io {
        path: a.out.clone(),
        msg: e.to_string(),
    })?;
    let mut scores = Vec::new();
    for (f, img) in files.iter().zip(&images) {
        let m = maps::map_batch(
            &vae,
            &[img.as_slice()],
            &layer,
            &variant,
            variant_name == VariantName::Paper,
            &dev,
        )?;
        let stem = f
            .file_stem()
            .map(|x| x.to_string_lossy().to_string())
            .unwrap_or_else(|| "image".into());
        let chw = Chw {
            data: img,
            c,
            h: s,
            w: s,
        };
        let row = vec![
            pictures::to_rgb(chw),
            pictures::overlay(chw, &m.attention[0], 0.5),
            pictures::to_rgb(Chw {
                data: &m.recon[0],
                c,
                h: s,
                w: s,
            }),
            pictures::heat(&m.recon_error[0], s, s),
        ];
        pictures::save(&pictures::grid(&row, 4), &a.out.join(format!("{stem}.png")))?;
        if let Some(per) = &m.per_dim {
            let tiles: Vec<_> = per[0]
                .iter()
                .map(|d| pictures::overlay(chw, d, 0.5))
                .collect();
            pictures::save(
                &pictures::grid(&tiles, 8),
                &a.out.join(format!("{stem}_dims.png")),
            )?;
        }
        let att = &m.attention[0];
        let dims: Vec<f32> = m
            .per_dim
            .as_ref()
            .map(|p| {
                p[0].iter()
                    .map(|d| d.iter().sum::<f32>() / d.len() as f32)
                    .collect()
            })
            .unwrap_or_default();
        scores.push(json!({
            "file": f.display().to_string(),
            "attention_max": att.iter().cloned().fold(f32::NEG_INFINITY, f32::max),
            "attention_mean": att.iter().sum::<f32>() / att.len() as f32,
            "recon_error_mean": m.recon_error[0].iter().sum::<f32>() / m.recon_error[0].len() as f32,
            "latent_score": m.latent_score[0],
            "per_dim_attention_mean": dims,
        }));
    }
    let doc = json!({"run": a.run.display().to_string(), "layer": layer, "variant": a.variant, "images": scores});
    vaecam_tensor::io::write_atomic(
        &a.out.join("scores.json"),
        serde_json::to_string_pretty(&doc)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    eprintln!("vaecam explain: {} images -> {} (image | attention | reconstruction | error; <name>_dims.png per latent dim)", files.len(), a.out.display());
    Ok(())
}
