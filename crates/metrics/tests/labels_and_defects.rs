//! Image labels given by the caller (not read from a resized mask), per-defect reports and
//! anomalib's metric names.

use vaecam_metrics::{DefectMetrics, MetricsOptions, PixelMetrics};

#[test]
fn a_defective_image_with_an_empty_mask_stays_defective() {
    let mut m = PixelMetrics::new(MetricsOptions::default()).unwrap();
    m.add_labeled_image(&[0.1, 0.2, 0.1, 0.2], &[0; 4], 2, 2, false)
        .unwrap();
    // Its defect vanished from the downsized mask, but its map is the highest.
    m.add_labeled_image(&[0.9, 0.8, 0.9, 0.8], &[0; 4], 2, 2, true)
        .unwrap();
    m.add_labeled_image(&[0.3, 0.5, 0.0, 0.0], &[0, 1, 0, 0], 2, 2, true)
        .unwrap();
    let r = m.finish().unwrap();
    assert_eq!(r.n_anomalous_images, 2);
    assert_eq!(r.image_auroc, Some(1.0));
    let names: Vec<&str> = r.anomalib_names().iter().map(|p| p.0).collect();
    assert_eq!(
        names,
        ["image_AUROC", "pixel_AUROC", "pixel_AUPRO", "F1Max"]
    );
    assert_eq!(r.anomalib_names()[1].1, Some(r.pixel_auroc));
}

#[test]
fn each_defect_type_is_scored_with_every_normal_image() {
    let types = vec!["hole".to_string(), "stain".to_string()];
    let mut m = DefectMetrics::new(MetricsOptions::default(), &types).unwrap();
    // Normal: scores 0.5 everywhere. Hole: found (0.9 on its pixel). Stain: missed (0.0).
    m.add_image(&[0.5; 4], &[0; 4], 2, 2, None).unwrap();
    m.add_image(&[0.9, 0.1, 0.1, 0.1], &[1, 0, 0, 0], 2, 2, Some("hole"))
        .unwrap();
    m.add_image(&[0.0, 0.1, 0.1, 0.1], &[1, 0, 0, 0], 2, 2, Some("stain"))
        .unwrap();
    let (all, per) = m.finish().unwrap();
    let hole = per[0].1.as_ref().unwrap();
    let stain = per[1].1.as_ref().unwrap();
    assert_eq!((hole.n_images, stain.n_images, all.n_images), (2, 2, 3));
    assert_eq!(hole.pixel_auroc, 1.0);
    assert_eq!(stain.pixel_auroc, 0.0);
    assert!((all.pixel_auroc - 0.5).abs() < 1e-9, "{}", all.pixel_auroc);
    assert!(m_unknown_type_is_refused());
}

fn m_unknown_type_is_refused() -> bool {
    let mut m = DefectMetrics::new(MetricsOptions::default(), &["hole".to_string()]).unwrap();
    let e = m
        .add_image(&[0.5; 4], &[1, 0, 0, 0], 2, 2, Some("crack"))
        .unwrap_err();
    e.to_string().contains("crack")
}
