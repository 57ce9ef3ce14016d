//! # vaecam-web
//!
//! vaecam in the browser: a VAE (its architecture file and safetensors weights, as bytes) and
//! PNG images in, the latent attention maps out, computed on the user's machine. In a browser
//! the engine runs on WebGPU (the same WGSL kernels as natively) or, without `navigator.gpu`,
//! on the CPU backend single-threaded. The JavaScript bindings are in `bindings` (wasm32
//! only); everything here also builds natively, so the headless-browser test computes its
//! reference with exactly this code on the native CPU backend.
//!
//! Only two calls wait for the device, and both are async here: opening the GPU
//! ([`vaecam_tensor::Device::gpu_async`]) and reading results back
//! ([`vaecam_tensor::Tensor::to_vec_async`]). Loading the model and recording the forward and
//! backward passes are synchronous.
//!
//! Architecture files: the page takes vaecam's architecture-file format
//! (`docs/architecture-files.md`, `"format": "vaecam-arch/1"`, built by the same loader as
//! `vaecam explain --arch`) with a PyTorch `state_dict` in safetensors, and also vaecam's own
//! model description (a `VaeConfig` JSON, or a run folder's `config.json`) with the weights of
//! a vaecam checkpoint (names `encoder.*`/`decoder.*`, with or without the `model.` prefix a
//! run's checkpoint has).

#![warn(missing_docs)]

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(not(target_arch = "wasm32"))]
pub mod headless;

use serde::Serialize;
use std::path::Path;
use vaecam_attention::{latent_attention_maps, MapOptions, SequentialEncoder, Strategy, Variant};
use vaecam_tensor::{io, no_grad, Device, Tensor};
use vaecam_vae::{archfile, ArchFile, Vae, VaeConfig};

/// Errors are one line naming the file or the value that was wrong (shown as is on the page).
pub type Result<T> = std::result::Result<T, String>;

/// A loaded model and the names of the files it came from.
pub struct Model {
    /// The VAE, in evaluation mode.
    pub vae: Vae,
    /// Encoder layers whose output is a feature map (valid tap names), in order.
    pub feature_layers: Vec<String>,
}

/// What an architecture file describes.
pub enum ArchSource {
    /// A file of the architecture-file format (`"format": "vaecam-arch/1"`).
    File(Box<ArchFile>),
    /// One of vaecam's built-in architectures, by its `VaeConfig`.
    Builtin(VaeConfig),
}

/// Parses an architecture file: the architecture-file format when the JSON has a `format`
/// field, else a `VaeConfig` (or a run's `config.json` holding one in `model`).
pub fn parse_arch(json: &str, name: &str) -> Result<ArchSource> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("{name}: not JSON: {e}"))?;
    if value.get("format").is_some() {
        return archfile::parse(json, Some(Path::new(name)))
            .map(|f| ArchSource::File(Box::new(f)))
            .map_err(|e| e.to_string());
    }
    let model = value.get("model").cloned().unwrap_or(value);
    serde_json::from_value(model)
        .map(ArchSource::Builtin)
        .map_err(|e| {
            format!(
                "{name}: neither an architecture file (no \"format\": \"vaecam-arch/1\") nor a vaecam VaeConfig: {e}"
            )
        })
}

/// Builds the model of `arch_json` on `dev` and loads `weights` (a safetensors file) into it.
/// Every parameter and buffer must be in the file with its shape (a built-in architecture's
/// names may carry the `model.` prefix of a run's checkpoint); extra tensors (optimizer state,
/// unused heads) and integer tensors (`num_batches_tracked`) are ignored.
pub fn load_model(
    arch_json: &str,
    arch_name: &str,
    weights: &[u8],
    weights_name: &str,
    dev: &Device,
) -> Result<Model> {
    let vae = match parse_arch(arch_json, arch_name)? {
        ArchSource::File(file) => Vae::from_arch_file(&file, 0, dev),
        ArchSource::Builtin(config) => Vae::new(&config, 0, dev).map_err(Into::into),
    }
    .map_err(|e| format!("{arch_name}: {e}"))?;
    let ck = io::load_bytes(weights, weights_name, dev).map_err(|e| e.to_string())?;
    for (name, t) in vae.state() {
        let src = ck
            .get(&name)
            .or_else(|| ck.get(&format!("model.{name}")))
            .ok_or_else(|| {
                format!(
                    "{weights_name}: tensor {name:?} (shape {}) is missing (weights of another architecture?)",
                    t.shape()
                )
            })?;
        if src.shape() != t.shape() {
            return Err(format!(
                "{weights_name}: tensor {name:?} has shape {} in the file, {} in {arch_name}",
                src.shape(),
                t.shape()
            ));
        }
        t.assign(src).map_err(|e| e.to_string())?;
    }
    vae.set_training(false);
    let feature_layers = feature_layers(&vae, dev)?;
    Ok(Model {
        vae,
        feature_layers,
    })
}

/// Encoder layers with `[N, C, h, w]` outputs (found from shapes alone: nothing is read back).
fn feature_layers(vae: &Vae, dev: &Device) -> Result<Vec<String>> {
    let names = vae.encoder_layer_names();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (c, s) = (vae.config.in_channels, vae.config.image_size);
    let x = Tensor::zeros([1, c, s, s], dev).map_err(|e| e.to_string())?;
    let (_, _, acts) = no_grad(|| vae.encode_tapped(&x, &refs)).map_err(|e| e.to_string())?;
    Ok(names
        .into_iter()
        .zip(acts)
        .filter(|(_, a)| a.rank() == 4)
        .map(|(n, _)| n)
        .collect())
}

impl Model {
    /// The default tap: the activation after the second downsampling (the paper's choice),
    /// else the first feature layer.
    pub fn default_layer(&self) -> String {
        ["act2", "relu2", "conv2"]
            .iter()
            .find(|w| self.feature_layers.iter().any(|n| n == *w))
            .map(|w| w.to_string())
            .or_else(|| self.feature_layers.first().cloned())
            .unwrap_or_default()
    }
}

/// Decodes a PNG (or any format the `image` crate reads with its png feature) into CHW floats
/// in [0, 1] with the model's channels, resized bilinearly to its input size when different.
pub fn decode_image(bytes: &[u8], name: &str, channels: usize, size: usize) -> Result<Vec<f32>> {
    let img =
        image::load_from_memory(bytes).map_err(|e| format!("{name}: not a PNG image: {e}"))?;
    let img = if img.width() as usize != size || img.height() as usize != size {
        img.resize_exact(
            size as u32,
            size as u32,
            image::imageops::FilterType::Triangle,
        )
    } else {
        img
    };
    let hw = size * size;
    Ok(match channels {
        1 => img
            .to_luma8()
            .pixels()
            .map(|p| p[0] as f32 / 255.0)
            .collect(),
        3 => {
            let rgb = img.to_rgb8();
            let mut out = vec![0f32; 3 * hw];
            for (i, p) in rgb.pixels().enumerate() {
                for c in 0..3 {
                    out[c * hw + i] = p[c] as f32 / 255.0;
                }
            }
            out
        }
        other => {
            return Err(format!(
                "{name}: models with {other} channels are not supported"
            ))
        }
    })
}

/// The explanation of one image.
#[derive(Clone, Debug, Serialize)]
pub struct ImageResult {
    /// The image's file name.
    pub name: String,
    /// Posterior mean, `[D]`.
    pub mu: Vec<f32>,
    /// Posterior log-variance, `[D]`.
    pub logvar: Vec<f32>,
    /// Channel weights alpha, `[D][K]` (paper variant) or `[1][K]` (code variant).
    pub alpha: Vec<Vec<f32>>,
    /// Maps at the tapped layer's resolution, `[D][h*w]` (paper: per dimension, after the
    /// ReLU) or `[1][h*w]` (code variant: the aggregate before upsampling and |.|).
    pub maps: Vec<Vec<f32>>,
    /// The aggregate map at input size `[H*W]` (for display).
    pub aggregate: Vec<f32>,
    /// Per-dimension maps at input size `[D][H*W]` (paper variant; for display).
    pub maps_upsampled: Vec<Vec<f32>>,
    /// The reconstruction sigmoid(decoder(mu)), CHW (for display).
    pub reconstruction: Vec<f32>,
}

/// What the page shows and the headless test compares.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// The device that ran it (`cpu (...)` or `gpu: adapter name (...)`).
    pub backend: String,
    /// The tapped layer.
    pub layer: String,
    /// `paper` or `code`.
    pub variant: String,
    /// Latent dimensions.
    pub z_dim: usize,
    /// `[channels, H, W]` of the input.
    pub input_shape: [usize; 3],
    /// `[h, w]` of the maps at the layer's resolution.
    pub map_size: [usize; 2],
    /// Valid layer names (for the page's selector).
    pub feature_layers: Vec<String>,
    /// One entry per image, in input order.
    pub images: Vec<ImageResult>,
}

fn rows(v: Vec<f32>, row: usize) -> Vec<Vec<f32>> {
    v.chunks(row.max(1)).map(<[f32]>::to_vec).collect()
}

/// Explains a batch of decoded images (CHW, from [`decode_image`]) at `layer` with the
/// `variant` (`paper` or `code`). Recording is synchronous; the awaits are the readbacks.
pub async fn explain(
    model: &Model,
    images: &[(String, Vec<f32>)],
    layer: &str,
    variant: &str,
    dev: &Device,
) -> Result<Explanation> {
    let vae = &model.vae;
    let (c, s, d) = (
        vae.config.in_channels,
        vae.config.image_size,
        vae.config.z_dim,
    );
    if images.is_empty() {
        return Err("no images to explain".into());
    }
    if !model.feature_layers.iter().any(|l| l == layer) {
        return Err(format!(
            "layer {layer:?} is not a feature-map layer of the encoder; valid layers: {}",
            model.feature_layers.join(", ")
        ));
    }
    let variant = match variant {
        "paper" => Variant::Paper,
        "code" => Variant::Code,
        other => return Err(format!("unknown variant {other:?}: expected paper or code")),
    };
    let n = images.len();
    let mut data = Vec::with_capacity(n * c * s * s);
    for (name, img) in images {
        if img.len() != c * s * s {
            return Err(format!(
                "{name}: {} values, the model takes {c}x{s}x{s}",
                img.len()
            ));
        }
        data.extend_from_slice(img);
    }
    let e = |err: vaecam_tensor::Error| err.to_string();
    let x = Tensor::from_vec(data, [n, c, s, s], dev).map_err(e)?;
    let enc = SequentialEncoder::new(&vae.encoder, d);
    // One vector-Jacobian product per dimension: the page's models are small, and this path
    // reproduces the native engine to 3e-5 on every backend (wasm CPU, WebGPU). The stacked
    // path's spatial-sum shortcut reorders the f32 sums behind alpha; with the cancellation in
    // an imported model's gradients its near-zero map values then differ by up to 1.2e-4.
    let opts = MapOptions {
        variant: variant.clone(),
        strategy: Strategy::PerDim,
        ..Default::default()
    };
    let maps = latent_attention_maps(&enc, &x, layer, &opts).map_err(e)?;
    let recon = no_grad(|| vae.decode(&maps.mu.detach())?.sigmoid()).map_err(e)?;
    let raw = match &maps.per_dim_raw {
        Some(p) => p.clone(),
        None => maps.aggregate_raw.clone(),
    };
    let (h, w) = (raw.dims()[2], raw.dims()[3]);
    let k = maps.alpha.dims()[2];
    let read = |t: Tensor| async move { t.to_vec_async().await.map_err(e) };
    let mu = read(maps.mu.clone()).await?;
    let logvar = read(maps.logvar.clone()).await?;
    let alpha = read(maps.alpha.clone()).await?;
    let raw = read(raw).await?;
    let aggregate = read(maps.aggregate.clone()).await?;
    let up = match &maps.per_dim {
        Some(p) => read(p.clone()).await?,
        None => Vec::new(),
    };
    let recon = read(recon).await?;
    let per = |v: &[f32], i: usize| v[i * v.len() / n..(i + 1) * v.len() / n].to_vec();
    let results = images
        .iter()
        .enumerate()
        .map(|(i, (name, _))| ImageResult {
            name: name.clone(),
            mu: per(&mu, i),
            logvar: per(&logvar, i),
            alpha: rows(per(&alpha, i), k),
            maps: rows(per(&raw, i), h * w),
            aggregate: per(&aggregate, i),
            maps_upsampled: if up.is_empty() {
                Vec::new()
            } else {
                rows(per(&up, i), s * s)
            },
            reconstruction: per(&recon, i),
        })
        .collect();
    Ok(Explanation {
        backend: dev.name(),
        layer: layer.to_string(),
        variant: variant.name().to_string(),
        z_dim: d,
        input_shape: [c, s, s],
        map_size: [h, w],
        feature_layers: model.feature_layers.clone(),
        images: results,
    })
}
