//! Dispatch of the in-place optimizer updates (`shaders/optim.wgsl`).

use super::params::OptimParams;
use super::{dispatch_1d, kernel, GpuStorage};
use crate::backend::AdamSpec;
use crate::error::Result;

/// One Adam step on `p` with moments `m`, `v`.
pub fn adam_step(
    p: &GpuStorage,
    g: &GpuStorage,
    m: &GpuStorage,
    v: &GpuStorage,
    s: &AdamSpec,
) -> Result<()> {
    // Bias corrections as the CPU backend computes them, so both backends agree to rounding.
    let bc1 = 1.0 - (s.beta1 as f64).powi(s.step as i32);
    let bc2 = 1.0 - (s.beta2 as f64).powi(s.step as i32);
    let step_size = (s.lr as f64 / bc1) as f32;
    let inv_sqrt_bc2 = (1.0 / bc2.sqrt()) as f32;
    let params = OptimParams {
        n: p.len() as u32,
        beta1: s.beta1,
        beta2: s.beta2,
        eps: s.eps,
        weight_decay: s.weight_decay,
        step_size,
        inv_sqrt_bc2,
        ..OptimParams::default()
    };
    let k = kernel!("optim.wgsl", "adam", OptimParams, &[]);
    dispatch_1d(p.device(), &k, &params, &[g], &[p, m, v], p.len());
    Ok(())
}

/// One SGD step (optional momentum buffer).
pub fn sgd_step(
    p: &GpuStorage,
    g: &GpuStorage,
    buf: Option<&GpuStorage>,
    lr: f32,
    momentum: f32,
    wd: f32,
) -> Result<()> {
    let params = OptimParams {
        n: p.len() as u32,
        lr,
        momentum,
        weight_decay: wd,
        ..OptimParams::default()
    };
    match buf {
        Some(b) => {
            let k = kernel!("optim.wgsl", "sgd_momentum", OptimParams, &[]);
            dispatch_1d(p.device(), &k, &params, &[g], &[p, b], p.len());
        }
        None => {
            let k = kernel!("optim.wgsl", "sgd", OptimParams, &[]);
            dispatch_1d(p.device(), &k, &params, &[g], &[p], p.len());
        }
    }
    Ok(())
}
