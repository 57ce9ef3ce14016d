//! Anomaly localization: a VAE trained on normal images maps every test image with its latent
//! attention (and with the reconstruction error, the baseline), and the maps are scored
//! against the ground-truth masks (pixel AUROC, AUPRO@0.3, image AUROC, F1-max).

use crate::error::{Error, Result};
use crate::report::pictures::{self, Chw};
use std::path::Path;
use vaecam_attention::{
    latent_attention_maps, CodeNorm, MapOptions, SequentialEncoder, Strategy, TappedEncoder,
    Variant,
};
use vaecam_data::mvtec::MvtecCategory;
use vaecam_metrics::{MetricsOptions, PixelMetrics, Report};
use vaecam_tensor::{no_grad, Device, Tensor};
use vaecam_vae::Vae;

/// Which attention variant (`paper`, `code`, `normal-difference`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum VariantName {
    /// Eq. 1-3.
    Paper,
    /// The authors' code.
    Code,
    /// Eq. 4 with training statistics.
    NormalDifference,
}

impl std::str::FromStr for VariantName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "paper" => Ok(VariantName::Paper),
            "code" => Ok(VariantName::Code),
            "normal-difference" => Ok(VariantName::NormalDifference),
            other => Err(Error::Usage(format!(
                "unknown variant {other:?}: expected paper, code or normal-difference"
            ))),
        }
    }
}

/// The variant with its statistics (normal-difference needs mean mu and mean sigma^2 of the
/// training images).
pub fn variant(vae: &Vae, name: VariantName, train: &[Vec<f32>], dev: &Device) -> Result<Variant> {
    Ok(match name {
        VariantName::Paper => Variant::Paper,
        VariantName::Code => Variant::Code,
        VariantName::NormalDifference => {
            let (mean_mu, mean_var) = latent_statistics(vae, train, dev)?;
            Variant::NormalDifference { mean_mu, mean_var }
        }
    })
}

/// Per-dimension mean of mu and of sigma^2 = exp(logvar) over `images`.
pub fn latent_statistics(
    vae: &Vae,
    images: &[Vec<f32>],
    dev: &Device,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let (c, s, z) = (
        vae.config.in_channels,
        vae.config.image_size,
        vae.config.z_dim,
    );
    let mut sum_mu = vec![0f64; z];
    let mut sum_var = vec![0f64; z];
    for chunk in images.chunks(32) {
        let x = Tensor::from_vec(chunk.concat(), vec![chunk.len(), c, s, s], dev)?;
        let (mu, logvar) = no_grad(|| vae.encode(&x))?;
        for (i, (m, v)) in mu
            .to_vec()?
            .into_iter()
            .zip(logvar.exp()?.to_vec()?)
            .enumerate()
        {
            sum_mu[i % z] += m as f64;
            sum_var[i % z] += v as f64;
        }
    }
    let n = images.len().max(1) as f64;
    Ok((
        sum_mu.iter().map(|v| (v / n) as f32).collect(),
        sum_var.iter().map(|v| (v / n) as f32).collect(),
    ))
}

/// Encoder layers whose output is a feature map (candidates for the tap), in order.
pub fn feature_layers(vae: &Vae, dev: &Device) -> Result<Vec<String>> {
    let names = vae.encoder_layer_names();
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let (c, s) = (vae.config.in_channels, vae.config.image_size);
    let x = Tensor::zeros([1, c, s, s], dev)?;
    vae.set_training(false);
    let (_, _, acts) = no_grad(|| vae.encode_tapped(&x, &refs))?;
    Ok(names
        .into_iter()
        .zip(acts)
        .filter(|(_, a)| a.rank() == 4)
        .map(|(n, _)| n)
        .collect())
}

/// The default tapped layer: the activation after the second downsampling (the paper found
/// it works well), or the last feature layer for shallower encoders. For the ResNet-18
/// encoder: the last block at 1/4 of the input side (`layer2.1`).
pub fn default_layer(vae: &Vae) -> String {
    let names = vae.encoder_layer_names();
    if matches!(vae.config.arch, vaecam_vae::Arch::Resnet18 { .. }) {
        if let Some(n) = names.iter().find(|n| *n == "layer2.1") {
            return n.clone();
        }
    }
    for want in ["act2", "relu2", "conv2"] {
        if names.iter().any(|n| n == want) {
            return want.to_string();
        }
    }
    names.first().cloned().unwrap_or_default()
}

/// Maps of one batch: (attention, reconstruction error), each `[N, H, W]` flattened per image.
pub struct BatchMaps {
    /// Aggregate attention maps, one `H*W` vector per image.
    pub attention: Vec<Vec<f32>>,
    /// Mean-over-channels |x - reconstruction|, one `H*W` vector per image.
    pub recon_error: Vec<Vec<f32>>,
    /// Reconstructions, CHW per image.
    pub recon: Vec<Vec<f32>>,
    /// Per-dimension maps `[D][H*W]` per image, when asked for.
    pub per_dim: Option<Vec<Vec<Vec<f32>>>>,
    /// Latent score per image (for image-level ranking): mean over dims of (mu^2 + sigma^2 - log sigma^2 - 1)/2.
    pub latent_score: Vec<f32>,
    /// The raw values behind the maps, for `.npy` outputs.
    pub raw: RawMaps,
}

/// Raw values of a batch: per-dimension maps at the tapped layer's resolution, alpha, mu,
/// logvar (each flattened C order with its shape).
pub struct RawMaps {
    /// Per-dimension maps `[N, D, h, w]` (paper variant with per-dimension maps).
    pub per_dim: Option<(Vec<usize>, Vec<f32>)>,
    /// Channel weights `[N, D, K]` (or `[N, 1, K]` for the single-map variants).
    pub alpha: (Vec<usize>, Vec<f32>),
    /// Posterior means `[N, z]`.
    pub mu: Vec<Vec<f32>>,
    /// Posterior log-variances `[N, z]`.
    pub logvar: Vec<Vec<f32>>,
}

/// Attention and reconstruction-error maps of a batch of CHW images (the `code` variant
/// normalised per image).
pub fn map_batch(
    vae: &Vae,
    images: &[&[f32]],
    layer: &str,
    variant: &Variant,
    per_dim: bool,
    dev: &Device,
) -> Result<BatchMaps> {
    map_batch_norm(vae, images, layer, variant, CodeNorm::Image, per_dim, dev)
}

/// [`map_batch`] with the `code` variant's gradient normalisation chosen.
pub fn map_batch_norm(
    vae: &Vae,
    images: &[&[f32]],
    layer: &str,
    variant: &Variant,
    code_norm: CodeNorm,
    per_dim: bool,
    dev: &Device,
) -> Result<BatchMaps> {
    let (c, s) = (vae.config.in_channels, vae.config.image_size);
    let n = images.len();
    let x = Tensor::from_vec(images.concat(), vec![n, c, s, s], dev)?;
    let enc = SequentialEncoder::new(&vae.encoder, vae.config.z_dim);
    // Auto: one stacked backward of the encoder's tail for all dimensions when every layer
    // after the tap has a rule (evaluation mode), else one vector-Jacobian product each.
    let opts = MapOptions {
        variant: variant.clone(),
        per_dim,
        strategy: Strategy::Auto,
        code_norm,
        ..Default::default()
    };
    let maps = latent_attention_maps(&enc, &x, layer, &opts)?;
    let rows = |t: &Tensor| -> Result<Vec<Vec<f32>>> {
        let d = t.dims()[1];
        Ok(t.to_vec()?.chunks(d).map(|r| r.to_vec()).collect())
    };
    let raw = RawMaps {
        per_dim: match &maps.per_dim_raw {
            Some(p) => Some((p.dims().to_vec(), p.to_vec()?)),
            None => None,
        },
        alpha: (maps.alpha.dims().to_vec(), maps.alpha.to_vec()?),
        mu: rows(&maps.mu)?,
        logvar: rows(&maps.logvar)?,
    };
    let hw = s * s;
    let att = maps.aggregate.to_vec()?;
    let attention: Vec<Vec<f32>> = att.chunks(hw).map(|c| c.to_vec()).collect();
    let per_dim = match &maps.per_dim {
        Some(p) => {
            let d = p.dims()[1];
            let v = p.to_vec()?;
            Some(
                v.chunks(d * hw)
                    .map(|img| img.chunks(hw).map(|m| m.to_vec()).collect())
                    .collect(),
            )
        }
        None => None,
    };
    let (recon, latent) = no_grad(|| -> Result<(Vec<f32>, Vec<f32>)> {
        let out = vae.forward(&x, None)?;
        let kl = out
            .logvar
            .exp()?
            .add(&out.mu.square()?)?
            .sub(&out.logvar)?
            .add_scalar(-1.0)?
            .mean(&[1], false)?
            .mul_scalar(0.5)?;
        Ok((out.logits.sigmoid()?.to_vec()?, kl.to_vec()?))
    })?;
    let xs = x.to_vec()?;
    let per = c * hw;
    let recon_error = (0..n)
        .map(|i| {
            (0..hw)
                .map(|p| {
                    (0..c)
                        .map(|ch| (xs[i * per + ch * hw + p] - recon[i * per + ch * hw + p]).abs())
                        .sum::<f32>()
                        / c as f32
                })
                .collect()
        })
        .collect();
    Ok(BatchMaps {
        attention,
        recon_error,
        recon: recon.chunks(per).map(|c| c.to_vec()).collect(),
        per_dim,
        latent_score: latent,
        raw,
    })
}

/// The scores of one category.
#[derive(Debug)]
pub struct CategoryResult {
    /// Category name.
    pub name: String,
    /// The tapped layer.
    pub layer: String,
    /// Metrics of the attention maps.
    pub attention: Report,
    /// Metrics of the reconstruction-error maps.
    pub recon: Report,
    /// Seconds spent mapping the test set.
    pub seconds: f64,
    /// Test images mapped.
    pub images: usize,
}

/// Maps every test image of `cat` and scores both maps; writes `pictures` example pictures to
/// `out/pictures` (none when `out` is None).
pub fn evaluate(
    vae: &Vae,
    cat: &MvtecCategory,
    layer: &str,
    variant: &Variant,
    dev: &Device,
    out: Option<&Path>,
    pictures: usize,
) -> Result<CategoryResult> {
    vae.set_training(false);
    let s = vae.config.image_size;
    let [c, h, w] = cat.shape;
    if [c, h, w] != [vae.config.in_channels, s, s] {
        return Err(Error::Usage(format!(
            "category {} has {c}x{h}x{w} images but the model takes {}x{s}x{s}",
            cat.name, vae.config.in_channels
        )));
    }
    let mut att =
        PixelMetrics::new(MetricsOptions::default()).map_err(|e| Error::Usage(e.to_string()))?;
    let mut rec =
        PixelMetrics::new(MetricsOptions::default()).map_err(|e| Error::Usage(e.to_string()))?;
    let t0 = std::time::Instant::now();
    // Pictures: the first defective images of each type, and two good ones.
    let mut chosen = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, t) in cat.test.iter().enumerate() {
        let k = seen.entry(t.defect.clone()).or_insert(0usize);
        if *k < if t.defect == "good" { 2 } else { 1 } {
            chosen.push(i);
            *k += 1;
        }
    }
    chosen.truncate(pictures);
    let mut tiles = Vec::new();
    for (b, chunk) in cat.test.chunks(16).enumerate() {
        let imgs: Vec<&[f32]> = chunk.iter().map(|t| t.image.as_slice()).collect();
        let m = map_batch(vae, &imgs, layer, variant, false, dev)?;
        for (j, t) in chunk.iter().enumerate() {
            let metric_err = |e: vaecam_metrics::MetricsError| {
                Error::Usage(format!("{}: {e}", t.path.display()))
            };
            att.add_image(&m.attention[j], &t.mask, w, h)
                .map_err(metric_err)?;
            rec.add_image(&m.recon_error[j], &t.mask, w, h)
                .map_err(metric_err)?;
            if out.is_some() && chosen.contains(&(b * 16 + j)) {
                let img = Chw {
                    data: &t.image,
                    c,
                    h,
                    w,
                };
                let mask: Vec<f32> = t.mask.iter().map(|&v| v as f32).collect();
                tiles.push(pictures::to_rgb(img));
                tiles.push(pictures::to_rgb(Chw {
                    data: &mask,
                    c: 1,
                    h,
                    w,
                }));
                tiles.push(pictures::to_rgb(Chw {
                    data: &m.recon[j],
                    c,
                    h,
                    w,
                }));
                tiles.push(pictures::overlay(img, &m.recon_error[j], 0.5));
                tiles.push(pictures::overlay(img, &m.attention[j], 0.5));
            }
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    if let (Some(dir), false) = (out, tiles.is_empty()) {
        pictures::save(&pictures::grid(&tiles, 5), &dir.join("pictures.png"))?;
    }
    let finish = |m: PixelMetrics| {
        m.finish()
            .map_err(|e| Error::Usage(format!("category {}: {e}", cat.name)))
    };
    Ok(CategoryResult {
        name: cat.name.clone(),
        layer: layer.to_string(),
        attention: finish(att)?,
        recon: finish(rec)?,
        seconds,
        images: cat.test.len(),
    })
}

/// Checks a layer name against the encoder, listing the valid feature layers.
pub fn check_layer(vae: &Vae, layer: &str, dev: &Device) -> Result<()> {
    let ok = feature_layers(vae, dev)?;
    if ok.iter().any(|l| l == layer) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "layer {layer:?} is not a feature-map layer of the encoder; valid layers: {}",
        ok.join(", ")
    )))
}

/// A tapped-encoder view of a VAE (for callers outside this module).
pub fn encoder(vae: &Vae) -> SequentialEncoder<'_> {
    SequentialEncoder::new(&vae.encoder, vae.config.z_dim)
}

/// Layer names an explanation can use.
pub fn layer_names(vae: &Vae) -> Vec<String> {
    encoder(vae).layer_names()
}
