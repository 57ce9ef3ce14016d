//! Ranking curves built from groups of tied scores: the ROC, F1 over thresholds and the
//! PRO curve, all in one pass over the groups in decreasing score order.
//!
//! A *group* holds every sample that shares one score (exact mode) or one histogram bin
//! (streaming mode). Stepping over whole groups is what makes ties exact: a group of tied
//! scores moves the ROC diagonally, and the trapezoid rule gives it half credit.

use serde::Serialize;

use crate::aupro::ProIntegrator;

/// Every sample sharing one threshold, in decreasing threshold order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    /// The score of the group (exact mode) or the lower edge of its bin.
    pub threshold: f32,
    /// Positive (anomalous) samples in the group.
    pub pos: u64,
    /// Negative (normal) samples in the group.
    pub neg: u64,
    /// Sum over the group's positive pixels of 1 / (size of the pixel's region).
    pub pro: f64,
}

/// Points of a curve for plotting, thinned to a bounded number of points.
///
/// For a ROC curve `tpr` is the true-positive rate; for a PRO curve it is the mean
/// per-region overlap. `thresholds[k]` is the score threshold (score `>=` threshold counts
/// as anomalous) of point `k`; the first point `(0, 0)` has threshold `+inf` (written as
/// `null` by serde_json). Points are in increasing `fpr` order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RocCurve {
    /// False-positive rates, from 0 to 1 (or to the last point kept).
    pub fpr: Vec<f64>,
    /// True-positive rates (ROC) or mean region overlaps (PRO).
    pub tpr: Vec<f64>,
    /// The threshold of each point.
    pub thresholds: Vec<f32>,
}

impl RocCurve {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.fpr.len()
    }

    /// Whether the curve has no point.
    pub fn is_empty(&self) -> bool {
        self.fpr.is_empty()
    }

    /// The area under the (thinned) curve by the trapezoid rule. Thinning only removes
    /// points, so this is a close lower-resolution estimate of the exact area; use the
    /// metric in the report for the exact value.
    pub fn area(&self) -> f64 {
        self.fpr
            .windows(2)
            .zip(self.tpr.windows(2))
            .map(|(f, t)| (f[1] - f[0]) * (t[0] + t[1]) / 2.0)
            .sum()
    }

    /// The curve as CSV text with a header line `fpr,tpr,threshold`, one point a line.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("fpr,tpr,threshold\n");
        for k in 0..self.len() {
            s.push_str(&format!(
                "{},{},{}\n",
                self.fpr[k], self.tpr[k], self.thresholds[k]
            ));
        }
        s
    }

    /// A minimal self-contained SVG drawing of the curve (axes box, diagonal, polyline),
    /// `size` pixels square. No raster image is involved; the caller may embed it in HTML.
    pub fn to_svg(&self, size: u32) -> String {
        let s = size as f64;
        let pts: Vec<String> = self
            .fpr
            .iter()
            .zip(&self.tpr)
            .map(|(x, y)| format!("{:.2},{:.2}", x * s, (1.0 - y) * s))
            .collect();
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" \
             viewBox=\"0 0 {size} {size}\"><rect width=\"{size}\" height=\"{size}\" \
             fill=\"white\" stroke=\"black\"/><line x1=\"0\" y1=\"{size}\" x2=\"{size}\" \
             y2=\"0\" stroke=\"gray\" stroke-dasharray=\"4\"/><polyline fill=\"none\" \
             stroke=\"blue\" stroke-width=\"2\" points=\"{}\"/></svg>",
            pts.join(" ")
        )
    }
}

/// Keeps at most `max_points` points of a monotone curve on the fly: a point is kept when
/// its L1 distance (|dfpr| + |dtpr|) from the last kept point reaches `2 / (max_points - 2)`;
/// the first and the last point are always kept. Since the total L1 length is at most 2,
/// at most `max_points` points are kept.
#[derive(Debug)]
pub(crate) struct Thinner {
    step: f64,
    curve: RocCurve,
    last: (f64, f64, f32),
    last_kept: bool,
}

impl Thinner {
    pub fn new(max_points: usize) -> Self {
        let mut curve = RocCurve::default();
        curve.fpr.push(0.0);
        curve.tpr.push(0.0);
        curve.thresholds.push(f32::INFINITY);
        Self {
            step: 2.0 / (max_points.max(3) - 2) as f64,
            curve,
            last: (0.0, 0.0, f32::INFINITY),
            last_kept: true,
        }
    }

    pub fn push(&mut self, x: f64, y: f64, t: f32) {
        let k = self.curve.len() - 1;
        let d = (x - self.curve.fpr[k]).abs() + (y - self.curve.tpr[k]).abs();
        self.last = (x, y, t);
        self.last_kept = d >= self.step;
        if self.last_kept {
            self.keep(self.last);
        }
    }

    fn keep(&mut self, (x, y, t): (f64, f64, f32)) {
        self.curve.fpr.push(x);
        self.curve.tpr.push(y);
        self.curve.thresholds.push(t);
    }

    pub fn finish(mut self) -> RocCurve {
        if !self.last_kept {
            self.keep(self.last);
        }
        self.curve
    }
}

/// Everything computed from one pass over the groups.
#[derive(Debug)]
pub(crate) struct CurveSummary {
    pub auroc: f64,
    pub f1_max: f64,
    pub f1_threshold: f32,
    pub aupro: Option<f64>,
    pub roc: RocCurve,
    pub pro: Option<RocCurve>,
}

/// Totals needed to normalise the curves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Totals {
    pub pos: u64,
    pub neg: u64,
    /// Number of ground-truth regions (0: no PRO curve).
    pub regions: u64,
}

/// Walks the groups (decreasing threshold) once. `totals.pos` and `totals.neg` must be
/// non-zero and equal the sums over the groups.
pub(crate) fn summarize(
    groups: impl Iterator<Item = Group>,
    totals: Totals,
    fpr_limit: f64,
    max_points: usize,
) -> CurveSummary {
    let (p, n) = (totals.pos, totals.neg);
    // AUROC exactly in integers: 2 * sum_g neg_g * (2 tp_before + pos_g) / (4 P N).
    let mut area2: u128 = 0;
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut pro_sum = 0.0f64;
    let mut best = (0.0f64, f32::INFINITY);
    let mut roc = Thinner::new(max_points);
    let mut pro_curve = Thinner::new(max_points);
    let mut pro = ProIntegrator::new(fpr_limit);
    let regions = totals.regions as f64;
    for g in groups {
        area2 += g.neg as u128 * (2 * tp as u128 + g.pos as u128);
        tp += g.pos;
        fp += g.neg;
        pro_sum += g.pro;
        let f1 = 2.0 * tp as f64 / (tp + fp + p) as f64;
        if f1 > best.0 {
            best = (f1, g.threshold);
        }
        let fpr = fp as f64 / n as f64;
        roc.push(fpr, tp as f64 / p as f64, g.threshold);
        if totals.regions > 0 {
            let overlap = (pro_sum / regions).min(1.0);
            pro.push(fpr, overlap);
            pro_curve.push(fpr, overlap, g.threshold);
        }
    }
    debug_assert_eq!((tp, fp), (p, n));
    CurveSummary {
        auroc: area2 as f64 / (2.0 * p as f64 * n as f64),
        f1_max: best.0,
        f1_threshold: best.1,
        aupro: (totals.regions > 0).then(|| pro.finish()),
        roc: roc.finish(),
        pro: (totals.regions > 0).then(|| pro_curve.finish()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinner_bounds_points_and_keeps_ends() {
        let mut t = Thinner::new(10);
        let n = 1000;
        for k in 1..=n {
            let x = k as f64 / n as f64;
            t.push(x, x.sqrt(), -(k as f32));
        }
        let c = t.finish();
        assert!(c.len() <= 10, "{}", c.len());
        assert!(c.len() >= 5);
        assert_eq!((c.fpr[0], c.tpr[0]), (0.0, 0.0));
        assert_eq!(*c.fpr.last().unwrap(), 1.0);
        assert_eq!(*c.tpr.last().unwrap(), 1.0);
        assert!(c.fpr.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn csv_and_svg_mention_every_point() {
        let c = RocCurve {
            fpr: vec![0.0, 0.5, 1.0],
            tpr: vec![0.0, 1.0, 1.0],
            thresholds: vec![f32::INFINITY, 0.5, 0.1],
        };
        assert_eq!(c.to_csv().lines().count(), 4);
        assert!(c
            .to_svg(100)
            .contains("points=\"0.00,100.00 50.00,0.00 100.00,0.00\""));
        assert!((c.area() - 0.75).abs() < 1e-12);
    }
}
