//! The `vaecam` subcommands.

pub mod compare;
pub mod disentangle;
pub mod explain;
pub mod export_arch;
pub mod localize;
pub mod make_benchmark;
pub mod reconstruct;
pub mod train;

use crate::error::{Error, Result};
use vaecam_tensor::Device;

/// Parses `--device`: cpu, gpu or best (VAECAM_DEVICE also applies to `best`).
pub fn device(name: &str) -> Result<Device> {
    Device::parse(name).map_err(Error::from)
}
