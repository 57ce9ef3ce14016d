//! Pixel AUROC, AUPRO, image AUROC and F1-max of a synthetic category, in the exact and
//! the streaming (histogram) mode, with timings and the first ROC points.
//!
//! ```text
//! cargo run --release -p vaecam-metrics --example auroc -- [images] [size]
//! ```

use std::time::Instant;

use vaecam_metrics::{MetricsOptions, Mode, PixelMetrics, Report, SplitMix64};

/// One synthetic image: N(0, 1) normal pixels, one anomalous square (every other image)
/// scored N(1.5, 1).
fn image(rng: &mut SplitMix64, i: usize, size: usize) -> (Vec<f32>, Vec<u8>) {
    let mut mask = vec![0u8; size * size];
    if i % 2 == 1 {
        let side = 4 + rng.below(size / 4);
        let (r0, c0) = (rng.below(size - side), rng.below(size - side));
        for r in r0..r0 + side {
            mask[r * size + c0..r * size + c0 + side].fill(255);
        }
    }
    let scores = mask
        .iter()
        .map(|&m| (rng.normal() + if m > 0 { 1.5 } else { 0.0 }) as f32)
        .collect();
    (scores, mask)
}

fn run(mode: Mode, images: usize, size: usize) -> Result<Report, vaecam_metrics::MetricsError> {
    let mut rng = SplitMix64::new(2020);
    let mut m = PixelMetrics::new(MetricsOptions {
        mode,
        ..MetricsOptions::default()
    })?;
    for i in 0..images {
        // Images are generated one at a time: only the accumulator holds data.
        let (s, mask) = image(&mut rng, i, size);
        m.add_image(&s, &mask, size, size)?;
    }
    m.finish()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let images: usize = args.next().map_or(Ok(100), |a| a.parse())?;
    let size: usize = args.next().map_or(Ok(256), |a| a.parse())?;
    println!("{images} images of {size}x{size}");
    let mut reports = Vec::new();
    for (name, mode) in [
        ("exact", Mode::Exact),
        ("histogram 2^16", Mode::histogram()),
    ] {
        let t = Instant::now();
        let r = run(mode, images, size)?;
        println!(
            "{name:>15}: pixel AUROC {:.6}  AUPRO@{} {:.6}  image AUROC {:.6}  F1-max {:.6} (t = {:.3})  [{:.2?}]",
            r.pixel_auroc,
            r.fpr_limit,
            r.aupro,
            r.image_auroc.unwrap_or(f64::NAN),
            r.f1_max,
            r.f1_threshold,
            t.elapsed()
        );
        reports.push(r);
    }
    let (e, h) = (&reports[0], &reports[1]);
    println!(
        "histogram - exact: pixel AUROC {:+.2e}, AUPRO {:+.2e}, F1 {:+.2e}",
        h.pixel_auroc - e.pixel_auroc,
        h.aupro - e.aupro,
        h.f1_max - e.f1_max
    );
    println!(
        "{} pixels, {} anomalous, {} regions; ROC curve {} points, PRO curve {} points",
        e.n_pixels,
        e.n_anomalous_pixels,
        e.n_regions,
        e.roc.len(),
        e.pro_curve.len()
    );
    for line in e.roc.to_csv().lines().take(5) {
        println!("  {line}");
    }
    Ok(())
}
