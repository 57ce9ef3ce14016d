//! # vaecam-data
//!
//! Datasets for vaecam, standing alone (no dependency on the engine):
//!
//! - [`dsprites`]: an exact renderer of all 737,280 dSprites images, factor samplers for
//!   the disentanglement metrics, and [`npz`] for the original `.npz` file.
//! - [`mvtec`]: the MVTec-AD folder layout (any category), images with masks.
//! - [`synthetic`]: a generator of MVTec-format benchmarks from texture photographs or
//!   procedural textures, with defects drawn with exact masks.
//! - [`mnist`]: idx files and the one-class split; [`ucsd`]: UCSD Ped1 frames and masks.
//! - [`batch`]: the [`Dataset`] trait and a seeded, prefetching [`BatchLoader`].
//!
//! Every error is a [`DataError`] that names the file or value at fault.

#![warn(missing_docs)]

pub mod batch;
pub mod dsprites;
pub mod error;
pub mod imageio;
pub mod mnist;
pub mod mvtec;
pub mod npz;
pub mod rng;
pub mod synthetic;
pub mod ucsd;

pub use batch::{Batch, BatchLoader, BatchOptions, Dataset, Item};
pub use error::{DataError, Result};
pub use imageio::Channels;
