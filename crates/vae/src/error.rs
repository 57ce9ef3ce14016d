//! Errors of the VAE crate: each names the step, the loss part, the file or the value.

use std::path::PathBuf;

/// Errors from building, training and checkpointing VAEs.
#[derive(Debug, thiserror::Error)]
pub enum VaeError {
    /// An engine error (shapes, devices, checkpoint contents).
    #[error(transparent)]
    Engine(#[from] vaecam_tensor::Error),
    /// A loss part became NaN or infinite; training stopped, the last checkpoint is intact.
    #[error("step {step}: loss part '{part}' is {value} — training stopped; the last good checkpoint (step {last_checkpoint}) is left in place")]
    NonFinite {
        /// The step that failed.
        step: u64,
        /// The loss part.
        part: String,
        /// Its value.
        value: f32,
        /// The step of the last checkpoint written.
        last_checkpoint: u64,
    },
    /// The data source failed.
    #[error("data: {0}")]
    Data(String),
    /// A run folder problem (exists, missing checkpoint, unreadable config).
    #[error("{path}: {msg}")]
    Run {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// Bad settings.
    #[error("{0}")]
    Config(String),
}

/// Result with [`VaeError`].
pub type Result<T> = std::result::Result<T, VaeError>;
