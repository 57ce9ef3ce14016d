//! AUPRO on hand-made masks, 8-connectivity, the interpolation at the FPR limit, and a
//! comparison with a brute-force implementation over every threshold.

use vaecam_metrics::{
    aupro, components::label_components, MetricsOptions, PixelMetrics, SplitMix64,
};

/// 10x10 image: region A (4x4 at the top left, 16 px) scored 1 everywhere; region B (2x4,
/// 8 px) scored 1 on its left half and 0 on its right half; 19 of the 76 normal pixels
/// scored 0.5, the rest 0.
fn two_regions() -> (Vec<f32>, Vec<u8>) {
    let (w, h) = (10, 10);
    let mut s = vec![0.0f32; w * h];
    let mut m = vec![0u8; w * h];
    for r in 0..4 {
        for c in 0..4 {
            m[r * w + c] = 255;
            s[r * w + c] = 1.0;
        }
    }
    for r in 6..8 {
        for c in 5..9 {
            m[r * w + c] = 255;
            s[r * w + c] = if c < 7 { 1.0 } else { 0.0 };
        }
    }
    let mut k = 0;
    for i in 0..w * h {
        if m[i] == 0 && k < 19 {
            s[i] = 0.5;
            k += 1;
        }
    }
    (s, m)
}

#[test]
fn two_regions_curve_by_hand() {
    let (s, m) = two_regions();
    // Points of the PRO curve: (0, 0) -> t=1: (0, 0.75) [A fully, B half]
    // -> t=0.5: (19/76 = 0.25, 0.75) -> t=0: (1, 1).
    // At the limit 0.3 the last segment is at 0.75 + 0.25 * 0.05 / 0.75.
    let y = 0.75 + 0.25 * (0.3 - 0.25) / (1.0 - 0.25);
    let expected = (0.25 * 0.75 + 0.05 * (0.75 + y) / 2.0) / 0.3;
    let got = aupro(&[(&s, &m)], 10, 10, 0.3).unwrap();
    assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    // Mean region overlap (0.75), not the pixel TPR (20/24): check the curve itself.
    let mut pm = PixelMetrics::new(MetricsOptions::default()).unwrap();
    pm.add_image(&s, &m, 10, 10).unwrap();
    let r = pm.finish().unwrap();
    assert_eq!(r.n_regions, 2);
    assert_eq!(r.pro_curve.fpr, vec![0.0, 0.0, 0.25, 1.0]);
    assert_eq!(r.pro_curve.tpr, vec![0.0, 0.75, 0.75, 1.0]);
    assert_eq!(r.roc.tpr[1], 20.0 / 24.0);
    // The full area (limit 1) and a limit below the first FPR step.
    let full = aupro(&[(&s, &m)], 10, 10, 1.0).unwrap();
    assert!((full - (0.25 * 0.75 + 0.75 * (0.75 + 1.0) / 2.0)).abs() < 1e-12);
    let small = aupro(&[(&s, &m)], 10, 10, 0.1).unwrap();
    assert!((small - 0.75).abs() < 1e-12);
}

#[test]
fn interpolation_at_the_limit_and_point_on_the_limit() {
    // 10 normal pixels scored 0.1..1.0 (distinct), one region of one pixel scored 0.55.
    let mut s: Vec<f32> = (1..=10).map(|k| k as f32 / 10.0).collect();
    let mut m = vec![0u8; 10];
    s.extend([0.55, 0.0]);
    m.extend([255, 0]);
    // FPR over 11 normal pixels; the region switches on after 5 normal pixels
    // (0.6..1.0). Curve: (k/11, 0) for k <= 5, then (5/11, 1), then (k/11, 1).
    let fpr0 = 5.0 / 11.0;
    for limit in [0.3, 0.5, 6.0 / 11.0, 1.0] {
        let got = aupro(&[(&s, &m)], 12, 1, limit).unwrap();
        let expected = if limit <= fpr0 {
            0.0
        } else {
            (limit - fpr0) / limit
        };
        assert!(
            (got - expected).abs() < 1e-12,
            "limit {limit}: {got} vs {expected}"
        );
    }
    // A segment crossing the limit: region scored like the 3rd normal pixel (tie).
    let mut s2 = s.clone();
    s2[10] = 0.8; // ties with the normal 0.8: the curve goes (2/11, 0) -> (3/11, 1)
    let limit = 0.25; // between 2/11 and 3/11
    let (f0, f1) = (2.0 / 11.0, 3.0 / 11.0);
    let y = (limit - f0) / (f1 - f0);
    let expected = (limit - f0) * y / 2.0 / limit;
    let got = aupro(&[(&s2, &m)], 12, 1, limit).unwrap();
    assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
}

#[test]
fn diagonal_pixels_are_one_region() {
    // 2x2 block plus a pixel touching it only diagonally: one region of 5 pixels.
    let (w, h) = (5, 5);
    let mut m = vec![0u8; w * h];
    for (r, c) in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2)] {
        m[r * w + c] = 1;
    }
    assert_eq!(label_components(&m, w, h).sizes, vec![5]);
    let mut s = vec![0.0f32; w * h];
    s[2 * w + 2] = 1.0; // only the diagonal pixel is detected
                        // 8-connectivity: overlap 1/5 at t=1 (4-connectivity would give (0 + 1)/2).
    let mut pm = PixelMetrics::new(MetricsOptions::default()).unwrap();
    pm.add_image(&s, &m, w, h).unwrap();
    let r = pm.finish().unwrap();
    assert_eq!(r.n_regions, 1);
    assert!((r.pro_curve.tpr[1] - 0.2).abs() < 1e-12);
    let y = 0.2 + 0.8 * 0.3;
    assert!((r.aupro - 0.3 * (0.2 + y) / 2.0 / 0.3).abs() < 1e-12);
}

/// Brute force: label regions by flood fill, then for every distinct threshold compute
/// every region's overlap and the FPR from scratch; integrate with interpolation.
fn brute_force(images: &[(Vec<f32>, Vec<u8>)], w: usize, h: usize, limit: f64) -> f64 {
    let mut regions: Vec<Vec<(usize, usize)>> = Vec::new();
    for (i, (_, m)) in images.iter().enumerate() {
        let mut seen = vec![false; w * h];
        for p in 0..w * h {
            if m[p] == 0 || seen[p] {
                continue;
            }
            let mut reg = vec![];
            let mut todo = vec![p];
            seen[p] = true;
            while let Some(q) = todo.pop() {
                reg.push((i, q));
                let (r, c) = ((q / w) as i64, (q % w) as i64);
                for rr in r - 1..=r + 1 {
                    for cc in c - 1..=c + 1 {
                        if rr >= 0 && cc >= 0 && rr < h as i64 && cc < w as i64 {
                            let j = rr as usize * w + cc as usize;
                            if m[j] != 0 && !seen[j] {
                                seen[j] = true;
                                todo.push(j);
                            }
                        }
                    }
                }
            }
            regions.push(reg);
        }
    }
    let mut ts: Vec<f32> = images.iter().flat_map(|(s, _)| s.iter().copied()).collect();
    ts.sort_by(|a, b| b.total_cmp(a));
    ts.dedup();
    let n_neg = images
        .iter()
        .flat_map(|(_, m)| m.iter())
        .filter(|&&v| v == 0)
        .count() as f64;
    let mut pts = vec![(0.0f64, 0.0f64)];
    for t in ts {
        let fp = images
            .iter()
            .flat_map(|(s, m)| s.iter().zip(m))
            .filter(|(v, l)| **v >= t && **l == 0)
            .count() as f64;
        let pro: f64 = regions
            .iter()
            .map(|reg| {
                reg.iter().filter(|(i, q)| images[*i].0[*q] >= t).count() as f64 / reg.len() as f64
            })
            .sum::<f64>()
            / regions.len() as f64;
        pts.push((fp / n_neg, pro));
    }
    let mut area = 0.0;
    for k in 1..pts.len() {
        let ((f0, y0), (f1, y1)) = (pts[k - 1], pts[k]);
        if f1 <= limit {
            area += (f1 - f0) * (y0 + y1) / 2.0;
        } else {
            let yl = y0 + (y1 - y0) * (limit - f0) / (f1 - f0);
            area += (limit - f0) * (y0 + yl) / 2.0;
            break;
        }
    }
    area / limit
}

#[test]
fn matches_brute_force_on_random_images() {
    let mut rng = SplitMix64::new(11);
    let (w, h) = (16, 12);
    for trial in 0..4 {
        let mut images = Vec::new();
        for i in 0..5 {
            let mut m = vec![0u8; w * h];
            if i % 2 == 1 || trial == 3 {
                for _ in 0..1 + rng.below(3) {
                    let (r0, c0) = (rng.below(h - 2), rng.below(w - 2));
                    let (rh, cw) = (1 + rng.below(4), 1 + rng.below(5));
                    for r in r0..(r0 + rh).min(h) {
                        for c in c0..(c0 + cw).min(w) {
                            m[r * w + c] = 255;
                        }
                    }
                }
                // Scattered pixels: some touch others only diagonally.
                for _ in 0..12 {
                    m[rng.below(w * h)] = 255;
                }
            }
            // Coarse scores with many ties on odd trials, continuous otherwise.
            let s: Vec<f32> = m
                .iter()
                .map(|&l| {
                    let v = rng.next_f64() + if l > 0 { 0.5 } else { 0.0 };
                    if trial % 2 == 1 {
                        ((v * 6.0).round() / 6.0) as f32
                    } else {
                        v as f32
                    }
                })
                .collect();
            images.push((s, m));
        }
        let refs: Vec<(&[f32], &[u8])> = images.iter().map(|(s, m)| (&s[..], &m[..])).collect();
        for limit in [0.05, 0.3, 1.0] {
            let got = aupro(&refs, w, h, limit).unwrap();
            let want = brute_force(&images, w, h, limit);
            assert!(
                (got - want).abs() < 1e-9,
                "trial {trial} limit {limit}: {got} vs {want}"
            );
        }
    }
}
