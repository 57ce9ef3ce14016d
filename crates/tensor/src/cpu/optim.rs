//! In-place optimizer updates.

use crate::backend::AdamSpec;
use rayon::prelude::*;

/// One Adam step (PyTorch's formulation, L2 weight decay added to the gradient).
pub fn adam_step(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamSpec) {
    let bc1 = 1.0 - (s.beta1 as f64).powi(s.step as i32);
    let bc2 = 1.0 - (s.beta2 as f64).powi(s.step as i32);
    let step_size = (s.lr as f64 / bc1) as f32;
    let inv_sqrt_bc2 = (1.0 / bc2.sqrt()) as f32;
    let (b1, b2, eps, wd) = (s.beta1, s.beta2, s.eps, s.weight_decay);
    p.par_chunks_mut(4096)
        .zip(g.par_chunks(4096))
        .zip(m.par_chunks_mut(4096))
        .zip(v.par_chunks_mut(4096))
        .for_each(|(((p, g), m), v)| {
            for i in 0..p.len() {
                let gi = g[i] + wd * p[i];
                m[i] = b1 * m[i] + (1.0 - b1) * gi;
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                p[i] -= step_size * m[i] / (v[i].sqrt() * inv_sqrt_bc2 + eps);
            }
        });
}

/// One SGD step with optional momentum (PyTorch's formulation, dampening 0).
pub fn sgd_step(
    p: &mut [f32],
    g: &[f32],
    buf: Option<&mut [f32]>,
    lr: f32,
    momentum: f32,
    wd: f32,
) {
    match buf {
        Some(b) => {
            for i in 0..p.len() {
                let gi = g[i] + wd * p[i];
                b[i] = momentum * b[i] + gi;
                p[i] -= lr * b[i];
            }
        }
        None => {
            for i in 0..p.len() {
                p[i] -= lr * (g[i] + wd * p[i]);
            }
        }
    }
}
