//! The error type of every fallible function of this crate.

use thiserror::Error;

/// Why a metric could not be computed. Every variant names the value at fault.
#[derive(Debug, Error)]
pub enum MetricsError {
    /// An image's score map and mask do not have `width * height` elements.
    #[error(
        "image {image}: {width}x{height} needs {expected} values, got {scores} scores and {mask} mask values"
    )]
    LengthMismatch {
        /// Index of the image (0-based, in the order added).
        image: usize,
        /// Width given for the image.
        width: usize,
        /// Height given for the image.
        height: usize,
        /// `width * height`.
        expected: usize,
        /// Length of the score slice.
        scores: usize,
        /// Length of the mask slice.
        mask: usize,
    },
    /// Two parallel inputs (scores and labels) differ in length.
    #[error("{what}: {left} scores but {right} labels")]
    LabelMismatch {
        /// Which input.
        what: &'static str,
        /// Length of the scores.
        left: usize,
        /// Length of the labels.
        right: usize,
    },
    /// A score is NaN or infinite.
    #[error("image {image}, pixel {index}: score {value} is not finite")]
    NonFiniteScore {
        /// Index of the image (or 0 for a flat score list).
        image: usize,
        /// Index of the value inside the image (or inside the flat list).
        index: usize,
        /// The offending value.
        value: f32,
    },
    /// There is no positive (anomalous) sample: the metric is undefined.
    #[error("{metric}: no positive (anomalous) samples among {total}, the metric is undefined")]
    NoPositive {
        /// Which metric.
        metric: &'static str,
        /// Number of samples seen.
        total: u64,
    },
    /// There is no negative (normal) sample: the metric is undefined.
    #[error("{metric}: no negative (normal) samples among {total}, the metric is undefined")]
    NoNegative {
        /// Which metric.
        metric: &'static str,
        /// Number of samples seen.
        total: u64,
    },
    /// Nothing was given.
    #[error("{0}: empty input")]
    Empty(&'static str),
    /// An option is out of its range.
    #[error("invalid option {name} = {value}: {why}")]
    InvalidOption {
        /// Name of the option.
        name: &'static str,
        /// Its value, printed.
        value: String,
        /// The allowed range.
        why: &'static str,
    },
    /// A representation returned by a [`crate::GroundTruth`] has the wrong shape.
    #[error("representation: {0}")]
    Representation(String),
    /// A metric is undefined for this data (the reason says why).
    #[error("{metric} is undefined: {why}")]
    Undefined {
        /// Which metric.
        metric: &'static str,
        /// Why.
        why: String,
    },
    /// The [`crate::GroundTruth`] implementation failed.
    #[error("ground truth: {0}")]
    GroundTruth(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Result with a [`MetricsError`].
pub type Result<T> = std::result::Result<T, MetricsError>;
