//! Dispatch of the Philox4x32-10 fill (`shaders/rng.wgsl`).

use super::params::RngParams;
use super::{dispatch_1d, kernel, GpuDevice, GpuStorage};
use crate::error::{Error, Result};

/// `n` uniforms in [0, 1) or standard normals; the same values as `rng::philox_fill`.
pub fn fill(dev: &GpuDevice, n: usize, seed: u64, normal: bool) -> Result<GpuStorage> {
    if n as u64 >= (1u64 << 32) {
        return Err(Error::NotImplemented(format!(
            "GPU random fill of {n} values (block counters are 32-bit)"
        )));
    }
    let out = GpuStorage::empty(dev, n)?;
    let consts = [("NORMAL", normal as u32 as f64)];
    let k = kernel!("rng.wgsl", "main", RngParams, &consts);
    let params = RngParams {
        n: n as u32,
        key_lo: seed as u32,
        key_hi: (seed >> 32) as u32,
    };
    dispatch_1d(dev, &k, &params, &[], &[&out], n.div_ceil(4));
    Ok(out)
}
