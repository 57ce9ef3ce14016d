//! `vaecam explain`: latent attention maps of images with a trained run — per dimension and
//! aggregated, over the image, beside the reconstruction error — and a JSON of scores.

use crate::error::{Error, Result};
use crate::pipelines::maps::{self, VariantName};
use crate::pipelines::model_source::ModelArgs;
use crate::report::npy;
use crate::report::pictures::{self, Chw};
use crate::settings::DeviceChoice;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use vaecam_data::imageio::{color_name, open_image};

/// Options of `vaecam explain`.
#[derive(Args, Debug, Clone)]
pub struct ExplainArgs {
    /// The model: --run RUN_DIR, or --arch FILE.json --weights FILE.safetensors.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Image files or folders of images (PNG, JPEG, BMP, TIFF or GIF; an alpha channel is
    /// dropped, colour becomes luma for a grayscale model only with --resize).
    #[arg(long, num_args = 1.., required = true)]
    pub images: Vec<PathBuf>,
    /// The tapped encoder layer (default: after the second downsampling).
    #[arg(long)]
    pub layer: Option<String>,
    /// Which attention maps.
    #[arg(long, value_enum, default_value_t = VariantName::Paper)]
    pub variant: VariantName,
    /// Folder of normal images for the normal-difference statistics (default: the run's training data).
    #[arg(long)]
    pub normal_images: Option<PathBuf>,
    /// Resize images to the model's input instead of refusing other sizes.
    #[arg(long)]
    pub resize: bool,
    /// The backend.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Best)]
    pub device: DeviceChoice,
    /// Output folder: per image S (parent folder + file stem) S.png, S_dims.png, S.maps.npy,
    /// S.aggregate.npy, S.alpha.npy; and scores.json.
    #[arg(long)]
    pub out: PathBuf,
}

/// Output names for `files` that cannot collide: `parent_stem` (every MVTec defect folder
/// has a `000.png`), with `-2`, `-3`, ... added where two files still share a name.
pub fn output_stems(files: &[PathBuf]) -> Vec<String> {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let base: Vec<String> = files
        .iter()
        .map(|f| {
            let stem = f
                .file_stem()
                .map(|x| x.to_string_lossy().to_string())
                .unwrap_or_else(|| "image".into());
            let parent = f
                .parent()
                .and_then(|p| p.file_name())
                .map(|x| x.to_string_lossy().to_string());
            clean(&match parent {
                Some(p) => format!("{p}_{stem}"),
                None => stem,
            })
        })
        .collect();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    let mut taken: std::collections::HashSet<String> = base.iter().cloned().collect();
    base.into_iter()
        .map(|b| {
            let k = seen.entry(b.clone()).or_insert(0);
            *k += 1;
            if *k == 1 {
                return b;
            }
            let mut i = *k;
            loop {
                let cand = format!("{b}-{i}");
                if taken.insert(cand.clone()) {
                    return cand;
                }
                i += 1;
            }
        })
        .collect()
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
        let color = img.color();
        if !resize {
            if (w, h) != (s, s) {
                return Err(Error::Usage(format!(
                    "{}: image is {w}x{h} but the model takes {s}x{s} (pass --resize to resize)",
                    f.display()
                )));
            }
            if c == 1 && color.has_color() {
                return Err(Error::Usage(format!(
                    "{}: image is {} but the model takes grayscale (pass --resize to convert it to luma{})",
                    f.display(),
                    color_name(color),
                    if color.has_alpha() { ", dropping alpha" } else { "" },
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

fn io_err(path: &std::path::Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// Runs `vaecam explain`.
pub fn run(a: ExplainArgs) -> Result<()> {
    let dev = a.device.open()?;
    let model = a.model.open(&dev)?;
    let vae = &model.vae;
    let (c, s) = (vae.config.in_channels, vae.config.image_size);
    let layer = a.layer.clone().unwrap_or_else(|| maps::default_layer(vae));
    maps::check_layer(vae, &layer, &dev)?;
    let files = super::reconstruct::collect_images(&a.images)?;
    let images = load_for_model(&files, c, s, a.resize)?;
    let normal: Vec<Vec<f32>> = if a.variant == VariantName::NormalDifference {
        match (&a.normal_images, &model.run) {
            (Some(dir), _) => load_for_model(
                &super::reconstruct::collect_images(std::slice::from_ref(dir))?,
                c,
                s,
                true,
            )?,
            (None, Some(cfg)) => {
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
            (None, None) => {
                return Err(Error::Usage(
                    "--variant normal-difference with --arch/--weights needs --normal-images DIR (an imported model has no training data to take statistics from)".into(),
                ))
            }
        }
    } else {
        Vec::new()
    };
    let variant = maps::variant(vae, a.variant, &normal, &dev)?;
    std::fs::create_dir_all(&a.out).map_err(|e| io_err(&a.out, e))?;
    let stems = output_stems(&files);
    let mut scores = Vec::new();
    for ((f, img), stem) in files.iter().zip(&images).zip(&stems) {
        let m = maps::map_batch(
            vae,
            &[img.as_slice()],
            &layer,
            &variant,
            a.variant == VariantName::Paper,
            &dev,
        )?;
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
        // Raw values: one image per batch, so the leading N = 1 is dropped.
        if let Some((dims, v)) = &m.raw.per_dim {
            npy::write_f32(&a.out.join(format!("{stem}.maps.npy")), &dims[1..], v)?;
        }
        npy::write_f32(
            &a.out.join(format!("{stem}.aggregate.npy")),
            &[s, s],
            &m.attention[0],
        )?;
        let (adims, alpha) = &m.raw.alpha;
        npy::write_f32(&a.out.join(format!("{stem}.alpha.npy")), &adims[1..], alpha)?;
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
            "name": stem,
            "mu": m.raw.mu[0],
            "logvar": m.raw.logvar[0],
            "attention_max": att.iter().cloned().fold(f32::NEG_INFINITY, f32::max),
            "attention_mean": att.iter().sum::<f32>() / att.len() as f32,
            "recon_error_mean": m.recon_error[0].iter().sum::<f32>() / m.recon_error[0].len() as f32,
            "latent_score": m.latent_score[0],
            "per_dim_attention_mean": dims,
        }));
    }
    let doc = json!({
        "model": model.label,
        "layer": layer,
        "variant": a.variant,
        "images": scores,
    });
    vaecam_tensor::io::write_atomic(
        &a.out.join("scores.json"),
        serde_json::to_string_pretty(&doc)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    eprintln!("vaecam explain: {} images -> {} (S.png: image | attention | reconstruction | error; S_dims.png per latent dim; S.maps.npy, S.aggregate.npy, S.alpha.npy; scores.json)", files.len(), a.out.display());
    Ok(())
}
