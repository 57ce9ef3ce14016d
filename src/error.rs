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
