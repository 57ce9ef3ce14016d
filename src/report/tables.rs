//! The localization tables (markdown), `metrics.json` and `report.html` of a run.

use crate::error::{Error, Result};
use crate::pipelines::category::{method_json, CategoryOutcome};
use crate::pipelines::localize::METHODS;
use crate::report::html::{self, HtmlCategory};
use serde_json::json;
use std::path::Path;

/// One category's outcome with its name and training time.
pub struct CategoryRow<'a> {
    /// Category name.
    pub name: &'a str,
    /// Maps, metrics and report data.
    pub outcome: &'a CategoryOutcome,
    /// Seconds spent training (None for a given run).
    pub train_seconds: Option<f64>,
}

fn f3(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
}

fn mean(v: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = v.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The markdown tables: headline rows (attention, reconstruction error and fused side by
/// side), then, when several layers were mapped, every layer's row and an oracle row.
pub fn markdown(settings: &str, rows: &[CategoryRow]) -> String {
    let mut md = format!("Anomaly localization ({settings}).\n\n");
    md.push_str("| category | layer | R^2 | pixel AUROC attention | pixel AUROC recon. error | pixel AUROC fused | AUPRO@0.3 attention | AUPRO@0.3 recon. error | AUPRO@0.3 fused | image AUROC attention | image AUROC recon. error | image AUROC fused |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let h = &r.outcome.layers[r.outcome.headline];
        let m = &h.methods;
        md.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} | {} |\n",
            r.name,
            h.layer,
            r.outcome.r_squared,
            m[0].all.pixel_auroc,
            m[1].all.pixel_auroc,
            m[2].all.pixel_auroc,
            m[0].all.aupro,
            m[1].all.aupro,
            m[2].all.aupro,
            f3(m[0].all.image_auroc),
            f3(m[1].all.image_auroc),
            f3(m[2].all.image_auroc)
        ));
    }
    if rows.len() > 1 {
        let col = |i: usize, f: &dyn Fn(&vaecam_metrics::Report) -> Option<f64>| {
            f3(mean(rows.iter().map(|r| {
                f(&r.outcome.layers[r.outcome.headline].methods[i].all)
            })))
        };
        md.push_str(&format!(
            "| **mean** | | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            f3(mean(rows.iter().map(|r| Some(r.outcome.r_squared)))),
            col(0, &|r| Some(r.pixel_auroc)),
            col(1, &|r| Some(r.pixel_auroc)),
            col(2, &|r| Some(r.pixel_auroc)),
            col(0, &|r| Some(r.aupro)),
            col(1, &|r| Some(r.aupro)),
            col(2, &|r| Some(r.aupro)),
            col(0, &|r| r.image_auroc),
            col(1, &|r| r.image_auroc),
            col(2, &|r| r.image_auroc)
        ));
    }
    // Per-defect pixel AUROC of the headline rows.
    md.push_str("\nPer defect type, pixel AUROC (attention / recon. error / fused; each type's images with every good image):\n\n| category | defect type | attention | recon. error | fused |\n|---|---|---:|---:|---:|\n");
    for r in rows {
        let m = &r.outcome.layers[r.outcome.headline].methods;
        for (ti, (t, _)) in m[0].per_defect.iter().enumerate() {
            let v = |i: usize| f3(m[i].per_defect[ti].1.as_ref().map(|x| x.pixel_auroc));
            md.push_str(&format!(
                "| {} | {t} | {} | {} | {} |\n",
                r.name,
                v(0),
                v(1),
                v(2)
            ));
        }
    }
    if rows.iter().any(|r| r.outcome.layers.len() > 1) {
        md.push_str("\nEvery layer (the headline rows above use the default layer or `--layer`):\n\n| category | layer | pixel AUROC attention | pixel AUROC recon. error | pixel AUROC fused |\n|---|---|---:|---:|---:|\n");
        for r in rows {
            for l in &r.outcome.layers {
                md.push_str(&format!(
                    "| {} | {} | {:.3} | {:.3} | {:.3} |\n",
                    r.name,
                    l.layer,
                    l.methods[0].all.pixel_auroc,
                    l.methods[1].all.pixel_auroc,
                    l.methods[2].all.pixel_auroc
                ));
            }
            if let Some(best) = r.outcome.layers.iter().max_by(|a, b| {
                a.methods[0]
                    .all
                    .pixel_auroc
                    .total_cmp(&b.methods[0].all.pixel_auroc)
            }) {
                md.push_str(&format!(
                    "| {} | {} (oracle: chosen on test labels) | {:.3} | {:.3} | {:.3} |\n",
                    r.name,
                    best.layer,
                    best.methods[0].all.pixel_auroc,
                    best.methods[1].all.pixel_auroc,
                    best.methods[2].all.pixel_auroc
                ));
            }
        }
    }
    md
}

/// `metrics.json`: per category every method under our and anomalib's names, per-defect
/// pixel AUROC, thresholds, R^2, fusion statistics, every layer, times; and the means.
pub fn metrics_json(settings: serde_json::Value, rows: &[CategoryRow]) -> serde_json::Value {
    let cats: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let o = r.outcome;
            let h = &o.layers[o.headline];
            let mut c = json!({
                "category": r.name, "layer": h.layer, "r_squared": o.r_squared,
                "fusion": {"rule": "fused = ((attention - mean_a) / std_a + (recon_error - mean_r) / std_r) / 2, mean and std over every pixel of the held-out normal training images' smoothed maps",
                           "attention": o.stats.0, "recon_error": o.stats.1, "held_out_images": o.n_held_out},
                "threshold_note": "thresholds are F1-max's, chosen on test labels (an oracle), unless --threshold set the fused one",
                "seconds_mapping": o.seconds, "seconds_training": r.train_seconds,
                "images": h.methods[0].all.n_images,
                "layers": o.layers.iter().map(|l| json!({"layer": l.layer, "pixel_auroc": l.methods.iter().map(|m| (m.method.to_string(), json!(m.all.pixel_auroc))).collect::<serde_json::Map<_,_>>()})).collect::<Vec<_>>(),
            });
            for m in &h.methods {
                let key = if m.method == "recon_error" { "reconstruction_error" } else { m.method };
                c[key] = method_json(m);
            }
            c
        })
        .collect();
    let mut means = serde_json::Map::new();
    for (i, m) in METHODS.iter().enumerate() {
        let get = |f: &dyn Fn(&vaecam_metrics::Report) -> Option<f64>| {
            json!(mean(rows.iter().map(|r| f(
                &r.outcome.layers[r.outcome.headline].methods[i].all
            ))))
        };
        means.insert(format!("{m}_pixel_auroc"), get(&|r| Some(r.pixel_auroc)));
        means.insert(format!("{m}_aupro"), get(&|r| Some(r.aupro)));
        means.insert(format!("{m}_image_auroc"), get(&|r| r.image_auroc));
    }
    means.insert(
        "r_squared".into(),
        json!(mean(rows.iter().map(|r| Some(r.outcome.r_squared)))),
    );
    json!({"settings": settings, "categories": cats, "mean": means})
}

/// Writes table.md, metrics.json and report.html into `out`; prints the table.
pub fn write_all(
    out: &Path,
    settings_text: &str,
    settings: serde_json::Value,
    rows: &[CategoryRow],
    html_cats: &[&HtmlCategory],
) -> Result<()> {
    let md = markdown(settings_text, rows);
    let doc = metrics_json(settings, rows);
    let write = |name: &str, text: &str| -> Result<()> {
        vaecam_tensor::io::write_atomic(&out.join(name), text.as_bytes()).map_err(Error::from)
    };
    write(
        "metrics.json",
        &serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::Usage(format!("metrics.json: {e}")))?,
    )?;
    write("table.md", &md)?;
    write(
        "report.html",
        &html::render("vaecam localize", settings_text, html_cats),
    )?;
    println!("{md}");
    println!(
        "(written to {}; open report.html in a browser)",
        out.display()
    );
    Ok(())
}
