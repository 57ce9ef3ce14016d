//! Errors of the VAE crate: each names the step, the loss part, the file or the value.

use std::path::PathBuf;

/// Errors from building, training and checkpointing VAEs.
#[derive(Debug, thiserror::Error)]
pub enum VaeError {
    /// An engine error (shapes, devices, checkpoint contents).
    #[error(transparent)]
    Engine(#[from] vaecam_tensor::Error),
    /// A loss part became NaN or infinite; training stopped, the last checkpoint is intact.
    #[error("step {step}: loss part '{part}' is {value} — training stopped; {}", kept(*last_checkpoint))]
    NonFinite {
        /// The step that failed.
        step: u64,
        /// The loss part.
        part: String,
        /// Its value.
        value: f32,
        /// The step of the last checkpoint this run wrote or resumed from (None: none yet).
        last_checkpoint: Option<u64>,
    },
    /// The model or optimizer state holds NaN/Inf at checkpoint time (a non-finite gradient
    /// with a finite loss); the checkpoint was not written, so the one on disk stays finite.
    #[error("step {step}: tensor '{tensor}' holds {value} — training stopped without writing this checkpoint; {}", kept(*last_checkpoint))]
    NonFiniteState {
        /// The step whose checkpoint was refused.
        step: u64,
        /// The checkpoint tensor that holds the value (e.g. `optim.encoder.conv1.weight.exp_avg`).
        tensor: String,
        /// The first non-finite value.
        value: f32,
        /// The step of the last checkpoint this run wrote or resumed from (None: none yet).
        last_checkpoint: Option<u64>,
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
    /// A value that could not be serialised or parsed as JSON.
    #[error("JSON: {0}")]
    Serde(String),
}

/// What is left on disk after a failure: the truth about the last checkpoint.
fn kept(last_checkpoint: Option<u64>) -> String {
    match last_checkpoint {
        Some(s) => format!("the last good checkpoint (step {s}) is left in place"),
        None => "no checkpoint was written by this run (nothing to resume from)".into(),
    }
}

/// Result with [`VaeError`].
pub type Result<T> = std::result::Result<T, VaeError>;
