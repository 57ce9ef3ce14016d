//! One category end to end after training: maps of the held-out normal images (fusion
//! statistics) and of every test image, at every requested layer; metrics per method and
//! defect type; and the outputs (scores.csv, maps/, masks/, pictures/, roc.png).

use crate::error::Result;
use crate::pipelines::localize::{
    fuse, held_out, image_stem, map_images, r_squared, score_methods, scores_csv, write_file,
    write_npy, LayerResult, NormalStats, OutputOptions, METHODS,
};
use crate::report::html::{HtmlCategory, HtmlImage};
use crate::report::panels::{heat_scaled, panel_row, Panel};
use crate::report::pictures::{self, Chw};
use image::{GrayImage, Luma, RgbImage};
use serde_json::json;
use std::path::Path;
use vaecam_attention::{CodeNorm, Variant};
use vaecam_data::mvtec::MvtecCategory;
use vaecam_tensor::Device;
use vaecam_vae::Vae;

/// How a category is mapped.
pub struct MapSettings<'a> {
    /// The layers to map, in order.
    pub layers: &'a [String],
    /// The headline layer (one of `layers`).
    pub headline: &'a str,
    /// The attention variant with its statistics.
    pub variant: &'a Variant,
    /// The code variant's normalisation.
    pub code_norm: CodeNorm,
    /// Gaussian sigma in pixels (0 = none).
    pub smooth: f32,
    /// A fixed threshold for the fused map's predicted masks (else F1-max's).
    pub threshold: Option<f32>,
}

/// A category's results: one row per layer, the headline layer's index, and what the
/// report needs.
pub struct CategoryOutcome {
    /// One result per layer, in the order asked.
    pub layers: Vec<LayerResult>,
    /// The headline row (the default layer or `--layer`), an index into `layers`.
    pub headline: usize,
    /// R^2 of the reconstructions of the good test images.
    pub r_squared: f64,
    /// Fusion statistics (attention, recon_error) of the headline layer.
    pub stats: (NormalStats, NormalStats),
    /// Held-out normal images the statistics come from.
    pub n_held_out: usize,
    /// Seconds spent mapping and scoring.
    pub seconds: f64,
    /// For the HTML report.
    pub html: HtmlCategory,
}

/// Value range of a method's colour bar: the 0.5th to 99.5th percentile of its test maps.
fn scale_of(maps: &[Vec<f32>]) -> (f32, f32) {
    let mut v: Vec<f32> = maps.iter().flatten().copied().step_by(7).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_by(f32::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    let (lo, hi) = (at(0.005), at(0.995));
    (lo, if hi > lo { hi } else { lo + 1.0 })
}

/// Maps and scores `cat` at each of `layers`; writes the outputs of the headline layer
/// into `dir`.
pub fn evaluate_category(
    vae: &Vae,
    cat: &MvtecCategory,
    ms: &MapSettings,
    outputs: &OutputOptions,
    dir: &Path,
    dev: &Device,
) -> Result<CategoryOutcome> {
    vae.set_training(false);
    let (layers, headline_layer) = (ms.layers, ms.headline);
    let t0 = std::time::Instant::now();
    let [c, h, w] = cat.shape;
    let mut held = held_out(cat);
    let n_held_out = held.len();
    if held.is_empty() {
        // Fewer than 10 training images: the statistics come from the training images.
        held = cat.train.clone();
    }
    let held_refs: Vec<&[f32]> = held.iter().map(|v| v.as_slice()).collect();
    let test_refs: Vec<&[f32]> = cat.test.iter().map(|t| t.image.as_slice()).collect();
    let mut results = Vec::new();
    let mut headline = 0;
    let mut keep = None;
    for (li, layer) in layers.iter().enumerate() {
        let normal = map_images(
            vae,
            &held_refs,
            layer,
            ms.variant,
            ms.code_norm,
            ms.smooth,
            dev,
        )?;
        let sa = NormalStats::of(&normal.attention);
        let sr = NormalStats::of(&normal.recon_error);
        let test = map_images(
            vae,
            &test_refs,
            layer,
            ms.variant,
            ms.code_norm,
            ms.smooth,
            dev,
        )?;
        let fused: Vec<Vec<f32>> = test
            .attention
            .iter()
            .zip(&test.recon_error)
            .map(|(a, r)| fuse(a, r, &sa, &sr))
            .collect();
        let methods = score_methods(
            cat,
            [&test.attention, &test.recon_error, &fused],
            ms.threshold,
        )?;
        eprintln!(
            "  {} layer {layer}: pixel AUROC attention {:.3}, recon. error {:.3}, fused {:.3}",
            cat.name,
            methods[0].all.pixel_auroc,
            methods[1].all.pixel_auroc,
            methods[2].all.pixel_auroc
        );
        results.push(LayerResult {
            layer: layer.clone(),
            methods,
        });
        if layer == headline_layer {
            headline = li;
            keep = Some((test, fused, sa, sr));
        }
    }
    let (test, fused, sa, sr) = keep.ok_or_else(|| {
        crate::error::Error::Usage(format!(
            "the headline layer {headline_layer} was not mapped"
        ))
    })?;
    let good: Vec<usize> = (0..cat.test.len())
        .filter(|&i| !cat.test[i].is_anomalous())
        .collect();
    let r2 = r_squared(
        &good
            .iter()
            .map(|&i| cat.test[i].image.as_slice())
            .collect::<Vec<_>>(),
        &good
            .iter()
            .map(|&i| test.recon[i].as_slice())
            .collect::<Vec<_>>(),
        c,
    );
    let head = &results[headline];
    let all_maps = [&test.attention, &test.recon_error, &fused];
    // scores.csv, maps/, masks/.
    write_file(
        &dir.join("scores.csv"),
        scores_csv(cat, &head.methods).as_bytes(),
    )?;
    for (mi, m) in METHODS.iter().enumerate() {
        for (t, map) in cat.test.iter().zip(all_maps[mi]) {
            let stem = image_stem(&t.path, &t.defect);
            if outputs.save_maps {
                write_npy(
                    &dir.join("maps").join(m).join(format!("{stem}.npy")),
                    map,
                    h,
                    w,
                )?;
            }
            let thr = head.methods[mi].threshold;
            let mask = GrayImage::from_fn(w as u32, h as u32, |x, y| {
                Luma([if map[y as usize * w + x as usize] >= thr {
                    255
                } else {
                    0
                }])
            });
            let p = dir.join("masks").join(m).join(format!("{stem}.png"));
            crate::report::pictures::save(&image::DynamicImage::ImageLuma8(mask).to_rgb8(), &p)?;
        }
    }
    // Pictures (files, up to the asked count) and the report's strips (every image).
    let scales: Vec<(f32, f32)> = all_maps.iter().map(|m| scale_of(m)).collect();
    let side = (w as u32).max(128);
    let mut html_images = Vec::new();
    let fused_thr = head.methods[2].threshold;
    let defects: Vec<String> = cat.test.iter().map(|t| t.defect.clone()).collect();
    let with_picture = crate::pipelines::localize::picture_selection(&defects, outputs.pictures);
    for (i, t) in cat.test.iter().enumerate() {
        let img = Chw {
            data: &t.image,
            c,
            h,
            w,
        };
        let mask: Vec<f32> = t.mask.iter().map(|&v| v as f32).collect();
        let pred: Vec<f32> = fused[i]
            .iter()
            .map(|&v| (v >= fused_thr) as u8 as f32)
            .collect();
        let gray = |d: &[f32]| {
            pictures::to_rgb(Chw {
                data: d,
                c: 1,
                h,
                w,
            })
        };
        let panels = vec![
            Panel {
                title: "IMAGE".into(),
                image: pictures::to_rgb(img),
                scale: None,
            },
            Panel {
                title: "GROUND TRUTH".into(),
                image: gray(&mask),
                scale: None,
            },
            Panel {
                title: "RECONSTRUCTION".into(),
                image: pictures::to_rgb(Chw {
                    data: &test.recon[i],
                    c,
                    h,
                    w,
                }),
                scale: None,
            },
            Panel {
                title: "RECON. ERROR".into(),
                image: heat_scaled(&test.recon_error[i], h, w, scales[1]),
                scale: Some(scales[1]),
            },
            Panel {
                title: "ATTENTION".into(),
                image: heat_scaled(&test.attention[i], h, w, scales[0]),
                scale: Some(scales[0]),
            },
            Panel {
                title: "FUSED".into(),
                image: heat_scaled(&fused[i], h, w, scales[2]),
                scale: Some(scales[2]),
            },
            Panel {
                title: "PRED. MASK".into(),
                image: gray(&pred),
                scale: None,
            },
        ];
        let stem = image_stem(&t.path, &t.defect);
        if with_picture[i] {
            pictures::save(
                &panel_row(&panels, side),
                &dir.join("pictures").join(format!("{stem}.png")),
            )?;
        }
        // The report's strip at <= 96 px per panel keeps report.html small.
        let strip: RgbImage = panel_row(&panels, (w as u32).clamp(64, 96));
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(strip)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| crate::error::Error::Io {
                path: dir.join("report.html"),
                msg: e.to_string(),
            })?;
        html_images.push(HtmlImage {
            name: stem,
            defect: t.defect.clone(),
            scores: head.methods.iter().map(|m| m.image_scores[i]).collect(),
            png,
        });
    }
    roc_png(&head.methods, &dir.join("roc.png"))?;
    let seconds = t0.elapsed().as_secs_f64();
    let html = HtmlCategory {
        name: cat.name.clone(),
        layer: head.layer.clone(),
        r_squared: r2,
        methods: head.methods.clone(),
        images: html_images,
    };
    Ok(CategoryOutcome {
        layers: results,
        headline,
        r_squared: r2,
        stats: (sa, sr),
        n_held_out,
        seconds,
        html,
    })
}

fn roc_png(methods: &[crate::pipelines::localize::MethodResult], path: &Path) -> Result<()> {
    use crate::report::plot::{self, Axes, Series, PALETTE};
    let pts: Vec<Vec<(f64, f64)>> = methods
        .iter()
        .map(|m| {
            m.all
                .roc
                .fpr
                .iter()
                .zip(&m.all.roc.tpr)
                .map(|(&x, &y)| (x, y))
                .collect()
        })
        .collect();
    let labels: Vec<String> = methods
        .iter()
        .map(|m| {
            format!(
                "{} {:.3}",
                m.method.replace('_', " ").to_uppercase(),
                m.all.pixel_auroc
            )
        })
        .collect();
    let series: Vec<Series> = (0..methods.len())
        .map(|i| Series {
            label: &labels[i],
            color: PALETTE[i],
            points: &pts[i],
        })
        .collect();
    let ax = Axes {
        x: (0.0, 1.0),
        y: (0.0, 1.0),
        x_title: "FALSE POSITIVE RATE",
        y_title: "TRUE POSITIVE RATE (PIXELS)",
    };
    pictures::save(&plot::line_plot(&ax, &series, true), path)
}

/// The JSON of one method's report: ours and anomalib's names, per-defect pixel AUROC, the
/// mask threshold.
pub fn method_json(m: &crate::pipelines::localize::MethodResult) -> serde_json::Value {
    let r = &m.all;
    let mut v = json!({
        "pixel_auroc": r.pixel_auroc, "aupro": r.aupro, "fpr_limit": r.fpr_limit,
        "image_auroc": r.image_auroc, "f1_max": r.f1_max, "n_images": r.n_images,
        "n_anomalous_images": r.n_anomalous_images, "n_regions": r.n_regions,
        "threshold": m.threshold,
        "per_defect_pixel_auroc": m.per_defect.iter().map(|(d, r)| (d.clone(), json!(r.as_ref().map(|r| r.pixel_auroc)))).collect::<serde_json::Map<_, _>>(),
    });
    for (k, val) in r.anomalib_names() {
        v[k] = json!(val);
    }
    v
}
