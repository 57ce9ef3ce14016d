//! Dispatch of the conv2d kernels (`shaders/conv.wgsl`): forward, backward-data (which is also
//! conv_transpose2d's forward) and backward-weight with split-K over images x output rows.

use super::{dispatch, kernel, GpuStorage, Kernels};
use crate::backend::ReduceOp;
use crate::cpu::conv::Conv2dGeometry;
use crate::error::{Error, Result};
use crate::shape::Shape;

fn params(g: &Conv2dGeometry) -> Vec<u32> {
    [
        g.n, g.c_in, g.h, g.w, g.c_out, g.kh, g.kw, g.stride.0, g.stride.1, g.padding.0,
        g.padding.1, g.oh, g.ow, 0,
    ]
    .iter()
    .map(|&v| v as u32)
    .collect()
}

fn check_z(dev: &super::GpuDevice, z: usize, what: &str) -> Result<()> {
    if z > dev.ctx.limits.max_compute_workgroups_per_dimension as usize {
        return Err(Error::NotImplemented(format!(
            "GPU {what}: {z} workgroups in z (batch too large for one dispatch)"
        )));
    }
    Ok(())
}

/// y = conv2d(x, w), NCHW.
pub fn forward(x: &GpuStorage, w: &GpuStorage, g: &Conv2dGeometry) -> Result<GpuStorage> {
    let dev = x.device();
    let n_out = g.n * g.c_out * g.oh * g.ow;
    if n_out == 0 || g.c_in == 0 {
        return super::layout::full(dev, n_out, 0.0);
    }
    let out = GpuStorage::empty(dev, n_out)?;
    if dev.kernels == Kernels::Tiled {
        let groups = (
            (g.n * g.oh * g.ow).div_ceil(64) as u32,
            g.c_out.div_ceil(64) as u32,
            1,
        );
        let k = kernel!("conv_tiled.wgsl", "main", &[("MODE", 0.0)]);
        dispatch(dev, &k, &params(g), &[x, w], &[&out], groups);
        return Ok(out);
    }
    check_z(dev, g.n, "conv2d")?;
    let k = kernel!("conv.wgsl", "forward", &[]);
    let groups = (
        (g.oh * g.ow).div_ceil(64) as u32,
        g.c_out.div_ceil(64) as u32,
        g.n as u32,
    );
    dispatch(dev, &k, &params(g), &[x, w], &[&out], groups);
    Ok(out)
}

/// dx from dy (conv2d's input gradient; conv_transpose2d's forward).
pub fn backward_data(dy: &GpuStorage, w: &GpuStorage, g: &Conv2dGeometry) -> Result<GpuStorage> {
    let dev = dy.device();
    let n_out = g.n * g.c_in * g.h * g.w;
    if n_out == 0 || g.c_out == 0 {
        return super::layout::full(dev, n_out, 0.0);
    }
    let (sh, sw) = g.stride;
    let out = GpuStorage::empty(dev, n_out)?;
    if dev.kernels == Kernels::Tiled {
        let groups = (
            (g.n * g.h * g.w).div_ceil(64) as u32,
            g.c_in.div_ceil(64) as u32,
            1,
        );
        let k = kernel!("conv_tiled.wgsl", "main", &[("MODE", 1.0)]);
        dispatch(dev, &k, &params(g), &[dy, w], &[&out], groups);
        return Ok(out);
    }
    check_z(dev, g.n * sh * sw, "conv2d backward-data")?;
    let k = kernel!("conv.wgsl", "backward_data", &[]);
    let phase_pixels = g.h.div_ceil(sh) * g.w.div_ceil(sw);
    let groups = (
        phase_pixels.div_ceil(64) as u32,
        g.c_in.div_ceil(64) as u32,
        (g.n * sh * sw) as u32,
    );
    dispatch(dev, &k, &params(g), &[dy, w], &[&out], groups);
    Ok(out)
}

/// dw from x and dy.
pub fn backward_weight(x: &GpuStorage, dy: &GpuStorage, g: &Conv2dGeometry) -> Result<GpuStorage> {
    let dev = x.device();
    let kk = g.c_in * g.kh * g.kw;
    let n_out = g.c_out * kk;
    let rows = g.n * g.oh;
    if n_out == 0 || rows == 0 || g.ow == 0 {
        return super::layout::full(dev, n_out, 0.0);
    }
    let tiles = kk.div_ceil(64) * g.c_out.div_ceil(64);
    // Split the reduction until there are enough workgroups to keep the device busy.
    let target: usize = if dev.is_software() { 32 } else { 512 };
    let splits = target.div_ceil(tiles).clamp(1, rows).min(1024);
    // The register kernel splits whole (image, output row) pairs, the tiled one pixels.
    let per = if dev.kernels == Kernels::Tiled { g.ow } else { 1 };
    let rows_per = rows.div_ceil(splits);
    let splits = rows.div_ceil(rows_per);
    let mut p = params(g);
    p[13] = (rows_per * per) as u32;
    let k = if dev.kernels == Kernels::Tiled {
        kernel!("conv_tiled.wgsl", "main", &[("MODE", 2.0)])
    } else {
        kernel!("conv.wgsl", "backward_weight", &[])
    };
    let groups = (
        kk.div_ceil(64) as u32,
        g.c_out.div_ceil(64) as u32,
        splits as u32,
    );
    let partial = GpuStorage::empty(dev, splits * n_out)?;
    dispatch(dev, &k, &p, &[x, dy], &[&partial], groups);
    if splits == 1 {
        return Ok(partial);
    }
    super::reduce::reduce(
        &partial,
        &Shape::from(vec![splits, n_out]),
        &[0],
        ReduceOp::Sum,
    )
}
