//! Helpers shared by the trainer tests (trainer.rs, robust.rs): a deterministic data
//! source, a tiny run configuration, temporary folders and loss probes.
#![allow(dead_code)]

use std::path::PathBuf;
use vaecam_tensor::Tensor;
use vaecam_vae::{
    BatchSource, ExtraLoss, FactorOptions, LossContext, RunConfig, TrainOptions, VaeConfig,
    VaeError,
};

/// Bright rectangles on a dark background, 32x32, a deterministic function of the step;
/// with `nan_at`, one pixel of that step's batch is NaN.
pub struct Rects {
    /// Images per batch.
    pub batch: usize,
    /// The step whose batch holds a NaN.
    pub nan_at: Option<u64>,
}

impl Rects {
    /// `batch` images per step, all finite.
    pub fn new(batch: usize) -> Rects {
        Rects {
            batch,
            nan_at: None,
        }
    }
}

impl BatchSource for Rects {
    fn batch(&mut self, step: u64) -> Result<(Vec<f32>, [usize; 4]), VaeError> {
        let mut data = vec![0.05f32; self.batch * 32 * 32];
        for i in 0..self.batch {
            let h = (step as usize * 7 + i * 13) % 97;
            let (r0, c0) = (h % 20, (h / 5) % 20);
            let (hh, ww) = (6 + h % 7, 6 + (h / 3) % 7);
            for r in r0..(r0 + hh).min(32) {
                for c in c0..(c0 + ww).min(32) {
                    data[i * 1024 + r * 32 + c] = 0.9;
                }
            }
        }
        if self.nan_at == Some(step) {
            data[5] = f32::NAN;
        }
        Ok((data, [self.batch, 1, 32, 32]))
    }
}

/// The source for a run: FactorVAE draws twice the batch (its discriminator's half).
pub fn source(factor: bool) -> Rects {
    Rects::new(if factor { 16 } else { 8 })
}

/// A fresh temporary folder for test `name` (not created).
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vaecam-vae-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A conv VAE of 32x32 grey images with `steps` steps (FactorVAE when `factor`), a
/// checkpoint every `checkpoint_every` steps (0: only at the end).
pub fn config(steps: u64, factor: bool, checkpoint_every: u64) -> RunConfig {
    RunConfig {
        model: VaeConfig::conv(1, 32, vec![8, 16], 4),
        train: TrainOptions {
            steps,
            batch_size: 8,
            lr: 2e-3,
            factor: factor.then_some(FactorOptions {
                gamma: 5.0,
                lr: 1e-3,
                betas: (0.5, 0.9),
                hidden: 16,
            }),
            seed: 3,
            checkpoint_every,
            log_every: 1,
            ..Default::default()
        },
        data: "rects".into(),
        extra: serde_json::Value::Null,
    }
}

/// An extra loss term that is 0, except NaN at one step.
pub struct NanLossAt(pub u64);

impl ExtraLoss for NanLossAt {
    fn name(&self) -> &str {
        "probe"
    }
    fn loss(&mut self, ctx: &LossContext) -> vaecam_tensor::Result<Tensor> {
        let v = if ctx.step == self.0 { f32::NAN } else { 0.0 };
        Tensor::scalar(v, ctx.x.device())
    }
}
