//! The authors' MNIST experiment: a VAE trained on one digit (the inlier, their default 3),
//! tested on all digits. Image-level scores from the attention map and from the
//! reconstruction error, AUROC of the inlier against each other digit, and a picture grid of
//! attention maps on a chosen outlier digit (their figure: 8s).

use crate::error::{Error, Result};
use crate::pipelines::maps::map_batch_norm;
use crate::report::pictures::{self, Chw};
use serde_json::json;
use std::path::Path;
use vaecam_data::mnist::OneClass;
use vaecam_data::Dataset;
use vaecam_tensor::Device;
use vaecam_vae::Vae;

/// Per-digit AUROC of the inlier against that digit, for both scores.
#[derive(Debug, Clone)]
pub struct DigitRow {
    /// The outlier digit.
    pub digit: u8,
    /// Test images of that digit.
    pub count: usize,
    /// AUROC of the attention score (mean of the aggregate map).
    pub attention: f64,
    /// AUROC of the reconstruction error (mean |x - x_hat|).
    pub recon: f64,
}

/// Which attention map the one-class experiment scores with.
pub struct MapChoice<'a> {
    /// The tapped encoder layer.
    pub layer: &'a str,
    /// The attention variant.
    pub variant: &'a vaecam_attention::Variant,
    /// The `code` variant's gradient normalisation (per image or over the batch).
    pub code_norm: vaecam_attention::CodeNorm,
}

/// Scores every test digit and writes metrics.json, table.md and the picture grid into `out`.
pub fn evaluate(
    vae: &Vae,
    data: &OneClass,
    choice: &MapChoice,
    picture_digit: u8,
    dev: &Device,
    out: &Path,
) -> Result<Vec<DigitRow>> {
    let MapChoice {
        layer,
        variant,
        code_norm,
    } = *choice;
    vae.set_training(false);
    let test = &data.test;
    let n = test.len();
    let mut att = Vec::with_capacity(n);
    let mut rec = Vec::with_capacity(n);
    let mut tiles_img = Vec::new();
    let mut tiles_map = Vec::new();
    let images: Vec<Vec<f32>> = (0..n)
        .map(|i| test.get(i).map(|it| it.data))
        .collect::<std::result::Result<_, _>>()?;
    for (b, chunk) in images.chunks(64).enumerate() {
        let refs: Vec<&[f32]> = chunk.iter().map(|v| v.as_slice()).collect();
        let m = map_batch_norm(vae, &refs, layer, variant, code_norm, false, dev)?;
        for (j, img) in chunk.iter().enumerate() {
            let a = &m.attention[j];
            att.push(a.iter().sum::<f32>() / a.len() as f32);
            rec.push(m.recon_error[j].iter().sum::<f32>() / m.recon_error[j].len() as f32);
            let idx = b * 64 + j;
            if test.labels[idx] == picture_digit && tiles_img.len() < 16 {
                let chw = Chw {
                    data: img,
                    c: 1,
                    h: 28,
                    w: 28,
                };
                tiles_img.push(pictures::to_rgb(chw));
                tiles_map.push(pictures::overlay(chw, a, 0.5));
            }
        }
    }
    let mut rows = Vec::new();
    for d in 0..10u8 {
        if d == data.inlier {
            continue;
        }
        let keep: Vec<usize> = (0..n)
            .filter(|&i| test.labels[i] == d || test.labels[i] == data.inlier)
            .collect();
        let labels: Vec<bool> = keep.iter().map(|&i| test.labels[i] == d).collect();
        let pick = |s: &[f32]| -> Vec<f32> { keep.iter().map(|&i| s[i]).collect() };
        let auroc = |s: Vec<f32>| {
            vaecam_metrics::auroc(&s, &labels).map_err(|e| Error::Usage(format!("digit {d}: {e}")))
        };
        rows.push(DigitRow {
            digit: d,
            count: labels.iter().filter(|&&l| l).count(),
            attention: auroc(pick(&att))?,
            recon: auroc(pick(&rec))?,
        });
    }
    let mut tiles = tiles_img;
    tiles.extend(tiles_map);
    if !tiles.is_empty() {
        let cols = tiles.len() / 2;
        pictures::save(
            &pictures::grid(&tiles, cols),
            &out.join(format!("attention_on_{picture_digit}s.png")),
        )?;
    }
    let mean = |f: fn(&DigitRow) -> f64| rows.iter().map(f).sum::<f64>() / rows.len() as f64;
    let norm = match code_norm {
        vaecam_attention::CodeNorm::Image => "image",
        vaecam_attention::CodeNorm::Batch => "batch",
    };
    let label = match variant {
        vaecam_attention::Variant::Code => format!("code (gradient RMS per {norm})"),
        v => v.name().to_string(),
    };
    let mut md = format!("MNIST one-class: trained on digit {} ({} training images); image AUROC of the inlier against each digit (variant `{}`, layer `{layer}`).\n\n| outlier digit | test images | AUROC attention (mean of map) | AUROC reconstruction error |\n|---:|---:|---:|---:|\n", data.inlier, data.train.len(), label);
    for r in &rows {
        md.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} |\n",
            r.digit, r.count, r.attention, r.recon
        ));
    }
    md.push_str(&format!(
        "| **mean** | | {:.3} | {:.3} |\n",
        mean(|r| r.attention),
        mean(|r| r.recon)
    ));
    let doc = json!({
        "inlier": data.inlier, "layer": layer, "variant": variant.name(), "variant_label": label, "code_norm": norm,
        "digits": rows.iter().map(|r| json!({"digit": r.digit, "count": r.count, "auroc_attention": r.attention, "auroc_recon_error": r.recon})).collect::<Vec<_>>(),
        "mean": {"auroc_attention": mean(|r| r.attention), "auroc_recon_error": mean(|r| r.recon)},
    });
    vaecam_tensor::io::write_atomic(
        &out.join("metrics.json"),
        serde_json::to_string_pretty(&doc)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    vaecam_tensor::io::write_atomic(&out.join("table.md"), md.as_bytes())?;
    println!("{md}");
    Ok(rows)
}
