//! The streaming accumulator for the anomaly-localization metrics of one category.

use serde::Serialize;

use crate::components::label_components;
use crate::curve::{summarize, RocCurve, Totals};
use crate::error::{MetricsError, Result};
use crate::store::{ExactStore, HistStore};

/// How pixel scores are kept between [`PixelMetrics::add_image`] and
/// [`PixelMetrics::finish`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Every score is kept and sorted at the end: exact metrics. Memory: 4 bytes per normal
    /// pixel, 8 bytes per anomalous pixel, 8 bytes per region, 8 bytes per image (a category
    /// of 500 images of 256x256 needs about 130 MiB), plus at most 25% spare capacity while
    /// growing (none after [`PixelMetrics::reserve`]). Sorting is in place (no copy); the
    /// mask's component labels (4 bytes per pixel of one image) are transient.
    Exact,
    /// Per-class counts in `bins` equal-width bins (a power of two, 16 ..= 2^24): memory
    /// `24 * bins` bytes (1.5 MiB for 2^16) plus 8 bytes per image, whatever the number of
    /// pixels. Scores in one bin count as tied, so the AUROC error is at most half the
    /// fraction of (positive, negative) pairs sharing a bin (about `1 / bins` for spread-out
    /// scores). The range is `range` if given, else the first image's min..max; a later
    /// score outside it doubles the bin width (merging bins pairwise) until it fits, so the
    /// bin width stays within about twice `(max - min) / bins` of the whole category.
    Histogram {
        /// Number of bins (power of two).
        bins: usize,
        /// Expected score range, if known (scores outside it still grow the range).
        range: Option<(f32, f32)>,
    },
}

impl Mode {
    /// The histogram mode with 2^16 bins and no range hint.
    pub fn histogram() -> Self {
        Mode::Histogram {
            bins: 1 << 16,
            range: None,
        }
    }
}

/// Options of [`PixelMetrics`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricsOptions {
    /// Score storage (default [`Mode::Exact`]).
    pub mode: Mode,
    /// FPR limit of the AUPRO, in `(0, 1]` (default 0.3).
    pub fpr_limit: f64,
    /// At most this many points in the ROC and PRO curves of the report (>= 3; default
    /// 1000).
    pub curve_points: usize,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        Self {
            mode: Mode::Exact,
            fpr_limit: 0.3,
            curve_points: 1000,
        }
    }
}

/// The metrics of one category.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Pixel-level AUROC over every pixel of every image (normal images included).
    pub pixel_auroc: f64,
    /// Area under the PRO curve up to `fpr_limit`, divided by `fpr_limit`.
    pub aupro: f64,
    /// The FPR limit of `aupro`.
    pub fpr_limit: f64,
    /// Image-level AUROC (image score = max of its map, label = the one given to
    /// [`PixelMetrics::add_labeled_image`], else any anomalous pixel);
    /// `None` when all images have the same label (undefined).
    pub image_auroc: Option<f64>,
    /// Best pixel-level F1 over all thresholds.
    pub f1_max: f64,
    /// The threshold reaching `f1_max` (score `>=` threshold is anomalous).
    pub f1_threshold: f32,
    /// Number of images.
    pub n_images: usize,
    /// Images with at least one anomalous pixel.
    pub n_anomalous_images: usize,
    /// Number of pixels.
    pub n_pixels: u64,
    /// Anomalous pixels.
    pub n_anomalous_pixels: u64,
    /// Ground-truth regions (8-connected components) over all images.
    pub n_regions: u64,
    /// Pixel ROC curve, thinned to at most `curve_points` points.
    pub roc: RocCurve,
    /// PRO curve (`tpr` = mean region overlap) over the full FPR range, thinned.
    pub pro_curve: RocCurve,
    /// Histogram mode: the final bin width (scores closer than this may count as tied);
    /// `None` in exact mode.
    pub histogram_bin_width: Option<f64>,
}

impl Report {
    /// The headline metrics under anomalib's names (`image_AUROC`, `pixel_AUROC`,
    /// `pixel_AUPRO`, `F1Max`), so that results can be compared with its tables. `F1Max` is
    /// the pixel-level F1-max here (anomalib reports it per image or per pixel depending on
    /// the task); `image_AUROC` is `None` when undefined.
    pub fn anomalib_names(&self) -> Vec<(&'static str, Option<f64>)> {
        vec![
            ("image_AUROC", self.image_auroc),
            ("pixel_AUROC", Some(self.pixel_auroc)),
            ("pixel_AUPRO", Some(self.aupro)),
            ("F1Max", Some(self.f1_max)),
        ]
    }
}

/// Makes room for `more` elements, growing by at least 1.25x (not Vec's 2x) so that the
/// spare capacity stays under 25% of the stored scores.
fn grow<T>(v: &mut Vec<T>, more: usize) {
    let need = v.len() + more;
    if need > v.capacity() {
        let target = need.max(v.capacity() + v.capacity() / 4);
        v.reserve_exact(target - v.len());
    }
}

#[derive(Debug)]
enum Store {
    Exact(ExactStore),
    Hist(Box<HistStore>),
}

/// Accumulates score maps and ground-truth masks image by image, then computes pixel
/// AUROC, AUPRO, image AUROC and F1-max in [`PixelMetrics::finish`].
///
/// ```
/// use vaecam_metrics::{MetricsOptions, PixelMetrics};
/// let mut m = PixelMetrics::new(MetricsOptions::default()).unwrap();
/// // A 2x2 image whose right column is anomalous and scored higher.
/// m.add_image(&[0.1, 0.9, 0.2, 0.8], &[0, 255, 0, 255], 2, 2).unwrap();
/// m.add_image(&[0.1, 0.2, 0.3, 0.1], &[0, 0, 0, 0], 2, 2).unwrap();
/// let r = m.finish().unwrap();
/// assert_eq!(r.pixel_auroc, 1.0);
/// assert_eq!(r.image_auroc, Some(1.0));
/// ```
#[derive(Debug)]
pub struct PixelMetrics {
    opts: MetricsOptions,
    store: Store,
    /// (max score, anomalous) per image.
    images: Vec<(f32, bool)>,
    pos: u64,
    neg: u64,
    regions: u64,
}

impl PixelMetrics {
    /// A new, empty accumulator. Fails on an option out of range.
    pub fn new(opts: MetricsOptions) -> Result<Self> {
        if !(opts.fpr_limit > 0.0 && opts.fpr_limit <= 1.0) {
            return Err(MetricsError::InvalidOption {
                name: "fpr_limit",
                value: opts.fpr_limit.to_string(),
                why: "must be in (0, 1]",
            });
        }
        if opts.curve_points < 3 {
            return Err(MetricsError::InvalidOption {
                name: "curve_points",
                value: opts.curve_points.to_string(),
                why: "must be at least 3",
            });
        }
        let store = match opts.mode {
            Mode::Exact => Store::Exact(ExactStore::default()),
            Mode::Histogram { bins, range } => {
                if !bins.is_power_of_two() || !(16..=1 << 24).contains(&bins) {
                    return Err(MetricsError::InvalidOption {
                        name: "bins",
                        value: bins.to_string(),
                        why: "must be a power of two in 16 ..= 2^24",
                    });
                }
                if let Some((a, b)) = range {
                    if !(a.is_finite() && b.is_finite() && a <= b) {
                        return Err(MetricsError::InvalidOption {
                            name: "range",
                            value: format!("({a}, {b})"),
                            why: "must be finite with lo <= hi",
                        });
                    }
                }
                Store::Hist(Box::new(HistStore::new(bins, range)))
            }
        };
        Ok(Self {
            opts,
            store,
            images: Vec::new(),
            pos: 0,
            neg: 0,
            regions: 0,
        })
    }

    /// Exact mode: allocates room for `pixels` more normal pixels at once (e.g. the whole
    /// category's pixel count), so that the score buffer is allocated once, at its final
    /// size. Without it the buffer grows by 1.25x steps (at most 25% spare capacity). No
    /// effect in histogram mode.
    pub fn reserve(&mut self, pixels: usize) {
        if let Store::Exact(s) = &mut self.store {
            s.neg.reserve_exact(pixels);
        }
    }

    /// Number of images added so far.
    pub fn n_images(&self) -> usize {
        self.images.len()
    }

    /// Adds one image: its anomaly map `scores` and ground-truth `mask` (non-zero =
    /// anomalous, e.g. 255 in MVTec-AD), both `width * height` values in row-major order.
    ///
    /// Errors: [`MetricsError::LengthMismatch`] (naming the image index) when a slice is not
    /// `width * height` long or the image is empty; [`MetricsError::NonFiniteScore`] for a
    /// NaN or infinite score. On error nothing of the image is kept.
    pub fn add_image(
        &mut self,
        scores: &[f32],
        mask: &[u8],
        width: usize,
        height: usize,
    ) -> Result<()> {
        self.add(scores, mask, width, height, None)
    }

    /// Like [`PixelMetrics::add_image`], with the image's label given (e.g. from its folder:
    /// `good` or a defect type) instead of read from the mask. Use it when masks are resized:
    /// a small defect can vanish from a downsized mask, but the image stays defective for the
    /// image AUROC.
    pub fn add_labeled_image(
        &mut self,
        scores: &[f32],
        mask: &[u8],
        width: usize,
        height: usize,
        anomalous: bool,
    ) -> Result<()> {
        self.add(scores, mask, width, height, Some(anomalous))
    }

    fn add(
        &mut self,
        scores: &[f32],
        mask: &[u8],
        width: usize,
        height: usize,
        label: Option<bool>,
    ) -> Result<()> {
        let image = self.images.len();
        let expected = width * height;
        if scores.len() != expected || mask.len() != expected || expected == 0 {
            return Err(MetricsError::LengthMismatch {
                image,
                width,
                height,
                expected,
                scores: scores.len(),
                mask: mask.len(),
            });
        }
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for (index, &value) in scores.iter().enumerate() {
            if !value.is_finite() {
                return Err(MetricsError::NonFiniteScore {
                    image,
                    index,
                    value,
                });
            }
            lo = lo.min(value);
            hi = hi.max(value);
        }
        let comps = label_components(mask, width, height);
        let n_pos = comps.sizes.iter().sum::<u64>();
        match &mut self.store {
            Store::Exact(s) => {
                let base = s.region_weight.len() as u32;
                s.region_weight
                    .extend(comps.sizes.iter().map(|&n| 1.0 / n as f64));
                grow(&mut s.neg, expected - n_pos as usize);
                grow(&mut s.pos, n_pos as usize);
                for (&v, &l) in scores.iter().zip(&comps.labels) {
                    // `+ 0.0` turns -0.0 into 0.0 so that the two compare as ties.
                    let v = v + 0.0;
                    if l == 0 {
                        s.neg.push(v);
                    } else {
                        s.pos.push((v, base + l - 1));
                    }
                }
            }
            Store::Hist(h) => {
                h.include(lo as f64, hi as f64);
                let w: Vec<f64> = comps.sizes.iter().map(|&n| 1.0 / n as f64).collect();
                for (&v, &l) in scores.iter().zip(&comps.labels) {
                    if l == 0 {
                        h.add(v, false, 0.0);
                    } else {
                        h.add(v, true, w[l as usize - 1]);
                    }
                }
            }
        }
        self.pos += n_pos;
        self.neg += expected as u64 - n_pos;
        self.regions += comps.sizes.len() as u64;
        self.images.push((hi + 0.0, label.unwrap_or(n_pos > 0)));
        Ok(())
    }

    /// Computes the report.
    ///
    /// Errors: [`MetricsError::Empty`] when no image was added; [`MetricsError::NoPositive`]
    /// / [`MetricsError::NoNegative`] when no pixel is anomalous / normal (pixel AUROC and
    /// AUPRO are undefined).
    pub fn finish(self) -> Result<Report> {
        let total = self.pos + self.neg;
        if self.images.is_empty() {
            return Err(MetricsError::Empty("PixelMetrics::finish (no image added)"));
        }
        if self.pos == 0 {
            return Err(MetricsError::NoPositive {
                metric: "pixel AUROC",
                total,
            });
        }
        if self.neg == 0 {
            return Err(MetricsError::NoNegative {
                metric: "pixel AUROC",
                total,
            });
        }
        let totals = Totals {
            pos: self.pos,
            neg: self.neg,
            regions: self.regions,
        };
        let (limit, pts) = (self.opts.fpr_limit, self.opts.curve_points);
        let (sum, histogram_bin_width) = match self.store {
            Store::Exact(mut s) => {
                s.sort();
                (summarize(s.groups(), totals, limit, pts), None)
            }
            Store::Hist(h) => (
                summarize(h.groups(), totals, limit, pts),
                Some(h.bin_width()),
            ),
        };
        let n_anomalous_images = self.images.iter().filter(|i| i.1).count();
        let image_auroc = if n_anomalous_images == 0 || n_anomalous_images == self.images.len() {
            None
        } else {
            let (s, l): (Vec<f32>, Vec<bool>) = self.images.iter().copied().unzip();
            Some(crate::auroc::auroc(&s, &l)?)
        };
        Ok(Report {
            pixel_auroc: sum.auroc,
            aupro: sum.aupro.unwrap_or(0.0),
            fpr_limit: limit,
            image_auroc,
            f1_max: sum.f1_max,
            f1_threshold: sum.f1_threshold,
            n_images: self.images.len(),
            n_anomalous_images,
            n_pixels: total,
            n_anomalous_pixels: self.pos,
            n_regions: self.regions,
            roc: sum.roc,
            pro_curve: sum.pro.unwrap_or_default(),
            histogram_bin_width,
        })
    }
}
