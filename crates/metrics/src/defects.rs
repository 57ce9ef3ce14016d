//! Per-defect-type metrics of one category, as MVTec-AD tables report them: each defect
//! type is scored on its own images together with every normal image.

use crate::error::{MetricsError, Result};
use crate::pixel::{MetricsOptions, PixelMetrics, Report};

/// Per defect type, its report (`None` when undefined).
pub type PerDefect = Vec<(String, Option<Report>)>;

/// Accumulates one category's maps into an overall [`PixelMetrics`] and one per defect type
/// (that type's images plus every normal image).
///
/// ```
/// use vaecam_metrics::{DefectMetrics, MetricsOptions};
/// let types = vec!["hole".to_string(), "scratch".to_string()];
/// let mut m = DefectMetrics::new(MetricsOptions::default(), &types).unwrap();
/// m.add_image(&[0.1, 0.2, 0.1, 0.3], &[0, 0, 0, 0], 2, 2, None).unwrap();
/// m.add_image(&[0.9, 0.2, 0.1, 0.3], &[1, 0, 0, 0], 2, 2, Some("hole")).unwrap();
/// m.add_image(&[0.1, 0.2, 0.1, 0.3], &[0, 0, 0, 1], 2, 2, Some("scratch")).unwrap();
/// let (all, per) = m.finish().unwrap();
/// assert_eq!(per[0].0, "hole");
/// assert_eq!(per[0].1.as_ref().unwrap().pixel_auroc, 1.0);
/// assert!(all.pixel_auroc < 1.0);
/// ```
#[derive(Debug)]
pub struct DefectMetrics {
    all: PixelMetrics,
    per: Vec<(String, PixelMetrics)>,
}

impl DefectMetrics {
    /// An empty accumulator for the given defect types (not including the normal class).
    pub fn new(opts: MetricsOptions, defect_types: &[String]) -> Result<Self> {
        let per = defect_types
            .iter()
            .map(|d| Ok((d.clone(), PixelMetrics::new(opts)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(DefectMetrics {
            all: PixelMetrics::new(opts)?,
            per,
        })
    }

    /// Adds one image: `defect` is `None` for a normal image (it goes to every defect type's
    /// accumulator), else its defect type, which must be one given to
    /// [`DefectMetrics::new`]. The image label is the defect type, not the mask.
    pub fn add_image(
        &mut self,
        scores: &[f32],
        mask: &[u8],
        width: usize,
        height: usize,
        defect: Option<&str>,
    ) -> Result<()> {
        let anomalous = defect.is_some();
        if let Some(d) = defect {
            if !self.per.iter().any(|(n, _)| n == d) {
                return Err(MetricsError::InvalidOption {
                    name: "defect",
                    value: d.to_string(),
                    why: "is not one of the defect types the accumulator was made for",
                });
            }
        }
        self.all
            .add_labeled_image(scores, mask, width, height, anomalous)?;
        for (name, m) in &mut self.per {
            if defect.is_none_or(|d| d == name) {
                m.add_labeled_image(scores, mask, width, height, anomalous)?;
            }
        }
        Ok(())
    }

    /// The overall report and, per defect type in the order given, its report (`None` when
    /// that type has no anomalous pixel or no normal pixel, e.g. a type whose masks are all
    /// empty).
    pub fn finish(self) -> Result<(Report, PerDefect)> {
        let all = self.all.finish()?;
        let per = self
            .per
            .into_iter()
            .map(|(n, m)| (n, m.finish().ok()))
            .collect();
        Ok((all, per))
    }
}
