//! Dispatch of average pooling and bilinear resize with their adjoints (`shaders/pool.wgsl`).

use super::params::PoolParams;
use super::{dispatch_1d, kernel, GpuStorage};
use crate::error::Result;
use crate::geometry::{Pool2dSpec, UpsampleSpec};

/// Runs one entry point of `pool.wgsl` with `params.n` outputs.
fn run(x: &GpuStorage, entry_fwd: bool, avg: bool, params: PoolParams) -> Result<GpuStorage> {
    let dev = x.device();
    let n = params.n as usize;
    let out = GpuStorage::empty(dev, n)?;
    let k = match (avg, entry_fwd) {
        (true, true) => kernel!("pool.wgsl", "avg_forward", PoolParams, &[]),
        (true, false) => kernel!("pool.wgsl", "avg_backward", PoolParams, &[]),
        (false, true) => kernel!("pool.wgsl", "up_forward", PoolParams, &[]),
        (false, false) => kernel!("pool.wgsl", "up_backward", PoolParams, &[]),
    };
    dispatch_1d(dev, &k, &params, &[x], &[&out], n);
    Ok(out)
}

fn pool_params(p: &Pool2dSpec, n: usize) -> PoolParams {
    PoolParams {
        n: n as u32,
        nc: p.nc as u32,
        h: p.h as u32,
        w: p.w as u32,
        oh: p.oh as u32,
        ow: p.ow as u32,
        k: p.k as u32,
        stride: p.stride as u32,
    }
}

fn upsample_params(u: &UpsampleSpec, n: usize) -> PoolParams {
    PoolParams {
        n: n as u32,
        nc: u.nc as u32,
        h: u.h as u32,
        w: u.w as u32,
        oh: u.oh as u32,
        ow: u.ow as u32,
        k: 0,
        stride: 0,
    }
}

/// Mean over each window.
pub fn avg_pool2d(x: &GpuStorage, p: &Pool2dSpec) -> Result<GpuStorage> {
    run(x, true, true, pool_params(p, p.nc * p.oh * p.ow))
}

/// Adjoint of [`avg_pool2d`] (`dy` in, dx out).
pub fn avg_pool2d_backward(dy: &GpuStorage, p: &Pool2dSpec) -> Result<GpuStorage> {
    run(dy, false, true, pool_params(p, p.nc * p.h * p.w))
}

/// Bilinear resize.
pub fn upsample_bilinear(x: &GpuStorage, u: &UpsampleSpec) -> Result<GpuStorage> {
    run(x, true, false, upsample_params(u, u.nc * u.oh * u.ow))
}

/// Adjoint of [`upsample_bilinear`].
pub fn upsample_bilinear_backward(dy: &GpuStorage, u: &UpsampleSpec) -> Result<GpuStorage> {
    run(dy, false, false, upsample_params(u, u.nc * u.h * u.w))
}
