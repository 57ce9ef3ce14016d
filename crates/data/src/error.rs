//! The error type of `vaecam-data`: every variant names the file or the value that was wrong.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while reading, generating or batching data.
///
/// Each message names the offending file, folder or value, so the CLI can print it on
/// one line and the user knows exactly what to fix.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An I/O error while reading or writing `path`.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A folder that the layout requires does not exist.
    #[error("missing {what} folder {path}")]
    MissingFolder {
        /// What the folder is (e.g. "category", "train/good").
        what: &'static str,
        /// The folder that was expected.
        path: PathBuf,
    },
    /// A file that should exist does not.
    #[error("missing file {path}")]
    MissingFile {
        /// The file that was expected.
        path: PathBuf,
    },
    /// A folder that must hold images holds none.
    #[error("empty {what} folder {path}")]
    EmptyFolder {
        /// What the folder is (e.g. "train").
        what: &'static str,
        /// The folder.
        path: PathBuf,
    },
    /// A folder that must hold images holds no file of a format the loaders read.
    #[error("{what} folder {path} holds no PNG, JPEG, BMP, TIFF or GIF images ({found})")]
    NoImages {
        /// What the folder is (e.g. "train/good").
        what: &'static str,
        /// The folder.
        path: PathBuf,
        /// What it holds instead, e.g. "2 files: .webp" or "no files".
        found: String,
    },
    /// An image file could not be decoded.
    #[error("corrupt {format} {path}: {message}")]
    CorruptImage {
        /// "PNG", "JPEG", "TIFF", "BMP", "GIF" or "image".
        format: &'static str,
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// An image could not be encoded or written.
    #[error("cannot write image {path}: {message}")]
    WriteImage {
        /// The file.
        path: PathBuf,
        /// What the encoder said.
        message: String,
    },
    /// A ground-truth mask has a different size from its image.
    #[error("mask {mask} is {mask_w}x{mask_h} but its image {image} is {image_w}x{image_h}")]
    MaskSizeMismatch {
        /// The mask file.
        mask: PathBuf,
        /// Mask width.
        mask_w: u32,
        /// Mask height.
        mask_h: u32,
        /// The image file.
        image: PathBuf,
        /// Image width.
        image_w: u32,
        /// Image height.
        image_h: u32,
    },
    /// A ground-truth mask exists but the test image it belongs to does not.
    #[error("mask {mask} has no image (expected {expected})")]
    MaskWithoutImage {
        /// The mask file.
        mask: PathBuf,
        /// Where its image was expected.
        expected: PathBuf,
    },
    /// A defective test image has no ground-truth mask.
    #[error("image {image} has no mask (expected {expected})")]
    ImageWithoutMask {
        /// The test image.
        image: PathBuf,
        /// Where its mask was expected.
        expected: PathBuf,
    },
    /// An `.npz` archive is truncated or is not a zip file.
    #[error("truncated npz {path}: {message}")]
    TruncatedNpz {
        /// The archive.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// An `.npz` archive lacks a required array.
    #[error("npz {path} has no array {name:?}")]
    MissingArray {
        /// The archive.
        path: PathBuf,
        /// The missing array (without `.npy`).
        name: String,
    },
    /// An `.npy` array header or body is malformed or unsupported.
    #[error("bad npy {source_name}: {message}")]
    BadNpy {
        /// The file (or `archive.npz/member.npy`).
        source_name: String,
        /// What was wrong.
        message: String,
    },
    /// An idx file (MNIST) starts with the wrong magic number.
    #[error("idx file {path} has wrong magic 0x{found:08x} (expected 0x{expected:08x})")]
    WrongMagic {
        /// The file.
        path: PathBuf,
        /// Magic number read.
        found: u32,
        /// Magic number expected.
        expected: u32,
    },
    /// A data file is shorter than its header says, or otherwise inconsistent.
    #[error("malformed {path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// A value given by the caller is out of range or invalid.
    #[error("invalid {what}: {message}")]
    InvalidValue {
        /// The parameter or value.
        what: String,
        /// Why it is invalid.
        message: String,
    },
    /// The background batch thread stopped unexpectedly.
    #[error("batch worker stopped: {0}")]
    Worker(String),
}

/// `Result` with [`DataError`].
pub type Result<T> = std::result::Result<T, DataError>;

impl DataError {
    /// An [`DataError::Io`] for `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An [`DataError::InvalidValue`].
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Self {
        DataError::InvalidValue {
            what: what.into(),
            message: message.into(),
        }
    }
}
