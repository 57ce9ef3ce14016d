//! Dispatch of the conv2d kernels (`shaders/conv.wgsl`): forward, backward-data (which is also
//! conv_transpose2d's forward) and backward-weight with split-K over images x output rows.

use super::params::ConvParams;
use super::{dispatch, kernel, GpuStorage, Kernels};
use crate::backend::ReduceOp;
use crate::error::Result;
use crate::geometry::Conv2dGeometry;
use crate::shape::Shape;

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
        let k = kernel!("conv_tiled.wgsl", "main", ConvParams, &[("MODE", 0.0)]);
        dispatch(dev, &k, &ConvParams::of(g), &[x, w], &[&out], groups);
        return Ok(out);
    }
    let npix = g.oh * g.ow;
    let kk = g.c_in * g.kh * g.kw;
    if dev.kernels == Kernels::Register && npix.is_multiple_of(4) && kk.is_multiple_of(4) {
        drop(out);
        return super::conv_lowered::forward(x, w, g);
    }
    // 64-column groups, 8 interleaved columns per invocation, 8 channels per invocation.
    let col_groups = (g.n * g.oh * g.ow).div_ceil(64);
    let p = ConvParams {
        col_groups: col_groups as u32,
        ..ConvParams::of(g)
    };
    let invocations = g.c_out.div_ceil(8) * col_groups * 8;
    let kw4 = g.kw.is_multiple_of(4);
    let k = kernel!(
        "conv.wgsl",
        "forward",
        ConvParams,
        &[("KW4", kw4 as u32 as f64)]
    );
    dispatch(
        dev,
        &k,
        &p,
        &[x, w, w],
        &[&out],
        dev.ctx.grid(invocations.div_ceil(64) as u64),
    );
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
    if let Some(dx) = super::conv_lowered::backward_data(dy, w, g)? {
        return Ok(dx);
    }
    let out = GpuStorage::empty(dev, n_out)?;
    if dev.kernels == Kernels::Tiled {
        let groups = (
            (g.n * g.h * g.w).div_ceil(64) as u32,
            g.c_in.div_ceil(64) as u32,
            1,
        );
        let k = kernel!("conv_tiled.wgsl", "main", ConvParams, &[("MODE", 1.0)]);
        dispatch(dev, &k, &ConvParams::of(g), &[dy, w], &[&out], groups);
        return Ok(out);
    }
    // Blocks of 8 consecutive pixels within each (image, stride phase) group.
    let bpg = (g.h.div_ceil(sh) * g.w.div_ceil(sw)).div_ceil(8);
    let nblocks = g.n * sh * sw * bpg;
    let p = ConvParams {
        blocks_per_group: bpg as u32,
        n_blocks: nblocks as u32,
        ..ConvParams::of(g)
    };
    let k = kernel!("conv.wgsl", "backward_data", ConvParams, &[]);
    let invocations = g.c_in.div_ceil(8) * nblocks;
    dispatch(
        dev,
        &k,
        &p,
        &[dy, w],
        &[&out],
        dev.ctx.grid(invocations.div_ceil(64) as u64),
    );
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
    if let Some(dw) = super::conv_lowered::backward_weight(x, dy, g)? {
        return Ok(dw);
    }
    let tiles = kk.div_ceil(64) * g.c_out.div_ceil(64);
    // Split the reduction until there are enough workgroups to keep the device busy.
    let target: usize = if dev.is_software() { 32 } else { 512 };
    let splits = target.div_ceil(tiles).clamp(1, rows).min(1024);
    // The register kernel splits whole (image, output row) pairs, the tiled one pixels.
    let per = if dev.kernels == Kernels::Tiled {
        g.ow
    } else {
        1
    };
    let rows_per = rows.div_ceil(splits);
    let splits = rows.div_ceil(rows_per);
    let mut p = ConvParams {
        rows_per_split: (rows_per * per) as u32,
        ..ConvParams::of(g)
    };
    let groups = if dev.kernels == Kernels::Tiled {
        let k = kernel!("conv_tiled.wgsl", "main", ConvParams, &[("MODE", 2.0)]);
        let groups = (
            kk.div_ceil(64) as u32,
            g.c_out.div_ceil(64) as u32,
            splits as u32,
        );
        (k, groups)
    } else {
        let col_groups = kk.div_ceil(64);
        p.col_groups = col_groups as u32;
        let invocations = g.c_out.div_ceil(8) * col_groups * 8;
        let k = kernel!("conv.wgsl", "backward_weight", ConvParams, &[]);
        (k, (invocations.div_ceil(64) as u32, splits as u32, 1))
    };
    let (k, groups) = groups;
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
