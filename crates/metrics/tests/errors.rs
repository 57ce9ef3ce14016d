//! Errors name the value at fault.

use vaecam_metrics::{auroc, MetricsError, MetricsOptions, Mode, PixelMetrics};

fn metrics() -> PixelMetrics {
    PixelMetrics::new(MetricsOptions::default()).unwrap()
}

#[test]
fn length_mismatch_names_the_image() {
    let mut m = metrics();
    m.add_image(&[0.0; 4], &[0; 4], 2, 2).unwrap();
    m.add_image(&[0.0; 4], &[0; 4], 2, 2).unwrap();
    let e = m.add_image(&[0.0; 4], &[0; 3], 2, 2).unwrap_err();
    assert!(matches!(
        e,
        MetricsError::LengthMismatch {
            image: 2,
            expected: 4,
            scores: 4,
            mask: 3,
            ..
        }
    ));
    assert!(e.to_string().contains("image 2"), "{e}");
    let e = m.add_image(&[0.0; 5], &[0; 4], 2, 2).unwrap_err();
    assert!(matches!(
        e,
        MetricsError::LengthMismatch {
            image: 2,
            scores: 5,
            ..
        }
    ));
    // The failed images were not kept.
    assert_eq!(m.n_images(), 2);
    let e = m.add_image(&[], &[], 0, 0).unwrap_err();
    assert!(matches!(
        e,
        MetricsError::LengthMismatch { expected: 0, .. }
    ));
}

#[test]
fn undefined_auroc_and_empty_input() {
    let mut m = metrics();
    m.add_image(&[0.1, 0.2], &[0, 0], 2, 1).unwrap();
    let e = m.finish().unwrap_err();
    assert!(
        matches!(e, MetricsError::NoPositive { total: 2, .. }),
        "{e}"
    );
    let mut m = metrics();
    m.add_image(&[0.1, 0.2], &[255, 255], 2, 1).unwrap();
    assert!(matches!(
        m.finish().unwrap_err(),
        MetricsError::NoNegative { total: 2, .. }
    ));
    assert!(matches!(
        metrics().finish().unwrap_err(),
        MetricsError::Empty(_)
    ));
    assert!(matches!(
        auroc(&[], &[]).unwrap_err(),
        MetricsError::Empty(_)
    ));
    assert!(matches!(
        auroc(&[0.1], &[true, false]).unwrap_err(),
        MetricsError::LabelMismatch {
            left: 1,
            right: 2,
            ..
        }
    ));
    assert!(matches!(
        auroc(&[0.1, 0.2], &[true, true]).unwrap_err(),
        MetricsError::NoNegative { .. }
    ));
}

#[test]
fn non_finite_scores_and_bad_options() {
    let mut m = metrics();
    let e = m.add_image(&[0.1, f32::NAN], &[0, 1], 2, 1).unwrap_err();
    assert!(matches!(
        e,
        MetricsError::NonFiniteScore {
            image: 0,
            index: 1,
            ..
        }
    ));
    assert!(e.to_string().contains("pixel 1"), "{e}");
    for opts in [
        MetricsOptions {
            fpr_limit: 0.0,
            ..Default::default()
        },
        MetricsOptions {
            fpr_limit: 1.5,
            ..Default::default()
        },
        MetricsOptions {
            curve_points: 2,
            ..Default::default()
        },
        MetricsOptions {
            mode: Mode::Histogram {
                bins: 1000,
                range: None,
            },
            ..Default::default()
        },
        MetricsOptions {
            mode: Mode::Histogram {
                bins: 1024,
                range: Some((1.0, 0.0)),
            },
            ..Default::default()
        },
    ] {
        assert!(matches!(
            PixelMetrics::new(opts).unwrap_err(),
            MetricsError::InvalidOption { .. }
        ));
    }
}

#[test]
fn image_auroc_is_none_when_every_image_is_anomalous() {
    let mut m = metrics();
    m.add_image(&[0.1, 0.9], &[0, 255], 2, 1).unwrap();
    m.add_image(&[0.8, 0.2], &[255, 0], 2, 1).unwrap();
    let r = m.finish().unwrap();
    assert_eq!(r.image_auroc, None);
    assert_eq!(r.pixel_auroc, 1.0);
    assert_eq!(r.aupro, 1.0);
    assert_eq!(r.f1_max, 1.0);
}
