//! # vaecam-metrics
//!
//! Evaluation metrics for vaecam, pure CPU code with no dependency on the engine or the
//! data crates (procedures of METHOD.md §2 and §4):
//!
//! - anomaly localization, per category: [`PixelMetrics`] accumulates score maps and
//!   ground-truth masks image by image and reports pixel AUROC, AUPRO (FPR limit 0.3),
//!   image AUROC and F1-max ([`Report`], also under anomalib's names), in an exact mode (4 bytes per normal pixel,
//!   8 per anomalous pixel) or a streaming histogram mode of fixed size ([`Mode`]);
//! - per defect type: [`DefectMetrics`] (each type's images with every normal image);
//! - flat scores and labels: [`auroc()`], [`f1_max`], [`roc_curve`], [`roc_analysis`];
//! - curves for plotting: [`RocCurve`] (at most N points, CSV or SVG text);
//! - [`components::label_components`]: 8-connected components of a mask;
//! - disentanglement, generic over data and model through [`GroundTruth`]:
//!   [`factor_vae_score`] and [`mig()`] (disentanglement_lib's procedures), with a small
//!   seeded [`SplitMix64`] generator.
//!
//! Every error is a [`MetricsError`] naming the value at fault.

#![warn(missing_docs)]

pub mod aupro;
pub mod auroc;
pub mod components;
mod curve;
pub mod defects;
pub mod disentanglement;
pub mod error;
pub mod mig;
pub mod pixel;
pub mod rng;
mod store;

pub use aupro::{aupro, ProIntegrator};
pub use auroc::{auroc, f1_max, roc_analysis, roc_curve, F1Max, RocAnalysis};
pub use curve::RocCurve;
pub use defects::DefectMetrics;
pub use disentanglement::{
    factor_vae_score, BoxError, FactorVaeOptions, FactorVaeScore, GroundTruth,
};
pub use error::{MetricsError, Result};
pub use mig::{mig, mig_from_samples, MigOptions, MigScore};
pub use pixel::{MetricsOptions, Mode, PixelMetrics, Report};
pub use rng::SplitMix64;
