//! AUPRO: the area under the per-region-overlap (PRO) curve up to a false-positive-rate
//! limit, normalised by the limit (Bergmann et al., MVTec-AD; anomalib's procedure).
//!
//! The procedure: the connected components (8-connectivity) of every ground-truth mask are
//! the regions of the category. For a threshold `t`, the overlap of a region is the fraction
//! of its pixels with score `>= t`; the PRO is the mean overlap over all regions of all
//! images; the FPR is the fraction of normal pixels (of all images, normal images included)
//! with score `>= t`. The PRO-vs-FPR curve, starting at `(0, 0)`, is integrated by the
//! trapezoid rule up to the limit, the point at the limit being linearly interpolated
//! between its neighbours; the area is divided by the limit (so a perfect map scores 1).
//!
//! Computation: each anomalous pixel of a region of `s` pixels carries a weight `1 / s`;
//! the mean overlap at threshold `t` is the sum of the weights of the pixels scoring `>= t`,
//! divided by the number of regions. This makes the PRO curve one more sum over the same
//! pass that builds the ROC (see [`crate::PixelMetrics`]).

use crate::error::Result;
use crate::pixel::{MetricsOptions, PixelMetrics};

/// Integrates a curve given point by point (increasing FPR), from `(0, 0)` up to
/// `fpr_limit`, interpolating at the limit; [`ProIntegrator::finish`] divides by the limit.
#[derive(Debug, Clone)]
pub struct ProIntegrator {
    limit: f64,
    last: (f64, f64),
    area: f64,
    done: bool,
}

impl ProIntegrator {
    /// A new integrator; the curve starts at `(0, 0)`.
    pub fn new(fpr_limit: f64) -> Self {
        Self {
            limit: fpr_limit,
            last: (0.0, 0.0),
            area: 0.0,
            done: false,
        }
    }

    /// Adds the next point `(fpr, y)`; `fpr` must not decrease.
    pub fn push(&mut self, fpr: f64, y: f64) {
        if self.done {
            return;
        }
        let (f0, y0) = self.last;
        if fpr <= self.limit {
            self.area += (fpr - f0) * (y0 + y) / 2.0;
            self.last = (fpr, y);
        } else {
            // First point past the limit: interpolate the curve at the limit.
            let y_lim = y0 + (y - y0) * (self.limit - f0) / (fpr - f0);
            self.area += (self.limit - f0) * (y0 + y_lim) / 2.0;
            self.last = (self.limit, y_lim);
            self.done = true;
        }
    }

    /// The area up to the limit divided by the limit. If the curve stopped before the limit
    /// (it cannot when the last point has FPR 1), the missing part counts as zero area.
    pub fn finish(self) -> f64 {
        self.area / self.limit
    }
}

/// AUPRO of a set of images in one call (exact mode): `images` holds `(scores, mask)`
/// pairs of `width * height` values each (mask: non-zero = anomalous).
///
/// Errors as [`PixelMetrics::add_image`] and [`PixelMetrics::finish`].
pub fn aupro(
    images: &[(&[f32], &[u8])],
    width: usize,
    height: usize,
    fpr_limit: f64,
) -> Result<f64> {
    let opts = MetricsOptions {
        fpr_limit,
        ..MetricsOptions::default()
    };
    let mut m = PixelMetrics::new(opts)?;
    for (s, mask) in images {
        m.add_image(s, mask, width, height)?;
    }
    Ok(m.finish()?.aupro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrator_interpolates_at_the_limit() {
        // Points (0.2, 0.5) then (0.4, 1.0): at 0.3 the curve is at 0.75.
        let mut p = ProIntegrator::new(0.3);
        p.push(0.2, 0.5);
        p.push(0.4, 1.0);
        p.push(1.0, 1.0);
        let area = 0.2 * 0.25 + 0.1 * (0.5 + 0.75) / 2.0;
        assert!((p.finish() - area / 0.3).abs() < 1e-12);
    }

    #[test]
    fn integrator_point_exactly_at_the_limit() {
        let mut p = ProIntegrator::new(0.5);
        p.push(0.0, 1.0);
        p.push(0.5, 1.0);
        p.push(1.0, 1.0);
        assert!((p.finish() - 1.0).abs() < 1e-12);
    }
}
