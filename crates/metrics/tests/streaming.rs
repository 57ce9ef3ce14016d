//! The streaming (histogram) mode against the exact mode, curves for plotting, and AUROC of
//! random scores.

use vaecam_metrics::{auroc, roc_curve, MetricsOptions, Mode, PixelMetrics, Report, SplitMix64};

/// `n` images of `w x h`: normal pixels ~ N(0, 1), anomalous rectangles ~ N(1.5, 1) (scaled
/// by `scale`); every third image is normal. The first image is a narrow-range one so that
/// the histogram range has to grow, both up and down.
fn category(n: usize, w: usize, h: usize, seed: u64, scale: f64) -> Vec<(Vec<f32>, Vec<u8>)> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::new();
    for i in 0..n {
        let mut m = vec![0u8; w * h];
        if i % 3 != 0 {
            for _ in 0..1 + rng.below(3) {
                let (r0, c0) = (rng.below(h), rng.below(w));
                let (rh, cw) = (1 + rng.below(h / 4), 1 + rng.below(w / 4));
                for r in r0..(r0 + rh).min(h) {
                    for c in c0..(c0 + cw).min(w) {
                        m[r * w + c] = 255;
                    }
                }
            }
        }
        let s = m
            .iter()
            .map(|&l| {
                let v = rng.normal() + if l > 0 { 1.5 } else { 0.0 };
                if i == 0 {
                    (0.01 * v * scale) as f32
                } else {
                    (v * scale) as f32
                }
            })
            .collect();
        out.push((s, m));
    }
    out
}

fn run(images: &[(Vec<f32>, Vec<u8>)], w: usize, h: usize, mode: Mode) -> Report {
    let mut m = PixelMetrics::new(MetricsOptions {
        mode,
        ..MetricsOptions::default()
    })
    .unwrap();
    for (s, mask) in images {
        m.add_image(s, mask, w, h).unwrap();
    }
    m.finish().unwrap()
}

fn assert_close(a: &Report, b: &Report, tol: f64) {
    for (name, x, y) in [
        ("pixel_auroc", a.pixel_auroc, b.pixel_auroc),
        ("aupro", a.aupro, b.aupro),
        ("f1_max", a.f1_max, b.f1_max),
        (
            "image_auroc",
            a.image_auroc.unwrap(),
            b.image_auroc.unwrap(),
        ),
    ] {
        assert!((x - y).abs() < tol, "{name}: exact {x} vs histogram {y}");
    }
    assert_eq!(a.n_pixels, b.n_pixels);
    assert_eq!(a.n_regions, b.n_regions);
}

#[test]
fn histogram_matches_exact_on_many_images() {
    let (w, h) = (64, 64);
    let images = category(150, w, h, 3, 1.0);
    let exact = run(&images, w, h, Mode::Exact);
    let hist = run(&images, w, h, Mode::histogram());
    assert!(
        exact.pixel_auroc > 0.8 && exact.pixel_auroc < 0.95,
        "{}",
        exact.pixel_auroc
    );
    assert!(exact.aupro > 0.2 && exact.aupro < 0.9, "{}", exact.aupro);
    assert_close(&exact, &hist, 1e-4);
    assert!(exact.histogram_bin_width.is_none());
    let bw = hist.histogram_bin_width.unwrap();
    assert!(bw > 0.0 && bw < 20.0 / 65536.0, "bin width {bw}");
    // With a range hint, and with fewer bins (looser but still close).
    let hinted = run(
        &images,
        w,
        h,
        Mode::Histogram {
            bins: 1 << 16,
            range: Some((-6.0, 8.0)),
        },
    );
    assert_close(&exact, &hinted, 1e-4);
    let coarse = run(
        &images,
        w,
        h,
        Mode::Histogram {
            bins: 1 << 10,
            range: None,
        },
    );
    assert_close(&exact, &coarse, 5e-3);
}

#[test]
fn histogram_handles_constant_first_image_and_tiny_scales() {
    let (w, h) = (32, 32);
    let mut images = category(40, w, h, 9, 1e-3);
    images[0].0.iter_mut().for_each(|v| *v = 0.0);
    let exact = run(&images, w, h, Mode::Exact);
    let hist = run(&images, w, h, Mode::histogram());
    assert_close(&exact, &hist, 1e-4);
}

#[test]
fn curves_are_bounded_monotone_and_end_at_one() {
    let (w, h) = (64, 64);
    let images = category(30, w, h, 5, 1.0);
    let r = run(&images, w, h, Mode::Exact);
    for c in [&r.roc, &r.pro_curve] {
        assert!(c.len() <= 1000 && c.len() > 100, "{}", c.len());
        assert_eq!((c.fpr[0], c.tpr[0]), (0.0, 0.0));
        assert_eq!(*c.fpr.last().unwrap(), 1.0);
        assert!((*c.tpr.last().unwrap() - 1.0).abs() < 1e-9);
        assert!(c.fpr.windows(2).all(|p| p[0] <= p[1]));
        assert!(c.tpr.windows(2).all(|p| p[0] <= p[1]));
        assert!(c.thresholds.windows(2).all(|p| p[0] > p[1]));
    }
    assert!((r.roc.area() - r.pixel_auroc).abs() < 1e-3);
    // The report serializes (the +inf threshold of the first point becomes null).
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["roc"]["thresholds"][0], serde_json::Value::Null);
    assert_eq!(json["pixel_auroc"].as_f64().unwrap(), r.pixel_auroc);
    let small = MetricsOptions {
        curve_points: 50,
        ..MetricsOptions::default()
    };
    let mut m = PixelMetrics::new(small).unwrap();
    m.reserve(images.len() * w * h);
    for (s, mask) in &images {
        m.add_image(s, mask, w, h).unwrap();
    }
    assert!(m.finish().unwrap().roc.len() <= 50);
}

#[test]
fn random_scores_give_half() {
    let mut rng = SplitMix64::new(1);
    let n = 200_000;
    let s: Vec<f32> = (0..n).map(|_| rng.next_f64() as f32).collect();
    let l: Vec<bool> = (0..n).map(|_| rng.below(2) == 1).collect();
    let a = auroc(&s, &l).unwrap();
    assert!((a - 0.5).abs() < 0.005, "{a}");
    let c = roc_curve(&s, &l, 1000).unwrap();
    assert!(c.len() <= 1000);
    assert!(c.fpr.iter().zip(&c.tpr).all(|(f, t)| (f - t).abs() < 0.02));
}
