//! Dispatch of average pooling and bilinear resize with their adjoints (`shaders/pool.wgsl`).

use super::{dispatch_1d, kernel, GpuStorage};
use crate::backend::{Pool2dSpec, UpsampleSpec};
use crate::error::Result;

fn run(x: &GpuStorage, entry_fwd: bool, avg: bool, p: [usize; 7], n: usize) -> Result<GpuStorage> {
    let dev = x.device();
    let out = GpuStorage::empty(dev, n)?;
    let mut params = vec![n as u32];
    params.extend(p.iter().map(|&v| v as u32));
    let k = match (avg, entry_fwd) {
        (true, true) => kernel!("pool.wgsl", "avg_forward", &[]),
        (true, false) => kernel!("pool.wgsl", "avg_backward", &[]),
        (false, true) => kernel!("pool.wgsl", "up_forward", &[]),
        (false, false) => kernel!("pool.wgsl", "up_backward", &[]),
    };
    dispatch_1d(dev, &k, &params, &[x], &[&out], n);
    Ok(out)
}

/// Mean over each window.
pub fn avg_pool2d(x: &GpuStorage, p: &Pool2dSpec) -> Result<GpuStorage> {
    let q = [p.nc, p.h, p.w, p.oh, p.ow, p.k, p.stride];
    run(x, true, true, q, p.nc * p.oh * p.ow)
}

/// Adjoint of [`avg_pool2d`] (`dy` in, dx out).
pub fn avg_pool2d_backward(dy: &GpuStorage, p: &Pool2dSpec) -> Result<GpuStorage> {
    let q = [p.nc, p.h, p.w, p.oh, p.ow, p.k, p.stride];
    run(dy, false, true, q, p.nc * p.h * p.w)
}

/// Bilinear resize.
pub fn upsample_bilinear(x: &GpuStorage, u: &UpsampleSpec) -> Result<GpuStorage> {
    let q = [u.nc, u.h, u.w, u.oh, u.ow, 0, 0];
    run(x, true, false, q, u.nc * u.oh * u.ow)
}

/// Adjoint of [`upsample_bilinear`].
pub fn upsample_bilinear_backward(dy: &GpuStorage, u: &UpsampleSpec) -> Result<GpuStorage> {
    let q = [u.nc, u.h, u.w, u.oh, u.ow, 0, 0];
    run(dy, false, false, q, u.nc * u.h * u.w)
}
