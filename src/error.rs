//! The CLI's error: one line naming the file, value or step that was wrong.

/// Errors of the pipelines and commands.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the engine.
    #[error(transparent)]
    Engine(#[from] vaecam_tensor::Error),
    /// From the data loaders.
    #[error(transparent)]
    Data(#[from] vaecam_data::DataError),
    /// From training and run folders.
    #[error(transparent)]
    Vae(#[from] vaecam_vae::VaeError),
    /// From the metrics.
    #[error(transparent)]
    Metrics(#[from] vaecam_metrics::MetricsError),
    /// A run folder that cannot be used as asked (holds a run, holds another run's settings).
    #[error("{dir}: {msg}")]
    Run {
        /// The run folder.
        dir: std::path::PathBuf,
        /// What is wrong and what to do.
        msg: String,
    },
    /// A value that could not be serialised or parsed as JSON.
    #[error("{what}: JSON: {msg}")]
    Serde {
        /// What was being written or read (a file or a value).
        what: String,
        /// The serde error.
        msg: String,
    },
    /// A bad command-line value.
    #[error("{0}")]
    Usage(String),
    /// A file that could not be written or read.
    #[error("{path}: {msg}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        msg: String,
    },
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl From<Error> for vaecam_vae::VaeError {
    fn from(e: Error) -> Self {
        match e {
            Error::Vae(v) => v,
            other => vaecam_vae::VaeError::Data(other.to_string()),
        }
    }
}
