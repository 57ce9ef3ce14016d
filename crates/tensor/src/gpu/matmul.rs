//! Dispatch of the batched matmul kernels (`shaders/matmul_*.wgsl`).

use super::params::MatmulParams;
use super::{dispatch, kernel, GpuStorage, Kernels};
use crate::error::{Error, Result};
use crate::geometry::MatmulSpec;

/// `C[b] = op(A[b]) op(B[b])` for every product of the batch.
pub fn matmul(a: &GpuStorage, b: &GpuStorage, s: MatmulSpec) -> Result<GpuStorage> {
    let dev = a.device();
    let out = GpuStorage::empty(dev, s.batch * s.m * s.n)?;
    if s.batch * s.m * s.n == 0 {
        return Ok(out);
    }
    if s.k == 0 {
        // An empty inner dimension: the product is all zeros.
        drop(out);
        return super::layout::full(dev, s.batch * s.m * s.n, 0.0);
    }
    if s.batch > dev.ctx.limits.max_compute_workgroups_per_dimension as usize {
        return Err(Error::NotImplemented(format!(
            "GPU matmul with a batch of {} products",
            s.batch
        )));
    }
    let params = MatmulParams {
        m: s.m as u32,
        n: s.n as u32,
        k: s.k as u32,
        a_stride: if s.broadcast_a { 0 } else { (s.m * s.k) as u32 },
        b_stride: if s.broadcast_b { 0 } else { (s.k * s.n) as u32 },
    };
    let groups = (
        s.n.div_ceil(64) as u32,
        s.m.div_ceil(64) as u32,
        s.batch as u32,
    );
    let flags = [
        ("TA", s.trans_a as u32 as f64),
        ("TB", s.trans_b as u32 as f64),
    ];
    match dev.kernels {
        Kernels::Register
            if !s.trans_a && !s.trans_b && s.k.is_multiple_of(4) && s.n.is_multiple_of(4) =>
        {
            // Workgroup shape by m: few rows (conv layers with few channels) take wide tiles.
            let (k, wx, wy) = if s.m <= 8 {
                (kernel!("matmul_vec4.wgsl", "row", MatmulParams, &[]), 64, 1)
            } else if s.m <= 32 {
                (
                    kernel!("matmul_vec4.wgsl", "wide", MatmulParams, &[]),
                    16,
                    4,
                )
            } else {
                (kernel!("matmul_vec4.wgsl", "main", MatmulParams, &[]), 8, 8)
            };
            let groups = (
                s.n.div_ceil(8 * wx) as u32,
                s.m.div_ceil(8 * wy) as u32,
                s.batch as u32,
            );
            dispatch(dev, &k, &params, &[a, b], &[&out], groups);
        }
        Kernels::Register => {
            let k = kernel!("matmul_register.wgsl", "main", MatmulParams, &flags);
            dispatch(dev, &k, &params, &[a, b], &[&out], groups);
        }
        Kernels::Tiled => {
            let k = kernel!("matmul_tiled.wgsl", "main", MatmulParams, &flags);
            dispatch(dev, &k, &params, &[a, b], &[&out], groups);
        }
    }
    Ok(out)
}
