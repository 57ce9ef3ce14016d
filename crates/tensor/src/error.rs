//! The engine's error type. Every error says which op, shape, file or tensor was wrong.

use std::path::PathBuf;

/// Errors returned by the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Shapes that an op cannot combine; the message names the op and the shapes.
    #[error("{op}: {msg}")]
    Shape {
        /// The op that refused its inputs.
        op: &'static str,
        /// What was wrong, with the shapes.
        msg: String,
    },
    /// Tensors on different devices were combined.
    #[error("{op}: tensors on different devices ({lhs} and {rhs})")]
    DeviceMismatch {
        /// The op that refused its inputs.
        op: &'static str,
        /// Device of the first operand.
        lhs: String,
        /// Device of the second operand.
        rhs: String,
    },
    /// No device of the requested kind exists, or it failed to start.
    #[error("device: {0}")]
    Device(String),
    /// A failure inside the autograd engine (e.g. a seed of the wrong shape).
    #[error("autograd: {0}")]
    Autograd(String),
    /// A feature that does not exist yet; the message says which.
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// A file could not be read or written.
    #[error("{path}: {msg}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// A checkpoint tensor is missing, corrupt or of the wrong shape.
    #[error("{path}: tensor '{tensor}': {msg}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// What went wrong.
        msg: String,
    },
    /// A named layer or parameter that does not exist; the message lists valid names.
    #[error("{0}")]
    UnknownName(String),
    /// Bad argument values (not shapes), e.g. a negative learning rate.
    #[error("{0}")]
    InvalidArgument(String),
}

/// The engine's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error::Shape`].
pub(crate) fn shape_err<T>(op: &'static str, msg: impl Into<String>) -> Result<T> {
    Err(Error::Shape {
        op,
        msg: msg.into(),
    })
}
