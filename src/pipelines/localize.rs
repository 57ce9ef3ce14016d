//! Anomaly localization per category: training on the normal images (minus a held-out
//! tenth), maps, smoothing, fusion, metrics, thresholds and the per-category outputs.

use vaecam_data::batch::InMemory;
use vaecam_data::mvtec::MvtecCategory;

/// Every `HOLDOUT_EVERY`-th training image (index % 10 == 9) is held out of training: the
/// fused map's normalisation statistics come from these normal images the model never saw.
pub const HOLDOUT_EVERY: usize = 10;

/// Whether training image `i` of `n` is held out (only when the category has at least
/// `HOLDOUT_EVERY` training images; otherwise none is).
pub fn is_held_out(i: usize, n: usize) -> bool {
    n >= HOLDOUT_EVERY && i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1
}

/// The images a category's VAE is trained on: `train/good` without the held-out ones.
pub fn training_split(cat: &MvtecCategory) -> InMemory {
    let n = cat.train.len();
    let images: Vec<Vec<f32>> = (0..n)
        .filter(|&i| !is_held_out(i, n))
        .map(|i| cat.train[i].clone())
        .collect();
    InMemory {
        shape: cat.shape,
        labels: vec![0; images.len()],
        images,
    }
}

/// The held-out normal images of a category.
pub fn held_out(cat: &MvtecCategory) -> Vec<Vec<f32>> {
    let n = cat.train.len();
    (0..n)
        .filter(|&i| is_held_out(i, n))
        .map(|i| cat.train[i].clone())
        .collect()
}

use crate::error::{Error, Result};
use crate::pipelines::maps::{map_batch_norm, VariantName};
use std::path::{Path, PathBuf};
use vaecam_attention::Variant;
use vaecam_metrics::{DefectMetrics, MetricsOptions, Report};
use vaecam_tensor::Device;
use vaecam_vae::Vae;

/// The three maps every table reports, in this order.
pub const METHODS: [&str; 3] = ["attention", "recon_error", "fused"];

/// A separable Gaussian blur of an `h x w` map with standard deviation `sigma` pixels
/// (kernel radius ceil(3 sigma), edges reflected); `sigma <= 0` returns the map unchanged.
pub fn gaussian_smooth(map: &[f32], h: usize, w: usize, sigma: f32) -> Vec<f32> {
    if sigma <= 0.0 || h == 0 || w == 0 {
        return map.to_vec();
    }
    let r = (3.0 * sigma).ceil() as isize;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = k.iter().sum();
    let k: Vec<f32> = k.iter().map(|v| v / total).collect();
    let reflect = |i: isize, n: usize| -> usize {
        let n = n as isize;
        let mut i = i;
        while i < 0 || i >= n {
            i = if i < 0 { -i - 1 } else { 2 * n - i - 1 };
        }
        i as usize
    };
    let mut tmp = vec![0f32; h * w];
    for y in 0..h {
        for x in 0..w {
            tmp[y * w + x] = k
                .iter()
                .enumerate()
                .map(|(j, kv)| kv * map[y * w + reflect(x as isize + j as isize - r, w)])
                .sum();
        }
    }
    let mut out = vec![0f32; h * w];
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = k
                .iter()
                .enumerate()
                .map(|(j, kv)| kv * tmp[reflect(y as isize + j as isize - r, h) * w + x])
                .sum();
        }
    }
    out
}

/// Mean and standard deviation of a map's pixels over normal images: the fusion rule's
/// normalisation (`(m - mean) / std`, so each map is in "normal standard deviations").
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct NormalStats {
    /// Mean over every pixel of every held-out normal image.
    pub mean: f64,
    /// Standard deviation over the same pixels (at least 1e-12).
    pub std: f64,
}

impl NormalStats {
    /// The statistics of `maps`.
    pub fn of(maps: &[Vec<f32>]) -> NormalStats {
        let n: usize = maps.iter().map(|m| m.len()).sum();
        let n = n.max(1) as f64;
        let mean = maps.iter().flatten().map(|&v| v as f64).sum::<f64>() / n;
        let var = maps
            .iter()
            .flatten()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        NormalStats {
            mean,
            std: var.sqrt().max(1e-12),
        }
    }
    fn z(&self, v: f32) -> f32 {
        ((v as f64 - self.mean) / self.std) as f32
    }
}

/// The fused map: the mean of the attention map and the reconstruction-error map, each
/// standardised by its statistics on held-out normal training images (no test label is
/// used). Units: standard deviations of normal pixels.
pub fn fuse(att: &[f32], rec: &[f32], sa: &NormalStats, sr: &NormalStats) -> Vec<f32> {
    att.iter()
        .zip(rec)
        .map(|(&a, &r)| 0.5 * (sa.z(a) + sr.z(r)))
        .collect()
}

/// R^2 of reconstructions: 1 - sum (x - x_hat)^2 / sum (x - mean(x))^2, the mean taken per
/// image and channel, summed over every given image (the share of their pixel variance
/// that the reconstructions explain).
pub fn r_squared(images: &[&[f32]], recons: &[&[f32]], channels: usize) -> f64 {
    let (mut sse, mut sst) = (0f64, 0f64);
    for (x, r) in images.iter().zip(recons) {
        let per = x.len() / channels.max(1);
        for c in 0..channels {
            let xs = &x[c * per..(c + 1) * per];
            let m = xs.iter().map(|&v| v as f64).sum::<f64>() / per.max(1) as f64;
            for (i, &v) in xs.iter().enumerate() {
                sse += (v as f64 - r[c * per + i] as f64).powi(2);
                sst += (v as f64 - m).powi(2);
            }
        }
    }
    if sst > 0.0 {
        1.0 - sse / sst
    } else {
        f64::NAN
    }
}

/// Smoothed maps of a set of images: attention and reconstruction error, plus the
/// reconstructions.
pub struct ImageMaps {
    /// Attention maps (H*W each).
    pub attention: Vec<Vec<f32>>,
    /// Reconstruction-error maps (H*W each).
    pub recon_error: Vec<Vec<f32>>,
    /// Reconstructions (CHW each).
    pub recon: Vec<Vec<f32>>,
}

/// Maps `images` at `layer`, 16 at a time, smoothing every map with `sigma`.
pub fn map_images(
    vae: &Vae,
    images: &[&[f32]],
    layer: &str,
    variant: &Variant,
    code_norm: vaecam_attention::CodeNorm,
    sigma: f32,
    dev: &Device,
) -> Result<ImageMaps> {
    let s = vae.config.image_size;
    let mut out = ImageMaps {
        attention: Vec::new(),
        recon_error: Vec::new(),
        recon: Vec::new(),
    };
    for chunk in images.chunks(16) {
        let m = map_batch_norm(vae, chunk, layer, variant, code_norm, false, dev)?;
        out.attention
            .extend(m.attention.iter().map(|a| gaussian_smooth(a, s, s, sigma)));
        out.recon_error.extend(
            m.recon_error
                .iter()
                .map(|a| gaussian_smooth(a, s, s, sigma)),
        );
        out.recon.extend(m.recon);
    }
    Ok(out)
}

/// The metrics of one method on one category.
#[derive(Debug, Clone)]
pub struct MethodResult {
    /// `attention`, `recon_error` or `fused`.
    pub method: &'static str,
    /// Over every test image.
    pub all: Report,
    /// Per defect type (that type's images with every good image).
    pub per_defect: Vec<(String, Option<Report>)>,
    /// The threshold of the predicted masks: F1-max's (chosen on test labels), or `--threshold`.
    pub threshold: f32,
    /// Image score (max of the smoothed map) per test image.
    pub image_scores: Vec<f32>,
}

/// One layer's results on a category.
#[derive(Debug, Clone)]
pub struct LayerResult {
    /// The tapped layer.
    pub layer: String,
    /// attention, recon_error, fused (METHODS order).
    pub methods: Vec<MethodResult>,
}

/// Scores the maps of every test image of `cat` for each method.
pub fn score_methods(
    cat: &MvtecCategory,
    maps: [&[Vec<f32>]; 3],
    fused_threshold: Option<f32>,
) -> Result<Vec<MethodResult>> {
    let [_, h, w] = cat.shape;
    let types = cat.defect_types();
    let mut out = Vec::new();
    for (mi, method) in METHODS.iter().enumerate() {
        let mut acc = DefectMetrics::new(MetricsOptions::default(), &types)
            .map_err(|e| Error::Usage(e.to_string()))?;
        for (t, map) in cat.test.iter().zip(maps[mi]) {
            let defect = t.is_anomalous().then_some(t.defect.as_str());
            acc.add_image(map, &t.mask, w, h, defect)
                .map_err(|e| Error::Usage(format!("{}: {e}", t.path.display())))?;
        }
        let (all, per_defect) = acc.finish().map_err(|e| {
            Error::Usage(format!(
                "category {}: {e} (do its defect masks look empty? any non-zero mask pixel counts as anomalous)",
                cat.name
            ))
        })?;
        let threshold = match (method, fused_threshold) {
            (&"fused", Some(t)) => t,
            _ => all.f1_threshold,
        };
        let image_scores = maps[mi]
            .iter()
            .map(|m| m.iter().copied().fold(f32::NEG_INFINITY, f32::max))
            .collect();
        out.push(MethodResult {
            method,
            all,
            per_defect,
            threshold,
            image_scores,
        });
    }
    Ok(out)
}

/// A file-name-safe stem for a test image: `DEFECT_STEM` (MVTec reuses `000.png` in every
/// defect folder, so the folder is part of the name).
pub fn image_stem(path: &Path, defect: &str) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    format!("{defect}_{stem}")
}

/// Writes a float32 `.npy` file of shape `(h, w)`.
pub fn write_npy(path: &Path, data: &[f32], h: usize, w: usize) -> Result<()> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({h}, {w}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * data.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    write_file(path, &bytes)
}

/// Writes a file, creating its folder.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::Io {
            path: d.to_path_buf(),
            msg: e.to_string(),
        })?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}

/// `scores.csv`: one row per test image with its image score under every method.
pub fn scores_csv(cat: &MvtecCategory, methods: &[MethodResult]) -> String {
    let mut s = String::from("path,defect_type,label");
    for m in methods {
        s.push_str(&format!(",{}", m.method));
    }
    s.push('\n');
    for (i, t) in cat.test.iter().enumerate() {
        let path = t.path.display().to_string().replace('"', "\"\"");
        s.push_str(&format!(
            "\"{path}\",{},{}",
            t.defect,
            t.is_anomalous() as u8
        ));
        for m in methods {
            s.push_str(&format!(",{}", m.image_scores[i]));
        }
        s.push('\n');
    }
    s
}

/// Options of the per-category outputs.
pub struct OutputOptions {
    /// Write `maps/METHOD/*.npy`.
    pub save_maps: bool,
    /// Picture files to write (`None` = every test image).
    pub pictures: Option<usize>,
}

/// Which test images get a picture file when only `n` are asked for: taken in turn from each
/// defect type (`good` included), in folder order, so a few pictures show every kind of
/// defect instead of the first folder's images only. `None` picks every image.
pub fn picture_selection(defects: &[String], n: Option<usize>) -> Vec<bool> {
    let Some(n) = n else {
        return vec![true; defects.len()];
    };
    let mut kinds: Vec<&str> = Vec::new();
    for d in defects {
        if !kinds.contains(&d.as_str()) {
            kinds.push(d);
        }
    }
    let mut queues: Vec<std::collections::VecDeque<usize>> = kinds
        .iter()
        .map(|k| (0..defects.len()).filter(|&i| defects[i] == *k).collect())
        .collect();
    let mut chosen = vec![false; defects.len()];
    let mut left = n.min(defects.len());
    while left > 0 {
        for q in queues.iter_mut() {
            if left == 0 {
                break;
            }
            if let Some(i) = q.pop_front() {
                chosen[i] = true;
                left -= 1;
            }
        }
    }
    chosen
}

/// Where a category's outputs go.
pub fn category_dir(out: &Path, name: &str) -> PathBuf {
    out.join(name)
}

/// The variant's spelling in outputs (with the code variant's normalisation).
pub fn variant_label(v: VariantName, norm: vaecam_attention::CodeNorm) -> String {
    match v {
        VariantName::Paper => "paper".into(),
        VariantName::NormalDifference => "normal-difference".into(),
        VariantName::Code => format!(
            "code (gradient RMS per {})",
            match norm {
                vaecam_attention::CodeNorm::Image => "image",
                vaecam_attention::CodeNorm::Batch => "batch",
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_keeps_the_mass_and_spreads_a_spike() {
        let mut m = vec![0f32; 15 * 15];
        m[7 * 15 + 7] = 1.0;
        let s = gaussian_smooth(&m, 15, 15, 1.5);
        let total: f32 = s.iter().sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
        assert!(s[7 * 15 + 7] < 0.2 && s[7 * 15 + 8] > 0.0 && s[7 * 15 + 8] < s[7 * 15 + 7]);
        assert_eq!(gaussian_smooth(&m, 15, 15, 0.0), m);
    }

    #[test]
    fn fusion_standardises_each_map_on_normal_statistics() {
        let normal_a = vec![vec![1.0, 3.0]];
        let normal_r = vec![vec![10.0, 30.0]];
        let (sa, sr) = (NormalStats::of(&normal_a), NormalStats::of(&normal_r));
        assert_eq!((sa.mean, sa.std, sr.mean, sr.std), (2.0, 1.0, 20.0, 10.0));
        // 4 is 2 std above the attention mean, 20 is at the error mean: fused = 1.
        assert_eq!(fuse(&[4.0], &[20.0], &sa, &sr), vec![1.0]);
    }

    #[test]
    fn r_squared_is_one_for_perfect_and_zero_for_mean_reconstructions() {
        let x = [0.1f32, 0.5, 0.9, 0.3];
        let mean = [0.45f32; 4];
        assert!((r_squared(&[&x], &[&x], 1) - 1.0).abs() < 1e-12);
        assert!(r_squared(&[&x], &[&mean], 1).abs() < 1e-6);
    }

    #[test]
    fn npy_header_is_64_aligned_and_holds_the_shape() {
        let p = std::env::temp_dir().join(format!("vaecam-npy-{}.npy", std::process::id()));
        write_npy(&p, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3).unwrap();
        let b = std::fs::read(&p).unwrap();
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hl) % 64, 0);
        assert!(String::from_utf8_lossy(&b[10..10 + hl]).contains("'shape': (2, 3)"));
        assert_eq!(&b[10 + hl..10 + hl + 4], &1.0f32.to_le_bytes());
        assert_eq!(b.len(), 10 + hl + 24);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn a_few_pictures_show_every_defect_type() {
        let d: Vec<String> = ["good", "good", "good", "hole", "hole", "crack"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let pick = picture_selection(&d, Some(3));
        assert_eq!(pick, [true, false, false, true, false, true]);
        assert_eq!(
            picture_selection(&d, Some(5))
                .iter()
                .filter(|&&b| b)
                .count(),
            5
        );
        assert!(picture_selection(&d, None).iter().all(|&b| b));
        assert_eq!(
            picture_selection(&d, Some(99))
                .iter()
                .filter(|&&b| b)
                .count(),
            6
        );
    }

    #[test]
    fn a_tenth_is_held_out_only_with_ten_images_or_more() {
        assert_eq!((0..100).filter(|&i| is_held_out(i, 100)).count(), 10);
        assert_eq!((0..9).filter(|&i| is_held_out(i, 9)).count(), 0);
    }
}
