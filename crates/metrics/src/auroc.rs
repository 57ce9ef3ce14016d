//! AUROC, ROC curve and F1-max of a flat list of scores and labels (exact, ties grouped).
//! For images with masks use [`crate::PixelMetrics`].

use crate::curve::{summarize, RocCurve, Totals};
use crate::error::{MetricsError, Result};
use crate::store::ExactStore;

/// The best F1 over all thresholds and the threshold reaching it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct F1Max {
    /// Best F1 = 2 TP / (2 TP + FP + FN).
    pub f1: f64,
    /// Scores `>=` this threshold are predicted positive.
    pub threshold: f32,
}

/// Exact ROC analysis of `scores` against `labels` (true = positive).
#[derive(Debug, Clone)]
pub struct RocAnalysis {
    /// Area under the ROC curve (trapezoid over groups of tied scores).
    pub auroc: f64,
    /// Best F1 over thresholds.
    pub f1_max: F1Max,
    /// The ROC curve, thinned to at most `max_points` points.
    pub curve: RocCurve,
}

fn store(what: &'static str, scores: &[f32], labels: &[bool]) -> Result<ExactStore> {
    if scores.len() != labels.len() {
        return Err(MetricsError::LabelMismatch {
            what,
            left: scores.len(),
            right: labels.len(),
        });
    }
    if scores.is_empty() {
        return Err(MetricsError::Empty(what));
    }
    let mut s = ExactStore::default();
    for (index, (&value, &l)) in scores.iter().zip(labels).enumerate() {
        if !value.is_finite() {
            return Err(MetricsError::NonFiniteScore {
                image: 0,
                index,
                value,
            });
        }
        if l {
            s.pos.push((value + 0.0, u32::MAX));
        } else {
            s.neg.push(value + 0.0);
        }
    }
    let total = scores.len() as u64;
    if s.pos.is_empty() {
        return Err(MetricsError::NoPositive {
            metric: what,
            total,
        });
    }
    if s.neg.is_empty() {
        return Err(MetricsError::NoNegative {
            metric: what,
            total,
        });
    }
    s.sort();
    Ok(s)
}

/// Exact ROC analysis with the curve thinned to `max_points` (>= 3) points.
///
/// Errors: mismatched lengths, empty input, non-finite score, no positive or no negative.
pub fn roc_analysis(scores: &[f32], labels: &[bool], max_points: usize) -> Result<RocAnalysis> {
    let s = store("ROC", scores, labels)?;
    let totals = Totals {
        pos: s.pos.len() as u64,
        neg: s.neg.len() as u64,
        regions: 0,
    };
    let sum = summarize(s.groups(), totals, 1.0, max_points);
    Ok(RocAnalysis {
        auroc: sum.auroc,
        f1_max: F1Max {
            f1: sum.f1_max,
            threshold: sum.f1_threshold,
        },
        curve: sum.roc,
    })
}

/// Exact AUROC (equals scikit-learn's `roc_auc_score`, ties counting one half).
///
/// ```
/// let a = vaecam_metrics::auroc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
/// assert!((a - 0.75).abs() < 1e-12);
/// ```
pub fn auroc(scores: &[f32], labels: &[bool]) -> Result<f64> {
    Ok(roc_analysis(scores, labels, 3)?.auroc)
}

/// The best F1 over thresholds (as from scikit-learn's `precision_recall_curve`).
pub fn f1_max(scores: &[f32], labels: &[bool]) -> Result<F1Max> {
    Ok(roc_analysis(scores, labels, 3)?.f1_max)
}

/// The ROC curve thinned to at most `max_points` points (>= 3).
pub fn roc_curve(scores: &[f32], labels: &[bool], max_points: usize) -> Result<RocCurve> {
    Ok(roc_analysis(scores, labels, max_points)?.curve)
}
